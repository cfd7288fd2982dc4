"""The merge policy: what one new record of a row already stored may change in it.

Pure (no SQL), so the store's batching can change without touching the rules, and the rules
read in one place: a source overwrites what it or a source of the same or lower rank stored;
a value fills a blank without being an amendment; a blank erases only from a complete row
(an OCDS compiled release) of the source that stored it.
"""
from __future__ import annotations

import hashlib
from typing import NamedTuple

#: Whose values stand when two sources give one row: a source overwrites a row stored by itself
#: or a source of the same or lower rank (default 1), and only fills the empty columns of one
#: stored by a higher rank. The published datasets outrank e-GP's pages (preliminary, partial).
SOURCE_RANK = {"datagoth": 2, "ocds": 2}


def rank(source: str | None) -> int:
    return SOURCE_RANK.get(source, 1)


def row_sha256(values) -> str:
    """sha256 of a row's values (key included) in the order its source gives its columns."""
    return hashlib.sha256("\x1f".join(map(str, values)).encode("utf-8")).hexdigest()


def same(old, new) -> bool:
    """Equal as stored: SQLite gives back 5 for 5.0 and "5" for a number stored as text."""
    if old == new:
        return True
    if old is None or new is None:
        return False
    return str(old) == str(new)


class Change(NamedTuple):
    column: str
    old: object
    new: object


class Outcome(NamedTuple):
    """``changes`` empty: the same values (only ``last_seen`` moves). ``merged`` None: only
    blanks filled, so the row's provenance stays. Else the row becomes ``merged`` with this
    source's provenance, and each change with an old value is an amendment (a ``changes`` row)."""
    changes: list[Change]
    merged: tuple | None


def merge(columns, stored: tuple, given: tuple, *, overwrite: bool, complete: bool) -> Outcome:
    """``overwrite``: this source may replace the stored values (see :func:`may_overwrite`);
    ``complete``: its blanks erase too (see :func:`may_erase`)."""
    changes = [Change(c, a, b) for c, a, b in zip(columns, stored, given)
               if (b is not None or complete) and not same(a, b) and (overwrite or a is None)]
    if not (overwrite and any(change.old is not None for change in changes)):
        return Outcome(changes, None)
    return Outcome(changes, tuple(a if b is None and not complete else b for a, b in zip(stored, given)))


def may_overwrite(source: str, stored_by: str | None, overwrite: bool) -> bool:
    """An upsert (not a stub) replaces values stored by a source of the same or lower rank."""
    return overwrite and rank(stored_by) <= rank(source)


def may_erase(source: str, stored_by: str | None, complete: bool) -> bool:
    """A complete row takes back only what its own source gave."""
    return complete and stored_by == source
