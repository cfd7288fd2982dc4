"""Small pre-aggregated tables that portal pages read, so they stay fast at millions of rows.

Definitions the pages rely on:

* **spending** is the sum of ``contracts.contract_amount`` in THB, dated by ``signed_date``,
  falling back to the project's ``announce_date``; its fiscal year is the Thai fiscal year
  (B.E., October-September) of that date;
* **projects** and **budget** are counted once per project, under the project's own
  ``fiscal_year``, however many contracts it has;
* a project is **flagged** when it has at least one row in ``red_flags``.

Every ``agg_*`` table is dropped and rebuilt inside one transaction, so a reader sees either
the previous build or this one, never half of it.
"""
from __future__ import annotations

from prongsai.derive import budget_links

#: Headline counts for the home page and /healthz.
COUNTED_TABLES = ("projects", "contracts", "bids", "agencies", "suppliers", "red_flags")

#: Rows kept per entity in the "newest" and "top" lists.
RECENT_PER_KEY = 20
TOP_PER_KEY = 10

_FY = ("(CAST(substr({d}, 1, 4) AS INTEGER) + 543 + (CAST(substr({d}, 6, 2) AS INTEGER) >= 10))")

#: Scratch tables (TEMP: private to this connection, gone when it closes).
_SCRATCH = [
    # one row per THB contract with its date and the dimensions pages group by
    f"""CREATE TEMP TABLE _spend AS
    SELECT project_id, supplier_id, supplier_name, buyer_id, method, province, ministry, amount, d,
           substr(d, 1, 7) AS month, {_FY.format(d='d')} AS fy
    FROM (SELECT c.project_id, c.supplier_id, c.supplier_name, p.buyer_id, p.method, p.province,
                 a.ministry, c.contract_amount AS amount, coalesce(c.signed_date, p.announce_date) AS d
          FROM contracts c
          JOIN projects p ON p.project_id = c.project_id
          LEFT JOIN agencies a ON a.id = p.buyer_id
          WHERE c.currency = 'THB' AND c.contract_amount IS NOT NULL)""",
    "CREATE INDEX temp._spend_project ON _spend(project_id)",
    # one row per project: budget once, spending summed, flags collected
    """CREATE TEMP TABLE _proj AS
    SELECT p.project_id, p.buyer_id, p.fiscal_year, p.method, p.province, a.ministry,
           CASE WHEN p.currency = 'THB' THEN p.budget END AS budget,
           s.amount, coalesce(s.contracts, 0) AS contracts, coalesce(s.d, p.announce_date) AS d,
           f.codes, f.codes IS NOT NULL AS flagged
    FROM projects p
    LEFT JOIN agencies a ON a.id = p.buyer_id
    LEFT JOIN (SELECT project_id, total(amount) AS amount, count(*) AS contracts, min(d) AS d
               FROM _spend GROUP BY project_id) s ON s.project_id = p.project_id
    LEFT JOIN (SELECT project_id, group_concat(code, ' ') AS codes FROM red_flags
               GROUP BY project_id) f ON f.project_id = p.project_id""",
    "CREATE INDEX temp._proj_project ON _proj(project_id)",
    # who bid on what (a supplier once per project)
    """CREATE TEMP TABLE _bidder AS
    SELECT DISTINCT b.project_id, t.supplier_id
    FROM bids b JOIN bid_tenderers t ON t.bid_id = b.id""",
    "CREATE INDEX temp._bidder_project ON _bidder(project_id)",
    # projects each supplier won (a project once per supplier)
    """CREATE TEMP TABLE _win AS
    SELECT supplier_id, project_id, total(amount) AS amount, count(*) AS contracts, min(d) AS d
    FROM _spend WHERE supplier_id IS NOT NULL GROUP BY supplier_id, project_id""",
    # budget units tied to agencies, and what those agencies bought per year and method
    *budget_links.SCRATCH,
]

