"""Thai full-text search: FTS5 trigram indexes over folded text, written by ``prongsai build``.

Thai has no spaces between words, so FTS5's default tokenizer finds nothing; the trigram
tokenizer finds any substring of three or more code points (shorter terms go to the LIKE
fallback in ``datasette_plugins/thai_search.py``). Text is folded first (NFC, Thai digits to
Arabic), and the plugin folds queries the same way, so ``1 ชุด`` finds ``๑ ชุด``.

Datasette serves the database immutable, so nothing can be indexed at request time and no
triggers are needed: each ``<table>_fts`` is an external-content FTS5 index over a
``<table>_fts_text`` table holding the folded text, whose ``source_rowid`` is the source row's rowid
(Datasette joins on it with ``fts_pk: rowid``). Re-run ``prongsai build`` after a VACUUM.
"""
from __future__ import annotations

import unicodedata

from prongsai.core.thai import to_arabic_digits

#: table -> (key column, searchable columns). metadata.yml points each table's fts_table here.
SEARCHES = {
    "projects": ("project_id", ("title",)),
    "suppliers": ("id", ("name_th", "name_en", "tax_id")),
    "agencies": ("id", ("name_th", "name_en", "ministry")),
}

#: FTS5 trigram matches nothing shorter than this many code points.
TRIGRAM = 3


def fold(text):
    """The searchable form of a text: NFC with Thai digits read as Arabic digits."""
    if text is None:
        return None
    return to_arabic_digits(unicodedata.normalize("NFC", str(text)))


def fts_table(table: str) -> str:
    return f"{table}_fts"


def text_table(table: str) -> str:
    return f"{table}_fts_text"


def build(db) -> None:
    """Rebuild every search index in one transaction.

    sqlite-utils creates and drops the tables and runs FTS5's ``rebuild`` and ``optimize``; its
    ``enable_fts`` is not used: it indexes a table's own (unfolded) text, names the index after
    that table and commits on its own (``executescript``)."""
    conn = db.conn
    conn.create_function("prongsai_fold", 1, fold, deterministic=True)
    conn.execute("BEGIN")
    try:
        for table, (key, columns) in SEARCHES.items():
            fts, text = db[fts_table(table)], db[text_table(table)]
            fts.drop(ignore=True)
            text.drop(ignore=True)
            text.create({"source_rowid": int, key: str, **{c: str for c in columns}}, pk="source_rowid")
            conn.execute(f"INSERT INTO [{text.name}] SELECT rowid, [{key}], "
                         + ", ".join(f"prongsai_fold([{c}])" for c in columns) + f" FROM [{table}]")
            conn.execute(f"CREATE VIRTUAL TABLE [{fts.name}] USING fts5({', '.join(columns)}, "
                         f"content=[{text.name}], content_rowid='source_rowid', tokenize='trigram')")
            text.rebuild_fts()
            text.optimize()
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
