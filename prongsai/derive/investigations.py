"""Derived tables, views and covering indexes behind the journalists' canned queries.

A plain GROUP BY over a million projects takes seconds on our hardware, so ``prongsai build``
writes small pre-aggregated tables and covering indexes once, and every canned query in
``metadata.yml`` reads those. The big investigations are also offered as SQL views, because
Datasette streams a view as CSV in full (``?_stream=1``) while query results stop at
``max_returned_rows``. Runs after the flags step: it reads ``red_flags`` and ``risk_scores``.
Amounts in the aggregates are THB only (other currencies cannot be summed with baht).

Runs after :mod:`prongsai.derive.aggregates`, whose per-project state it shares (who tendered
for what, ``agg_state_bidder``) and whose ``{kind:column}`` filters its SELECTs use: given the
changed projects, an incremental build rewrites their ``project_awards`` rows and recomputes only
the agencies and suppliers they touch; the small tables over everything are recomputed whole.
"""
from __future__ import annotations

from prongsai.derive.aggregates import _everything, _scoped, add_changes, has_state, remember, scratch_of

#: Tables with provenance columns, whose sources and freshness Datasette shows.
PROVENANCE_TABLES = ("agencies", "suppliers", "projects", "items", "bids", "awards", "contracts",
                     "announcements", "budget_items")

#: A pair of suppliers must meet in at least this many tenders to be listed in co_bidding_pairs.
MIN_SHARED_TENDERS = 2

_PROJECT_AWARDS = """
CREATE TABLE project_awards (
    project_id TEXT NOT NULL,
    title TEXT,
    buyer_id TEXT,
    agency_name TEXT,
    ministry TEXT,
    province TEXT,
    fiscal_year INTEGER,
    method TEXT,
    method_group TEXT,
    ocds_method TEXT,
    announce_date TEXT,
    award_date TEXT,
    number_of_tenderers INTEGER,
    budget REAL,
    reference_price REAL,
    supplier_id TEXT,
    supplier_name TEXT,
    award_amount REAL,
    contract_amount REAL,
    award_to_reference_pct REAL,
    currency TEXT,
    flag_codes TEXT,
    risk_score REAL
)"""

# Winners per project: from awards (an award shared by joint suppliers is split equally), or,
# for sources that publish contracts only, from contracts.
_WINNERS = """
CREATE TEMP TABLE winners AS
SELECT aw.project_id, s.supplier_id,
       sum(aw.amount / (SELECT count(*) FROM award_suppliers n WHERE n.award_id = aw.id)) AS award_amount,
       max(aw.date) AS award_date
FROM awards aw
JOIN award_suppliers s ON s.award_id = aw.id
WHERE coalesce(aw.status, 'active') NOT IN ('cancelled', 'unsuccessful', 'pending') AND {project:aw.project_id}
GROUP BY aw.project_id, s.supplier_id
UNION ALL
SELECT c.project_id, c.supplier_id, sum(c.award_amount), max(c.signed_date)
FROM contracts c
WHERE c.supplier_id IS NOT NULL AND {project:c.project_id}
  AND NOT EXISTS (SELECT 1 FROM awards aw WHERE aw.project_id = c.project_id)
GROUP BY c.project_id, c.supplier_id
"""

_FILL_PROJECT_AWARDS = """
INSERT INTO project_awards
SELECT p.project_id, p.title, p.buyer_id, a.name_th, a.ministry, p.province, p.fiscal_year,
       p.method, p.method_group, p.ocds_method, p.announce_date, w.award_date,
       p.number_of_tenderers, p.budget, p.reference_price, w.supplier_id, s.name_th,
       w.award_amount, c.contract_amount,
       CASE WHEN p.reference_price > 0 AND w.award_amount IS NOT NULL
            THEN round(100.0 * w.award_amount / p.reference_price, 3) END,
       p.currency, f.codes, r.score
FROM projects p
LEFT JOIN agencies a ON a.id = p.buyer_id
LEFT JOIN temp.winners w ON w.project_id = p.project_id
LEFT JOIN suppliers s ON s.id = w.supplier_id
LEFT JOIN temp.contract_sums c ON c.project_id = p.project_id AND c.supplier_id = w.supplier_id
LEFT JOIN temp.project_flags f ON f.project_id = p.project_id
LEFT JOIN risk_scores r ON r.project_id = p.project_id
WHERE {project:p.project_id}
ORDER BY p.project_id
"""

