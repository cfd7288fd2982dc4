"""Who bids with whom: the co-bidding edges (``cobid_edges``, an open table) and bid rotation (TH15).

An edge is two suppliers that submitted bids in the same procedure, with how often and who won when
they met; TH08 (co-bidding pair) reads the same edges. Two hops are a query over the edges (the
portal's network page), so only pairs are stored.
"""
from __future__ import annotations

from prongsai.derive.flags.base import create_supplier_projects


def co_bidding(conn, min_together: int) -> None:
    """``_pairs`` (temporary) and ``cobid_edges``: every pair that met at least ``min_together`` times."""
    create_supplier_projects(conn)
    conn.execute("CREATE TEMP TABLE _ps (pid INT, supplier_id TEXT, won INT, "
                 "PRIMARY KEY (pid, supplier_id)) WITHOUT ROWID")
    conn.execute("INSERT INTO _ps SELECT pid, tid, won FROM _sp WHERE pid IN (SELECT pid FROM _bp WHERE sets > 1)")
    conn.execute("""
        CREATE TEMP TABLE _pairs AS
        WITH n AS (SELECT supplier_id, count(*) AS n FROM _ps GROUP BY supplier_id),
             pairs AS (SELECT a.supplier_id AS s1, b.supplier_id AS s2, count(*) AS together,
                              sum(a.won) AS w1, sum(b.won) AS w2
                       FROM _ps a JOIN _ps b ON b.pid = a.pid AND b.supplier_id > a.supplier_id
                       GROUP BY a.supplier_id, b.supplier_id HAVING count(*) >= ?)
        SELECT s1, s2, together, w1, w2, n1.n AS n1, n2.n AS n2 FROM pairs
        JOIN n n1 ON n1.supplier_id = s1 JOIN n n2 ON n2.supplier_id = s2
    """, [min_together])
    conn.execute("INSERT INTO cobid_edges SELECT s1, s2, together, w1, w2, together - w1 - w2, n1, n2 FROM _pairs")


def th15(conn, cfg) -> None:
    """Bid rotation: one agency, the same closed set of tenderers every time, winners taking turns."""
    create_supplier_projects(conn)
    # a project's tenderer set, in key order (``_sp`` is stored by (pid, tid)), for projects with at
    # least three tenderers and a single winner among them
    conn.execute("""
        CREATE TEMP TABLE _rot AS
        SELECT p.buyer_id, g.members, g.k, a.winner, p.project_id
        FROM (SELECT pid, group_concat(tid, char(31)) AS members, count(*) AS k
              FROM (SELECT pid, tid FROM _sp WHERE pid IN (SELECT pid FROM _bp WHERE tenderers >= 3)
                    ORDER BY pid, tid)
              GROUP BY pid) g
        JOIN _aw a ON a.pid = g.pid JOIN _p p ON p.pid = g.pid
        WHERE g.k >= ? AND a.winner IS NOT NULL AND p.buyer_id IS NOT NULL
          AND instr(char(31) || g.members || char(31), char(31) || a.winner || char(31)) > 0
    """, [cfg["min_members"]])
    conn.execute("""
        INSERT INTO org_hits
        SELECT 'buyer', buyer_id, 'TH15', tenders,
               json_object('members', json(members), 'members_count', k, 'tenders', tenders,
                           'winners', winners, 'max_wins', max_wins, 'wins', json(wins),
                           'project_ids', json(project_ids), 'min_tenders', ?, 'max_win_share_pct', ?)
        FROM (SELECT *, row_number() OVER (PARTITION BY buyer_id ORDER BY tenders DESC, members) AS rn
              FROM (SELECT buyer_id, '["' || replace(members, char(31), '","') || '"]' AS members, k,
                           sum(n) AS tenders, count(*) AS winners, max(n) AS max_wins,
                           json_group_object(winner, n) AS wins, json_group_array(json(ids)) AS project_ids
                    FROM (SELECT buyer_id, members, k, winner, count(*) AS n, json_group_array(project_id) AS ids
                          FROM _rot GROUP BY buyer_id, members, winner)
                    GROUP BY buyer_id, members)
              WHERE tenders >= ? AND winners = k AND max_wins * 100.0 <= ? * tenders)
        WHERE rn = 1
    """, [cfg["min_tenders"], cfg["max_win_share_pct"], cfg["min_tenders"], cfg["max_win_share_pct"]])
