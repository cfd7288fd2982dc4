"""A supplier whose tax id Excel damaged in one source file, joined to its undamaged twin.

Excel turned FY2565-2567 tax ids into ``3.0556E+11`` (or dropped their leading zero), so the same
company appears twice: once under its real id, once under ``x:`` + a hash (``core.thai.supplier_id``).
Before the flags and the aggregates run, each damaged supplier is joined to the one supplier with a
valid id whose normalised name is the same and whose digits agree with what is left of the
damaged id; its bids, awards and contracts then name the twin. A name shared by two valid ids,
or digits that disagree, leave the damaged supplier alone: never a guess.

``supplier_twins`` (public) records each join with the raw id, so a page can say so as a
data-quality note. A later scrape of the same file names the damaged id again; the next build
joins it again.
"""
from __future__ import annotations

import re

_SCIENTIFIC = re.compile(r"^(\d)(?:\.(\d+))?[eE]\+?(\d+)$")

COLUMNS = "damaged_id TEXT PRIMARY KEY, twin_id TEXT NOT NULL, tax_id_raw TEXT, name_th TEXT, rule TEXT"


def digits_agree(raw: str | None, tax_id: str) -> bool:
    """Whether a damaged id can be ``tax_id``: ``3.0556E+11`` within its rounding, or the
    12 digits left when a spreadsheet dropped the leading zero."""
    text = (raw or "").strip().replace(",", "")
    if text.endswith(".0"):
        text = text[:-2]
    if re.fullmatch(r"\d{12}", text):
        return "0" + text == tax_id
    match = _SCIENTIFIC.match(text)
    if not match:
        return False
    decimals, exponent = len(match.group(2) or ""), int(match.group(3))
    return abs(int(tax_id) - float(text)) <= 0.5 * 10 ** (exponent - decimals)


def twins(conn) -> list[tuple[str, str, str, str, str]]:
    """(damaged id, twin id, raw id, name, rule) for every damaged supplier with one valid twin."""
    rows = conn.execute("""
        SELECT d.id, d.tax_id_raw, d.name_th, group_concat(o.id, ' ') AS candidates
        FROM suppliers d JOIN suppliers o
          ON o.name_normalized = d.name_normalized AND o.tax_id_status = 'ok' AND o.tax_id IS NOT NULL
        WHERE d.tax_id_status = 'damaged' AND d.name_normalized IS NOT NULL AND d.name_normalized != ''
        GROUP BY d.id
    """).fetchall()
    found = []
    for damaged, raw, name, candidates in rows:
        ids = candidates.split()
        if len(ids) == 1 and digits_agree(raw, ids[0]):
            found.append((damaged, ids[0], raw, name, "same normalised name, digits agree"))
    return found


def build(db) -> int:
    """Join every damaged supplier to its twin in one transaction; return how many were joined."""
    conn = db.conn  # a sqlite_utils Database, as build passes it
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS supplier_twins ({COLUMNS})")
        conn.execute("DELETE FROM supplier_twins")
        found = twins(conn)
        conn.executemany("INSERT INTO supplier_twins VALUES (?, ?, ?, ?, ?)", found)
        pairs = [(twin, damaged) for damaged, twin, *_ in found]
        for table in ("bid_tenderers", "award_suppliers"):
            # a bid or award naming both keeps one link
            conn.executemany(f"UPDATE OR IGNORE {table} SET supplier_id = ? WHERE supplier_id = ?", pairs)
            conn.executemany(f"DELETE FROM {table} WHERE supplier_id = ?", [(d,) for _, d in pairs])
        conn.executemany("UPDATE contracts SET supplier_id = ? WHERE supplier_id = ?", pairs)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(found)
