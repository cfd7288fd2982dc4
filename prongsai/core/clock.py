"""The one clock: every stored time is UTC ISO 8601. Tests move time by patching ``utcnow``."""
from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def now(timespec: str = "seconds") -> str:
    """The current time as stored in both databases, e.g. ``2026-12-07T11:20:29+00:00``."""
    return utcnow().isoformat(timespec=timespec)


def ago(delta: dt.timedelta) -> str:
    """The stored form of a moment ``delta`` before now, for cut-offs in SQL."""
    return (utcnow() - delta).isoformat(timespec="seconds")
