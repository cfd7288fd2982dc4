"""Reading the text files sources publish: bounded CSV rows, and what is wrong with bytes that are
not the encoding a source uses.

CSV rows are read a bounded line at a time, so a file with no newlines (or one endless cell)
fails at once with its row named instead of being read whole into memory. A decoding failure is
told as what the bytes are: UTF-8 cut mid-character (a truncated download), TIS-620 Thai text
(the legacy e-GP encoding, which converts), or one stray byte at an offset.
"""
from __future__ import annotations

import codecs
import csv
from typing import BinaryIO, Iterable, Iterator, TextIO

from scrapers.store import ScrapeError

#: Characters in one CSV cell: far above any real cell (a project's WKT polygon is a few kB).
MAX_FIELD = 1 << 20
#: Characters in one physical line: room for every cell of a row of long cells.
MAX_LINE = 4 * MAX_FIELD

_FIELD_LIMIT_MESSAGE = "field larger than field limit"
_THAI_TIS620 = range(0xA1, 0xFC)  # Thai letters, vowels, tone marks and digits in TIS-620


def bounded_lines(text: TextIO) -> Iterator[str]:
    """The lines of an open text file, none longer than :data:`MAX_LINE` (``csv.Error`` if one is)."""
    while line := text.readline(MAX_LINE + 1):
        if len(line) > MAX_LINE:
            raise csv.Error(f"a line is longer than {MAX_LINE:,} characters")
        yield line


def csv_rows(lines: Iterable[str], *, source: str, location: str, expected: str) -> Iterator[list[str]]:
    """``csv.reader`` rows, cells bounded by :data:`MAX_FIELD`; a malformed or oversized row fails
    the run as ``<source>: <location>: row <n>: <what> — is this <expected>?`` (the header is row 1)."""
    csv.field_size_limit(MAX_FIELD)
    row = 0
    try:
        for row, cells in enumerate(csv.reader(lines), start=1):
            yield cells
    except csv.Error as exc:
        reason = str(exc)
        if reason.startswith(_FIELD_LIMIT_MESSAGE):
            reason = f"a field is longer than {MAX_FIELD:,} characters"
        raise ScrapeError(f"{source}: {location}: row {row + 1}: {reason} — is this {expected}?") from None


def utf8_problem(blocks: Iterable[bytes]) -> str | None:
    """What keeps these bytes (given in consecutive blocks) from being UTF-8, said as what was
    found; None when they are UTF-8. Offsets count from 0 over all the blocks."""
    offset, pending = 0, b""
    for block in blocks:
        data = pending + block
        try:
            _, used = codecs.utf_8_decode(data, "strict", False)  # an unfinished last character waits
        except UnicodeDecodeError as exc:
            at = offset + exc.start
            if looks_tis620(data):
                return (f"TIS-620 (cp874) Thai text (byte 0x{data[exc.start]:02X} at byte {at:,} is not UTF-8; "
                        "convert with: iconv -f cp874 -t utf-8)")
            return f"byte 0x{data[exc.start]:02X} at byte {at:,} is not UTF-8 ({exc.reason})"
        offset, pending = offset + used, data[used:]
    if pending:
        return (f"text that ends in the middle of a UTF-8 character at byte {offset:,} "
                "(the file looks truncated: download or copy it again)")
    return None


def blocks(f: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    """The rest of an open binary file in blocks (for :func:`utf8_problem` without reading it whole)."""
    while block := f.read(size):
        yield block


def looks_tis620(data: bytes) -> bool:
    """Bytes that read as TIS-620 Thai: valid cp874, and their non-ASCII bytes are Thai characters
    (UTF-8 Thai puts continuation bytes 0x80-0xA0, which are not, in every other character)."""
    high = [b for b in data if b >= 0x80]
    if not high:
        return False
    try:
        data.decode("cp874")
    except UnicodeDecodeError:
        return False
    return sum(b in _THAI_TIS620 for b in high) >= 0.95 * len(high)
