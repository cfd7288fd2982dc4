"""Thai full-text search: FTS5 trigram indexes over folded text, written by ``prongsai build``.

Thai has no spaces between words, so FTS5's default tokenizer finds nothing; the trigram
tokenizer finds any substring of three or more code points. Text is folded first (NFC, Thai
digits read as Arabic, lower case), and queries are folded the same way, so ``1 ชุด`` finds
``๑ ชุด``. A search costs what it finds, never the size of the table:

- a word of 3+ code points is a trigram phrase (a long one: a few of its rarest trigrams, the
  word then checked on the rows they give);
- a shorter word (``นม``, ``7``) is the OR of the index's own trigrams that begin with it
  (``<table>_fts_terms`` lists them, with how many rows hold each); two padding characters
  after each text make every position of a text the start of a trigram, so this finds exactly
  the texts that hold the word;
- the portal's filters (fiscal year, method, province, buyer, red flag) are indexed too, each
  value one private-use token in its own column (``projects_fts_facets`` maps values to tokens);
- project rows are keyed newest first: the rowid of ``projects_fts`` grows as the announcement
  day falls, then as the project's rowid falls, so ``ORDER BY rowid LIMIT 21`` is the newest
  page without a sort (FTS5 walks forward faster than backward); ``source_rowid_sql`` turns it
  back into ``projects.rowid``.

Each ``<table>_fts`` is an external-content index over ``<table>_fts_text`` (the folded text)
so that a changed row can be taken out again (``update``). Datasette serves the database
immutable and reads these tables through ``datasette_plugins/thai_search.py``. Re-run
``prongsai build`` after a VACUUM (rowids may move).
"""
from __future__ import annotations

import collections
import re
import unicodedata
from collections.abc import Iterable

from prongsai.core.schema import set_meta
from prongsai.core.thai import to_arabic_digits

#: table -> (key column, searchable columns). metadata.yml points each table's fts_table here.
SEARCHES = {
    "projects": ("project_id", ("title",)),
    "suppliers": ("id", ("name_th", "name_en", "tax_id")),
    "agencies": ("id", ("name_th", "name_en", "ministry")),
}

#: ``meta.search_index``: the layout below; readers ignore an index of another layout.
VERSION = "4"
#: FTS5 trigram matches nothing shorter than this many code points.
TRIGRAM = 3
#: appended twice to every indexed text: the last two characters start trigrams too.
PAD = "\x1f"
ROWID_MASK = 0xFFFFFFFF
_KEY_DAYS = 1 << 22  # above any Julian day number of a real date
#: trigrams a long word is looked up by (the word itself is then checked on each candidate)
PROBES = 3
#: parts of a search in its MATCH (the rarest); the others are checked on the rows it gives
CHILDREN = 2
#: page cache while building (negative: KiB): the index's b-trees are written far apart
BUILD_CACHE_KB = -262144

#: filter kind -> the SQL giving its values for project ``p`` (red flags: one row per flag).
FACETS = {
    "method": "p.method",
    "province": "p.province",
    "fiscal_year": "p.fiscal_year",
    "buyer": "p.buyer_id",
    "flag": None,
}
_FACET_MARK = 0xE000  # + the kind's index: the token's first character
_FACET_DIGIT = 0xE100  # two base-2048 digits of the value's number
_FACET_BASE = 2048
_THAI_DIGIT = re.compile("[๐-๙]")
_NOT_QUERY = re.compile("[\x00-\x1f\ue000-\uf8ff]")  # padding and facet tokens are never typed