#: table -> (DDL columns, SELECT filling it). Read by portal/ pages only.
TABLES: dict[str, tuple[str, str]] = {
    "agg_spend_month": (
        "month TEXT PRIMARY KEY, fiscal_year INTEGER, contracts INTEGER, amount REAL",
        "SELECT month, min(fy), count(*), total(amount) FROM _spend WHERE month IS NOT NULL GROUP BY month",
    ),
    "agg_spend_fy": (
        "fiscal_year INTEGER PRIMARY KEY, contracts INTEGER, amount REAL, projects INTEGER, "
        "budget REAL, flagged_projects INTEGER",
        """SELECT fy, sum(contracts), total(amount), sum(projects), total(budget), sum(flagged) FROM (
             SELECT fy, count(*) AS contracts, total(amount) AS amount, 0 AS projects, 0 AS budget,
                    0 AS flagged FROM _spend WHERE fy IS NOT NULL GROUP BY fy
             UNION ALL
             SELECT fiscal_year, 0, 0, count(*), total(budget), sum(flagged) FROM _proj
             WHERE fiscal_year IS NOT NULL GROUP BY fiscal_year)
           GROUP BY fy""",
    ),
    "agg_spend_method": (
        "fiscal_year INTEGER, method TEXT, contracts INTEGER, amount REAL, PRIMARY KEY (fiscal_year, method)",
        "SELECT fy, coalesce(method, '-'), count(*), total(amount) FROM _spend WHERE fy IS NOT NULL GROUP BY 1, 2",
    ),
    "agg_spend_ministry": (
        "fiscal_year INTEGER, ministry TEXT, contracts INTEGER, amount REAL, PRIMARY KEY (fiscal_year, ministry)",
        "SELECT fy, coalesce(ministry, '-'), count(*), total(amount) FROM _spend WHERE fy IS NOT NULL GROUP BY 1, 2",
    ),
    "agg_spend_province": (
        "fiscal_year INTEGER, province TEXT, contracts INTEGER, amount REAL, projects INTEGER, "
        "flagged_projects INTEGER, PRIMARY KEY (fiscal_year, province)",
        """SELECT fy, province, sum(contracts), total(amount), sum(projects), sum(flagged) FROM (
             SELECT fy, province, count(*) AS contracts, total(amount) AS amount, 0 AS projects, 0 AS flagged
             FROM _spend WHERE fy IS NOT NULL AND province IS NOT NULL GROUP BY 1, 2
             UNION ALL
             SELECT fiscal_year, province, 0, 0, count(*), sum(flagged) FROM _proj
             WHERE fiscal_year IS NOT NULL AND province IS NOT NULL GROUP BY 1, 2)
           GROUP BY 1, 2""",
    ),
    "agg_top_suppliers": (
        "rank INTEGER PRIMARY KEY, supplier_id TEXT, name TEXT, projects INTEGER, amount REAL",
        f"""SELECT row_number() OVER (ORDER BY amount DESC, w.supplier_id), w.supplier_id,
                  coalesce(s.name_th, w.supplier_id), projects, amount
           FROM (SELECT supplier_id, count(*) AS projects, total(amount) AS amount FROM _win
                 GROUP BY supplier_id ORDER BY amount DESC LIMIT {RECENT_PER_KEY}) w
           LEFT JOIN suppliers s ON s.id = w.supplier_id""",
    ),
    "agg_flag_counts": (
        "code TEXT PRIMARY KEY, projects INTEGER, amount REAL, organisations INTEGER",
        """SELECT code, sum(projects), total(amount), sum(orgs) FROM (
             SELECT r.code, count(*) AS projects, total(p.amount) AS amount, 0 AS orgs
             FROM red_flags r JOIN _proj p ON p.project_id = r.project_id GROUP BY r.code
             UNION ALL
             SELECT code, 0, 0, count(*) FROM org_flags GROUP BY code)
           GROUP BY code""",
    ),
    "agg_flag_examples": (
        "code TEXT, rank INTEGER, project_id TEXT, title TEXT, d TEXT, amount REAL, value REAL, "
        "PRIMARY KEY (code, rank)",
        f"""SELECT code, rn, x.project_id, pr.title, d, amount, value FROM (SELECT * FROM (
              SELECT r.code, r.project_id, r.value, p.d, p.amount,
                     row_number() OVER (PARTITION BY r.code ORDER BY p.d DESC, r.project_id DESC) AS rn
              FROM red_flags r JOIN _proj p ON p.project_id = r.project_id) WHERE rn <= {RECENT_PER_KEY}) x
           JOIN projects pr ON pr.project_id = x.project_id""",
    ),
    "agg_newest_flagged": (
        "rank INTEGER PRIMARY KEY, project_id TEXT, title TEXT, d TEXT, amount REAL, codes TEXT, score REAL",
        f"""SELECT row_number() OVER (ORDER BY x.d DESC, x.project_id DESC), x.project_id, pr.title, x.d,
                  x.amount, x.codes, rs.score
           FROM (SELECT * FROM _proj WHERE flagged ORDER BY d DESC, project_id DESC LIMIT {RECENT_PER_KEY}) x
           JOIN projects pr ON pr.project_id = x.project_id
           LEFT JOIN risk_scores rs ON rs.project_id = x.project_id""",
    ),
    "agg_recent": (
        "scope TEXT, key TEXT, rank INTEGER, project_id TEXT, title TEXT, d TEXT, amount REAL, codes TEXT, "
        "PRIMARY KEY (scope, key, rank)",
        f"""SELECT scope, key, rn, x.project_id, pr.title, x.d, x.amount, x.codes FROM (SELECT * FROM (
              SELECT 'agency' AS scope, buyer_id AS key, project_id, d, amount, codes,
                     row_number() OVER (PARTITION BY buyer_id ORDER BY d DESC, project_id DESC) AS rn
              FROM _proj WHERE buyer_id IS NOT NULL
              UNION ALL
              SELECT 'province', province, project_id, d, amount, codes,
                     row_number() OVER (PARTITION BY province ORDER BY d DESC, project_id DESC)
              FROM _proj WHERE province IS NOT NULL
              UNION ALL
              SELECT 'supplier', w.supplier_id, w.project_id, w.d, w.amount, p.codes,
                     row_number() OVER (PARTITION BY w.supplier_id ORDER BY w.d DESC, w.project_id DESC)
              FROM _win w JOIN _proj p ON p.project_id = w.project_id) WHERE rn <= {RECENT_PER_KEY}) x
           JOIN projects pr ON pr.project_id = x.project_id""",
    ),
    "agg_agency": (
        "agency_id TEXT PRIMARY KEY, projects INTEGER, budget REAL, contracts INTEGER, amount REAL, "
        "flagged_projects INTEGER, first_date TEXT, last_date TEXT",
        """SELECT buyer_id, count(*), total(budget), sum(contracts), total(amount), sum(flagged), min(d), max(d)
           FROM _proj WHERE buyer_id IS NOT NULL GROUP BY buyer_id""",
    ),
    "agg_agency_month": (
        "agency_id TEXT, month TEXT, contracts INTEGER, amount REAL, PRIMARY KEY (agency_id, month)",
        "SELECT buyer_id, month, count(*), total(amount) FROM _spend "
        "WHERE buyer_id IS NOT NULL AND month IS NOT NULL GROUP BY 1, 2",
    ),
    "agg_agency_method": (
        "agency_id TEXT, method TEXT, contracts INTEGER, amount REAL, PRIMARY KEY (agency_id, method)",
        "SELECT buyer_id, coalesce(method, '-'), count(*), total(amount) FROM _spend "
        "WHERE buyer_id IS NOT NULL GROUP BY 1, 2",
    ),
    "agg_agency_supplier": (
        "agency_id TEXT, rank INTEGER, supplier_id TEXT, name TEXT, contracts INTEGER, amount REAL, "
        "share REAL, PRIMARY KEY (agency_id, rank)",
        f"""SELECT buyer_id, rn, x.supplier_id, coalesce(s.name_th, x.name), contracts, amount, share FROM (
              SELECT buyer_id, supplier_id, max(supplier_name) AS name, count(*) AS contracts,
                     total(amount) AS amount,
                     total(amount) / nullif(sum(total(amount)) OVER (PARTITION BY buyer_id), 0) AS share,
                     row_number() OVER (PARTITION BY buyer_id ORDER BY total(amount) DESC, supplier_id) AS rn
              FROM _spend WHERE buyer_id IS NOT NULL AND supplier_id IS NOT NULL
              GROUP BY buyer_id, supplier_id) x
           LEFT JOIN suppliers s ON s.id = x.supplier_id WHERE rn <= {TOP_PER_KEY}""",
    ),
    "agg_agency_flag": (
        "agency_id TEXT, code TEXT, projects INTEGER, PRIMARY KEY (agency_id, code)",
        """SELECT p.buyer_id, r.code, count(*) FROM red_flags r JOIN _proj p ON p.project_id = r.project_id
           WHERE p.buyer_id IS NOT NULL GROUP BY 1, 2""",
    ),
    "agg_province_flag": (
        "province TEXT, code TEXT, projects INTEGER, PRIMARY KEY (province, code)",
        """SELECT p.province, r.code, count(*) FROM red_flags r JOIN _proj p ON p.project_id = r.project_id
           WHERE p.province IS NOT NULL GROUP BY 1, 2""",
    ),
    "agg_supplier": (
        "supplier_id TEXT PRIMARY KEY, bids INTEGER, wins INTEGER, amount REAL, agencies INTEGER, "
        "flagged_projects INTEGER, first_date TEXT, last_date TEXT",
        """SELECT supplier_id, sum(bids), sum(wins), total(amount), sum(agencies), sum(flagged),
                  min(first_date), max(last_date) FROM (
             SELECT supplier_id, count(*) AS bids, 0 AS wins, 0 AS amount, 0 AS agencies, 0 AS flagged,
                    NULL AS first_date, NULL AS last_date FROM _bidder GROUP BY supplier_id
             UNION ALL
             SELECT w.supplier_id, 0, count(*), total(w.amount), count(DISTINCT p.buyer_id), sum(p.flagged),
                    min(w.d), max(w.d)
             FROM _win w JOIN _proj p ON p.project_id = w.project_id GROUP BY w.supplier_id)
           GROUP BY supplier_id""",
    ),
    "agg_supplier_fy": (
        "supplier_id TEXT, fiscal_year INTEGER, wins INTEGER, amount REAL, PRIMARY KEY (supplier_id, fiscal_year)",
        f"SELECT supplier_id, {_FY.format(d='d')} AS fy, count(*), total(amount) FROM _win "
        "WHERE d IS NOT NULL GROUP BY 1, 2",
    ),
    "agg_supplier_agency": (
        "supplier_id TEXT, rank INTEGER, agency_id TEXT, name TEXT, wins INTEGER, amount REAL, "
        "PRIMARY KEY (supplier_id, rank)",
        f"""SELECT supplier_id, rn, buyer_id, a.name_th, wins, amount FROM (
              SELECT w.supplier_id, p.buyer_id, count(*) AS wins, total(w.amount) AS amount,
                     row_number() OVER (PARTITION BY w.supplier_id ORDER BY total(w.amount) DESC, p.buyer_id) AS rn
              FROM _win w JOIN _proj p ON p.project_id = w.project_id WHERE p.buyer_id IS NOT NULL
              GROUP BY w.supplier_id, p.buyer_id) x
           LEFT JOIN agencies a ON a.id = x.buyer_id WHERE rn <= {TOP_PER_KEY}""",
    ),
    "agg_supplier_rival": (
        "supplier_id TEXT, rank INTEGER, rival_id TEXT, name TEXT, projects INTEGER, "
        "PRIMARY KEY (supplier_id, rank)",
        f"""SELECT supplier_id, rn, rival_id, s.name_th, projects FROM (
              SELECT a.supplier_id, b.supplier_id AS rival_id, count(*) AS projects,
                     row_number() OVER (PARTITION BY a.supplier_id ORDER BY count(*) DESC, b.supplier_id) AS rn
              FROM _bidder a JOIN _bidder b ON b.project_id = a.project_id AND b.supplier_id != a.supplier_id
              GROUP BY a.supplier_id, b.supplier_id) x
           LEFT JOIN suppliers s ON s.id = x.rival_id WHERE rn <= {TOP_PER_KEY}""",
    ),
    "agg_supplier_flag": (
        "supplier_id TEXT, code TEXT, projects INTEGER, PRIMARY KEY (supplier_id, code)",
        """SELECT w.supplier_id, r.code, count(*) FROM red_flags r JOIN _win w ON w.project_id = r.project_id
           GROUP BY 1, 2""",
    ),
    # budget per unit and ministry beside what their agencies bought (prongsai/derive/budget_links.py)
    **budget_links.TABLES,
    # A province's own อบจ. lines, apart from agg_budget: they are a part of the nation-wide sum there.
    "agg_province_budget": (
        "province TEXT, fiscal_year INTEGER, plan TEXT, area TEXT, amount REAL, "
        "PRIMARY KEY (province, fiscal_year, area, plan)",
        """SELECT province, fiscal_year, coalesce(plan, '-'), coalesce(description, '-'), total(amount)
           FROM budget_items WHERE scope = 'province' AND province IS NOT NULL GROUP BY 1, 2, 3, 4""",
    ),
    "agg_source": (
        "source TEXT PRIMARY KEY, projects INTEGER, first_fy INTEGER, last_fy INTEGER, last_fetched TEXT",
        "SELECT coalesce(source, '-'), count(*), min(fiscal_year), max(fiscal_year), max(fetched_at) "
        "FROM projects GROUP BY 1",
    ),
    "agg_quarantine": (
        "source TEXT PRIMARY KEY, rows INTEGER, last_seen TEXT",
        "SELECT coalesce(source, '-'), count(*), max(seen_at) FROM quarantine GROUP BY 1",
    ),
}

