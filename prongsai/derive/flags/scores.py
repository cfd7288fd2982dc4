"""Per-project risk score, 0-100, from the process-scope flags a project raised.

score = 100 * (1 - prod(1 - w_f)) over the distinct flags f of the project, with the weight
w_f of the flag's severity (high 0.45, medium 0.25, low 0.10; ``definitions.SEVERITY_WEIGHTS``).
Each extra flag raises the score but never past 100: one high flag scores 45, a high and a medium
58.8, three high 83.4. Organisation flags (buyer, tenderer) are shown on their pages, not scored here.
Projects that raised no flag have no ``risk_scores`` row: their score is 0.
"""
from __future__ import annotations

from prongsai.derive.flags.definitions import FLAGS, SEVERITY_WEIGHTS

#: Added before rounding to 0.1 so that SQLite and Python round exact halves (58.75) alike.
_NUDGE = 1e-9


def score(severities) -> float:
    """The same formula in Python, for the portal and tests."""
    import math

    keep = sum(math.log(1.0 - SEVERITY_WEIGHTS[s]) for s in severities)
    return round(100.0 * (1.0 - math.exp(keep)) + _NUDGE, 1)


def insert(conn, target: str, pairs: str, computed_at: str) -> None:
    """Fill ``target`` (a table shaped like ``risk_scores``) from ``pairs``: (pid, code) of ``_p``'s projects."""
    weights = [(code, SEVERITY_WEIGHTS[f.severity]) for code, f in FLAGS.items() if "process" in f.scopes]
    conn.execute("CREATE TEMP TABLE _weights (code TEXT PRIMARY KEY, weight REAL)")
    conn.executemany("INSERT INTO _weights VALUES (?, ?)", weights)
    conn.execute("CREATE TEMP TABLE _scored (pid INTEGER PRIMARY KEY, keep REAL, n INTEGER, codes TEXT)")
    # folded per project by upsert, in project then code order: each project's codes are listed, and
    # the logs of its weights summed, in code order, and the rows are appended in key order (in code
    # order alone each upsert would seek a random page)
    conn.execute(f"""
        INSERT INTO temp._scored
        SELECT f.pid, ln(1.0 - w.weight), 1, f.code FROM ({pairs}) f JOIN _weights w ON w.code = f.code
        WHERE 1 ORDER BY f.pid, f.code
        ON CONFLICT (pid) DO UPDATE SET keep = keep + excluded.keep, n = n + 1, codes = codes || ',' || excluded.codes
    """)
    conn.execute(f"""
        INSERT INTO {target} (project_id, score, flag_count, codes, computed_at)
        SELECT p.project_id, round(100.0 * (1.0 - exp(s.keep)) + ?, 1), s.n, s.codes, ?
        FROM temp._scored s JOIN _p p ON p.pid = s.pid ORDER BY p.project_id
    """, [_NUDGE, computed_at])
