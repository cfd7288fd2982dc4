"""A read copy keeps its public database in step with the primary's, without an image rebuild.

Every ``interval`` seconds a copy reads the primary's build id from its ``/healthz``; when it
differs from its own, it runs ``fetch-public`` (sha256-checked, resumed, swapped in atomically)
from ``PRONGSAI_PUBLIC_DB_URL``. The portal opens the file per request and sees the new build at
once; ``prongsai.asgi`` reopens Datasette when the file changes. A machine's worker processes each
run a watch, so the fetch holds a lock beside the database: one downloads, the others then find
the file current. What the copy last saw is in its ``/healthz`` (``primary``), stale or not.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import pathlib
import sqlite3
import threading

import httpx

from prongsai.core import clock

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 300


def local_build_id(db_path) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


@contextlib.contextmanager
def fetch_lock(db_path):
    """One fetch per machine at a time (an advisory lock beside the database)."""
    path = pathlib.Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.fetch-lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class PrimaryWatch:
    """The primary's build id as this copy last read it, and the re-fetch when it moved on."""

    def __init__(self, primary_url: str, db_path, public_url: str | None, *, interval: float = DEFAULT_INTERVAL,
                 fetch=None):
        self.primary_url = primary_url.rstrip("/")
        self.db_path = pathlib.Path(db_path)
        self.public_url = public_url
        self.interval = interval
        self.fetch = fetch or _fetch_public
        self.state = {"build_id": None, "checked_at": None, "error": None}
        self._stop = threading.Event()

    def check(self) -> None:
        """Read the primary's build id once; fetch the published file if ours is another."""
        try:
            response = httpx.get(self.primary_url + "/healthz", timeout=10)
            response.raise_for_status()
            primary = response.json().get("build_id")
        except (httpx.HTTPError, ValueError) as exc:
            self.state.update(checked_at=clock.now(),
                              error=f"primary unreachable: {exc.__class__.__name__}")
            return
        self.state.update(build_id=primary, checked_at=clock.now(), error=None)
        if primary and primary != local_build_id(self.db_path) and self.public_url:
            try:
                with fetch_lock(self.db_path):
                    if primary != local_build_id(self.db_path):  # another worker may have done it
                        self.fetch(self.public_url, self.db_path)
            except Exception as exc:  # the copy keeps serving its current file; /healthz says stale
                log.warning("fetch-public from %s failed: %s", self.public_url, exc)
                self.state["error"] = f"fetch-public failed: {exc}"[:300]

    def start(self) -> None:
        threading.Thread(target=self._run, name="primary-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check()
            self._stop.wait(self.interval)


def _fetch_public(url, db_path):
    from prongsai.ops.fetch import fetch_public
    from scrapers.http import Client

    with Client(cache_path=False, robots=False) as client:
        return fetch_public(url, db_path, client)
