"""``field_coverage``: which fields each source and each agency publishes, and how completely.

A flag can only be as good as the fields under it: an agency that never publishes a reference price
can never raise TH01, which is not the same as being clean. Like Cardinal's ``coverage`` command for
OCDS, per source (``level = 'source'``) and per agency within it (``level = 'agency'``).
"""
from __future__ import annotations

#: field -> SQL over ``projects p`` that is 1 when the project has it
FIELDS = {
    "title": "p.title IS NOT NULL",
    "buyer": "p.buyer_id IS NOT NULL",
    "method": "p.method IS NOT NULL",
    "fiscal_year": "p.fiscal_year IS NOT NULL",
    "announce_date": "p.announce_date IS NOT NULL",
    "tender_period": "p.tender_start IS NOT NULL AND p.tender_end IS NOT NULL",
    "number_of_tenderers": "p.number_of_tenderers IS NOT NULL",
    "budget": "p.budget IS NOT NULL",
    "reference_price": "p.reference_price IS NOT NULL",
}
#: field -> (table, condition on its rows): the project has it when one of its rows in the table meets it
ROWS = {
    "bids": ("bids", "1"),
    "awards": ("awards", "1"),
    "contracts": ("contracts", "1"),
    "items": ("items", "1"),
    "item_unit_prices": ("items", "unit_value IS NOT NULL AND unit IS NOT NULL AND classification_id IS NOT NULL"),
}
COLUMNS = ("source TEXT, level TEXT, buyer_id TEXT, field TEXT, present INTEGER, projects INTEGER, share REAL")


def build(db) -> None:
    """Replace ``field_coverage`` in one transaction.

    Which projects have bids, awards ... is read from each table in project order (its project_id
    index) into one bit set per project, so each project is looked up once, not once per table.
    """
    conn = db.conn
    conn.execute("CREATE TEMP TABLE _has (project_id TEXT PRIMARY KEY, bits INTEGER NOT NULL) WITHOUT ROWID")
    try:
        for bit, (table, condition) in enumerate(ROWS.values()):
            conn.execute(f"INSERT INTO _has SELECT project_id, {1 << bit} FROM main.{table} WHERE {condition} "
                         f"GROUP BY project_id ON CONFLICT (project_id) DO UPDATE SET bits = bits | excluded.bits")
        sums = ", ".join([*(f"sum(CASE WHEN {sql} THEN 1 ELSE 0 END)" for sql in FIELDS.values()),
                          *(f"sum(h.bits >> {bit} & 1)" for bit in range(len(ROWS)))])
        per_agency = conn.execute(f"SELECT p.source, p.buyer_id, count(*), {sums} FROM main.projects p "
                                  f"LEFT JOIN _has h ON h.project_id = p.project_id "
                                  f"GROUP BY p.source, p.buyer_id").fetchall()
    finally:
        conn.execute("DROP TABLE temp._has")
    fields = (*FIELDS, *ROWS)
    per_source: dict[str, list[int]] = {}
    rows = []
    for source, buyer, n, *present in per_agency:
        present = [value or 0 for value in present]  # sum() over projects none of which has a row: NULL
        total = per_source.setdefault(source, [0] * (len(fields) + 1))
        for k, value in enumerate((n, *present)):
            total[k] += value
        rows += [(source, "agency", buyer, field, value, n, value / n) for field, value in zip(fields, present)]
    for source, (n, *present) in per_source.items():
        rows += [(source, "source", None, field, value, n, value / n) for field, value in zip(fields, present)]
    conn.execute("BEGIN")
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS field_coverage ({COLUMNS})")
        conn.execute("CREATE INDEX IF NOT EXISTS idx_field_coverage ON field_coverage (source, level, buyer_id)")
        conn.execute("DELETE FROM field_coverage")
        conn.executemany("INSERT INTO field_coverage VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
