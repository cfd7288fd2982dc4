"""One SQL query cannot take the machine: SQLite's own limits, and a bound on a result's size.

Datasette's time limit is checked between SQLite steps, and ``randomblob(400000000)`` is one
step that allocates 1.9 GB, in the process that also takes complaints. So every connection
Datasette opens gets SQLite's own limits (``Connection.setlimit``): a value (string or blob) of
at most ``MAX_VALUE_BYTES`` fails at once with SQLite's "string or blob too big", at most
``MAX_COLUMNS`` columns per row, short SQL, nothing attached. ``hard_heap_limit`` is not used: it
is process-wide, so a hostile query could make a complaint's write fail for lack of memory.

Rows of allowed values can still add up (1000 rows of 128 KB), so the row factory counts each
result's characters and bytes as they arrive and stops at ``MAX_RESULT_CHARS``: a JSON or CSV
page holds at most that (plus one row). A streamed CSV export (``_stream``, tables and views
only, never arbitrary SQL) is fetched in pages of ``max_returned_rows``, each one bounded, so
whole tables still download; ``max_csv_mb`` stays unlimited.
"""
from __future__ import annotations

import sqlite3
import threading
import weakref

from datasette import hookimpl

MAX_VALUE_BYTES = 128 * 1024     # stored values are under 1 KB; room for group_concat and json
MAX_COLUMNS = 100                # the widest table has 31; joins of several still fit
MAX_SQL_BYTES = 100_000          # the longest canned query is about 1 KB
MAX_RESULT_CHARS = 8_000_000     # 1000 rows of projects are under 1 MB

_SIZES = dict(value=f"{MAX_VALUE_BYTES // 1024} KB", result=f"{MAX_RESULT_CHARS // 1_000_000} MB",
              columns=MAX_COLUMNS)
RESULT_TOO_BIG = ("ผลลัพธ์ใหญ่เกิน {result}: เลือกคอลัมน์หรือแถวให้น้อยลง (LIMIT) หรือดาวน์โหลดทั้งตารางเป็น CSV / "
                  "The result is larger than {result}: select fewer columns or rows (LIMIT), or download the "
                  "whole table as CSV.").format(**_SIZES)
HINT = ("เซิร์ฟเวอร์สาธารณะนี้จำกัดค่าแต่ละค่าไว้ที่ {value} ผลลัพธ์ไว้ที่ {result} และแถวละไม่เกิน {columns} คอลัมน์ "
        "เพื่อไม่ให้คำสั่งเดียวทำให้ทั้งเว็บช้า: เลือกเฉพาะคอลัมน์ที่ต้องการ ใส่ LIMIT หรือสรุปด้วย count/sum / "
        "This public server limits each value to {value}, each result to {result} and each row to {columns} "
        "columns, so that one query cannot slow the site for everyone: select only the columns you need, add a "
        "LIMIT, or summarise with count/sum instead of building long strings.").format(**_SIZES)
_HINTED = ("string or blob too big", "too many columns")

_current = threading.local()  # each SQL thread runs one query at a time


def _bounded_row(cursor, row):
    """The ``sqlite3.Row`` Datasette expects, after adding the row to its result's total."""
    if getattr(_current, "cursor", lambda: None)() is not cursor:
        _current.cursor, _current.spent = weakref.ref(cursor), 0
    _current.spent += sum(len(v) if isinstance(v, (str, bytes)) else 8 for v in row)
    if _current.spent > MAX_RESULT_CHARS:
        raise sqlite3.DataError(RESULT_TOO_BIG)
    return sqlite3.Row(cursor, row)


@hookimpl
def prepare_connection(conn):
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, MAX_COLUMNS)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.row_factory = _bounded_row


def limit_hint(error) -> str | None:
    """What to do when a query met one of these limits (shown under SQLite's own message)."""
    return HINT if error and any(text in str(error) for text in _HINTED) else None


@hookimpl
def extra_template_vars():
    return {"prongsai_limit_hint": limit_hint}
