"""Small pre-aggregated tables that portal pages read, so they stay fast at millions of rows.

Definitions the pages rely on:

* **spending** is the sum of ``contracts.contract_amount`` in THB, dated by ``signed_date``,
  falling back to the project's ``announce_date``; its fiscal year is the Thai fiscal year
  (B.E., October-September) of that date;
* **projects** and **budget** are counted once per project, under the project's own
  ``fiscal_year``, however many contracts it has;
* a project is **flagged** when it has at least one row in ``red_flags``.

Every table is computed from four per-project tables (``STATE``: one row per THB contract, per
project, per winner and project, per tenderer and project), kept between builds and hidden from
Datasette by their ``agg_`` prefix. An incremental build (``changed``) rewrites only the changed
projects' rows there, then recomputes only the agencies, provinces and suppliers those projects
touch (before and after) in the tables partitioned by one of them (``{kind:column}`` in a SELECT is
the filter on that key), the pairs of suppliers only for the pairs that bid together on a changed
project (``PAIRED``), and the tables of counts and sums take the changed projects' rows away and add
them again (``ADDITIVE``); the small tables over everything are recomputed whole, from the state.
A full build and an incremental one run the same SELECTs (``PAIRED``: the same count, for the
touched pairs), so they write the same rows; ``tests/test_build_incremental.py`` compares them.

Everything is replaced inside one transaction: a reader sees the previous build or this one.
"""
from __future__ import annotations

import re

from prongsai.derive import budget_links

#: Headline counts for the home page and /healthz.
COUNTED_TABLES = ("projects", "contracts", "bids", "agencies", "suppliers", "red_flags")

#: Rows kept per entity in the "newest" and "top" lists.
RECENT_PER_KEY = 20
TOP_PER_KEY = 10

_FY = ("(CAST(substr({d}, 1, 4) AS INTEGER) + 543 + (CAST(substr({d}, 6, 2) AS INTEGER) >= 10))")

#: A state row's flag codes (``codes``, space-separated) as rows, for grouping by code.
_CODES = "json_each('[\"' || replace({t}.codes, ' ', '\",\"') || '\"]')"


def _newest(kind: str, table: str, key: str, keys: str) -> str:
    """The newest RECENT_PER_KEY projects of each touched ``key`` of ``table`` (the ``keys`` SELECT
    names them), read from the (key, d, project_id) index: a few rows per key, not a sort of all."""
    return f"""SELECT '{kind}' AS scope, t.{key} AS key, t.project_id, t.d, t.amount, t.codes,
                  row_number() OVER (PARTITION BY t.{key} ORDER BY t.d DESC, t.project_id DESC) AS rn
           FROM ({keys}) k
           JOIN {table} t ON t.rowid IN (SELECT rowid FROM {table} WHERE {key} = k.{key}
                                         ORDER BY d DESC, project_id DESC LIMIT {RECENT_PER_KEY})"""


