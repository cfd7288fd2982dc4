"""OCP Cardinal's eleven indicators (cardinal-rs 0.0.8), as set-based SQL over our tables.

The rules, defaults and edge cases follow Cardinal's code (``src/indicators/*.rs``), not just its
docs; ``research/red-flags.md`` §1 lists them. Fences use Cardinal's quartile estimator
(statrs ``Data::lower_quartile``: Hyndman-Fan type 8) over the whole database. Results go to the
temporary tables ``process_hits`` and ``org_hits`` that ``prongsai.derive.flags.build`` publishes.
"""
from __future__ import annotations

import functools
import math

from prongsai.derive.flags.base import create_supplier_projects, in_list
from prongsai.derive.flags.definitions import CARDINAL_CODES, FLAGS
from prongsai.derive.flags.settings import pipe_set


def quantile(values: list[float], tau: float) -> float:
    """statrs 0.16 ``Data::quantile`` (type 8): NaN when empty; ``values`` must be sorted."""
    n = len(values)
    if n == 0 or not 0.0 <= tau <= 1.0:
        return math.nan
    h = (n + 1.0 / 3.0) * tau + 1.0 / 3.0
    hf = int(h)
    if hf <= 0 or tau == 0.0:
        return values[0]
    if hf >= n or tau == 1.0:
        return values[-1]
    a, b = values[hf - 1], values[hf]
    return a + (h - hf) * (b - a)


def quartiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return quantile(values, 0.25), quantile(values, 0.75)


def _column(conn, sql: str, params=()) -> list[float]:
    return [row[0] for row in conn.execute(sql, params)]