_PROJECT_FLAGS = """
CREATE TEMP TABLE project_flags AS
SELECT project_id, group_concat(code, ',') AS codes
FROM (SELECT project_id, code FROM red_flags WHERE {project:project_id} ORDER BY project_id, code)
GROUP BY project_id
"""

#: Covering indexes: the "biggest first" canned queries walk idx_project_awards_amount from the
#: top and filter inside the index, so they read a few thousand index entries, not the table.
_PROJECT_AWARDS_INDEXES = [
    "CREATE INDEX idx_project_awards_project_id ON project_awards(project_id)",
    "CREATE INDEX idx_project_awards_amount ON project_awards(award_amount, award_to_reference_pct, "
    "number_of_tenderers, ocds_method, fiscal_year, province, buyer_id)",
    "CREATE INDEX idx_project_awards_buyer ON project_awards(buyer_id, fiscal_year, method, award_amount)",
    "CREATE INDEX idx_project_awards_supplier ON project_awards(supplier_id, announce_date)",
    "CREATE INDEX idx_project_awards_year_amount ON project_awards(fiscal_year, contract_amount)",
    "CREATE INDEX idx_project_awards_group_date ON project_awards(method_group, announce_date, award_amount)",
    "CREATE INDEX idx_project_awards_province ON project_awards(province, fiscal_year)",
    "CREATE INDEX idx_project_awards_flagged ON project_awards(award_date, province, buyer_id) "
    "WHERE flag_codes IS NOT NULL",
]

_AGENCY_SPENDING = """
SELECT buyer_id AS agency_id, max(agency_name) AS agency_name, max(ministry) AS ministry,
       fiscal_year, method,
       count(DISTINCT project_id) AS projects,
       total(award_amount) AS award_amount,
       total(contract_amount) AS contract_amount,
       count(DISTINCT CASE WHEN flag_codes IS NOT NULL THEN project_id END) AS flagged_projects,
       total(CASE WHEN flag_codes IS NOT NULL THEN award_amount END) AS flagged_amount
FROM project_awards
WHERE coalesce(currency, 'THB') = 'THB' AND buyer_id IS NOT NULL AND {project:project_id}
GROUP BY buyer_id, fiscal_year, method
"""

_AGENCY_SUPPLIER_TOTALS = """
SELECT t.*, round(100.0 * t.award_amount / nullif(y.total, 0), 2) AS share_pct
FROM (
    SELECT buyer_id AS agency_id, supplier_id, fiscal_year,
           count(DISTINCT project_id) AS projects, total(award_amount) AS award_amount
    FROM project_awards
    WHERE supplier_id IS NOT NULL AND buyer_id IS NOT NULL AND coalesce(currency, 'THB') = 'THB'
          AND {agency:buyer_id}
    GROUP BY buyer_id, supplier_id, fiscal_year
) t
JOIN (SELECT agency_id, fiscal_year, total(award_amount) AS total FROM agency_spending
      WHERE {agency:agency_id} GROUP BY agency_id, fiscal_year) y
  ON y.agency_id = t.agency_id AND y.fiscal_year IS t.fiscal_year
"""

_SUPPLIER_TOTALS = """
SELECT w.supplier_id, s.name_th AS supplier_name, s.tax_id_status,
       w.projects, w.agencies, w.provinces, w.award_amount, w.first_award, w.last_award,
       coalesce(b.tenders, 0) AS tenders
FROM (
    SELECT supplier_id, count(DISTINCT project_id) AS projects, count(DISTINCT buyer_id) AS agencies,
           count(DISTINCT province) AS provinces, total(award_amount) AS award_amount,
           min(award_date) AS first_award, max(award_date) AS last_award
    FROM project_awards
    WHERE supplier_id IS NOT NULL AND coalesce(currency, 'THB') = 'THB' AND {supplier:supplier_id}
    GROUP BY supplier_id
) w
LEFT JOIN suppliers s ON s.id = w.supplier_id
LEFT JOIN (SELECT supplier_id, count(*) AS tenders FROM bid_tenderers WHERE {supplier:supplier_id}
           GROUP BY supplier_id) b
  ON b.supplier_id = w.supplier_id
"""

