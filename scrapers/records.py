"""What every source's pure parser returns, and how it reaches a :class:`~scrapers.store.SourceRun`.

Parsers stay free of I/O: they turn bytes into :class:`Records` (rows per table, malformed
rows with their reason, how many source rows were read); :func:`load` feeds them to a run.
A big file streams as a sequence of :class:`Records`, one per batch of source rows.

Three kinds of rows: ``upsert`` rows are what this source knows best and overwrite (with a
``changes`` entry); ``stub`` rows only fill what is still empty, so a feed that knows just a
project's id and title never replaces the richer values another source already stored;
``link`` rows belong to link tables (no provenance), inserted unless present.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple


class Row(NamedTuple):
    table: str
    values: dict


class Bad(NamedTuple):
    """A source row that cannot be loaded: it goes to ``quarantine`` and the run carries on."""
    location: str
    raw: object
    reason: str


@dataclasses.dataclass
class Records:
    upserts: list[Row] = dataclasses.field(default_factory=list)
    stubs: list[Row] = dataclasses.field(default_factory=list)
    links: list[Row] = dataclasses.field(default_factory=list)
    bad: list[Bad] = dataclasses.field(default_factory=list)
    rows_in: int = 0
    #: rows read and deliberately not loaded (the parser's docstring says which and why).
    skipped: int = 0
    #: the source answered "no such document" (e.g. e-GP's E4514 page): nothing to record.
    missing: str | None = None
    #: tables whose upserts state every column they give (an OCDS compiled release states the
    #: whole process): there a blank erases what the same source stored before.
    complete: frozenset[str] = frozenset()

    def upsert(self, table: str, row: dict) -> None:
        self.upserts.append(Row(table, row))

    def stub(self, table: str, row: dict) -> None:
        self.stubs.append(Row(table, row))

    def link(self, table: str, row: dict) -> None:
        self.links.append(Row(table, row))

    def quarantine(self, location: str, raw, reason: str) -> None:
        self.bad.append(Bad(location, raw, reason))

    def rows(self, table: str) -> list[dict]:
        """Every upsert and stub row for ``table`` (what tests and callers inspect)."""
        return [row for t, row in self.upserts + self.stubs if t == table]


def load(run, records: Records, *, source_url: str | None = None) -> None:
    """Feed ``records`` into ``run`` (a ``SourceRun``): counts, quarantine, upserts, stubs, links.
    Upserts go before stubs, so where both give one row the upsert is the one kept."""
    run.read(records.rows_in)
    for location, raw, reason in records.bad:
        run.quarantine(location, raw, reason)
    run.upsert_rows(records.upserts, source_url=source_url, complete=records.complete)
    run.upsert_rows(records.stubs, source_url=source_url, overwrite=False)
    run.link_rows(records.links)


def summary(run) -> str:
    """One line for the terminal after a run."""
    return (f"{run.source}: {run.rows_in:,} read, {run.rows_changed:,} changed, "
            f"{run.rows_quarantined:,} quarantined (run {run.id})")
