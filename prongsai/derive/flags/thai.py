"""Thai red flags TH01-TH15 (ACT Ai, Prozorro and opentender checks on Thai data), in SQL.

Thresholds come from ``thai-flags.ini`` (documented there). Amounts are THB only: projects in
another currency, and contracts or awards in another currency, are left out. Ratios are compared
multiplied out (``(ref - award) * 100 <= pct * ref``) so a value exactly at a threshold is stable.
"""
from __future__ import annotations

from prongsai.derive.flags.base import in_list
from prongsai.derive.flags.network import co_bidding, th15
from prongsai.derive.flags.prices import th14
from prongsai.derive.flags.settings import pipe_set


def _methods(cfg, column: str, params: list) -> str:
    methods = pipe_set(cfg.get("procurement_methods"))
    return f"{column} IS NOT NULL AND {in_list(column, methods, params)}" if methods else "1"


def facts(conn) -> None:
    """``_th``: THB projects in scope with their awarded amount (active awards, else contracts)."""
    conn.execute("""
        CREATE TEMP TABLE _th (pid INTEGER PRIMARY KEY, buyer_id, method, ocds_method, fiscal_year, budget,
                               reference_price, number_of_tenderers, date, winner, award_amount)
    """)
    conn.execute("""
        INSERT INTO _th
        SELECT p.pid, p.buyer_id, p.method, p.ocds_method, p.fiscal_year, p.budget, p.reference_price,
               p.number_of_tenderers, COALESCE(p.announce_date, a.first_date) AS date, a.winner,
               COALESCE(a.thb_amount,
                        (SELECT sum(c.award_amount) FROM contracts c
                         WHERE c.project_id = p.project_id
                           AND c.currency = 'THB')) AS award_amount
        FROM _p p LEFT JOIN _aw a ON a.pid = p.pid
        WHERE p.currency = 'THB'
    """)


def _gap(conn, code: str, amount: str, base: str, compare: str, threshold: float, *, key: str,
         where: str = "1", params=()) -> None:
    """Flag THB projects whose ``amount`` is ``compare`` ``threshold`` % away from ``base``.

    ``key`` names the percentage in the evidence; the gap is ``amount - base`` for ``pct_above``
    and ``base - amount`` for ``pct_below``, compared multiplied out so a boundary is exact.
    """
    gap = f"({amount} - {base})" if key == "pct_above" else f"({base} - {amount})"
    conn.execute(f"""
        INSERT INTO process_hits SELECT pid, '{code}', pct,
               json_object('{amount}', {amount}, '{base}', {base}, '{key}', pct, 'threshold_pct', ?)
        FROM (SELECT *, {gap} * 100.0 / {base} AS pct FROM _th
              WHERE {base} > 0 AND {amount} IS NOT NULL AND {gap} * 100.0 {compare} ? * {base} AND {where})
    """, [threshold, threshold, *params])


def th01(conn, cfg):
    params: list = []
    where = f"award_amount <= reference_price AND {_methods(cfg, 'ocds_method', params)}"
    _gap(conn, "TH01", "award_amount", "reference_price", "<=", cfg["max_pct_below"], key="pct_below",
         where=where, params=params)


def th02(conn, cfg):
    _gap(conn, "TH02", "award_amount", "reference_price", ">", cfg["min_pct_above"], key="pct_above")


def th03(conn, cfg):
    _gap(conn, "TH03", "award_amount", "reference_price", ">=", cfg["min_pct_below"], key="pct_below")


def th04(conn, cfg):
    # its testable projects (those with THB contract and agreed amounts) are counted here, in one
    # pass over contracts, rather than by a lookup of contracts per project (applicability); the
    # flag reads contracts again for the few above the threshold (cheaper than keeping all of them)
    joined = """FROM main.contracts c JOIN main.projects p INDEXED BY sqlite_autoindex_projects_1
                ON p.project_id = c.project_id"""
    conn.execute(f"""
        INSERT INTO flag_testable SELECT 'TH04', count(DISTINCT p.rowid) {joined} JOIN _p x ON x.pid = p.rowid
        WHERE c.currency = 'THB' AND c.award_amount > 0 AND c.contract_amount IS NOT NULL
    """)
    conn.execute(f"""
        INSERT INTO process_hits SELECT pid, 'TH04', max(pct),
               json_object('contract_amount', sum(contract_amount), 'award_amount', sum(award_amount),
                           'pct_above', max(pct), 'contract_ids', json_group_array(id), 'threshold_pct', ?)
        FROM (SELECT t.pid, c.id, c.contract_amount, c.award_amount,
                     (c.contract_amount - c.award_amount) * 100.0 / c.award_amount AS pct
              {joined} JOIN _th t ON t.pid = p.rowid
              WHERE c.currency = 'THB' AND c.award_amount > 0
                AND (c.contract_amount - c.award_amount) * 100.0 > ? * c.award_amount)
        GROUP BY pid
    """, [cfg["min_pct_above"]] * 2)