#: Per-project state, in build order: table -> (columns, SELECT of the rows of the projects
#: ``{project:...}`` selects, indexes). The temporary views ``_spend``, ``_proj``, ``_win`` and
#: ``_bidder`` below read them.
STATE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # one row per THB contract with its date and the dimensions pages group by
    "agg_state_spend": (
        "project_id TEXT, supplier_id TEXT, supplier_name TEXT, buyer_id TEXT, method TEXT, province TEXT, "
        "ministry TEXT, amount REAL, d TEXT, month TEXT, fy INTEGER",
        f"""SELECT project_id, supplier_id, supplier_name, buyer_id, method, province, ministry, amount, d,
                  substr(d, 1, 7), {_FY.format(d='d')}
           FROM (SELECT c.project_id, c.supplier_id, c.supplier_name, p.buyer_id, p.method, p.province,
                        a.ministry, c.contract_amount AS amount, coalesce(c.signed_date, p.announce_date) AS d
                 FROM contracts c
                 JOIN projects p ON p.project_id = c.project_id
                 LEFT JOIN agencies a ON a.id = p.buyer_id
                 WHERE c.currency = 'THB' AND c.contract_amount IS NOT NULL AND {{project:c.project_id}})""",
        ("project_id", "buyer_id, supplier_id, amount, supplier_name"),
    ),
    # one row per project: budget once, spending summed, flags collected
    "agg_state_proj": (
        "project_id TEXT, buyer_id TEXT, fiscal_year INTEGER, method TEXT, province TEXT, ministry TEXT, "
        "budget REAL, amount REAL, contracts INTEGER, d TEXT, codes TEXT, flagged INTEGER, source TEXT, "
        "fetched_at TEXT, budget_any REAL",
        """SELECT p.project_id, p.buyer_id, p.fiscal_year, p.method, p.province, a.ministry,
                  CASE WHEN p.currency = 'THB' THEN p.budget END,
                  s.amount, coalesce(s.contracts, 0), coalesce(s.d, p.announce_date),
                  f.codes, f.codes IS NOT NULL, p.source, p.fetched_at, p.budget
           FROM projects p
           LEFT JOIN agencies a ON a.id = p.buyer_id
           LEFT JOIN (SELECT project_id, total(amount) AS amount, count(*) AS contracts, min(d) AS d
                      FROM agg_state_spend WHERE {project:project_id} GROUP BY project_id) s
                  ON s.project_id = p.project_id
           LEFT JOIN (SELECT project_id, group_concat(code, ' ') AS codes
                      FROM (SELECT project_id, code FROM red_flags WHERE {project:project_id}
                            ORDER BY project_id, code)
                      GROUP BY project_id) f ON f.project_id = p.project_id
           WHERE {project:p.project_id}""",
        ("project_id", "buyer_id, d, project_id", "province, d, project_id", "d, project_id WHERE flagged"),
    ),
    # projects each supplier won (a project once per supplier), with the project's buyer and flags
    "agg_state_win": (
        "supplier_id TEXT, project_id TEXT, buyer_id TEXT, amount REAL, contracts INTEGER, d TEXT, "
        "flagged INTEGER, codes TEXT",
        """SELECT w.supplier_id, w.project_id, p.buyer_id, w.amount, w.contracts, w.d, p.flagged, p.codes
           FROM (SELECT supplier_id, project_id, total(amount) AS amount, count(*) AS contracts, min(d) AS d
                 FROM agg_state_spend WHERE supplier_id IS NOT NULL AND {project:project_id}
                 GROUP BY supplier_id, project_id) w
           JOIN agg_state_proj p ON p.project_id = w.project_id""",
        ("project_id", "supplier_id, d, project_id"),
    ),
    # who bid on what (a supplier once per project), and whether that bid won
    # one row per raised flag with its project's date and spending, for the newest examples of each flag
    "agg_state_flag": (
        "code TEXT, project_id TEXT, value REAL, d TEXT, amount REAL",
        """SELECT r.code, r.project_id, r.value, p.d, p.amount FROM red_flags r
           JOIN agg_state_proj p ON p.project_id = r.project_id WHERE {project:r.project_id}""",
        ("project_id", "code, d, project_id"),
    ),
    "agg_state_bidder": (
        "project_id TEXT, supplier_id TEXT, won INTEGER",
        """SELECT b.project_id, t.supplier_id, max(coalesce(b.is_winner, 0)) FROM bids b
           JOIN bid_tenderers t ON t.bid_id = b.id WHERE {project:b.project_id}
           GROUP BY b.project_id, t.supplier_id""",
        ("project_id, supplier_id, won", "supplier_id, project_id"),
    ),
}
#: The names the tables' SELECTs (and budget_links) read the state by (the per-key lists read the
#: tables themselves, by rowid).
STATE_VIEWS = {"_spend": "agg_state_spend", "_proj": "agg_state_proj", "_win": "agg_state_win",
               "_bidder": "agg_state_bidder"}
#: The keys an incremental build collects from a changed project's state rows, before and after.
TOUCHED_KEYS = {
    "agency": ("SELECT buyer_id FROM agg_state_proj WHERE buyer_id IS NOT NULL AND {project:project_id}",),
    "province": ("SELECT province FROM agg_state_proj WHERE province IS NOT NULL AND {project:project_id}",),
    "supplier": ("SELECT supplier_id FROM agg_state_win WHERE {project:project_id}",
                 "SELECT supplier_id FROM agg_state_bidder WHERE {project:project_id}"),
}