# Pairs of suppliers in the same tenders, from the aggregates' agg_pairs (every pair once, a before b).
_CO_BIDDING_PAIRS = f"""
SELECT supplier_a, supplier_b, shared AS shared_tenders, a_won, b_won, first_project_id, last_project_id
FROM agg_pairs WHERE shared >= {MIN_SHARED_TENDERS} AND ({{supplier:supplier_a}} OR {{supplier:supplier_b}})
"""

_SOURCE_FRESHNESS = """
CREATE TABLE source_freshness (
    table_name TEXT NOT NULL,
    source TEXT,
    rows INTEGER,
    last_seen TEXT,
    last_run_finished_at TEXT,
    last_run_status TEXT,
    PRIMARY KEY (table_name, source)
)"""

#: Views for whole-table CSV export of the big investigations (Datasette streams views in full).
VIEWS = {
    "single_bidder_projects": """
        SELECT * FROM project_awards
        WHERE number_of_tenderers = 1 AND ocds_method IN ('open', 'selective')""",
    "awards_near_reference_price": """
        SELECT * FROM project_awards WHERE award_to_reference_pct BETWEEN 99 AND 100""",
    "awards_above_reference_price": """
        SELECT * FROM project_awards WHERE award_to_reference_pct > 100""",
    "year_end_direct_purchases": """
        SELECT * FROM project_awards
        WHERE method_group = 'เฉพาะเจาะจง' AND substr(announce_date, 6, 2) = '09'""",
    "flagged_projects": """
        SELECT f.project_id, f.code, d.title_th AS flag_title_th, d.title_en AS flag_title_en,
               d.severity, f.value, f.evidence, p.title, p.buyer_id, p.province, p.fiscal_year,
               p.method, p.budget, p.reference_price
        FROM red_flags f
        JOIN projects p ON p.project_id = f.project_id
        LEFT JOIN flag_definitions d ON d.code = f.code""",
}

TABLES = ("project_awards", "agency_spending", "agency_supplier_totals", "supplier_totals",
          "co_bidding_pairs", "source_freshness")


#: table -> (SELECT, {index suffix: columns}, (kind, columns holding it) of its partitions, or None:
#: recomputed whole, or added to as ``ADDITIVE`` says), in build order.
DERIVED = {
    "agency_spending": (_AGENCY_SPENDING, {"agency": "agency_id, fiscal_year", "ministry": "ministry, fiscal_year"},
                        None),
    "agency_supplier_totals": (_AGENCY_SUPPLIER_TOTALS, {"agency": "agency_id, fiscal_year, award_amount",
                                                         "supplier": "supplier_id"}, ("agency", "agency_id")),
    "supplier_totals": (_SUPPLIER_TOTALS, {"supplier": "supplier_id", "agencies": "agencies, award_amount"},
                        ("supplier", "supplier_id")),
    "co_bidding_pairs": (_CO_BIDDING_PAIRS, {"a": "supplier_a, shared_tenders", "b": "supplier_b, shared_tenders",
                                             "count": "shared_tenders"}, ("supplier", "supplier_a", "supplier_b")),
}


#: Tables of counts and sums over projects (a project once in one row: its agency, name, ministry, year and
#: method are the key): an incremental build adds the changed projects' rows less those they had.
ADDITIVE = {"agency_spending": (("agency_id", "agency_name", "ministry", "fiscal_year", "method"),
                                ("projects", "award_amount", "contract_amount", "flagged_projects", "flagged_amount"),
                                "projects > 0")}


