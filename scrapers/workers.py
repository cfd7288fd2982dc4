"""Parsing and mapping a big file in worker processes while this process writes.

A source's parse and mapping cost about as much CPU as SQLite's writes, so on a second core
they run at the same time: this process reads the file in chunks of lines, workers turn each
chunk into rows, and the results come back in file order, a few chunks read
ahead at most (memory stays flat in the file's size). What a worker sends back is plain tuples
in ``marshal`` (pickled ``Records`` cost three times as much to send): the chunk's
:class:`~scrapers.records.Records` (:func:`plain` / :func:`unplain`), or on a first load what
the run would insert, already deduplicated and with its provenance
(:func:`scrapers.store.staged`), which the run binds straight into SQLite.

The workers are forked before the run opens its database or starts a thread. Used by the OCDS
import; data.go.th CSVs stay in one process: a CSV record may span lines, so this process would
have to parse the rows to cut the file, and sending them costs more than mapping them (measured:
20 % more CPU and no gain in wall time).
"""
from __future__ import annotations

import collections
import contextlib
import gc
import multiprocessing
import os
from typing import Callable, Iterable, Iterator

from scrapers.records import Records

#: Chunks in flight per worker: enough to keep every worker busy, few enough to keep memory flat.
IN_FLIGHT = 2


def count() -> int:
    """Worker processes beside the writer: one per core, at most three. Mapping costs more than
    writing, so on two cores two workers and the writer keep both busy where one worker leaves the
    writer waiting."""
    return max(1, min(3, os.cpu_count() or 1))


def _no_gc() -> None:
    gc.disable()  # as in the writer (``SourceRun``): mapping makes millions of acyclic objects


@contextlib.contextmanager
def pool(n: int):
    """``n`` forked workers (None when ``n`` is 0: the caller maps in process)."""
    if not n:
        yield None
        return
    with multiprocessing.get_context("fork").Pool(n, _no_gc) as workers:
        yield workers


def ordered(workers, tasks: Iterable[tuple[Callable, tuple]], n: int) -> Iterator:
    """``fn(*args)`` of every task, computed in ``workers`` and given back in the tasks' order,
    with at most :data:`IN_FLIGHT` tasks per worker submitted ahead."""
    pending: collections.deque = collections.deque()
    for fn, args in tasks:
        pending.append(workers.apply_async(fn, args))
        if len(pending) >= IN_FLIGHT * n:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def plain(records: Records) -> tuple:
    """``records`` as tuples ``marshal`` can send (see :func:`unplain`)."""
    return (records.rows_in, [tuple(b) for b in records.bad], [tuple(u) for u in records.upserts],
            [tuple(s) for s in records.stubs], [tuple(x) for x in records.links], records.skipped,
            records.complete)


def unplain(data: tuple) -> Records:
    rows_in, bad, upserts, stubs, links, skipped, complete = data
    return Records(upserts=upserts, stubs=stubs, links=links, bad=bad, rows_in=rows_in, skipped=skipped,
                   complete=complete)