#: table -> (DDL columns, SELECT filling it). Read by portal/ pages only. The budget links' grouping
#: first: ``budget_links.SCRATCH`` reads it.
TABLES: dict[str, tuple[str, str]] = {
    **budget_links.BOUGHT,
    "agg_spend_month": (
        "month TEXT PRIMARY KEY, fiscal_year INTEGER, contracts INTEGER, amount REAL",
        "SELECT month, min(fy), count(*), total(amount) FROM _spend WHERE month IS NOT NULL AND {project:project_id} "
        "GROUP BY month",
    ),
    "agg_spend_fy": (
        "fiscal_year INTEGER PRIMARY KEY, contracts INTEGER, amount REAL, projects INTEGER, "
        "budget REAL, flagged_projects INTEGER",
        """SELECT fy, sum(contracts), total(amount), sum(projects), total(budget), sum(flagged) FROM (
             SELECT fy, count(*) AS contracts, total(amount) AS amount, 0 AS projects, 0 AS budget,
                    0 AS flagged FROM _spend WHERE fy IS NOT NULL AND {project:project_id} GROUP BY fy
             UNION ALL
             SELECT fiscal_year, 0, 0, count(*), total(budget), sum(flagged) FROM _proj
             WHERE fiscal_year IS NOT NULL AND {project:project_id} GROUP BY fiscal_year)
           GROUP BY fy""",
    ),
    "agg_spend_method": (
        "fiscal_year INTEGER, method TEXT, contracts INTEGER, amount REAL, PRIMARY KEY (fiscal_year, method)",
        "SELECT fy, coalesce(method, '-'), count(*), total(amount) FROM _spend "
        "WHERE fy IS NOT NULL AND {project:project_id} GROUP BY 1, 2",
    ),
    "agg_spend_ministry": (
        "fiscal_year INTEGER, ministry TEXT, contracts INTEGER, amount REAL, PRIMARY KEY (fiscal_year, ministry)",
        "SELECT fy, coalesce(ministry, '-'), count(*), total(amount) FROM _spend "
        "WHERE fy IS NOT NULL AND {project:project_id} GROUP BY 1, 2",
    ),
    "agg_spend_province": (
        "fiscal_year INTEGER, province TEXT, contracts INTEGER, amount REAL, projects INTEGER, "
        "flagged_projects INTEGER, PRIMARY KEY (fiscal_year, province)",
        """SELECT fy, province, sum(contracts), total(amount), sum(projects), sum(flagged) FROM (
             SELECT fy, province, count(*) AS contracts, total(amount) AS amount, 0 AS projects, 0 AS flagged
             FROM _spend WHERE fy IS NOT NULL AND province IS NOT NULL AND {project:project_id} GROUP BY 1, 2
             UNION ALL
             SELECT fiscal_year, province, 0, 0, count(*), sum(flagged) FROM _proj
             WHERE fiscal_year IS NOT NULL AND province IS NOT NULL AND {project:project_id} GROUP BY 1, 2)
           GROUP BY 1, 2""",
    ),
    "agg_flag_counts": (
        "code TEXT PRIMARY KEY, projects INTEGER, amount REAL, organisations INTEGER",
        f"""SELECT code, sum(projects), total(amount), sum(orgs) FROM (
             SELECT c.value AS code, count(*) AS projects, total(p.amount) AS amount, 0 AS orgs
             FROM _proj p, {_CODES.format(t='p')} c WHERE p.flagged GROUP BY c.value
             UNION ALL
             SELECT code, 0, 0, count(*) FROM org_flags GROUP BY code)
           GROUP BY code""",
    ),
    "agg_flag_examples": (
        "code TEXT, rank INTEGER, project_id TEXT, title TEXT, d TEXT, amount REAL, value REAL, "
        "PRIMARY KEY (code, rank)",
        f"""SELECT x.code, x.rn, x.project_id, pr.title, x.d, x.amount, x.value FROM (
              SELECT t.code, t.project_id, t.value, t.d, t.amount,
                     row_number() OVER (PARTITION BY t.code ORDER BY t.d DESC, t.project_id DESC) AS rn
              FROM flag_definitions k
              JOIN agg_state_flag t ON t.rowid IN (SELECT rowid FROM agg_state_flag WHERE code = k.code
                                                   ORDER BY d DESC, project_id DESC LIMIT {RECENT_PER_KEY})) x
           JOIN projects pr ON pr.project_id = x.project_id""",
    ),
    "agg_newest_flagged": (
        "rank INTEGER PRIMARY KEY, project_id TEXT, title TEXT, d TEXT, amount REAL, codes TEXT, score REAL",
        f"""SELECT row_number() OVER (ORDER BY x.d DESC, x.project_id DESC), x.project_id, pr.title, x.d,
                  x.amount, x.codes, rs.score
           FROM (SELECT * FROM agg_state_proj WHERE flagged ORDER BY d DESC, project_id DESC
                 LIMIT {RECENT_PER_KEY}) x
           JOIN projects pr ON pr.project_id = x.project_id
           LEFT JOIN risk_scores rs ON rs.project_id = x.project_id""",
    ),
    "agg_agency": (
        "agency_id TEXT PRIMARY KEY, projects INTEGER, budget REAL, contracts INTEGER, amount REAL, "
        "flagged_projects INTEGER, first_date TEXT, last_date TEXT",
        """SELECT buyer_id, count(*), total(budget), sum(contracts), total(amount), sum(flagged), min(d), max(d)
           FROM _proj WHERE buyer_id IS NOT NULL AND {project:project_id} GROUP BY buyer_id""",
    ),
    "agg_agency_month": (
        "agency_id TEXT, month TEXT, contracts INTEGER, amount REAL, PRIMARY KEY (agency_id, month)",
        "SELECT buyer_id, month, count(*), total(amount) FROM _spend "
        "WHERE buyer_id IS NOT NULL AND month IS NOT NULL AND {project:project_id} GROUP BY 1, 2",
    ),
    "agg_agency_method": (
        "agency_id TEXT, method TEXT, contracts INTEGER, amount REAL, PRIMARY KEY (agency_id, method)",
        "SELECT buyer_id, coalesce(method, '-'), count(*), total(amount) FROM _spend "
        "WHERE buyer_id IS NOT NULL AND {project:project_id} GROUP BY 1, 2",
    ),
    "agg_agency_supplier": (
        "agency_id TEXT, rank INTEGER, supplier_id TEXT, name TEXT, contracts INTEGER, amount REAL, "
        "share REAL, PRIMARY KEY (agency_id, rank)",
        f"""SELECT buyer_id, rn, x.supplier_id, coalesce(s.name_th, x.name), contracts, amount, share FROM (
              SELECT buyer_id, supplier_id, max(supplier_name) AS name, count(*) AS contracts,
                     total(amount) AS amount,
                     total(amount) / nullif(sum(total(amount)) OVER (PARTITION BY buyer_id), 0) AS share,
                     row_number() OVER (PARTITION BY buyer_id ORDER BY total(amount) DESC, supplier_id) AS rn
              FROM _spend WHERE buyer_id IS NOT NULL AND supplier_id IS NOT NULL AND {{agency:buyer_id}}
              GROUP BY buyer_id, supplier_id) x
           LEFT JOIN suppliers s ON s.id = x.supplier_id WHERE rn <= {TOP_PER_KEY}""",
    ),
    "agg_agency_flag": (
        "agency_id TEXT, code TEXT, projects INTEGER, PRIMARY KEY (agency_id, code)",
        f"""SELECT p.buyer_id, c.value, count(*) FROM _proj p, {_CODES.format(t='p')} c
           WHERE p.flagged AND p.buyer_id IS NOT NULL AND {{project:p.project_id}} GROUP BY 1, 2""",
    ),
    "agg_province_flag": (
        "province TEXT, code TEXT, projects INTEGER, PRIMARY KEY (province, code)",
        f"""SELECT p.province, c.value, count(*) FROM _proj p, {_CODES.format(t='p')} c
           WHERE p.flagged AND p.province IS NOT NULL AND {{project:p.project_id}} GROUP BY 1, 2""",
    ),
    "agg_supplier": (
        "supplier_id TEXT PRIMARY KEY, bids INTEGER, wins INTEGER, amount REAL, agencies INTEGER, "
        "flagged_projects INTEGER, first_date TEXT, last_date TEXT",
        """SELECT supplier_id, sum(bids), sum(wins), total(amount), sum(agencies), sum(flagged),
                  min(first_date), max(last_date) FROM (
             SELECT supplier_id, count(*) AS bids, 0 AS wins, 0 AS amount, 0 AS agencies, 0 AS flagged,
                    NULL AS first_date, NULL AS last_date FROM _bidder WHERE {supplier:supplier_id} GROUP BY supplier_id
             UNION ALL
             SELECT supplier_id, 0, count(*), total(amount), count(DISTINCT buyer_id), sum(flagged), min(d), max(d)
             FROM _win WHERE {supplier:supplier_id} GROUP BY supplier_id)
           GROUP BY supplier_id""",
    ),
    "agg_supplier_fy": (
        "supplier_id TEXT, fiscal_year INTEGER, wins INTEGER, amount REAL, PRIMARY KEY (supplier_id, fiscal_year)",
        f"SELECT supplier_id, {_FY.format(d='d')} AS fy, count(*), total(amount) FROM _win "
        "WHERE d IS NOT NULL AND {supplier:supplier_id} GROUP BY 1, 2",
    ),
    "agg_supplier_agency": (
        "supplier_id TEXT, rank INTEGER, agency_id TEXT, name TEXT, wins INTEGER, amount REAL, "
        "PRIMARY KEY (supplier_id, rank)",
        f"""SELECT supplier_id, rn, buyer_id, a.name_th, wins, amount FROM (
              SELECT supplier_id, buyer_id, count(*) AS wins, total(amount) AS amount,
                     row_number() OVER (PARTITION BY supplier_id ORDER BY total(amount) DESC, buyer_id) AS rn
              FROM _win WHERE buyer_id IS NOT NULL AND {{supplier:supplier_id}}
              GROUP BY supplier_id, buyer_id) x
           LEFT JOIN agencies a ON a.id = x.buyer_id WHERE rn <= {TOP_PER_KEY}""",
    ),
    # every pair of suppliers in the same tenders, once (a before b): the rivals below and the open
    # co_bidding_pairs (investigations) read it. An incremental build starts from the touched
    # suppliers' tenders (x) and counts each pair once: x before y, or y untouched.
    "agg_pairs": (
        "supplier_a TEXT, supplier_b TEXT, shared INTEGER, a_won INTEGER, b_won INTEGER, "
        "first_project_id TEXT, last_project_id TEXT",
        # x in table (project) order, so each project's bidders y are read from the pages just read
        # (in supplier order, the planner's choice for the GROUP BY, it took half as long again)
        """SELECT x.supplier_id, y.supplier_id, count(*), sum(x.won), sum(y.won), min(x.project_id), max(x.project_id)
           FROM agg_state_bidder x NOT INDEXED
           JOIN agg_state_bidder y ON y.project_id = x.project_id AND y.supplier_id > x.supplier_id
           GROUP BY 1, 2""",
    ),
    "agg_supplier_rival": (
        "supplier_id TEXT, rank INTEGER, rival_id TEXT, name TEXT, projects INTEGER, "
        "PRIMARY KEY (supplier_id, rank)",
        f"""SELECT supplier_id, rn, rival_id, s.name_th, projects FROM (
              SELECT supplier_id, rival_id, projects,
                     row_number() OVER (PARTITION BY supplier_id ORDER BY projects DESC, rival_id) AS rn
              FROM (SELECT supplier_a AS supplier_id, supplier_b AS rival_id, shared AS projects FROM agg_pairs
                    WHERE {{supplier:supplier_a}}
                    UNION ALL
                    SELECT supplier_b, supplier_a, shared FROM agg_pairs WHERE {{supplier:supplier_b}})) x
           LEFT JOIN suppliers s ON s.id = x.rival_id WHERE rn <= {TOP_PER_KEY}""",
    ),
    "agg_supplier_flag": (
        "supplier_id TEXT, code TEXT, projects INTEGER, PRIMARY KEY (supplier_id, code)",
        f"""SELECT w.supplier_id, c.value, count(*) FROM _win w, {_CODES.format(t='w')} c
           WHERE w.flagged AND {{supplier:w.supplier_id}} GROUP BY 1, 2""",
    ),
    # after agg_agency and agg_supplier, which name the agencies and suppliers with projects
    "agg_recent": (
        "scope TEXT, key TEXT, rank INTEGER, project_id TEXT, title TEXT, d TEXT, amount REAL, codes TEXT, "
        "PRIMARY KEY (scope, key, rank)",
        f"""SELECT scope, key, rn, x.project_id, pr.title, x.d, x.amount, x.codes FROM (
              {_newest('agency', 'agg_state_proj', 'buyer_id',
                       'SELECT agency_id AS buyer_id FROM agg_agency WHERE {agency:agency_id}')}
              UNION ALL
              {_newest('province', 'agg_state_proj', 'province', 'SELECT DISTINCT province FROM agg_state_proj '
                       'WHERE province IS NOT NULL AND {province:province}')}
              UNION ALL
              {_newest('supplier', 'agg_state_win', 'supplier_id',
                       'SELECT supplier_id FROM agg_supplier WHERE wins > 0 AND {supplier:supplier_id}')}) x
           JOIN projects pr ON pr.project_id = x.project_id""",
    ),
    # the biggest winners overall, read from agg_supplier (which an incremental build keeps current)
    "agg_top_suppliers": (
        "rank INTEGER PRIMARY KEY, supplier_id TEXT, name TEXT, projects INTEGER, amount REAL",
        f"""SELECT row_number() OVER (ORDER BY amount DESC, w.supplier_id), w.supplier_id,
                  coalesce(s.name_th, w.supplier_id), wins, amount
           FROM (SELECT supplier_id, wins, amount FROM agg_supplier WHERE wins > 0
                 ORDER BY amount DESC, supplier_id LIMIT {RECENT_PER_KEY}) w
           LEFT JOIN suppliers s ON s.id = w.supplier_id""",
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
        "FROM _proj GROUP BY 1",
    ),
    "agg_quarantine": (
        "source TEXT PRIMARY KEY, rows INTEGER, last_seen TEXT",
        "SELECT coalesce(source, '-'), count(*), max(seen_at) FROM quarantine GROUP BY 1",
    ),
    # open (metadata.yml): flagged projects and their budget (any currency) per province, year and flag
    "flag_summary": (
        "province TEXT, fiscal_year INTEGER, code TEXT, projects INTEGER, budget REAL",
        f"""SELECT p.province, p.fiscal_year, c.value, count(*), total(p.budget_any)
           FROM _proj p, {_CODES.format(t='p')} c WHERE p.flagged AND {{project:p.project_id}} GROUP BY 1, 2, 3""",
    ),
}

