"""``prongsai export flags --format cardinal``: our R-flags in Cardinal's exact JSON layout.

``{"OCID": {ocid: {code: value}}, "Buyer": …, "ProcuringEntity": …, "Tenderer": …}``: groups
only when non-empty, no ``Meta``, ids as ``prongsai export ocds`` writes them, and Cardinal's
values (0.0 on a tenderer is a raised flag, as in Cardinal).
"""
from __future__ import annotations

import json
import pathlib
import sqlite3
import sys

from prongsai.core.errors import UserError
from prongsai.core.ocds import ocid_for
from prongsai.derive.flags.definitions import CARDINAL_CODES, DISCLAIMER

GROUPS = {"buyer": "Buyer", "procuring_entity": "ProcuringEntity", "tenderer": "Tenderer"}
FORMATS = ("cardinal",)


def cardinal_results(conn, *, prefix: str | None = None) -> dict:
    """Cardinal's ``indicators`` output (without ``Meta``) from ``red_flags`` and ``org_flags``."""
    codes = ", ".join("?" * len(CARDINAL_CODES))
    out: dict[str, dict] = {}
    rows = conn.execute(f"SELECT f.project_id, p.source, f.code, f.value FROM red_flags f "
                        f"JOIN projects p ON p.project_id = f.project_id WHERE f.code IN ({codes}) "
                        f"ORDER BY f.project_id, f.code", CARDINAL_CODES)
    for project_id, source, code, value in rows:
        out.setdefault("OCID", {}).setdefault(ocid_for(project_id, source, prefix), {})[code] = float(value)
    rows = conn.execute(f"SELECT org_type, org_id, code, value FROM org_flags WHERE code IN ({codes}) "
                        f"ORDER BY org_type, org_id, code", CARDINAL_CODES)
    for org_type, org_id, code, value in rows:
        out.setdefault(GROUPS[org_type], {}).setdefault(org_id, {})[code] = float(value)
    return {group: out[group] for group in ("OCID", "Buyer", "ProcuringEntity", "Tenderer") if group in out}


def export_file(db_path, dest="-", *, fmt: str = "cardinal", prefix: str | None = None) -> dict:
    """Write the export to ``dest`` (``-`` = stdout; a file is replaced atomically)."""
    if fmt not in FORMATS:
        raise UserError(f"unknown flags export format {fmt!r} (expected: {', '.join(FORMATS)})")
    path = pathlib.Path(db_path)
    if not path.exists():
        raise UserError(f"database not found: {db_path}")
    conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    try:
        if not conn.execute("SELECT 1 FROM flag_definitions LIMIT 1").fetchone():
            raise UserError(f"{db_path} has no flags yet: run `prongsai build` first")
        results = cardinal_results(conn, prefix=prefix)
    finally:
        conn.close()
    text = json.dumps(results, ensure_ascii=False)
    if str(dest) == "-":
        sys.stdout.write(text + "\n")
    else:
        dest = pathlib.Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(dest)
    print(f"note: {DISCLAIMER['en']} / {DISCLAIMER['th']}", file=sys.stderr)
    return results
