"""Thai red flags TH01-TH13 (ACT Ai, Prozorro and opentender checks on Thai data), in SQL.

Thresholds come from ``thai-flags.ini`` (documented there). Amounts are THB only: projects in
another currency, and contracts or awards in another currency, are left out. Ratios are compared
multiplied out (``(ref - award) * 100 <= pct * ref``) so a value exactly at a threshold is stable.
"""
from __future__ import annotations

from prongsai.flags.base import in_list
from prongsai.flags.settings import pipe_set


def _methods(cfg, column: str, params: list) -> str:
    methods = pipe_set(cfg.get("procurement_methods"))
    return f"{column} IS NOT NULL AND {in_list(column, methods, params)}" if methods else "1"


def _facts(conn) -> None:
    """``_th``: one row per THB project with its award, contract amounts and single winner."""
    conn.execute("DROP TABLE IF EXISTS temp._th")
    conn.execute("""
        CREATE TEMP TABLE _th AS
        SELECT p.project_id, p.buyer_id, p.method, p.ocds_method, p.fiscal_year, p.budget, p.reference_price,
               p.number_of_tenderers, COALESCE(p.announce_date, c.signed) AS date,
               COALESCE(c.award_amount, a.amount) AS award_amount,
               CASE WHEN c.suppliers = 1 THEN c.supplier_id ELSE w.winner END AS winner
        FROM projects p
        LEFT JOIN (SELECT project_id, sum(award_amount) AS award_amount, min(signed_date) AS signed,
                          count(DISTINCT supplier_id) AS suppliers, min(supplier_id) AS supplier_id
                   FROM contracts WHERE currency = 'THB' GROUP BY project_id) c ON c.project_id = p.project_id
        LEFT JOIN (SELECT project_id, sum(amount) AS amount FROM awards
                   WHERE status = 'active' AND currency = 'THB' GROUP BY project_id) a ON a.project_id = p.project_id
        LEFT JOIN _aw w ON w.project_id = p.project_id
        WHERE p.currency = 'THB' AND p.project_id NOT IN (SELECT project_id FROM _x)
    """)
    conn.execute("CREATE UNIQUE INDEX temp._th_project ON _th(project_id)")


def th01(conn, cfg):
    params = [cfg["max_pct_below"], cfg["max_pct_below"]]
    conn.execute(f"""
        INSERT INTO fp SELECT project_id, 'TH01', pct,
               json_object('award_amount', award_amount, 'reference_price', reference_price, 'pct_below', pct,
                           'threshold_pct', ?)
        FROM (SELECT *, (reference_price - award_amount) * 100.0 / reference_price AS pct FROM _th
              WHERE reference_price > 0 AND award_amount <= reference_price
                AND (reference_price - award_amount) * 100.0 <= ? * reference_price
                AND {_methods(cfg, 'ocds_method', params)})
    """, params)


def th02(conn, cfg):
    conn.execute("""
        INSERT INTO fp SELECT project_id, 'TH02', pct,
               json_object('award_amount', award_amount, 'reference_price', reference_price, 'pct_above', pct,
                           'threshold_pct', ?)
        FROM (SELECT *, (award_amount - reference_price) * 100.0 / reference_price AS pct FROM _th
              WHERE reference_price > 0 AND (award_amount - reference_price) * 100.0 > ? * reference_price)
    """, [cfg["min_pct_above"]] * 2)


def th03(conn, cfg):
    conn.execute("""
        INSERT INTO fp SELECT project_id, 'TH03', pct,
               json_object('award_amount', award_amount, 'reference_price', reference_price, 'pct_below', pct,
                           'threshold_pct', ?)
        FROM (SELECT *, (reference_price - award_amount) * 100.0 / reference_price AS pct FROM _th
              WHERE reference_price > 0 AND award_amount IS NOT NULL
                AND (reference_price - award_amount) * 100.0 >= ? * reference_price)
    """, [cfg["min_pct_below"]] * 2)


def th04(conn, cfg):
    conn.execute("""
        INSERT INTO fp SELECT project_id, 'TH04', max(pct),
               json_object('contract_amount', sum(contract_amount), 'award_amount', sum(award_amount),
                           'pct_above', max(pct), 'contract_ids', json_group_array(id), 'threshold_pct', ?)
        FROM (SELECT c.*, (c.contract_amount - c.award_amount) * 100.0 / c.award_amount AS pct FROM contracts c
              WHERE c.currency = 'THB' AND c.award_amount > 0
                AND (c.contract_amount - c.award_amount) * 100.0 > ? * c.award_amount
                AND c.project_id NOT IN (SELECT project_id FROM _x))
        GROUP BY project_id
    """, [cfg["min_pct_above"]] * 2)