#: Open, documented views over agg_* tables (which Datasette hides as portal caches).
VIEWS = budget_links.VIEWS

#: Indexes beyond primary keys (pages look these up by key).
INDEXES = [*budget_links.INDEXES,
           "CREATE INDEX idx_agg_pairs_a ON agg_pairs(supplier_a)", "CREATE INDEX idx_agg_pairs_b ON agg_pairs(supplier_b)",
           "CREATE INDEX idx_flag_summary_province ON flag_summary(province, fiscal_year, code)"]

#: The portal's search lists a filter's projects newest first and stops at a page: these let
#: SQLite walk each filter in date order instead of sorting a whole fiscal year or province.
PROJECT_INDEXES = [
    "CREATE INDEX IF NOT EXISTS idx_projects_fiscal_year_announce ON projects(fiscal_year, announce_date)",
    "CREATE INDEX IF NOT EXISTS idx_projects_province_announce ON projects(province, announce_date)",
    "CREATE INDEX IF NOT EXISTS idx_projects_method_announce ON projects(method, announce_date)",
    "CREATE INDEX IF NOT EXISTS idx_projects_buyer_announce ON projects(buyer_id, announce_date)",
]


#: Tables of supplier pairs (``a < b``): an incremental build counts again only the pairs that bid
#: together on a changed project, before or after (``temp._agg_pairs_touched``), rather than every
#: pair of every touched supplier (most of them, as most suppliers bid where others changed).
#: table -> the same count as its SELECT, for the touched pairs ``t``.
PAIRED = {
    "agg_pairs": """SELECT t.a, t.b, count(*), sum(x.won), sum(y.won), min(x.project_id), max(x.project_id)
                    FROM temp._agg_pairs_touched t JOIN agg_state_bidder x ON x.supplier_id = t.a
                    JOIN agg_state_bidder y ON y.project_id = x.project_id AND y.supplier_id = t.b
                    GROUP BY t.a, t.b""",
}
_TOUCHED_PAIRS = """SELECT x.supplier_id, y.supplier_id FROM agg_state_bidder x
    JOIN agg_state_bidder y ON y.project_id = x.project_id AND y.supplier_id > x.supplier_id
    WHERE {project:x.project_id}"""