#: Open, documented views over agg_* tables (which Datasette hides as portal caches).
VIEWS = budget_links.VIEWS

#: Indexes beyond primary keys (pages look these up by key).
INDEXES = budget_links.INDEXES

#: The portal's search lists a filter's projects newest first and stops at a page: these let
#: SQLite walk each filter in date order instead of sorting a whole fiscal year or province.
PROJECT_INDEXES = [
    "CREATE INDEX IF NOT EXISTS idx_projects_fiscal_year_announce ON projects(fiscal_year, announce_date)",
    "CREATE INDEX IF NOT EXISTS idx_projects_province_announce ON projects(province, announce_date)",
    "CREATE INDEX IF NOT EXISTS idx_projects_method_announce ON projects(method, announce_date)",
    "CREATE INDEX IF NOT EXISTS idx_projects_buyer_announce ON projects(buyer_id, announce_date)",
]


def build(db) -> None:
    for statement in _SCRATCH:
        db.execute(statement)
    budget_links.load_rules(db)
    try:
        db.execute("BEGIN")
        _summary_counts(db)
        for view in VIEWS:
            db.execute(f"DROP VIEW IF EXISTS [{view}]")
        for table, (columns, select) in TABLES.items():
            db.execute(f"DROP TABLE IF EXISTS [{table}]")
            db.execute(f"CREATE TABLE [{table}] ({columns})")
            db.execute(f"INSERT INTO [{table}] {select}")
        for statement in INDEXES + PROJECT_INDEXES:
            db.execute(statement)
        for view, select in VIEWS.items():
            db.execute(f"CREATE VIEW [{view}] AS {select}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        for name in ("_spend", "_proj", "_bidder", "_win", *budget_links.TEMP):
            db.execute(f"DROP TABLE IF EXISTS temp.[{name}]")


def _summary_counts(db) -> None:
    db.execute("DROP TABLE IF EXISTS summary_counts")
    db.execute("CREATE TABLE summary_counts (name TEXT PRIMARY KEY, value REAL)")
    for table in COUNTED_TABLES:
        db.execute(f"INSERT INTO summary_counts VALUES (?, (SELECT count(*) FROM [{table}]))", [table])
    db.execute(
        "INSERT INTO summary_counts VALUES ('contract_amount_thb', "
        "(SELECT total(contract_amount) FROM contracts WHERE currency = 'THB'))"
    )
    db.execute("INSERT INTO summary_counts VALUES ('flagged_projects', (SELECT count(*) FROM _proj WHERE flagged))")
