"""OCP Cardinal's eleven indicators (cardinal-rs 0.0.8), as set-based SQL over our tables.

The rules, defaults and edge cases follow Cardinal's code (``src/indicators/*.rs``), not just its
docs; ``research/red-flags.md`` §1 lists them. Fences use Cardinal's quartile estimator
(statrs ``Data::lower_quartile``: Hyndman-Fan type 8) over the whole database. Results go to the
temporary tables ``fp`` (process) and ``fo`` (organisation) that ``prongsai.flags.build`` publishes.
"""
from __future__ import annotations

import math

from prongsai.flags.base import in_list
from prongsai.flags.settings import pipe_set


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
        top = settings.get("", {})
        self.currency = top.get("currency") or self._first_currency()
        include = pipe_set(top.get("price_comparison_procurement_methods"))
        exclude = pipe_set(top.get("no_price_comparison_procurement_methods"))
        # Cardinal's matches_procurement_method_details(): an allow list wins over a deny list.
        params: list = []
        if include:
            cond = f"p.method IS NOT NULL AND {in_list('p.method', include, params)}"
        else:
            cond = f"(p.method IS NULL OR NOT {in_list('p.method', exclude, params)})"
        conn.execute("DROP TABLE IF EXISTS temp._pc")
        conn.execute("CREATE TEMP TABLE _pc (project_id TEXT PRIMARY KEY) WITHOUT ROWID")
        conn.execute(f"INSERT INTO _pc SELECT DISTINCT b.project_id FROM _b b JOIN projects p "
                     f"ON p.project_id = b.project_id WHERE {cond}", params)
        self.meta: dict[str, dict] = {}

    def _first_currency(self):
        row = self.conn.execute("SELECT currency FROM _b WHERE currency IS NOT NULL AND amount IS NOT NULL "
                                "ORDER BY ord LIMIT 1").fetchone()
        return row[0] if row else None

    def run(self) -> None:
        if "R024" in self.s or "R058" in self.s:
            self._second_lowest_bid_ratios()
        for code in ("R003", "R018", "R024", "R025", "R028", "R030", "R035", "R036", "R038", "R048", "R058"):
            if code in self.s or (code == "R003" and "R003.procurement_method_details" in self.s):
                getattr(self, code.lower())(self.s.get(code, {}))

    # --- process indicators --------------------------------------------------------------

    def r003(self, cfg):
        per_method = self.s.get("R003.procurement_method_details", {})
        values = ", ".join("(?, ?)" for _ in per_method) or "(NULL, NULL)"
        params: list = [cfg.get("threshold", 15)] + [x for kv in per_method.items() for x in kv]
        methods = pipe_set(cfg.get("procurement_methods"))
        method_ok = f"p.ocds_method IS NOT NULL AND {in_list('p.ocds_method', methods, params)}" if methods else "1"
        # chrono's num_days(): whole days, truncated toward zero; invalid dates never match.
        self.conn.execute(f"""
            INSERT INTO fp
            SELECT project_id, 'R003', 1.0,
                   json_object('days', days, 'threshold', threshold, 'tender_start', tender_start,
                               'tender_end', tender_end, 'procurement_method', ocds_method)
            FROM (
                SELECT p.project_id, p.tender_start, p.tender_end, p.ocds_method,
                       (CAST(strftime('%s', p.tender_end) AS INTEGER)
                        - CAST(strftime('%s', p.tender_start) AS INTEGER)) / 86400 AS days,
                       COALESCE(m.days, ?) AS threshold
                FROM projects p
                LEFT JOIN (SELECT column1 AS method, column2 AS days FROM (VALUES {values})) m
                       ON m.method = p.method
                WHERE {method_ok} AND p.project_id NOT IN (SELECT project_id FROM _x)
                  AND strftime('%s', p.tender_start) IS NOT NULL AND strftime('%s', p.tender_end) IS NOT NULL
            ) WHERE days < threshold
        """, params)

    def r018(self, cfg):
        params: list = []
        methods = pipe_set(cfg.get("procurement_methods", "open|selective"))
        method_ok = f"ocds_method IS NOT NULL AND {in_list('ocds_method', methods, params)}" if methods else "1"
        self.conn.execute(f"""
            INSERT INTO fp
            SELECT project_id, 'R018', 1.0,
                   json_object('number_of_tenderers', number_of_tenderers, 'procurement_method', ocds_method)
            FROM projects
            WHERE number_of_tenderers = 1 AND typeof(number_of_tenderers) = 'integer' AND {method_ok}
              AND project_id NOT IN (SELECT project_id FROM _x)
        """, params)

    def _second_lowest_bid_ratios(self):
        """Cardinal's SecondLowestBidRatio: (lowest non-winning - winning) / winning valid bid."""
        self.conn.execute("DROP TABLE IF EXISTS temp._slr")
        self.conn.execute("""
            CREATE TEMP TABLE _slr AS
            SELECT project_id, winner, loser, wa, la, (la - wa) / wa AS ratio FROM (
                SELECT project_id, winner,
                       max(CASE WHEN is_w THEN amount END) AS wa,
                       max(CASE WHEN NOT is_w THEN amount END) AS la,
                       max(CASE WHEN NOT is_w THEN t1 END) AS loser
                FROM (
                    SELECT b.project_id, w.winner, b.amount, b.t1, b.t1 = w.winner AS is_w,
                           row_number() OVER (PARTITION BY b.project_id, b.t1 = w.winner
                                              ORDER BY b.amount, b.ord) AS rn
                    FROM _b b JOIN _aw w ON w.project_id = b.project_id
                    WHERE w.winner IS NOT NULL AND b.status = 'valid' AND b.nt = 1
                      AND typeof(b.amount) IN ('integer', 'real') AND b.currency = ?
                      AND b.project_id IN (SELECT project_id FROM _pc)
                ) WHERE rn = 1 GROUP BY project_id
            ) WHERE wa IS NOT NULL AND la IS NOT NULL AND la >= wa AND wa != 0
        """, [self.currency])

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
        self.conn.execute(f"INSERT INTO fp SELECT project_id, 'R024', ratio, {ev} FROM _slr WHERE ratio <= ?",
                          [fence, fence, self.currency, fence])
        self._tenderers("R024", "SELECT project_id, winner AS tid FROM _slr WHERE ratio <= ? "
                        "UNION SELECT project_id, loser FROM _slr WHERE ratio <= ?", [fence, fence], 0.0)

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
        self.conn.execute(f"INSERT INTO fp SELECT project_id, 'R058', ratio, {ev} FROM _slr WHERE ratio >= ?",
                          [fence, fence, self.currency, fence])
        self._tenderers("R058", "SELECT project_id, winner AS tid FROM _slr WHERE ratio >= ?", [fence], 0.0)

    def r028(self, cfg):
        # Cardinal compares each bid with the last earlier bid at the same (amount, currency); every
        # tenderer set in a price group holding two or more different sets ends up flagged.
        self.conn.execute("DROP TABLE IF EXISTS temp._r028")
        self.conn.execute("""
            CREATE TEMP TABLE _r028 AS
            SELECT b.project_id, b.amount, b.currency, b.bid_id, b.tset FROM _b b
            JOIN (SELECT project_id, amount, currency FROM _b
                  WHERE tset IS NOT NULL AND typeof(amount) IN ('integer', 'real') AND currency IS NOT NULL
                    AND project_id IN (SELECT project_id FROM _pc)
                  GROUP BY project_id, amount, currency HAVING count(DISTINCT tset) > 1) g
              ON g.project_id = b.project_id AND g.amount = b.amount AND g.currency = b.currency
            WHERE b.tset IS NOT NULL
        """)
        self.conn.execute("""
            INSERT INTO fp
            SELECT project_id, 'R028', 1.0,
                   json_object('amount', min(amount), 'currency', min(currency),
                               'bid_ids', json_group_array(bid_id),
                               'tenderers', json_group_array(DISTINCT replace(tset, char(31), '+')))
            FROM _r028 GROUP BY project_id
        """)
        self._tenderers("R028", "SELECT DISTINCT r.project_id, t.supplier_id AS tid FROM _r028 r "
                        "JOIN bid_tenderers t ON t.bid_id = r.bid_id", [], 1.0)

    def r030(self, cfg):
        # Cardinal compares the date strings, so keep offsets consistent when loading.
        self.conn.execute("DROP TABLE IF EXISTS temp._r030")
        self.conn.execute("""
            CREATE TEMP TABLE _r030 AS
            SELECT b.project_id, b.supplier_id, b.bid_id, b.date, p.tender_end
            FROM _bx b JOIN projects p ON p.project_id = b.project_id
            JOIN _act a ON a.project_id = b.project_id AND a.supplier_id = b.supplier_id
            WHERE b.status = 'valid' AND typeof(b.date) = 'text' AND typeof(p.tender_end) = 'text'
              AND b.date > p.tender_end
        """)
        self.conn.execute("""
            INSERT INTO fp
            SELECT project_id, 'R030', 1.0,
                   json_object('bid_date', max(date), 'tender_end', min(tender_end),
                               'bid_ids', json_group_array(DISTINCT bid_id),
                               'tenderers', json_group_array(DISTINCT supplier_id))
            FROM _r030 GROUP BY project_id
        """)
        self._tenderers("R030", "SELECT DISTINCT project_id, supplier_id AS tid FROM _r030", [], 1.0)

    def r035(self, cfg):
        threshold = max(cfg.get("threshold", 1), 1)
        self.conn.execute("DROP TABLE IF EXISTS temp._r035")
        self.conn.execute("""
            CREATE TEMP TABLE _r035 AS
            SELECT v.project_id, v.tid AS winner,
                   (SELECT count(DISTINCT d.supplier_id) FROM _bx d
                    WHERE d.project_id = v.project_id AND d.status = 'disqualified' AND d.supplier_id != v.tid) AS n
            FROM (SELECT project_id, min(supplier_id) AS tid FROM _bx
                  WHERE status = 'valid' AND supplier_id IS NOT NULL
                  GROUP BY project_id HAVING count(DISTINCT supplier_id) = 1) v
            JOIN _aw w ON w.project_id = v.project_id AND w.nonfinal = 0
            JOIN (SELECT project_id, min(supplier_id) AS sid FROM _act
                  GROUP BY project_id HAVING count(*) = 1) a
              ON a.project_id = v.project_id AND a.sid = v.tid
        """)
        self.conn.execute("""
            INSERT INTO fp SELECT project_id, 'R035', n, json_object('disqualified', n, 'winner_id', winner,
                   'threshold', ?) FROM _r035 WHERE n >= ?
        """, [threshold, threshold])
        self._tenderers("R035", "SELECT project_id, winner AS tid FROM _r035 WHERE n >= ?", [threshold], 0.0)

    def r036(self, cfg):
        self.conn.execute("""
            INSERT INTO fp
            SELECT project_id, 'R036', 1.0,
                   json_object('lowest_amount', amount, 'lowest_bid_id', bid_id,
                               'lowest_valid_amount', lowest_valid, 'currency', currency)
            FROM (
                SELECT b.project_id, b.bid_id, b.status, b.amount, b.currency,
                       row_number() OVER (PARTITION BY b.project_id ORDER BY b.amount, b.ord) AS rn,
                       min(CASE WHEN b.status = 'valid' THEN b.amount END) OVER (PARTITION BY b.project_id)
                           AS lowest_valid
                FROM _b b
                WHERE typeof(b.amount) IN ('integer', 'real') AND b.currency = ?
                  AND b.project_id IN (SELECT project_id FROM _pc)
                  AND b.project_id IN (SELECT project_id FROM _aw WHERE active > 0)
            ) WHERE rn = 1 AND status = 'disqualified' AND lowest_valid IS NOT NULL
        """, [self.currency])

    # --- organisation indicators ---------------------------------------------------------

    def r025(self, cfg):
        self.conn.execute("DROP TABLE IF EXISTS temp._r025")
        self.conn.execute("""
            CREATE TEMP TABLE _r025 AS
            SELECT t1 AS tid, count(*) AS n, total(t1 = winner) AS wins FROM (
                SELECT DISTINCT b.project_id, b.t1, w.winner FROM _b b JOIN _aw w ON w.project_id = b.project_id
                WHERE w.winner IS NOT NULL AND b.status = 'valid' AND b.nt = 1
            ) GROUP BY t1
        """)
        counts = sorted(_column(self.conn, "SELECT n FROM _r025"))
        upper = quantile(counts, cfg.get("percentile", 75) / 100.0)
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
            INSERT INTO fo
            SELECT 'tenderer', tid, 'R025', wins / n,
                   json_object('wins', CAST(wins AS INTEGER), 'processes', n, 'ratio', wins / n,
                               'ratio_pct', 100.0 * wins / n, 'fence', ?, 'fence_pct', 100.0 * ?,
                               'minimum_processes', ?)
            FROM _r025 WHERE n >= ? AND wins / n <= ?
        """, [lower, lower, upper, upper, lower])

    def r038(self, cfg):
        minimum_bids = cfg.get("minimum_submitted_bids", 2)
        minimum_processes = cfg.get("minimum_contracting_processes", 2)
        self.conn.execute("DROP TABLE IF EXISTS temp._r038")
        self.conn.execute("""
            CREATE TEMP TABLE _r038 (org_type TEXT, org_id TEXT, d REAL, n INTEGER, processes INTEGER)
        """)
        self.conn.execute("""
            WITH per AS (SELECT project_id, total(status = 'disqualified') AS d, count(*) AS n
                         FROM _b GROUP BY project_id)
            INSERT INTO _r038
            SELECT 'buyer', p.buyer_id, total(per.d), sum(per.n), count(*) FROM per
            JOIN projects p ON p.project_id = per.project_id WHERE p.buyer_id IS NOT NULL GROUP BY p.buyer_id
            UNION ALL
            SELECT 'procuring_entity', p.procuring_entity_id, total(per.d), sum(per.n), count(*) FROM per
            JOIN projects p ON p.project_id = per.project_id WHERE p.procuring_entity_id IS NOT NULL
            GROUP BY p.procuring_entity_id
        """)
        self.conn.execute("""
            INSERT INTO _r038
            SELECT 'tenderer', supplier_id, total(status = 'disqualified'), count(*), count(DISTINCT project_id)
            FROM _bx WHERE supplier_id IS NOT NULL GROUP BY supplier_id
        """)
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
                INSERT INTO fo
                SELECT org_type, org_id, 'R038', d / n,
                       json_object('disqualified', CAST(d AS INTEGER), 'submitted', n, 'processes', processes,
                                   'ratio', d / n, 'ratio_pct', 100.0 * d / n, 'fence', ?, 'fence_pct', 100.0 * ?)
                FROM _r038 WHERE org_type = ? AND n >= ? AND d / n >= ?
            """, [fence, fence, org_type, least, fence])

    def r048(self, cfg):
        digits = cfg.get("digits", 2)
        minimum = cfg.get("minimum_contracting_processes", 20)
        self.conn.execute("DROP TABLE IF EXISTS temp._r048")
        self.conn.execute("""
            CREATE TEMP TABLE _r048 AS
            SELECT a.sid AS tid, count(DISTINCT a.project_id) AS processes,
                   count(DISTINCT substr(i.classification_id, 1, ?)) AS variety,
                   json_group_array(DISTINCT substr(i.classification_id, 1, ?)) AS codes
            FROM (SELECT a.id, a.project_id, min(s.supplier_id) AS sid FROM awards a
                  JOIN award_suppliers s ON s.award_id = a.id
                  WHERE a.status = 'active' AND a.project_id NOT IN (SELECT project_id FROM _x)
                  GROUP BY a.id HAVING count(*) = 1) a
            JOIN award_items i ON i.award_id = a.id
            WHERE typeof(i.classification_id) = 'text'
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
            INSERT INTO fo
            SELECT 'tenderer', tid, 'R048', variety,
                   json_object('variety', variety, 'processes', processes, 'codes', json(codes), 'threshold', ?,
                               'digits', ?)
            FROM _r048 WHERE processes >= ? AND variety >= ?
        """, [fence, digits, minimum, fence])

    # --- helpers -------------------------------------------------------------------------

    def _tenderers(self, code: str, pairs_sql: str, params: list, value: float) -> None:
        """Tenderer-group results: one org flag per tenderer with the projects that raised it."""
        self.conn.execute(f"""
            INSERT INTO fo
            SELECT 'tenderer', tid, '{code}', {value},
                   json_object('processes', count(*), 'project_ids', json_group_array(project_id))
            FROM ({pairs_sql}) WHERE tid IS NOT NULL GROUP BY tid
        """, params)


def compute(conn, settings: dict[str, dict]) -> dict[str, dict]:
    """Run every indicator whose section is present; return Cardinal's ``Meta`` (fences)."""
    cardinal = Cardinal(conn, settings)
    cardinal.run()
    return cardinal.meta