#: Tables partitioned by an agency, province or supplier: (kind, column, rows of the kind) per
#: partition; an incremental build replaces only the touched keys' rows.
KEYED: dict[str, tuple[tuple[str, str, str], ...]] = {
    "agg_recent": (("agency", "key", "scope = 'agency'"), ("province", "key", "scope = 'province'"),
                   ("supplier", "key", "scope = 'supplier'")),
    "agg_agency_supplier": (("agency", "agency_id", "1"),),
    **{table: (("supplier", "supplier_id", "1"),) for table in (
        "agg_supplier", "agg_supplier_fy", "agg_supplier_agency", "agg_supplier_rival", "agg_supplier_flag")},
}

#: Tables whose columns past their key are counts and sums over projects: an incremental build adds
#: the changed projects' rows as they are now and takes away those they had (the same SELECT over
#: ``{project:...}``, before and after the state is rewritten) instead of a pass over every project.
#: table -> (key columns, summed columns, what a row needs to stay); ``AFTER_ADDING`` sets the rest.
ADDITIVE: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "agg_agency_buy": (("buyer_id", "fy", "method"), ("projects", "flagged", "contracts", "amount"),
                       "projects + contracts > 0"),
    "agg_agency": (("agency_id",), ("projects", "budget", "contracts", "amount", "flagged_projects"), "projects > 0"),
    "agg_spend_month": (("month", "fiscal_year"), ("contracts", "amount"), "contracts > 0"),
    "agg_spend_fy": (("fiscal_year",), ("contracts", "amount", "projects", "budget", "flagged_projects"),
                     "contracts + projects > 0"),
    "agg_spend_method": (("fiscal_year", "method"), ("contracts", "amount"), "contracts > 0"),
    "agg_spend_ministry": (("fiscal_year", "ministry"), ("contracts", "amount"), "contracts > 0"),
    "agg_spend_province": (("fiscal_year", "province"), ("contracts", "amount", "projects", "flagged_projects"),
                           "contracts + projects > 0"),
    "agg_agency_month": (("agency_id", "month"), ("contracts", "amount"), "contracts > 0"),
    "agg_agency_method": (("agency_id", "method"), ("contracts", "amount"), "contracts > 0"),
    "agg_agency_flag": (("agency_id", "code"), ("projects",), "projects > 0"),
    "agg_province_flag": (("province", "code"), ("projects",), "projects > 0"),
    "flag_summary": (("province", "fiscal_year", "code"), ("projects", "budget"), "projects > 0"),
}