def build(db, changed: set[str] | None = None) -> None:
    """Replace every investigation table, view and index in one transaction; given the ``changed``
    project ids, only what they touch (the aggregates' incremental build, just before on the same
    connection, left the keys it touched in ``temp._agg_touched``)."""
    conn = db.conn
    incremental = (changed is not None and has_state(conn) and _exists(conn, "project_awards")
                   and _exists(conn, "_agg_touched", "temp"))
    scoped = _scoped if incremental else _everything
    conn.execute("BEGIN")
    try:
        for view in VIEWS:
            conn.execute(f"DROP VIEW IF EXISTS [{view}]")
        if incremental:
            _touched(conn)
            for table in ADDITIVE:
                remember(conn, table, DERIVED[table][0])
            conn.execute(f"DELETE FROM project_awards WHERE {scoped('{project:project_id}')}")
        else:
            for table in TABLES:
                conn.execute(f"DROP TABLE IF EXISTS [{table}]")
            conn.execute(_PROJECT_AWARDS)
        conn.execute(scoped(_WINNERS))
        conn.execute("CREATE INDEX temp.idx_winners ON winners(project_id)")
        conn.execute(scoped("""CREATE TEMP TABLE contract_sums AS
                        SELECT project_id, supplier_id, sum(contract_amount) AS contract_amount
                        FROM contracts WHERE supplier_id IS NOT NULL AND {project:project_id}
                        GROUP BY project_id, supplier_id"""))
        conn.execute("CREATE INDEX temp.idx_contract_sums ON contract_sums(project_id, supplier_id)")
        conn.execute(scoped(_PROJECT_FLAGS))
        conn.execute("CREATE INDEX temp.idx_project_flags ON project_flags(project_id)")
        conn.execute(scoped(_FILL_PROJECT_AWARDS))
        if incremental:
            _touched(conn)
        else:
            for statement in _PROJECT_AWARDS_INDEXES:
                conn.execute(statement)
        conn.execute("DROP TABLE temp.winners")
        conn.execute("DROP TABLE temp.contract_sums")
        conn.execute("DROP TABLE temp.project_flags")
        for table, (select, indexes, key) in DERIVED.items():
            if not incremental:
                conn.execute(f"CREATE TABLE [{table}] AS {_everything(select)}")
                for name, on in indexes.items():
                    conn.execute(f"CREATE INDEX idx_{table}_{name} ON [{table}]({on})")
                continue
            if table in ADDITIVE:
                add_changes(conn, table, select, *ADDITIVE[table])
                continue
            if key is None:
                conn.execute(f"DELETE FROM [{table}]")
            else:
                kind, *columns = key
                conn.execute(f"DELETE FROM [{table}] WHERE " + " OR ".join(
                    f"{c} IN (SELECT key FROM temp._agg_touched WHERE kind = '{kind}')" for c in columns))
            conn.execute(f"INSERT INTO [{table}] {scoped(select)}")
        if incremental:
            conn.execute("DELETE FROM source_freshness")
        else:
            conn.execute(_SOURCE_FRESHNESS)
        _source_freshness(conn)
        for view, sql in VIEWS.items():
            conn.execute(f"CREATE VIEW [{view}] AS {sql.strip()}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        for name in ("winners", "contract_sums", "project_flags", "_agg_touched", *scratch_of(ADDITIVE)):
            conn.execute(f"DROP TABLE IF EXISTS temp.[{name}]")


def _touched(conn) -> None:
    """Add the changed projects' buyers and winners as they are in ``project_awards`` now."""
    conn.execute(f"""INSERT OR IGNORE INTO temp._agg_touched
        SELECT 'agency', buyer_id FROM project_awards WHERE buyer_id IS NOT NULL AND {_scoped('{project:project_id}')}
        UNION SELECT 'supplier', supplier_id FROM project_awards
        WHERE supplier_id IS NOT NULL AND {_scoped('{project:project_id}')}""")


def _exists(conn, table: str, schema: str = "main") -> bool:
    return conn.execute(f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?",
                        [table]).fetchone() is not None


def _source_freshness(conn) -> None:
    """Which sources fed each public table, and when each source last ran (from source_runs)."""
    for table in PROVENANCE_TABLES:
        conn.execute(
            f"""INSERT INTO source_freshness
                SELECT ?, t.source, t.n, t.last_seen, r.finished_at, r.status
                FROM (SELECT source, count(*) AS n, max(last_seen) AS last_seen FROM [{table}]
                      GROUP BY source) t
                LEFT JOIN (SELECT source, max(finished_at) AS finished_at, status FROM source_runs
                           GROUP BY source) r ON r.source = t.source""",
            [table],
        )