def th05(conn, cfg):
    conn.execute("""
        INSERT INTO fp SELECT project_id, 'TH05', pct,
               json_object('reference_price', reference_price, 'budget', budget, 'pct_above', pct, 'threshold_pct', ?)
        FROM (SELECT *, (reference_price - budget) * 100.0 / budget AS pct FROM _th
              WHERE budget > 0 AND (reference_price - budget) * 100.0 > ? * budget)
    """, [cfg["min_pct_above"]] * 2)


def th06(conn, cfg):
    params = [cfg["min_bidders"]]
    conn.execute(f"""
        INSERT INTO fp SELECT project_id, 'TH06', bidders,
               json_object('bidders', bidders, 'min_bidders', ?, 'method', method, 'procurement_method', ocds_method)
        FROM (SELECT t.project_id, t.method, t.ocds_method, COALESCE(n.bidders, t.number_of_tenderers) AS bidders
              FROM _th t LEFT JOIN (SELECT project_id, count(DISTINCT supplier_id) AS bidders FROM _bx
                                    GROUP BY project_id) n ON n.project_id = t.project_id
              WHERE {_methods(cfg, 't.ocds_method', params)})
        WHERE bidders < ?
    """, params + [cfg["min_bidders"]])


def th07(conn, cfg):
    pct = cfg["max_spread_pct"]
    conn.execute("""
        INSERT INTO fp SELECT project_id, 'TH07', spread,
               json_object('bids', bids, 'winner_amount', wa, 'spread_pct', spread, 'winner_id', winner,
                           'lowest', lo, 'highest', hi, 'threshold_pct', ?)
        FROM (SELECT *, max(hi - wa, wa - lo) * 100.0 / wa AS spread FROM (
                  SELECT b.project_id, t.winner, count(DISTINCT b.supplier_id) AS bids,
                         min(CASE WHEN b.supplier_id = t.winner THEN b.amount END) AS wa,
                         max(b.amount) AS hi, min(b.amount) AS lo
                  FROM _bx b JOIN _th t ON t.project_id = b.project_id
                  WHERE t.winner IS NOT NULL AND b.currency = 'THB' AND b.amount > 0
                  GROUP BY b.project_id)
              WHERE wa > 0 AND bids >= ? AND max(hi - wa, wa - lo) * 100.0 <= ? * wa)
    """, [pct, cfg["min_bids"], pct])


def th08(conn, cfg):
    """Co-bidding pairs: every two suppliers bidding in the same procedure, counted over the database."""
    conn.execute("DROP TABLE IF EXISTS temp._ps")
    conn.execute("""
        CREATE TEMP TABLE _ps AS SELECT DISTINCT project_id, supplier_id FROM _bx
        WHERE supplier_id IS NOT NULL AND project_id IN (SELECT project_id FROM _b GROUP BY project_id
                                                         HAVING count(DISTINCT tset) > 1)
    """)
    conn.execute("CREATE INDEX temp._ps_project ON _ps(project_id, supplier_id)")
    conn.execute("DROP TABLE IF EXISTS temp._pairs")
    conn.execute("""
        CREATE TEMP TABLE _pairs AS
        WITH n AS (SELECT supplier_id, count(*) AS n FROM _ps GROUP BY supplier_id),
             pairs AS (SELECT a.supplier_id AS s1, b.supplier_id AS s2, count(*) AS together
                       FROM _ps a JOIN _ps b ON b.project_id = a.project_id AND b.supplier_id > a.supplier_id
                       GROUP BY a.supplier_id, b.supplier_id HAVING count(*) >= ?)
        SELECT s1, s2, together, n1.n AS n1, n2.n AS n2 FROM pairs
        JOIN n n1 ON n1.supplier_id = s1 JOIN n n2 ON n2.supplier_id = s2
        WHERE together * 100.0 >= ? * min(n1.n, n2.n)
    """, [cfg["min_together"], cfg["min_share_pct"]])
    conn.execute("""
        INSERT INTO fo
        SELECT 'tenderer', sid, 'TH08', max(together),
               json_object('partner_id', partner, 'together', max(together), 'share_pct', share,
                           'processes', n, 'partners', json_group_array(json_object('id', partner_all,
                           'together', together_all)))
        FROM (SELECT sid, n, partner_all, together_all,
                     first_value(partner_all) OVER w AS partner, first_value(together_all) OVER w AS together,
                     first_value(together_all * 100.0 / n) OVER w AS share
              FROM (SELECT s1 AS sid, n1 AS n, s2 AS partner_all, together AS together_all FROM _pairs
                    UNION ALL SELECT s2, n2, s1, together FROM _pairs)
              WINDOW w AS (PARTITION BY sid ORDER BY together_all DESC, partner_all))
        GROUP BY sid
    """)