#: The first and last date of each touched agency, from the (buyer_id, d) index.
AFTER_ADDING = {
    "agg_agency": """UPDATE agg_agency SET
        first_date = (SELECT min(d) FROM agg_state_proj WHERE buyer_id = agg_agency.agency_id),
        last_date = (SELECT max(d) FROM agg_state_proj WHERE buyer_id = agg_agency.agency_id)
        WHERE {agency:agency_id}""",
}

_KEY = re.compile(r"\{(\w+):([\w.]+)\}")
_TEMP = budget_links.TEMP


def has_state(conn) -> bool:
    """Whether an earlier build left the per-project state an incremental build starts from."""
    found = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                         f"({', '.join('?' * len(STATE))})", list(STATE)).fetchone()[0]
    return found == len(STATE)


def build(db, changed: set[str] | None = None) -> None:
    """Every table from scratch; or, given the ``changed`` project ids (whose rows or red flags a
    load or the flags step changed) and an earlier build's state, only what those projects touch.
    The keys touched stay in ``temp._agg_touched`` for the investigations step."""
    conn = db.conn
    incremental = changed is not None and has_state(conn)
    for name in ("_agg_touched", "_agg_pairs_touched"):
        conn.execute(f"DROP TABLE IF EXISTS temp.[{name}]")
    conn.execute("CREATE TEMP TABLE _agg_touched (kind TEXT, key TEXT, PRIMARY KEY (kind, key)) WITHOUT ROWID")
    conn.execute("CREATE TEMP TABLE _agg_pairs_touched (a TEXT, b TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID")
    conn.execute("BEGIN")
    try:
        if incremental:
            conn.executemany("INSERT INTO temp._agg_touched VALUES ('project', ?)", [(p,) for p in changed])
            _update_state(conn)
        else:
            _create_state(conn)
        for view in VIEWS:
            conn.execute(f"DROP VIEW IF EXISTS [{view}]")
        for table in budget_links.BOUGHT:
            _fill(conn, table, incremental)
        for statement in budget_links.SCRATCH:
            conn.execute(statement)
        budget_links.load_rules(db)
        _summary_counts(conn)
        for table in TABLES:
            if table not in budget_links.BOUGHT:
                _fill(conn, table, incremental)
        if not incremental:
            for statement in INDEXES:
                conn.execute(statement)
        for statement in PROJECT_INDEXES:
            conn.execute(statement)
        for view, select in VIEWS.items():
            conn.execute(f"CREATE VIEW [{view}] AS {select}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        for name in (*_TEMP, *scratch_of(ADDITIVE), "_agg_pairs_touched"):
            conn.execute(f"DROP TABLE IF EXISTS temp.[{name}]")


def _fill(conn, table: str, incremental: bool) -> None:
    """``table`` created and filled anew, or (``incremental``) brought up to date for the changed projects."""
    columns, select = TABLES[table]
    if not incremental:
        conn.execute(f"DROP TABLE IF EXISTS [{table}]")
        conn.execute(f"CREATE TABLE [{table}] ({columns})")
    elif table in ADDITIVE:
        add_changes(conn, table, select, *ADDITIVE[table])
        if table in AFTER_ADDING:
            conn.execute(_scoped(AFTER_ADDING[table]))
        return
    elif table in PAIRED:
        conn.execute(f"DELETE FROM [{table}] WHERE (supplier_a, supplier_b) IN (SELECT a, b FROM temp._agg_pairs_touched)")
        conn.execute(f"INSERT INTO [{table}] {PAIRED[table]}")
        return
    elif table in KEYED:
        for kind, column, rows in KEYED[table]:
            conn.execute(f"DELETE FROM [{table}] WHERE {rows} AND {column} IN "
                         f"(SELECT key FROM temp._agg_touched WHERE kind = ?)", [kind])
    else:
        conn.execute(f"DELETE FROM [{table}]")
    conn.execute(f"INSERT INTO [{table}] {(_scoped if incremental else _everything)(select)}")


def _scoped(select: str) -> str:
    """``select`` reading only the touched keys' rows."""
    return _KEY.sub(lambda m: f"{m[2]} IN (SELECT key FROM temp._agg_touched WHERE kind = '{m[1]}')", select)


def _everything(select: str) -> str:
    return _KEY.sub("1", select)


def _create_state(conn) -> None:
    for table, (columns, select, indexes) in STATE.items():
        conn.execute(f"DROP TABLE IF EXISTS [{table}]")
        conn.execute(f"CREATE TABLE [{table}] ({columns})")
        conn.execute(f"INSERT INTO [{table}] {_everything(select)}")
        for k, on in enumerate(indexes):
            columns, _, where = on.partition(" WHERE ")
            conn.execute(f"CREATE INDEX [idx_{table}_{k}] ON [{table}] ({columns})" + (f" WHERE {where}" if where else ""))
    _state_views(conn)


def _update_state(conn) -> None:
    """Rewrite the changed projects' state rows, noting the keys they touch and what they added
    to the ``ADDITIVE`` tables, before and after."""
    _state_views(conn)
    _touched_keys(conn)
    for table in ADDITIVE:
        remember(conn, table, TABLES[table][1])
    for table in STATE:
        conn.execute(f"DELETE FROM [{table}] WHERE {_scoped('{project:project_id}')}")
    for table, (_, select, _) in STATE.items():
        conn.execute(f"INSERT INTO [{table}] {_scoped(select)}")
    _touched_keys(conn)


def remember(conn, table: str, select: str) -> None:
    """Keep what the changed projects add to ``table`` now, before their rows are rewritten."""
    conn.execute(f"CREATE TEMP TABLE [_was_{table}] AS SELECT * FROM main.[{table}] WHERE 0")
    conn.execute(f"INSERT INTO temp.[_was_{table}] {_scoped(select)}")


def add_changes(conn, table: str, select: str, keys, sums, keep: str) -> None:
    """Add to ``table`` the changed projects' rows as they are now, less those they had (``remember``).
    Keys may be NULL: rows are matched with IS."""
    key, summed = ", ".join(keys), ", ".join(sums)
    was, now, sums_table, touched = (f"temp.[_{step}_{table}]" for step in ("was", "now", "sum", "keys"))
    conn.execute(f"CREATE TEMP TABLE [_now_{table}] AS SELECT * FROM main.[{table}] WHERE 0")
    conn.execute(f"INSERT INTO {now} {_scoped(select)}")
    conn.execute(f"CREATE TEMP TABLE [_keys_{table}] AS SELECT {key} FROM {was} UNION SELECT {key} FROM {now}")
    conn.execute(f"CREATE INDEX temp.[_keys_{table}_index] ON [_keys_{table}] ({key})")
    matched = (f"EXISTS (SELECT 1 FROM {touched} k WHERE "
               + " AND ".join(f"k.[{c}] IS main.[{table}].[{c}]" for c in keys) + ")")
    conn.execute(f"""CREATE TEMP TABLE [_sum_{table}] AS
        SELECT {key}, {', '.join(f'sum({c}) AS {c}' for c in sums)} FROM (
          SELECT {key}, {summed} FROM main.[{table}] WHERE {matched}
          UNION ALL SELECT {key}, {summed} FROM {now}
          UNION ALL SELECT {key}, {', '.join(f'-{c}' for c in sums)} FROM {was})
        GROUP BY {key}""")
    conn.execute(f"DELETE FROM main.[{table}] WHERE {matched}")
    conn.execute(f"INSERT INTO main.[{table}] ({key}, {summed}) SELECT {key}, {summed} FROM {sums_table} WHERE {keep}")
    for name in (was, now, sums_table, touched):
        conn.execute(f"DROP TABLE {name}")


def scratch_of(tables) -> tuple[str, ...]:
    """The temporary tables ``remember`` and ``add_changes`` leave if a build fails half-way."""
    return tuple(f"_{step}_{table}" for table in tables for step in ("was", "now", "sum", "keys"))


def _touched_keys(conn) -> None:
    for kind, selects in TOUCHED_KEYS.items():
        for select in selects:
            conn.execute(f"INSERT OR IGNORE INTO temp._agg_touched SELECT '{kind}', * FROM ({_scoped(select)})")
    conn.execute(f"INSERT OR IGNORE INTO temp._agg_pairs_touched {_scoped(_TOUCHED_PAIRS)}")


def _state_views(conn) -> None:
    for view, table in STATE_VIEWS.items():
        conn.execute(f"CREATE TEMP VIEW IF NOT EXISTS [{view}] AS SELECT * FROM main.[{table}]")


def _summary_counts(conn) -> None:
    conn.execute("DROP TABLE IF EXISTS summary_counts")
    conn.execute("CREATE TABLE summary_counts (name TEXT PRIMARY KEY, value REAL)")
    for table in COUNTED_TABLES:
        conn.execute(f"INSERT INTO summary_counts VALUES (?, (SELECT count(*) FROM [{table}]))", [table])
    conn.execute("INSERT INTO summary_counts VALUES ('contract_amount_thb', (SELECT total(amount) FROM _spend))")
    conn.execute("INSERT INTO summary_counts VALUES ('flagged_projects', (SELECT count(*) FROM _proj WHERE flagged))")
