"""Compact scratch tables every flag reads, each built in one pass over a source table.

They live in scratch databases attached for the build, so the build's two connections (one per
core, see ``prongsai.derive.flags.build``) share them; ``_bx`` is a temporary view of each connection.

Cardinal reads one OCDS compiled release at a time; we read the same facts from our tables:
``ocid`` = ``projects.project_id``, ``tender.status`` = ``tender_status``,
``procurementMethod`` = ``ocds_method``, ``procurementMethodDetails`` = ``method``,
``tenderPeriod`` = ``tender_start``/``tender_end``, ``bids.details`` = ``bids`` + ``bid_tenderers``
(bid order = ``bids.rowid``), ``awards`` = ``awards`` + ``award_suppliers`` + ``award_items``.
Projects are keyed by ``pid`` = ``projects.rowid``: integers group and join faster than text, and
the wide source rows (titles, provenance) are read once instead of once per flag.

- ``_p``   projects in scope (not a cancelled tender, ``procurementMethodDetails`` not in
           ``[exclusions]``), with ``pc`` = 1 when their bids may be compared on price, and their
           ``project_id`` for the published rows (the wide project rows are not read again).
- ``_b``   one row per submitted bid (status valid / disqualified / pending) of a project in scope,
           keyed and stored by (``pid``, ``ord`` = ``bids.rowid``), with its tenderers ``tset``
           (sorted, by the primary key), ``nt`` = 0, 1 or 2 (several) of them, the single
           tenderer ``t1`` and ``late`` = 1 for a valid bid dated after the tender period's end
           (date strings, as Cardinal). Bid ids and dates, needed only in evidence, are read back
           from ``bids`` by ``ord``.
- ``_bm``  the tenderers of the bids with several of them.
- ``_bx``  (view) ``_b`` with one row per (bid, tenderer), and the bid's ``nt``.
- ``_bp``  per project with bids: counts (submitted, valid, disqualified, late; distinct tenderers
           up to 3 and tenderer sets up to 2) and the THB bid range, so most flags only look at
           the projects that can raise them.
- ``_as``  one row per award, stored by (``pid``, ``aid`` = ``awards.rowid``), with its supplier
           count ``ns`` and ``sid``. Built while ``_p`` is, so for every project: flags reach
           ``_as`` and ``_aw`` through the projects in scope.
- ``_aw``  per project with awards: whether any award is non-final, the active awards, how many
           distinct suppliers they have ``act_n`` (0, 1, or 2 for "several"; the smallest is
           ``act_sid``), their THB total and first date, and, when exactly one active award has
           exactly one supplier, that ``winner``.
"""
from __future__ import annotations

SUBMITTED = "('valid', 'disqualified', 'pending')"


def in_list(column: str, values, params: list) -> str:
    """``column IN (?, ...)`` with ``values`` appended to ``params``; an empty list matches nothing."""
    values = list(values)
    params.extend(values)
    return f"{column} IN ({', '.join('?' * len(values))})" if values else "0"


def price_comparison(include, exclude, params: list) -> str:
    """Cardinal's ``matches_procurement_method_details``: an allow list wins over a deny list."""
    if include:
        return f"(p.method IS NOT NULL AND {in_list('p.method', include, params)})"
    return f"(p.method IS NULL OR NOT {in_list('p.method', exclude, params)})"


def create_projects(conn, schema: str, *, exclusions=(), include=(), exclude=()) -> None:
    """``_p`` in the attached database ``schema``."""
    params: list = []
    pc = price_comparison(include, exclude, params)
    excluded = in_list("p.method", exclusions, params)
    columns = ("project_id, method, ocds_method, buyer_id, procuring_entity_id, fiscal_year, announce_date, tender_start, "
               "tender_end, number_of_tenderers, budget, reference_price, currency")
    conn.execute(f"CREATE TABLE {schema}._p (pid INTEGER PRIMARY KEY, {columns}, pc)")
    conn.execute(f"""
        INSERT INTO {schema}._p
        SELECT p.rowid, {', '.join('p.' + c.strip() for c in columns.split(','))}, {pc}
        FROM main.projects p
        WHERE p.tender_status IS NOT 'cancelled' AND (p.method IS NULL OR NOT {excluded})
    """, params)