def fold(text):
    """The searchable form of a text: NFC, Thai digits read as Arabic digits, lower case."""
    if text is None:
        return None
    text = str(text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if _THAI_DIGIT.search(text):
        text = to_arabic_digits(text)
    return text.lower()


def _indexed(text):
    return None if text is None else fold(text) + PAD * 2


def fts_table(table: str) -> str:
    return f"{table}_fts"


def text_table(table: str) -> str:
    return f"{table}_fts_text"


def terms_table(table: str) -> str:
    return f"{table}_fts_terms"


FACETS_TABLE = "projects_fts_facets"


def _key_sql(table: str) -> str:
    if table != "projects":
        return "p.rowid"
    day = "coalesce(CAST(julianday(substr(p.announce_date, 1, 10)) AS INTEGER), 0)"
    return f"(({_KEY_DAYS} - {day}) << 32) | ({ROWID_MASK} - p.rowid)"


def source_rowid_sql(table: str, key: str) -> str:
    """SQL for the source table's rowid of the index row whose rowid is ``key``."""
    return f"({ROWID_MASK} - ({key} & {ROWID_MASK}))" if table == "projects" else key


def _token_sql(kind: str, number: str) -> str:
    mark = _FACET_MARK + list(FACETS).index(kind)
    return f"char({mark}, {_FACET_DIGIT} + ({number}) / {_FACET_BASE}, {_FACET_DIGIT} + ({number}) % {_FACET_BASE})"


def _columns(table: str) -> list[str]:
    return [*SEARCHES[table][1], *(FACETS if table == "projects" else ())]


def _select_sql(table: str) -> str:
    """The text-table row of each source row ``p`` (the caller adds the WHERE)."""
    key, searchable = SEARCHES[table]
    values = [f"prongsai_indexed(p.[{c}])" for c in searchable]
    if table == "projects":
        for kind, expr in FACETS.items():
            if expr is None:
                values.append(f"(SELECT group_concat(f.token, '') FROM red_flags r JOIN {FACETS_TABLE} f "
                              f"ON f.kind = '{kind}' AND f.value = r.code WHERE r.project_id = p.project_id)")
            else:
                values.append(f"(SELECT token FROM {FACETS_TABLE} WHERE kind = '{kind}' AND value = {expr})")
    return f"SELECT {_key_sql(table)}, p.[{key}], {', '.join(values)} FROM [{table}] p"


def _add_facets(conn, where: str = "") -> None:
    """Give every filter value of the projects in ``where`` a token (new values numbered on)."""
    for kind, expr in FACETS.items():
        if expr is None:
            source = (f"SELECT DISTINCT r.code AS v FROM red_flags r JOIN projects p ON p.project_id = r.project_id "
                      f"{where}" if where else "SELECT DISTINCT code AS v FROM red_flags")
        else:
            source = f"SELECT DISTINCT {expr} AS v FROM projects p {where}"
        conn.execute(
            f"""INSERT INTO {FACETS_TABLE} (kind, value, token)
                SELECT '{kind}', v, {_token_sql(kind, "n")} FROM (
                    SELECT v, (SELECT count(*) FROM {FACETS_TABLE} WHERE kind = '{kind}')
                              + row_number() OVER (ORDER BY v) - 1 AS n
                    FROM ({source}) WHERE v IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM {FACETS_TABLE} WHERE kind = '{kind}' AND value = v))""")


def _key_ranges(conn, where: str = "") -> None:
    """Widen each fiscal year's range of keys to the rows in ``where``: a year is a stretch of
    announcement days, so a search in one year walks only its stretch of the index (the rows
    of an old year come last, and checking the newer ones first would cost them all)."""
    conn.execute(f"""UPDATE {FACETS_TABLE} SET first_key = min(coalesce(first_key, r.lo), r.lo),
                                               last_key = max(coalesce(last_key, r.hi), r.hi)
                     FROM (SELECT fiscal_year AS token, min(key) AS lo, max(key) AS hi
                           FROM [{text_table('projects')}] {where} GROUP BY fiscal_year) r
                     WHERE kind = 'fiscal_year' AND {FACETS_TABLE}.token = r.token""")


def _register(conn) -> None:
    conn.create_function("prongsai_fold", 1, fold, deterministic=True)
    conn.create_function("prongsai_indexed", 1, _indexed, deterministic=True)


def build(db) -> None:
    """Rebuild every search index in one transaction."""
    conn = db.conn
    _register(conn)
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = {BUILD_CACHE_KB}")
    conn.execute("BEGIN")
    try:
        for table in SEARCHES:
            for name in (fts_table(table), text_table(table), terms_table(table)):
                db[name].drop(ignore=True)
            if table == "projects":
                db[FACETS_TABLE].drop(ignore=True)
                conn.execute(f"CREATE TABLE {FACETS_TABLE} (kind TEXT, value, token TEXT, first_key INTEGER, last_key INTEGER, "
                             "PRIMARY KEY (kind, value)) WITHOUT ROWID")
                _add_facets(conn)
            key, _ = SEARCHES[table]
            columns = _columns(table)
            conn.execute(f"CREATE TABLE [{text_table(table)}] (key INTEGER PRIMARY KEY, [{key}] TEXT, "
                         + ", ".join(f"[{c}] TEXT" for c in columns) + ")")
            conn.execute(f"INSERT INTO [{text_table(table)}] {_select_sql(table)} ORDER BY 1")
            if table == "projects":
                _key_ranges(conn)
            conn.execute(f"CREATE VIRTUAL TABLE [{fts_table(table)}] USING fts5([{key}] UNINDEXED, "
                         + ", ".join(f"[{c}]" for c in columns)
                         + f", content=[{text_table(table)}], content_rowid='key', columnsize=0, tokenize='trigram')")
            fts = fts_table(table)
            # No per-row sizes (nothing ranks by bm25); merge once at the end rather than level by
            # level while loading (a quarter less time); later updates are small and merge as usual.
            conn.execute(f"INSERT INTO [{fts}] ([{fts}], rank) VALUES ('automerge', 0)")
            conn.execute(f"INSERT INTO [{fts}] ([{fts}], rank) VALUES ('crisismerge', 64)")
            conn.execute(f"INSERT INTO [{fts}] ([{fts}]) VALUES ('rebuild')")
            conn.execute(f"INSERT INTO [{fts}] ([{fts}]) VALUES ('optimize')")
            conn.execute(f"INSERT INTO [{fts}] ([{fts}], rank) VALUES ('automerge', 4)")
            conn.execute(f"INSERT INTO [{fts}] ([{fts}], rank) VALUES ('crisismerge', 16)")
            conn.execute(f"CREATE TABLE [{terms_table(table)}] (term TEXT PRIMARY KEY, docs INTEGER) WITHOUT ROWID")
            conn.execute(f"CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, [{fts_table(table)}], row)")
            conn.execute(f"INSERT INTO [{terms_table(table)}] SELECT term, doc FROM temp.vocab")
            conn.execute("DROP TABLE temp.vocab")
        set_meta(db, search_index=VERSION)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute(f"PRAGMA cache_size = {cache}")


def update(db, changed_rowids: Iterable[int], table: str = "projects") -> None:
    """Re-index only these rows of ``table`` (by rowid): changed, added or deleted since the last
    build. For projects, a row whose red flags changed counts as changed."""
    rowids = sorted({int(r) for r in changed_rowids})
    if not rowids:
        return
    conn = db.conn
    _register(conn)
    fts, text = fts_table(table), text_table(table)
    columns = [SEARCHES[table][0], *_columns(table)]
    listed = ", ".join(f"[{c}]" for c in columns)
    conn.execute("BEGIN")
    try:
        conn.execute("CREATE TEMP TABLE changed_rowids (rowid INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO changed_rowids VALUES (?)", [(r,) for r in rowids])
        old = f"SELECT key FROM [{text}] WHERE {source_rowid_sql(table, 'key')} IN (SELECT rowid FROM changed_rowids)"
        conn.execute(f"INSERT INTO [{fts}] ([{fts}], rowid, {listed}) SELECT 'delete', key, {listed} "
                     f"FROM [{text}] WHERE key IN ({old})")
        conn.execute(f"DELETE FROM [{text}] WHERE key IN ({old})")
        where = "WHERE p.rowid IN (SELECT rowid FROM changed_rowids)"
        if table == "projects":
            _add_facets(conn, where)
        conn.execute(f"INSERT INTO [{text}] {_select_sql(table)} {where}")
        if table == "projects":
            _key_ranges(conn, f"WHERE key IN (SELECT {_key_sql(table)} FROM projects p {where})")
        new = f"SELECT key FROM [{text}] WHERE key IN (SELECT {_key_sql(table)} FROM [{table}] p WHERE p.rowid IN (SELECT rowid FROM changed_rowids))"
        conn.execute(f"INSERT INTO [{fts}] (rowid, {listed}) SELECT key, {listed} FROM [{text}] WHERE key IN ({new})")
        added = collections.Counter(
            trigram for row in conn.execute(f"SELECT {', '.join(f'[{c}]' for c in _columns(table))} FROM [{text}] "
                                            f"WHERE key IN ({new})")
            for trigram in {t[i:i + TRIGRAM].lower()  # as the tokenizer folds them
                            for t in row if t for i in range(len(t) - TRIGRAM + 1)})
        # docs only guide which trigrams to look a word up by: new trigrams get the new rows' count
        conn.executemany(f"INSERT OR IGNORE INTO [{terms_table(table)}] VALUES (?, ?)", added.items())
        conn.execute("DROP TABLE temp.changed_rowids")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# --- queries: the portal and the Datasette plugin build their MATCH expressions here ---------

def query_terms(q: str) -> list[str]:
    """The distinct folded words of a query, in order (padding and token characters dropped)."""
    return list(dict.fromkeys(_NOT_QUERY.sub("", fold(q or "")).split()))


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _phrase_or(phrases) -> str:
    phrases = list(phrases)
    return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"


def _trigram_docs(conn, table: str, trigrams) -> dict[str, int]:
    trigrams = sorted(set(trigrams))
    return dict(conn.execute(f"SELECT term, docs FROM [{terms_table(table)}] WHERE term IN "
                             f"({', '.join('?' * len(trigrams))})", trigrams).fetchall())


def _beginning(conn, table: str, term: str) -> list[tuple[str, int]]:
    """The indexed trigrams that begin with a word shorter than a trigram, with their counts."""
    return conn.execute(f"SELECT term, docs FROM [{terms_table(table)}] WHERE term >= ? AND term < ?",
                        [term, term + "\U0010ffff"]).fetchall()


def _spread_rarest(trigrams: list[str], docs: dict[str, int]) -> list[str]:
    """Up to ``PROBES`` of a word's trigrams, rarest first, none overlapping another (their letters
    differ, so together they narrow more than the rarest three side by side would)."""
    chosen: list[int] = []
    for i in sorted(range(len(trigrams)), key=lambda i: (docs[trigrams[i]], i)):
        if all(abs(i - j) >= TRIGRAM for j in chosen):
            chosen.append(i)
        if len(chosen) == PROBES:
            break
    return [trigrams[i] for i in sorted(chosen)]


def word_match(conn, table: str, term: str) -> str | None:
    """The exact FTS5 expression for one folded word; None when no indexed text can hold it:
    a trigram phrase, or (under three code points) the OR of the indexed trigrams it begins."""
    if len(term) >= TRIGRAM:
        trigrams = {term[i:i + TRIGRAM] for i in range(len(term) - TRIGRAM + 1)}
        return _phrase(term) if len(_trigram_docs(conn, table, trigrams)) == len(trigrams) else None
    alternatives = _beginning(conn, table, term)
    return _phrase_or(_phrase(t) for t, _ in alternatives) if alternatives else None


def text_match(conn, table: str, q: str) -> str | None:
    """Every word of ``q`` somewhere in the table's searchable text, as one exact MATCH; None when
    nothing can match (or ``q`` has no words)."""
    parts = [word_match(conn, table, t) for t in query_terms(q)]
    return None if not parts or None in parts else " AND ".join(parts)


def project_key(conn, project_id: str) -> int | None:
    """The ``projects_fts`` rowid of a project, None when it is not indexed."""
    row = conn.execute(f"SELECT t.key FROM projects p JOIN [{text_table('projects')}] t ON t.key = {_key_sql('projects')} "
                       "WHERE p.project_id = ?", [project_id]).fetchone()
    return row[0] if row else None


def _tokens(conn, kind: str, values: Iterable) -> list[tuple[str, int]]:
    """The tokens of these filter values, with how many rows hold each."""
    values = list(values)
    if not values:
        return []
    return conn.execute(f"SELECT f.token, coalesce(t.docs, 0) FROM {FACETS_TABLE} f LEFT JOIN "
                        f"[{terms_table('projects')}] t ON t.term = f.token "
                        f"WHERE f.kind = ? AND f.value IN ({', '.join('?' * len(values))})", [kind, *values]).fetchall()


def _indexed_rows(conn) -> int:
    """About how many projects the index holds (those with a fiscal year), from the term counts."""
    return conn.execute(f"SELECT coalesce(sum(t.docs), 0) FROM {FACETS_TABLE} f JOIN [{terms_table('projects')}] t "
                        "ON t.term = f.token WHERE f.kind = 'fiscal_year'").fetchone()[0]


class Search:
    """A portal search: ``match``, the MATCH of the index rows to try, newest first, and
    ``checks``, (SQL on the folded row ``t`` of ``projects_fts_text``, its values) each of those
    rows must pass, and ``keys``, the (first, last) index rowids they can have."""

    #: every index rowid
    ALL_KEYS = (0, 1 << 62)

    def __init__(self, match: str, checks: list[tuple[str, tuple]], keys: tuple[int, int] = ALL_KEYS):
        self.match, self.checks, self.keys = match, checks, keys


def projects_match(conn, q: str, filters: dict | None = None, names: dict | None = None) -> Search | None:
    """A portal search over projects; None when nothing can match (or nothing was asked).

    Each word of ``q`` must be in the title or, when ``names`` ({kind: [values]}) has values
    holding the word (``e-bidding`` in a method, ``น่าน`` in a province), be one of those
    values. ``filters`` ({kind: value}, kinds of ``FACETS``) must all hold.

    FTS5 pays every child of an AND at every step, so the MATCH holds only the ``CHILDREN``
    rarest parts of the search (a word's phrase or the OR of its trigrams, a long word's
    rarest spread trigrams, a filter's token); every other part is checked on the rows they
    give, by the folded title or the filter's token in ``projects_fts_text``."""
    groups: list[list[tuple[int, str, tuple | None]]] = []  # per word or filter: (about how many rows, expression, check if left out)
    checks: list[tuple[str, tuple]] = []  # checks every row must pass, whatever the MATCH holds
    keys = Search.ALL_KEYS
    for term in query_terms(q):
        title = ("instr(t.title, ?)", (term,))
        named = [(kind, token, docs) for kind, values in (names or {}).items()
                 for token, docs in _tokens(conn, kind, [v for v in values if term in fold(v)])]
        if len(term) < TRIGRAM:
            alternatives = _beginning(conn, "projects", term)
            parts = [(sum(d for _, d in alternatives), _phrase_or(_phrase(t) for t, _ in alternatives), title)
                     ] if alternatives else []
        else:
            trigrams = [term[i:i + TRIGRAM] for i in range(len(term) - TRIGRAM + 1)]
            docs = _trigram_docs(conn, "projects", trigrams)
            if len(docs) < len(set(trigrams)):
                parts = []  # a trigram no title has
            elif len(trigrams) <= PROBES:
                parts = [(min(docs.values()), _phrase(term), title)]
            else:  # a long phrase costs FTS5 each of its tokens: narrow by a few, check the word
                parts = sorted((docs[t], _phrase(t), None) for t in _spread_rarest(trigrams, docs))
        if named:  # the title's part or one of the names: one OR, checked on each row as a whole
            title_part = [" AND ".join(expr for _, expr, _ in parts[:CHILDREN])] if parts else []
            groups.append([(sum(d for _, _, d in named) + (parts[0][0] if parts else 0),
                            _phrase_or(title_part + [_phrase(t) for _, t, _ in named]), None)])
            checks.append(("(" + " OR ".join(["instr(t.title, ?)"] + [f"instr(t.[{k}], ?)" for k, _, _ in named]) + ")",
                           (term, *(t for _, t, _ in named))))
            continue
        if not parts:
            return None
        groups.append(parts)
        if parts[0][2] is None:
            checks.append(title)
    for kind, value in (filters or {}).items():
        if value is None:
            continue
        found = _tokens(conn, kind, [value])
        if not found:
            return None
        token, docs = found[0]
        groups.append([(docs, _phrase(token), (f"instr(t.[{kind}], ?)", (token,)))])
        if kind == "fiscal_year":
            keys = conn.execute(f"SELECT first_key, last_key FROM {FACETS_TABLE} WHERE token = ? "
                                "AND first_key IS NOT NULL", [token]).fetchone() or keys
    if not groups:
        return None
    # The rarest part first. Then the rarest part of the next word or filter, unless that holds
    # more than a tenth of the rows (it barely narrows) and a chosen word has another trigram:
    # a word's trigrams narrow together on the rows that hold the word, but much further on the
    # rows that only hold some of its trigrams (a word no title has).
    groups.sort()
    rows = _indexed_rows(conn)
    keep = CHILDREN
    chosen, fresh, used = [], list(groups), []
    while len(chosen) < keep and (fresh or any(len(g) > 1 for g in used)):
        more = [part for g in used for part in g[1:] if part not in chosen]
        if fresh and (not more or not chosen or fresh[0][0][0] <= rows / 10):
            used.append(fresh.pop(0))
            part = used[-1][0]
        elif more:
            part = min(more)
        else:
            break
        if part[1] not in (c[1] for c in chosen):
            chosen.append(part)
    checks += [part[2] for g in groups for part in g if part not in chosen and part[2] and part[2] not in checks]
    return Search(" AND ".join(expr for _, expr, _ in chosen), checks, tuple(keys))
