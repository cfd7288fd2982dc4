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
    "bids": "EXISTS (SELECT 1 FROM bids b WHERE b.project_id = p.project_id)",
    "awards": "EXISTS (SELECT 1 FROM awards a WHERE a.project_id = p.project_id)",
    "contracts": "EXISTS (SELECT 1 FROM contracts c WHERE c.project_id = p.project_id)",
    "items": "EXISTS (SELECT 1 FROM items i WHERE i.project_id = p.project_id)",
    "item_unit_prices": "EXISTS (SELECT 1 FROM items i WHERE i.project_id = p.project_id "
                        "AND i.unit_value IS NOT NULL AND i.unit IS NOT NULL AND i.classification_id IS NOT NULL)",
}
COLUMNS = ("source TEXT, level TEXT, buyer_id TEXT, field TEXT, present INTEGER, projects INTEGER, share REAL")


def build(db) -> None:
    """Replace ``field_coverage`` in one transaction."""
    conn = db.conn
    sums = ", ".join(f"sum(CASE WHEN {sql} THEN 1 ELSE 0 END)" for sql in FIELDS.values())
    per_agency = conn.execute(f"SELECT p.source, p.buyer_id, count(*), {sums} FROM projects p "
                              f"GROUP BY p.source, p.buyer_id").fetchall()
    per_source: dict[str, list[int]] = {}
    rows = []
    for source, buyer, n, *present in per_agency:
        total = per_source.setdefault(source, [0] * (len(FIELDS) + 1))
        for k, value in enumerate((n, *present)):
            total[k] += value
        rows += [(source, "agency", buyer, field, value, n, value / n) for field, value in zip(FIELDS, present)]
    for source, (n, *present) in per_source.items():
        rows += [(source, "source", None, field, value, n, value / n) for field, value in zip(FIELDS, present)]
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
