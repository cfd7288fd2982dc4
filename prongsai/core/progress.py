"""Progress for long commands: a bar on a terminal, plain log lines otherwise."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager

import click


@contextmanager
def progress(label: str, length: int | None = None, *, every: float = 5.0):
    """Yield an ``update(n)`` callable; draws a bar on a TTY, else logs a line every few seconds."""
    if sys.stderr.isatty():
        with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
            yield bar.update
        return
    done = 0
    last = time.monotonic()
    started = last

    def update(n: int = 1) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if now - last >= every:
            last = now
            total = f"/{length:,}" if length else ""
            click.echo(f"{label}: {done:,}{total} ({now - started:.0f}s)", err=True)

    yield update
    click.echo(f"{label}: {done:,} done in {time.monotonic() - started:.1f}s", err=True)
