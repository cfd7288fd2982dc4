"""Small pre-aggregated tables that portal pages read, so they stay fast at millions of rows."""
from __future__ import annotations

#: Headline counts for the home page and /healthz.
COUNTED_TABLES = ("projects", "contracts", "bids", "agencies", "suppliers", "red_flags")


def build(db) -> None:
    db.execute("BEGIN")
    db.execute("DROP TABLE IF EXISTS summary_counts")
    db.execute("CREATE TABLE summary_counts (name TEXT PRIMARY KEY, value REAL)")
    for table in COUNTED_TABLES:
        db.execute(f"INSERT INTO summary_counts VALUES (?, (SELECT count(*) FROM [{table}]))", [table])
    db.execute(
        "INSERT INTO summary_counts VALUES ('contract_amount_thb', "
        "(SELECT total(contract_amount) FROM contracts WHERE currency = 'THB'))"
    )
    db.execute("COMMIT")