def _fence_json(**values) -> dict:
    """Meta values as Cardinal reports them (NaN -> None)."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in values.items()}


class Cardinal:
    def __init__(self, conn, settings: dict[str, dict]):
        self.conn = conn
        self.s = settings
        self.meta: dict[str, dict] = {}

    @functools.cached_property
    def currency(self):
        """Cardinal's main currency; without a setting, the first one observed (here: in bid order).

        Looked up on first use: the indicators that read no bids run before the bid tables exist.
        """
        if configured := self.s.get("", {}).get("currency"):
            return configured
        row = self.conn.execute("SELECT currency FROM _b WHERE currency IS NOT NULL AND amount IS NOT NULL "
                                "ORDER BY ord LIMIT 1").fetchone()
        return row[0] if row else None

    def run(self, codes) -> None:
        if {"R024", "R058"} & set(codes) & set(self.s):
            self._second_lowest_bid_ratios()
        if {"R025", "R038"} & set(codes) & set(self.s):
            self._per_tenderer()
        for code in codes:
            if code in self.s or (code == "R003" and "R003.procurement_method_details" in self.s):
                getattr(self, code.lower())(FLAGS[code].defaults | self.s.get(code, {}))

    # --- process indicators --------------------------------------------------------------

    def r003(self, cfg):
        per_method = self.s.get("R003.procurement_method_details", {})
        values = ", ".join("(?, ?)" for _ in per_method) or "(NULL, NULL)"
        params: list = [cfg["threshold"]] + [x for kv in per_method.items() for x in kv]
        methods = pipe_set(cfg.get("procurement_methods"))
        method_ok = f"p.ocds_method IS NOT NULL AND {in_list('p.ocds_method', methods, params)}" if methods else "1"
        # chrono's num_days(): whole days, truncated toward zero; invalid dates never match.
        self.conn.execute(f"""
            INSERT INTO process_hits
            SELECT pid, 'R003', 1.0,
                   json_object('days', days, 'threshold', threshold, 'tender_start', tender_start,
                               'tender_end', tender_end, 'procurement_method', ocds_method)
            FROM (
                SELECT p.pid, p.tender_start, p.tender_end, p.ocds_method,
                       (unixepoch(p.tender_end) - unixepoch(p.tender_start)) / 86400 AS days,
                       COALESCE(m.days, ?) AS threshold
                FROM _p p
                LEFT JOIN (SELECT column1 AS method, column2 AS days FROM (VALUES {values})) m
                       ON m.method = p.method
                WHERE {method_ok} AND p.tender_end IS NOT NULL
            ) WHERE days < threshold  -- NULL (never below) when either date is invalid
        """, params)

    def r018(self, cfg):
        params: list = []
        methods = pipe_set(cfg["procurement_methods"])
        method_ok = f"p.ocds_method IS NOT NULL AND {in_list('p.ocds_method', methods, params)}" if methods else "1"
        self.conn.execute(f"""
            INSERT INTO process_hits
            SELECT p.pid, 'R018', 1.0,
                   json_object('number_of_tenderers', p.number_of_tenderers, 'procurement_method', p.ocds_method)
            FROM _p p
            WHERE p.number_of_tenderers = 1 AND typeof(p.number_of_tenderers) = 'integer' AND {method_ok}
        """, params)

    def _second_lowest_bid_ratios(self):
        """Cardinal's SecondLowestBidRatio: (lowest non-winning - winning) / winning valid bid.

        Both minima per project come from one pass over its bids in (pid, ord) order; for ties the
        first bid wins, as in Cardinal (SQLite's ``min()`` keeps the first row of equal minima).
        Here and below, ``_bp x CROSS JOIN`` makes the projects that can raise a flag drive the
        join (SQLite keeps CROSS JOIN's order): their bids are sought, not all bids scanned.
        """
        valid = ("b.status = 'valid' AND b.nt = 1 AND b.pc AND typeof(b.amount) IN ('integer', 'real') "
                 "AND b.currency = ?")
        self.conn.execute(f"""
            CREATE TEMP TABLE _slr AS
            SELECT pid, winner, wa, la, (la - wa) / wa AS ratio,
                   (SELECT b.t1 FROM _b b WHERE b.pid = s.pid AND b.amount = s.la AND b.t1 != s.winner AND {valid}
                    ORDER BY b.ord LIMIT 1) AS loser
            FROM (SELECT x.pid, a.winner, min(CASE WHEN b.t1 = a.winner THEN b.amount END) AS wa,
                         min(CASE WHEN b.t1 != a.winner THEN b.amount END) AS la
                  FROM _bp x CROSS JOIN _aw a CROSS JOIN _b b ON a.pid = x.pid AND b.pid = x.pid
                  WHERE x.nv >= 2 AND a.winner IS NOT NULL AND {valid}
                  GROUP BY x.pid) s
            WHERE la >= wa AND wa != 0
        """, [self.currency, self.currency])

    def _per_tenderer(self):
        """``_bt``: each tenderer's bids for R025 and R038, from its (project, tenderer) rows ``_sp``.

        R038: its submitted bids ``bids``, the disqualified ones ``d`` and its ``processes``.
        R025: the processes with a single winner where it made a valid bid alone (``n``) and won (``wins``).
        """
        create_supplier_projects(self.conn)
        self.conn.execute("""
            CREATE TEMP TABLE _bt AS
            SELECT tid, total(d) AS d, sum(bids) AS bids, count(*) AS processes, sum(alone) AS n,
                   CAST(sum(won) AS REAL) AS wins
            FROM _sp GROUP BY tid
        """)

    def _ratio_evidence(self, fence_key: str) -> str:
        return (f"json_object('winner_id', winner, 'second_id', loser, 'winner_amount', wa, 'second_amount', la, "
                f"'ratio', ratio, 'ratio_pct', ratio * 100, 'fence', ?, 'fence_pct', ? * 100, "
                f"'currency', ?, 'fence_kind', '{fence_key}')")

    def r024(self, cfg):
        threshold = cfg.get("threshold")
        if threshold is None:
            q1, q3 = quartiles(_column(self.conn, "SELECT ratio FROM _slr"))
            fence = q1 - 1.5 * (q3 - q1)
            self.meta["R024"] = _fence_json(q1=q1, q3=q3, lower_fence=fence)
        else:
            q1, fence = 1.0, threshold
            self.meta["R024"] = {"lower_fence": fence}
        if not (q1 > 0 and fence > 0):
            return
        ev = self._ratio_evidence("lower")
        self.conn.execute(f"INSERT INTO process_hits SELECT pid, 'R024', ratio, {ev} FROM _slr WHERE ratio <= ?",
                          [fence, fence, self.currency, fence])
        self._tenderers("R024", "SELECT pid, winner AS tid FROM _slr WHERE ratio <= ? "
                        "UNION SELECT pid, loser FROM _slr WHERE ratio <= ?", [fence, fence], 0.0)

    def r058(self, cfg):
        threshold = cfg.get("threshold")
        if threshold is None:
            q1, q3 = quartiles(_column(self.conn, "SELECT ratio FROM _slr"))
            fence = q3 + 1.5 * (q3 - q1)
            self.meta["R058"] = _fence_json(q1=q1, q3=q3, upper_fence=fence)
        else:
            fence = threshold
            self.meta["R058"] = {"upper_fence": fence}
        if not fence > 0:
            return
        ev = self._ratio_evidence("upper")
        self.conn.execute(f"INSERT INTO process_hits SELECT pid, 'R058', ratio, {ev} FROM _slr WHERE ratio >= ?",
                          [fence, fence, self.currency, fence])
        self._tenderers("R058", "SELECT pid, winner AS tid FROM _slr WHERE ratio >= ?", [fence], 0.0)

    def r028(self, cfg):
        # Cardinal compares each bid with the last earlier bid at the same (amount, currency); every
        # tenderer set in a price group holding two or more different sets ends up flagged, so a bid
        # is flagged when another bid of the project has its price and a different tenderer set.
        self.conn.execute("""
            CREATE TEMP TABLE _r028 AS
            SELECT a.pid, a.ord, a.amount, a.currency, a.tset FROM _bp x CROSS JOIN _b a ON a.pid = x.pid
            WHERE x.sets >= 2 AND a.pc AND a.tset IS NOT NULL AND typeof(a.amount) IN ('integer', 'real') AND a.currency IS NOT NULL
              AND EXISTS (SELECT 1 FROM _b b WHERE b.pid = a.pid AND b.amount = a.amount AND b.currency = a.currency
                          AND b.tset != a.tset)
        """)
        self.conn.execute("""
            INSERT INTO process_hits
            SELECT pid, 'R028', 1.0,
                   json_object('amount', min(amount), 'currency', min(currency),
                               'bid_ids', json_group_array((SELECT id FROM main.bids WHERE rowid = ord)),
                               'tenderers', json_group_array(DISTINCT replace(tset, char(31), '+')))
            FROM _r028 GROUP BY pid
        """)
        self._tenderers("R028", "SELECT DISTINCT r.pid, t.supplier_id AS tid FROM _r028 r "
                        "JOIN main.bids b ON b.rowid = r.ord JOIN bid_tenderers t ON t.bid_id = b.id", [], 1.0)

    def r030(self, cfg):
        # Cardinal compares the date strings, so keep offsets consistent when loading.
        self.conn.execute("""
            CREATE TEMP TABLE _r030 AS
            SELECT b.pid, b.supplier_id, m.id AS bid_id, m.date, p.tender_end
            FROM _bp x CROSS JOIN _bx b ON b.pid = x.pid JOIN main.bids m ON m.rowid = b.ord
            JOIN _p p ON p.pid = b.pid JOIN _aw a ON a.pid = b.pid
            WHERE x.late > 0 AND b.late AND a.act_n > 0
              AND (b.supplier_id = a.act_sid
                   OR a.act_n > 1 AND EXISTS (SELECT 1 FROM _as x JOIN award_suppliers s ON s.award_id = x.id
                                              WHERE x.pid = b.pid AND x.status = 'active'
                                                AND s.supplier_id = b.supplier_id))
        """)
        self.conn.execute("""
            INSERT INTO process_hits
            SELECT pid, 'R030', 1.0,
                   json_object('bid_date', max(date), 'tender_end', min(tender_end),
                               'bid_ids', json_group_array(DISTINCT bid_id),
                               'tenderers', json_group_array(DISTINCT supplier_id))
            FROM _r030 GROUP BY pid
        """)
        self._tenderers("R030", "SELECT DISTINCT pid, supplier_id AS tid FROM _r030", [], 1.0)

    def r035(self, cfg):
        threshold = max(cfg["threshold"], 1)
        # Only projects with a disqualified bid can raise it (threshold >= 1). With a single valid
        # tenderer v, the other disqualified tenderers are all valid-or-disqualified ones but v.
        self.conn.execute("""
            CREATE TEMP TABLE _r035 AS
            SELECT pid, vid AS winner, n FROM (
                SELECT b.pid, min(CASE WHEN b.status = 'valid' THEN b.supplier_id END) AS vid,
                       count(DISTINCT CASE WHEN b.status = 'valid' THEN b.supplier_id END) AS valid_n,
                       count(DISTINCT CASE WHEN b.status IN ('valid', 'disqualified') THEN b.supplier_id END) - 1 AS n
                FROM _bx b
                WHERE b.pid IN (SELECT pid FROM _bp WHERE nd > 0) AND b.supplier_id IS NOT NULL
                GROUP BY b.pid
            ) JOIN _aw a USING (pid)
            WHERE valid_n = 1 AND a.nonfinal = 0 AND a.act_n = 1 AND a.act_sid = vid
        """)
        self.conn.execute("""
            INSERT INTO process_hits SELECT pid, 'R035', n, json_object('disqualified', n, 'winner_id', winner,
                   'threshold', ?) FROM _r035 WHERE n >= ?
        """, [threshold, threshold])
        self._tenderers("R035", "SELECT pid, winner AS tid FROM _r035 WHERE n >= ?", [threshold], 0.0)

    def r036(self, cfg):
        # Only projects with a disqualified bid can raise it. Projects drive the join (CROSS JOIN
        # fixes the order), so grouping needs no sort; min()'s bare columns come from its row, the
        # first by bid order among equal amounts, as in Cardinal.
        comparable = "b.pc AND typeof(b.amount) IN ('integer', 'real') AND b.currency = ?"
        self.conn.execute(f"""
            INSERT INTO process_hits
            SELECT pid, 'R036', 1.0,
                   json_object('lowest_amount', amount, 'lowest_bid_id', (SELECT id FROM main.bids WHERE rowid = ord),
                               'lowest_valid_amount', lowest_valid, 'currency', currency)
            FROM (
                SELECT s.*, (SELECT min(b.amount) FROM _b b WHERE b.pid = s.pid AND b.status = 'valid'
                                                              AND {comparable}) AS lowest_valid
                FROM (SELECT x.pid, min(b.amount) AS amount, b.ord, b.status, b.currency
                      FROM _bp x CROSS JOIN _aw a CROSS JOIN _b b ON a.pid = x.pid AND b.pid = x.pid
                      WHERE x.nd > 0 AND a.active > 0 AND {comparable}
                      GROUP BY x.pid) s
                WHERE s.status = 'disqualified'
            ) WHERE lowest_valid IS NOT NULL
        """, [self.currency, self.currency])

    # --- organisation indicators ---------------------------------------------------------

    def r025(self, cfg):
        self.conn.execute("CREATE TEMP TABLE _r025 AS SELECT tid, n, wins FROM _bt WHERE n > 0")
        counts = sorted(_column(self.conn, "SELECT n FROM _r025"))
        upper = quantile(counts, cfg["percentile"] / 100.0)
        threshold = cfg.get("threshold")
        if threshold is None:
            q1, q3 = quartiles(_column(self.conn, "SELECT wins / n FROM _r025"))
            lower = q1 - 1.5 * (q3 - q1)
            self.meta["R025"] = _fence_json(q1=q1, q3=q3, upper_fence=upper, lower_fence=lower)
        else:
            q1, lower = 1.0, threshold
            self.meta["R025"] = _fence_json(upper_fence=upper, lower_fence=lower)
        if not (q1 > 0 and lower > 0) or math.isnan(upper):
            return
        self.conn.execute("""
            INSERT INTO org_hits
            SELECT 'tenderer', tid, 'R025', wins / n,
                   json_object('wins', CAST(wins AS INTEGER), 'processes', n, 'ratio', wins / n,
                               'ratio_pct', 100.0 * wins / n, 'fence', ?, 'fence_pct', 100.0 * ?,
                               'minimum_processes', ?)
            FROM _r025 WHERE n >= ? AND wins / n <= ?
        """, [lower, lower, upper, upper, lower])

    def r038(self, cfg):
        minimum_bids = cfg["minimum_submitted_bids"]
        minimum_processes = cfg["minimum_contracting_processes"]
        self.conn.execute("CREATE TEMP TABLE _r038 (org_type TEXT, org_id TEXT, d REAL, n INTEGER, processes INTEGER)")
        self.conn.execute("""
            CREATE TEMP TABLE _r038p AS
            SELECT p.buyer_id, p.procuring_entity_id, per.d, per.n
            FROM (SELECT pid, nd AS d, n FROM _bp) per JOIN _p p ON p.pid = per.pid
        """)
        self.conn.execute("""
            INSERT INTO _r038
            SELECT 'buyer', buyer_id, total(d), sum(n), count(*) FROM _r038p WHERE buyer_id IS NOT NULL
            GROUP BY buyer_id
            UNION ALL
            SELECT 'procuring_entity', procuring_entity_id, total(d), sum(n), count(*) FROM _r038p
            WHERE procuring_entity_id IS NOT NULL GROUP BY procuring_entity_id
        """)
        self.conn.execute("INSERT INTO _r038 SELECT 'tenderer', tid, d, bids, processes FROM _bt")
        # As coded in Cardinal, minimum_contracting_processes is compared with the submitted bids.
        minimum = {"buyer": minimum_processes, "procuring_entity": minimum_processes, "tenderer": minimum_bids}
        threshold = cfg.get("threshold")
        meta = self.meta.setdefault("R038", {})
        group = {"buyer": "Buyer", "procuring_entity": "ProcuringEntity", "tenderer": "Tenderer"}
        for org_type, least in minimum.items():
            ratios = _column(self.conn, "SELECT d / n FROM _r038 WHERE org_type = ? AND n >= ?", [org_type, least])
            if not ratios:
                continue
            if threshold is None:
                q1, q3 = quartiles(ratios)
                fence = q3 + 1.5 * (q3 - q1)
                meta.update(_fence_json(**{f"{group[org_type]}_q1": q1, f"{group[org_type]}_q3": q3}))
            else:
                fence = threshold
            meta[f"{group[org_type]}_upper_fence"] = fence
            if not fence > 0:
                continue
            self.conn.execute("""
                INSERT INTO org_hits
                SELECT org_type, org_id, 'R038', d / n,
                       json_object('disqualified', CAST(d AS INTEGER), 'submitted', n, 'processes', processes,
                                   'ratio', d / n, 'ratio_pct', 100.0 * d / n, 'fence', ?, 'fence_pct', 100.0 * ?)
                FROM _r038 WHERE org_type = ? AND n >= ? AND d / n >= ?
            """, [fence, fence, org_type, least, fence])

    def r048(self, cfg):
        digits = cfg["digits"]
        minimum = cfg["minimum_contracting_processes"]
        self.conn.execute("""
            CREATE TEMP TABLE _r048 AS
            SELECT a.sid AS tid, count(DISTINCT a.pid) AS processes,
                   count(DISTINCT substr(i.classification_id, 1, ?)) AS variety,
                   json_group_array(DISTINCT substr(i.classification_id, 1, ?)) AS codes
            FROM _as a JOIN _p p ON p.pid = a.pid JOIN award_items i ON i.award_id = a.id
            WHERE a.status = 'active' AND a.ns = 1 AND typeof(i.classification_id) = 'text'
            GROUP BY a.sid
        """, [digits, digits])
        threshold = cfg.get("threshold")
        if threshold is None:
            q1, q3 = quartiles(_column(self.conn, "SELECT variety FROM _r048 WHERE processes >= ?", [minimum]))
            fence = q3 + 1.5 * (q3 - q1)
            self.meta["R048"] = _fence_json(q1=q1, q3=q3, upper_fence=fence)
        else:
            fence = float(threshold)
            self.meta["R048"] = {"upper_fence": fence}
        if math.isnan(fence):
            return
        self.conn.execute("""
            INSERT INTO org_hits
            SELECT 'tenderer', tid, 'R048', variety,
                   json_object('variety', variety, 'processes', processes, 'codes', json(codes), 'threshold', ?,
                               'digits', ?)
            FROM _r048 WHERE processes >= ? AND variety >= ?
        """, [fence, digits, minimum, fence])

    # --- helpers -------------------------------------------------------------------------

    def _tenderers(self, code: str, pairs_sql: str, params: list, value: float) -> None:
        """Tenderer-group results: one org flag per tenderer with the projects that raised it."""
        self.conn.execute(f"""
            INSERT INTO org_hits
            SELECT 'tenderer', tid, '{code}', {value},
                   json_object('processes', count(*),
                               'project_ids', json_group_array((SELECT project_id FROM _p p WHERE p.pid = g.pid)))
            FROM ({pairs_sql}) g WHERE tid IS NOT NULL GROUP BY tid
        """, params)


def compute(conn, settings: dict[str, dict], codes=CARDINAL_CODES) -> dict[str, dict]:
    """Run the indicators of ``codes`` whose section is present; return Cardinal's ``Meta`` (fences)."""
    cardinal = Cardinal(conn, settings)
    cardinal.run(codes)
    return cardinal.meta
