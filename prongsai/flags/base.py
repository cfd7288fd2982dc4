"""Temporary tables every flag reads, built once per build with set-based SQL.

Cardinal reads one OCDS compiled release at a time; we read the same facts from our tables:
``ocid`` = ``projects.project_id``, ``tender.status`` = ``tender_status``,
``procurementMethod`` = ``ocds_method``, ``procurementMethodDetails`` = ``method``,
``tenderPeriod`` = ``tender_start``/``tender_end``, ``bids.details`` = ``bids`` + ``bid_tenderers``
(bid order = ``bids.rowid``), ``awards`` = ``awards`` + ``award_suppliers`` + ``award_items``.

- ``_x``   projects left out of every indicator: cancelled tenders and ``[exclusions]``.
- ``_b``   one row per submitted bid (status valid / disqualified / pending) of the other projects,
           with its tenderer count ``nt``, single tenderer ``t1`` and sorted tenderer set ``tset``.
- ``_bx``  ``_b`` exploded to one row per (bid, tenderer).
- ``_aw``  per project: non-final awards, active awards and, when there is exactly one active
           award with exactly one supplier, that ``winner``.
- ``_act`` distinct (project, supplier) of active awards.
"""
from __future__ import annotations

SUBMITTED = "('valid', 'disqualified', 'pending')"


def in_list(column: str, values, params: list) -> str:
    """``column IN (?, ...)`` with ``values`` appended to ``params``; an empty list matches nothing."""
    values = list(values)
    params.extend(values)
    return f"{column} IN ({', '.join('?' * len(values))})" if values else "0"


def create(conn, exclusions: list[str]) -> None:
    params: list = []
    excluded = in_list("method", exclusions, params)
    conn.execute("DROP TABLE IF EXISTS temp._x")
    conn.execute("CREATE TEMP TABLE _x (project_id TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.execute(f"INSERT INTO _x SELECT project_id FROM projects WHERE tender_status = 'cancelled' "
                 f"OR {excluded}", params)
    conn.execute("DROP TABLE IF EXISTS temp._b")
    conn.execute(f"""
        CREATE TEMP TABLE _b AS
        SELECT b.rowid AS ord, b.id AS bid_id, b.project_id, b.status, b.amount, b.currency, b.date,
               count(t.supplier_id) AS nt, min(t.supplier_id) AS t1,
               group_concat(t.supplier_id, char(31)) AS tset
        FROM bids b LEFT JOIN bid_tenderers t ON t.bid_id = b.id
        WHERE b.status IN {SUBMITTED} AND b.project_id NOT IN (SELECT project_id FROM _x)
        GROUP BY b.rowid
    """)
    conn.execute("CREATE INDEX temp._b_project ON _b(project_id)")
    conn.execute("DROP TABLE IF EXISTS temp._bx")
    conn.execute("""
        CREATE TEMP TABLE _bx AS
        SELECT ord, bid_id, project_id, status, amount, currency, date, t1 AS supplier_id FROM _b WHERE nt = 1
        UNION ALL
        SELECT b.ord, b.bid_id, b.project_id, b.status, b.amount, b.currency, b.date, t.supplier_id
        FROM _b b JOIN bid_tenderers t ON t.bid_id = b.bid_id WHERE b.nt > 1
    """)
    conn.execute("CREATE INDEX temp._bx_project ON _bx(project_id, supplier_id)")
    conn.execute("DROP TABLE IF EXISTS temp._aw")
    conn.execute("""
        CREATE TEMP TABLE _aw AS
        SELECT a.project_id,
               total(a.status IS NOT NULL AND a.status NOT IN ('active', 'cancelled', 'unsuccessful')) AS nonfinal,
               total(a.status = 'active') AS active,
               max(CASE WHEN a.status = 'active' THEN s.n END) AS act_ns,
               max(CASE WHEN a.status = 'active' THEN s.sid END) AS act_sid
        FROM awards a
        LEFT JOIN (SELECT award_id, count(*) AS n, min(supplier_id) AS sid FROM award_suppliers GROUP BY award_id) s
               ON s.award_id = a.id
        WHERE a.project_id NOT IN (SELECT project_id FROM _x)
        GROUP BY a.project_id
    """)
    # The only active award has one supplier, and every other award is cancelled/unsuccessful/unset.
    conn.execute("ALTER TABLE _aw ADD COLUMN winner TEXT")
    conn.execute("UPDATE _aw SET winner = act_sid WHERE nonfinal = 0 AND active = 1 AND act_ns = 1")
    conn.execute("CREATE UNIQUE INDEX temp._aw_project ON _aw(project_id)")
    conn.execute("DROP TABLE IF EXISTS temp._act")
    conn.execute("""
        CREATE TEMP TABLE _act AS
        SELECT DISTINCT a.project_id, s.supplier_id FROM awards a JOIN award_suppliers s ON s.award_id = a.id
        WHERE a.status = 'active' AND a.project_id NOT IN (SELECT project_id FROM _x)
    """)
    conn.execute("CREATE UNIQUE INDEX temp._act_key ON _act(project_id, supplier_id)")


def drop(conn) -> None:
    for name in ("_x", "_b", "_bx", "_aw", "_act"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