def create_bids(conn, schema: str) -> None:
    """``_b`` and ``_bp`` in ``schema`` (reads ``_p``)."""
    conn.execute(f"""
        CREATE TABLE {schema}._b (pid INT NOT NULL, ord INT NOT NULL, status TEXT, amount REAL, currency TEXT,
                                  tset, pc, late, nt, t1, PRIMARY KEY (pid, ord)) WITHOUT ROWID
    """)
    # One row per (bid, tenderer) from a plain join: a bid's second and later tenderers (rare: joint
    # ventures) extend its first row's ``tset`` in primary-key order, as group_concat would, at a
    # fraction of the cost of a per-bid subquery. projects' primary-key index gives the rowid
    # without reading the (wide) project rows.
    conn.execute(f"""
        INSERT INTO {schema}._b (pid, ord, status, amount, currency, tset, pc, late, nt, t1)
        SELECT x.pid, b.rowid, b.status, b.amount, b.currency, t.supplier_id, x.pc,
               b.status = 'valid' AND typeof(b.date) = 'text' AND typeof(x.tender_end) = 'text'
                   AND b.date > x.tender_end,
               t.supplier_id IS NOT NULL, t.supplier_id
        FROM main.bids b
        JOIN main.projects p INDEXED BY sqlite_autoindex_projects_1 ON p.project_id = b.project_id
        JOIN _p x ON x.pid = p.rowid
        LEFT JOIN main.bid_tenderers t ON t.bid_id = b.id
        WHERE b.status IN {SUBMITTED}
        ON CONFLICT (pid, ord) DO UPDATE SET tset = tset || char(31) || excluded.tset, nt = 2, t1 = NULL
    """)
    # the tenderers of the bids with several (rare), for ``_bx``
    conn.execute(f"""
        CREATE TABLE {schema}._bm (pid INT NOT NULL, ord INT NOT NULL, supplier_id TEXT NOT NULL,
                                   PRIMARY KEY (pid, ord, supplier_id)) WITHOUT ROWID
    """)
    conn.execute(f"""
        INSERT INTO {schema}._bm
        SELECT b.pid, b.ord, t.supplier_id FROM _b b JOIN main.bids m ON m.rowid = b.ord
        JOIN main.bid_tenderers t ON t.bid_id = m.id WHERE b.nt > 1
    """)
    # Per project, folded by upsert like ``_aw``. Distinct counts are kept only as far as the flags
    # ask: ``sets`` 0, 1 or 2 (two or more tenderer sets), ``tenderers`` 0, 1, 2 or 3 (three or more).
    conn.execute(f"""
        CREATE TABLE {schema}._bp (
            pid INTEGER PRIMARY KEY, n INTEGER, nv REAL, nd REAL, tset_min, tset_max, tenderers INTEGER, t1_min, t1_max,
            max_nt, late REAL, thb_min, thb_max,
            sets AS (CASE WHEN tset_min IS NULL THEN 0 WHEN tset_min = tset_max THEN 1 ELSE 2 END))
    """)
    thb = "CASE WHEN currency = 'THB' THEN amount END"
    conn.execute(f"""
        INSERT INTO {schema}._bp (pid, n, nv, nd, tset_min, tset_max, tenderers, t1_min, t1_max, max_nt, late,
                                  thb_min, thb_max)
        SELECT pid, 1, status = 'valid', status = 'disqualified', tset, tset, t1 IS NOT NULL, t1, t1, nt, late,
               {thb}, {thb}
        FROM _b WHERE 1
        ON CONFLICT (pid) DO UPDATE SET
            n = n + 1, nv = nv + excluded.nv, nd = nd + excluded.nd, late = late + excluded.late,
            tset_min = {_least("tset_min")}, tset_max = {_greatest("tset_max")},
            tenderers = CASE WHEN excluded.t1_min IS NULL OR excluded.t1_min IN (t1_min, t1_max) THEN tenderers
                             ELSE min(tenderers + 1, 3) END,
            t1_min = {_least("t1_min")}, t1_max = {_greatest("t1_max")},
            max_nt = max(max_nt, excluded.max_nt),
            thb_min = {_least("thb_min")}, thb_max = {_greatest("thb_max")}
    """)


