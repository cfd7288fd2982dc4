"""The body every ``prongsai scrape SOURCE`` command shares: saved files, else a live refresh."""
from __future__ import annotations

import click

from prongsai.core.errors import UserError
from scrapers.records import summary as run_summary
from scrapers.store import each_file


def file_or_live(source: str, files, load_file, live, *, summary=run_summary) -> None:
    """Load each of ``files`` with ``load_file(path)``, each its own run (of several, one that
    fails does not stop the others: the failures are reported together); with no file,
    ``live()`` (a run or a list of runs). One ``summary(run)`` line per run, as each run ends."""
    if len(files) > 1:
        each_file(source, files, lambda path: click.echo(summary(load_file(path))))
        return
    runs = load_file(files[0]) if files else live()
    for run in runs if isinstance(runs, list) else [runs]:
        click.echo(summary(run))


def at_most_one(what: str, **options) -> None:
    """A ``UserError`` naming the options when more than one value is given for ``what`` (e.g.
    ``--file`` reads one feed: one ``--dept``)."""
    crowded = [f"--{name}" for name, values in options.items() if len(values) > 1]
    if crowded:
        raise UserError(f"{what}: give at most one {' and one '.join(crowded)}")


def first(values):
    """The one value of a repeatable option, or None."""
    return values[0] if values else None