def th09(conn, cfg):
    params = [cfg["last_days"]]
    where = _methods(cfg, "ocds_method", params)
    conn.execute(f"""
        INSERT INTO fp SELECT project_id, 'TH09', days,
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
    conn.execute("DROP TABLE IF EXISTS temp._split")
    conn.execute(f"""
        CREATE TEMP TABLE _split AS
        SELECT project_id, buyer_id, winner, date, award_amount, julianday(substr(date, 1, 10)) AS jd FROM _th
        WHERE buyer_id IS NOT NULL AND winner IS NOT NULL AND award_amount < ?
          AND (? - award_amount) * 100.0 <= ? * ? AND julianday(substr(date, 1, 10)) IS NOT NULL AND {where}
    """, params)
    window = cfg["window_days"]
    conn.execute(f"""
        INSERT INTO fp
        SELECT project_id, 'TH10', count,
               json_object('supplier_id', winner, 'count', count, 'total', total, 'limit', ?,
                           'window_days', ?, 'first_date', first_date, 'last_date', last_date,
                           'project_ids', json(ids))
        FROM (
            SELECT s.project_id, w.winner, w.count, w.total, w.first_date, w.last_date, w.ids,
                   row_number() OVER (PARTITION BY s.project_id ORDER BY w.count DESC, w.jd) AS rn
            FROM (SELECT *, count(*) OVER r AS count, sum(award_amount) OVER r AS total,
                         date AS first_date, max(date) OVER r AS last_date, json_group_array(project_id) OVER r AS ids
                  FROM _split
                  WINDOW r AS (PARTITION BY buyer_id, winner ORDER BY jd RANGE BETWEEN CURRENT ROW AND {int(window)} FOLLOWING)
                 ) w
            JOIN _split s ON s.buyer_id = w.buyer_id AND s.winner = w.winner AND s.jd BETWEEN w.jd AND w.jd + {int(window)}
            WHERE w.count >= ? AND w.total > ?
        ) WHERE rn = 1
    """, [limit, window, cfg["min_count"], limit])


def th11(conn, cfg):
    conn.execute("""
        INSERT INTO fo
        SELECT 'buyer', buyer_id, 'TH11', max(share),
               json_object('supplier_id', supplier_id, 'fiscal_year', fiscal_year, 'share_pct', max(share) * 100,
                           'supplier_amount', supplier_amount, 'total_amount', total_amount,
                           'years', json_group_array(json_object('fiscal_year', fiscal_year, 'supplier_id', supplier_id,
                                                                 'share_pct', share * 100)))
        FROM (
            SELECT t.buyer_id, t.fiscal_year, c.supplier_id, sum(c.award_amount) AS supplier_amount,
                   y.total AS total_amount, sum(c.award_amount) / y.total AS share
            FROM contracts c JOIN _th t ON t.project_id = c.project_id
            JOIN (SELECT t.buyer_id, t.fiscal_year, sum(c.award_amount) AS total,
                         count(DISTINCT t.project_id) AS projects
                  FROM contracts c JOIN _th t ON t.project_id = c.project_id
                  WHERE c.currency = 'THB' AND c.award_amount > 0 AND t.buyer_id IS NOT NULL
                  GROUP BY t.buyer_id, t.fiscal_year) y ON y.buyer_id = t.buyer_id AND y.fiscal_year IS t.fiscal_year
            WHERE c.currency = 'THB' AND c.award_amount > 0 AND c.supplier_id IS NOT NULL
              AND y.total >= ? AND y.projects >= ?
            GROUP BY t.buyer_id, t.fiscal_year, c.supplier_id
            HAVING sum(c.award_amount) * 100.0 >= ? * y.total
        ) GROUP BY buyer_id
    """, [cfg["min_total"], cfg["min_projects"], cfg["min_share_pct"]])


def th12(conn, cfg):
    params = [cfg["limit"], cfg["limit"]]
    conn.execute(f"""
        INSERT INTO fp SELECT project_id, 'TH12', amount, json_object('amount', amount, 'limit', ?,
                                                                    'method', method)
        FROM (SELECT *, COALESCE(award_amount, budget) AS amount FROM _th)
        WHERE amount > ? AND {_methods(cfg, 'ocds_method', params)}
    """, params)


def th13(conn, cfg):
    conn.execute("""
        INSERT INTO fp SELECT project_id, 'TH13', max(amount),
               json_object('supplier_id', supplier_id, 'tax_id_status', tax_id_status, 'tax_id_raw', tax_id_raw,
                           'amount', max(amount), 'min_amount', ?)
        FROM (SELECT t.project_id, s.id AS supplier_id, s.tax_id_status, s.tax_id_raw,
                     COALESCE(c.award_amount, c.contract_amount) AS amount
              FROM contracts c JOIN _th t ON t.project_id = c.project_id JOIN suppliers s ON s.id = c.supplier_id
              WHERE c.currency = 'THB' AND s.tax_id_status != 'ok')
        WHERE amount >= ? GROUP BY project_id
    """, [cfg["min_amount"]] * 2)


def compute(conn, settings: dict[str, dict]) -> None:
    _facts(conn)
    for code, cfg in sorted(settings.items()):
        globals()[code.lower()](conn, cfg)