def create_awards(conn, schema: str) -> None:
    """``_as`` and ``_aw`` in ``schema``, for every project: they are read through projects in scope."""
    # as for ``_b``: one row per (award, supplier) from a plain join, folded into the award's row
    conn.execute(f"""
        CREATE TABLE {schema}._as (pid INT NOT NULL, aid INT NOT NULL, id TEXT, status TEXT, amount REAL,
                                   currency TEXT, date TEXT, ns INT, sid TEXT, sid_max TEXT,
                                   PRIMARY KEY (pid, aid)) WITHOUT ROWID
    """)
    conn.execute(f"""
        INSERT INTO {schema}._as
        SELECT p.rowid, a.rowid, a.id, a.status, a.amount, a.currency, a.date,
               s.supplier_id IS NOT NULL, s.supplier_id, s.supplier_id
        FROM main.awards a JOIN main.projects p INDEXED BY sqlite_autoindex_projects_1 ON p.project_id = a.project_id
        LEFT JOIN main.award_suppliers s ON s.award_id = a.id
        WHERE 1
        ON CONFLICT (pid, aid) DO UPDATE SET ns = ns + 1, sid = {_least("sid")}, sid_max = {_greatest("sid_max")}
    """)
    # One row per project, awards folded in by upsert (far cheaper than aggregates over a GROUP BY).
    # An active award with k suppliers counts k in ``act_rows``, so ``active = 1 AND act_rows = 1``
    # is exactly "one active award, with one supplier".
    active = "status = 'active'"
    conn.execute(f"""
        CREATE TABLE {schema}._aw (
            pid INTEGER PRIMARY KEY, nonfinal, active, act_rows, act_sid, act_sid_max, thb_amount, first_date,
            act_n AS (CASE WHEN act_sid IS NULL THEN 0 WHEN act_sid = act_sid_max THEN 1 ELSE 2 END),
            winner AS (CASE WHEN nonfinal = 0 AND active = 1 AND act_rows = 1 THEN act_sid END))
    """)
    conn.execute(f"""
        INSERT INTO {schema}._aw (pid, nonfinal, active, act_rows, act_sid, act_sid_max, thb_amount, first_date)
        SELECT pid, status IS NOT NULL AND status NOT IN ('active', 'cancelled', 'unsuccessful'), {active},
               CASE WHEN {active} THEN ns ELSE 0 END, CASE WHEN {active} THEN sid END,
               CASE WHEN {active} THEN sid_max END, CASE WHEN {active} AND currency = 'THB' THEN amount END,
               CASE WHEN {active} THEN date END
        FROM _as WHERE 1
        ON CONFLICT (pid) DO UPDATE SET
            nonfinal = nonfinal + excluded.nonfinal, active = active + excluded.active,
            act_rows = act_rows + excluded.act_rows,
            act_sid = {_least("act_sid")}, act_sid_max = {_greatest("act_sid_max")},
            thb_amount = CASE WHEN thb_amount IS NULL THEN excluded.thb_amount
                              WHEN excluded.thb_amount IS NULL THEN thb_amount
                              ELSE thb_amount + excluded.thb_amount END,
            first_date = {_least("first_date")}
    """)


def _least(column: str) -> str:
    """In an upsert, the smaller non-null of ``column`` and its new value, as the aggregate ``min()``."""
    return f"CASE WHEN {column} IS NULL OR excluded.{column} < {column} THEN excluded.{column} ELSE {column} END"


def _greatest(column: str) -> str:
    """In an upsert, the larger non-null of ``column`` and its new value, as the aggregate ``max()``."""
    return f"CASE WHEN {column} IS NULL OR excluded.{column} > {column} THEN excluded.{column} ELSE {column} END"


def create_supplier_projects(conn) -> None:
    """``_sp`` (temporary): one row per (project, tenderer), its bids folded in, for R025, R038 and TH08.

    ``alone``: it made a valid bid alone in a project with a single winner; ``won``: and that winner
    was it. Built once per connection (each build opens its own).
    """
    if conn.execute("SELECT 1 FROM sqlite_temp_master WHERE name = '_sp'").fetchone():
        return
    conn.execute("""
        CREATE TEMP TABLE _sp (pid INT NOT NULL, tid TEXT NOT NULL, bids INT, d INT, alone INT, won INT,
                               PRIMARY KEY (pid, tid)) WITHOUT ROWID
    """)
    conn.execute("""
        INSERT INTO _sp
        SELECT b.pid, b.supplier_id, 1, b.status = 'disqualified',
               a.winner IS NOT NULL AND b.status = 'valid' AND b.nt = 1,
               b.status = 'valid' AND b.nt = 1 AND b.supplier_id IS a.winner
        FROM _bx b LEFT JOIN _aw a ON a.pid = b.pid
        WHERE b.supplier_id IS NOT NULL
        ON CONFLICT (pid, tid) DO UPDATE SET bids = bids + 1, d = d + excluded.d, alone = max(alone, excluded.alone),
                                             won = max(won, excluded.won)
    """)


def create_views(conn) -> None:
    """``_bx`` (temporary, per connection): a plain join, so that queries reading it for some projects
    seek those projects' bids rather than scan them all (as a UNION ALL view would)."""
    conn.execute("""
        CREATE TEMP VIEW _bx AS
        SELECT b.ord, b.pid, b.status, b.amount, b.currency, b.late, b.nt, COALESCE(m.supplier_id, b.t1) AS supplier_id
        FROM _b b LEFT JOIN _bm m ON m.pid = b.pid AND m.ord = b.ord
    """)
