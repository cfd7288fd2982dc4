"""The ``flags`` build step: compute every flag, then publish them in one transaction.

Flags are computed into temporary tables (invisible to readers), then ``flag_definitions``,
``red_flags``, ``org_flags`` and ``risk_scores`` are replaced inside a single transaction, so a
reader sees either the previous build or this one, never half of it.
"""
from __future__ import annotations

import datetime as _dt
import json

from prongsai.flags import base, cardinal, scores, thai
from prongsai.flags.definitions import FLAGS
from prongsai.flags.settings import load_cardinal, load_thai, pipe_set


def build(db, settings_path=None, thai_settings_path=None) -> dict:
    """Compute all enabled flags on ``db`` (a sqlite-utils Database); return Cardinal's Meta."""
    cardinal_settings = load_cardinal(settings_path)
    thai_settings = load_thai(thai_settings_path)
    conn = db.conn
    computed_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    for name, columns in (("fp", "pid INTEGER, code TEXT, value REAL, evidence TEXT"),
                          ("fo", "org_type TEXT, org_id TEXT, code TEXT, value REAL, evidence TEXT")):
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
        conn.execute(f"CREATE TEMP TABLE {name} ({columns})")
    try:
        top = cardinal_settings.get("", {})
        exclusions = pipe_set(cardinal_settings.get("exclusions", {}).get("procurement_method_details"))
        base.create(conn, exclusions=exclusions,
                    include=pipe_set(top.get("price_comparison_procurement_methods")),
                    exclude=pipe_set(top.get("no_price_comparison_procurement_methods")))
        meta = cardinal.compute(conn, cardinal_settings)
        thai.compute(conn, thai_settings)
        _publish(conn, computed_at, _thresholds(cardinal_settings, thai_settings, meta))
    finally:
        base.drop(conn)
    return meta


def _thresholds(cardinal_settings, thai_settings, meta) -> dict[str, str | None]:
    """``flag_definitions.threshold``: the settings in force and, for fences, the computed values."""
    out = {}
    for code in FLAGS:
        if code in thai_settings:
            out[code] = json.dumps(thai_settings[code], ensure_ascii=False)
        elif code in cardinal_settings or (code == "R003" and "R003.procurement_method_details" in cardinal_settings):
            value = {"settings": cardinal_settings.get(code, {}), "meta": meta.get(code, {})}
            if code == "R003":
                value["procurement_method_details"] = cardinal_settings.get("R003.procurement_method_details", {})
            out[code] = json.dumps(value, ensure_ascii=False)
        else:
            out[code] = None  # not enabled in this build
    return out


def _publish(conn, computed_at: str, thresholds: dict) -> None:
    # Every row is derived from the tables it points to; checking each foreign key again would
    # double the cost of publishing a million flags.
    foreign_keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table in ("risk_scores", "red_flags", "org_flags", "flag_definitions"):
            conn.execute(f"DELETE FROM {table}")
        conn.executemany(
            "INSERT INTO flag_definitions (code, cardinal_code, scope, severity, title_th, title_en, "
            "explanation_th, explanation_en, threshold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(f.code, f.cardinal_code, f.scope, f.severity, f.title_th, f.title_en, f.explanation_th,
              f.explanation_en, thresholds[f.code]) for f in FLAGS.values()])
        conn.execute("INSERT INTO red_flags (project_id, code, value, evidence, computed_at) "
                     "SELECT p.project_id, f.code, f.value, f.evidence, ? FROM fp f JOIN projects p ON p.rowid = f.pid "
                     "ORDER BY p.project_id, f.code", [computed_at])
        conn.execute("INSERT INTO org_flags (org_type, org_id, code, value, evidence, computed_at) "
                     "SELECT org_type, org_id, code, value, evidence, ? FROM fo ORDER BY 1, 2, 3", [computed_at])
        scores.insert(conn, computed_at)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute(f"PRAGMA foreign_keys = {int(foreign_keys)}")