def th05(conn, cfg):
    _gap(conn, "TH05", "reference_price", "budget", ">", cfg["min_pct_above"], key="pct_above")


def th06(conn, cfg):
    # ``_bp.tenderers`` stops at 3 ("three or more"): counted exactly only when min_bidders is above 3
    params = [cfg["min_bidders"], cfg["min_bidders"]]
    conn.execute(f"""
        INSERT INTO process_hits SELECT pid, 'TH06', bidders,
               json_object('bidders', bidders, 'min_bidders', ?, 'method', method, 'procurement_method', ocds_method)
        FROM (SELECT t.pid, t.method, t.ocds_method,
                     CASE WHEN x.max_nt > 1 THEN (SELECT count(DISTINCT supplier_id) FROM _bx b WHERE b.pid = t.pid)
                          WHEN x.tenderers = 3 AND ? > 3 THEN (SELECT count(DISTINCT t1) FROM _b b WHERE b.pid = t.pid)
                          ELSE COALESCE(x.tenderers, t.number_of_tenderers) END AS bidders
              FROM _th t LEFT JOIN _bp x ON x.pid = t.pid WHERE {_methods(cfg, 't.ocds_method', params)})
        WHERE bidders < ?
    """, params + [cfg["min_bidders"]])

def th07(conn, cfg):
    pct = cfg["max_spread_pct"]
    conn.execute("""
        INSERT INTO process_hits SELECT pid, 'TH07', spread,
               json_object('bids', bids, 'winner_amount', wa, 'spread_pct', spread, 'winner_id', winner,
                           'lowest', lo, 'highest', hi, 'threshold_pct', ?)
        FROM (SELECT *, max(hi - wa, wa - lo) * 100.0 / wa AS spread FROM (
                  SELECT x.pid, t.winner, count(DISTINCT b.supplier_id) AS bids,
                         min(CASE WHEN b.supplier_id = t.winner THEN b.amount END) AS wa,
                         max(b.amount) AS hi, min(b.amount) AS lo
                  FROM _bp x CROSS JOIN _th t CROSS JOIN _bx b ON t.pid = x.pid AND b.pid = x.pid
                  WHERE x.n >= ? AND (x.thb_max - x.thb_min) * 100.0 <= 2 * ? * x.thb_max
                    AND t.winner IS NOT NULL AND b.currency = 'THB' AND b.amount > 0
                  GROUP BY x.pid)
              WHERE wa > 0 AND bids >= ? AND max(hi - wa, wa - lo) * 100.0 <= ? * wa)
    """, [pct, cfg["min_bids"], pct, cfg["min_bids"], pct])


def th08(conn, cfg):
    """Co-bidding pairs: every two suppliers bidding in the same procedure, counted over the database."""
    co_bidding(conn, min(cfg["edge_min_together"], cfg["min_together"]))
    conn.execute("""
        INSERT INTO org_hits
        SELECT 'tenderer', sid, 'TH08', max(together),
               json_object('partner_id', partner, 'together', max(together), 'share_pct', share,
                           'processes', n, 'partners', json_group_array(json_object('id', partner_all,
                           'together', together_all)))
        FROM (SELECT sid, n, partner_all, together_all,
                     first_value(partner_all) OVER w AS partner, first_value(together_all) OVER w AS together,
                     first_value(together_all * 100.0 / n) OVER w AS share
              FROM (SELECT s1 AS sid, n1 AS n, s2 AS partner_all, together AS together_all FROM _pairs
                    WHERE together >= ? AND together * 100.0 >= ? * min(n1, n2)
                    UNION ALL SELECT s2, n2, s1, together FROM _pairs
                    WHERE together >= ? AND together * 100.0 >= ? * min(n1, n2))
              WINDOW w AS (PARTITION BY sid ORDER BY together_all DESC, partner_all))
        GROUP BY sid
    """, [cfg["min_together"], cfg["min_share_pct"]] * 2)


def th09(conn, cfg):
    params = [cfg["last_days"]]
    where = _methods(cfg, "ocds_method", params)
    conn.execute(f"""
        INSERT INTO process_hits SELECT pid, 'TH09', days,
               json_object('date', date, 'fiscal_year', fiscal_year, 'days_to_year_end', days,
                           'amount', award_amount, 'last_days', ?)
        FROM (SELECT *, CAST(julianday(CASE WHEN CAST(substr(date, 6, 2) AS INTEGER) >= 10
                                            THEN (CAST(substr(date, 1, 4) AS INTEGER) + 1) || '-09-30'
                                            ELSE substr(date, 1, 4) || '-09-30' END)
                                - julianday(substr(date, 1, 10)) AS INTEGER) AS days
              FROM _th WHERE julianday(substr(date, 1, 10)) IS NOT NULL AND {where})
        WHERE days < ?
    """, params + [cfg["last_days"]])


