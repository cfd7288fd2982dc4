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
    """Rebuild every search index in one transaction."""
    conn = db.conn
    conn.create_function("prongsai_fold", 1, fold, deterministic=True)
    conn.execute("BEGIN")
    try:
        for table, (key, columns) in SEARCHES.items():
            fts, text = fts_table(table), text_table(table)
            cols = ", ".join(columns)
            conn.execute(f"DROP TABLE IF EXISTS [{fts}]")
            conn.execute(f"DROP TABLE IF EXISTS [{text}]")
            conn.execute(f"CREATE TABLE [{text}] (source_rowid INTEGER PRIMARY KEY, [{key}] TEXT, "
                         + ", ".join(f"[{c}] TEXT" for c in columns) + ")")
            conn.execute(f"INSERT INTO [{text}] SELECT rowid, [{key}], "
                         + ", ".join(f"prongsai_fold([{c}])" for c in columns) + f" FROM [{table}]")
            conn.execute(f"CREATE VIRTUAL TABLE [{fts}] USING fts5({cols}, content='{text}', "
                         "content_rowid='source_rowid', tokenize='trigram')")
            conn.execute(f"INSERT INTO [{fts}]([{fts}]) VALUES ('rebuild')")
            conn.execute(f"INSERT INTO [{fts}]([{fts}]) VALUES ('optimize')")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