def th10(conn, cfg):
    limit, band = cfg["limit"], cfg["band_pct"]
    params = [limit, limit, band, limit]
    where = _methods(cfg, "ocds_method", params)
    conn.execute(f"""
        CREATE TEMP TABLE _split AS
        SELECT pid, buyer_id, winner, date, award_amount, julianday(substr(date, 1, 10)) AS jd FROM _th
        WHERE buyer_id IS NOT NULL AND winner IS NOT NULL AND award_amount < ?
          AND (? - award_amount) * 100.0 <= ? * ? AND julianday(substr(date, 1, 10)) IS NOT NULL AND {where}
    """, params)
    window = cfg["window_days"]
    conn.execute(f"""
        INSERT INTO process_hits
        SELECT pid, 'TH10', count,
               json_object('supplier_id', winner, 'count', count, 'total', total, 'limit', ?,
                           'window_days', ?, 'first_date', first_date, 'last_date', last_date,
                           'project_ids', json(ids))
        FROM (
            SELECT s.pid, w.winner, w.count, w.total, w.first_date, w.last_date, w.ids,
                   row_number() OVER (PARTITION BY s.pid ORDER BY w.count DESC, w.jd) AS rn
            FROM (SELECT *, count(*) OVER r AS count, sum(award_amount) OVER r AS total,
                         date AS first_date, max(date) OVER r AS last_date, json_group_array((SELECT project_id FROM _p p WHERE p.pid = _split.pid)) OVER r AS ids
                  FROM _split
                  WINDOW r AS (PARTITION BY buyer_id, winner ORDER BY jd RANGE BETWEEN CURRENT ROW AND {int(window)} FOLLOWING)
                 ) w
            JOIN _split s ON s.buyer_id = w.buyer_id AND s.winner = w.winner AND s.jd BETWEEN w.jd AND w.jd + {int(window)}
            WHERE w.count >= ? AND w.total > ?
        ) WHERE rn = 1
    """, [limit, window, cfg["min_count"], limit])


def th11(conn, cfg):
    conn.execute("""
        INSERT INTO org_hits
        SELECT 'buyer', buyer_id, 'TH11', share,
               json_object('supplier_id', supplier_id, 'fiscal_year', fiscal_year, 'share_pct', share * 100,
                           'supplier_amount', supplier_amount, 'total_amount', total_amount, 'years', json(years))
        FROM (
            SELECT *, row_number() OVER (PARTITION BY buyer_id ORDER BY share DESC, fiscal_year) AS rn,
                   json_group_array(json_object('fiscal_year', fiscal_year, 'supplier_id', supplier_id,
                                                'share_pct', share * 100)) OVER (PARTITION BY buyer_id) AS years
            FROM (
                SELECT buyer_id, fiscal_year, winner AS supplier_id, sum(award_amount) AS supplier_amount,
                       sum(sum(award_amount)) OVER y AS total_amount, sum(count(*)) OVER y AS projects,
                       sum(award_amount) / sum(sum(award_amount)) OVER y AS share
                FROM _th WHERE buyer_id IS NOT NULL AND award_amount > 0
                GROUP BY buyer_id, fiscal_year, winner
                WINDOW y AS (PARTITION BY buyer_id, fiscal_year)
            )
            WHERE supplier_id IS NOT NULL AND total_amount >= ? AND projects >= ?
              AND supplier_amount * 100.0 >= ? * total_amount
        ) WHERE rn = 1
    """, [cfg["min_total"], cfg["min_projects"], cfg["min_share_pct"]])

def th12(conn, cfg):
    params = [cfg["limit"], cfg["limit"]]
    conn.execute(f"""
        INSERT INTO process_hits SELECT pid, 'TH12', amount, json_object('amount', amount, 'limit', ?,
                                                                    'method', method)
        FROM (SELECT *, COALESCE(award_amount, budget) AS amount FROM _th)
        WHERE amount > ? AND {_methods(cfg, 'ocds_method', params)}
    """, params)


def th13(conn, cfg):
    conn.execute("""
        INSERT INTO process_hits SELECT t.pid, 'TH13', t.award_amount,
               json_object('supplier_id', s.id, 'tax_id_status', s.tax_id_status, 'tax_id_raw', s.tax_id_raw,
                           'amount', t.award_amount, 'min_amount', ?)
        FROM _th t JOIN suppliers s ON s.id = t.winner
        WHERE t.award_amount >= ? AND s.tax_id_status NOT IN ('ok', 'damaged')
    """, [cfg["min_amount"]] * 2)

#: The flags that read the bid tables (``_b``, ``_bp``, ``_bx``); the others need only projects and awards.
BID_CODES = ("TH06", "TH07", "TH08", "TH15")


def compute(conn, settings: dict[str, dict]) -> None:
    """The flags of ``settings``; those reading ``_th`` need ``facts(conn)`` first (TH14 does not)."""
    for code, cfg in sorted(settings.items()):
        FLAG_RULES[code](conn, cfg)


FLAG_RULES = {"TH01": th01, "TH02": th02, "TH03": th03, "TH04": th04, "TH05": th05, "TH06": th06, "TH07": th07,
              "TH08": th08, "TH09": th09, "TH10": th10, "TH11": th11, "TH12": th12, "TH13": th13, "TH14": th14,
              "TH15": th15}
