"""``prongsai refresh``: every enabled source, then ``build``, then ``publish``.

Sources load into a staging copy of the public database, so readers never see a half-refreshed
one. A failed source leaves its rows as the last refresh left them (a scraper commits a run in
one transaction) and its ``source_runs`` row says why, which ``/healthz`` and the About page
show; the other sources still publish. Which sources run, and their options, is in ``sources.yml``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import fcntl
import pathlib
import sqlite3
import time
from collections.abc import Callable

import click
import yaml

from prongsai import datasette_inspect
from prongsai.core.clock import now
from prongsai.core.config import ROOT
from prongsai.core.errors import UserError
from prongsai.core.files import online_copy
from prongsai.core.schema import read_meta_file
from prongsai.core.thai import current_fiscal_year, fiscal_year
from prongsai.derive.exports import write_exports
from prongsai.ops.publish import swap_in

SOURCES_FILE = ROOT / "sources.yml"


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    options: dict = dataclasses.field(default_factory=dict)
    enabled: bool = True


@dataclasses.dataclass
class Outcome:
    source: str
    ok: bool
    seconds: float
    error: str | None = None


#: ``run_source(name, options, db_path)``: one live run of a source into ``db_path``; raises on failure.
RunSource = Callable[[str, dict, pathlib.Path], object]


def plan(registry: dict[str, bool], path=SOURCES_FILE, *, today: _dt.date | None = None) -> list[Source]:
    """The sources to consider, in registry order: ``registry`` maps each source to whether a
    routine refresh runs it (its module's ``REFRESH``); ``sources.yml`` may override that and
    give options (a list of mappings runs the source once per mapping), where ``{fiscal_year}`` /
    ``{previous_fiscal_year}`` are the Thai fiscal years."""
    settings = _read(pathlib.Path(path))
    unknown = set(settings) - set(registry)
    if unknown:
        raise UserError(f"{path}: no such source: {', '.join(sorted(unknown))} "
                        f"(known: {', '.join(registry)})")
    fy = fiscal_year(today) if today else current_fiscal_year()
    values = {"fiscal_year": fy, "previous_fiscal_year": fy - 1}
    sources = []
    for name, default in registry.items():
        entry = settings.get(name, {})
        runs = entry.get("options", {})
        for options in runs if isinstance(runs, list) else [runs]:  # a list: one run per mapping
            options = {key: _expand(value, values, path, name) for key, value in options.items()}
            sources.append(Source(name, options, entry.get("enabled", default)))
    return sources


def _read(path: pathlib.Path) -> dict:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read sources file {path}: {exc}") from None
    settings = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(settings, dict):
        raise UserError(f"{path}: expected a `sources:` mapping of source name to settings")
    for name, entry in settings.items():
        if not isinstance(entry, dict) or set(entry) - {"enabled", "options"}:
            raise UserError(f"{path}: source {name!r} takes only `enabled` and `options`")
        if not isinstance(entry.get("enabled", True), bool):
            raise UserError(f"{path}: source {name!r}: `enabled` must be true or false")
        runs = entry.get("options", {})
        if not all(isinstance(o, dict) for o in (runs if isinstance(runs, list) else [runs])):
            raise UserError(f"{path}: source {name!r}: `options` must be a mapping, or a list of them")
    return settings


def _expand(value, values: dict, path, name: str):
    """``"{fiscal_year}"`` -> 2570 (an int when the whole value is one placeholder)."""
    if not isinstance(value, str) or "{" not in value:
        return value
    try:
        expanded = value.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise UserError(f"{path}: source {name!r}: bad placeholder in {value!r} ({exc})") from None
    return int(expanded) if value.strip("{}") in values else expanded


def refresh(db_path, sources: list[Source], run_source: RunSource, *, flag_settings=None,
            echo=click.echo) -> tuple[list[Outcome], dict]:
    """Refresh ``db_path`` from ``sources``; return each source's outcome and what was published."""
    from prongsai.derive.build import run_build

    live = pathlib.Path(db_path)
    staging = live.with_name(f".{live.name}.refresh")
    live.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(live.with_name(f".{live.name}.refresh.lock")):
        _refuse_demo(live)
        _remove(staging)
        try:
            had_data = live.exists()
            if had_data:
                online_copy(live, staging)
            outcomes = [_run_one(s, staging, run_source, echo) for s in sources if s.enabled]
            if not had_data and not any(o.ok for o in outcomes):
                raise UserError("no source succeeded and there is no previous database: nothing to publish")
            echo("refresh: build", err=True)
            run_build(staging, flag_settings=flag_settings)  # leaves one rollback-journal file
            # The staging file sits beside the public one: rename it in, no second copy.
            published = swap_in(staging, live, name=staging, inspect_file=datasette_inspect.path_for(staging))
        finally:
            _remove(staging)
        write_exports(live, echo)
    return outcomes, published


def _run_one(source: Source, staging: pathlib.Path, run_source: RunSource, echo) -> Outcome:
    options = " ".join(f"{k}={v}" for k, v in source.options.items())
    echo(f"refresh: {source.name} {options}".rstrip(), err=True)
    last_id = _last_run_id(staging)
    started, started_at = time.monotonic(), now()
    try:
        run_source(source.name, source.options, staging)
    except click.ClickException as exc:
        error = exc.format_message()
    except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others
        error = f"{exc.__class__.__name__}: {exc}"
    else:
        outcome = Outcome(source.name, True, time.monotonic() - started)
        echo(f"refresh: {source.name} ok in {outcome.seconds:.1f}s", err=True)
        return outcome
    outcome = Outcome(source.name, False, time.monotonic() - started, error)
    echo(f"refresh: {source.name} FAILED after {outcome.seconds:.1f}s: {error}", err=True)
    _record_failure(staging, source.name, last_id, started_at, error)
    return outcome


def _last_run_id(path: pathlib.Path) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT coalesce(max(id), 0) FROM source_runs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def _record_failure(staging: pathlib.Path, source: str, last_id: int, started_at: str, error: str) -> None:
    """Make sure the failure is in ``source_runs``, whether or not the scraper got to record it."""
    if not staging.exists():
        return
    from prongsai.core.schema import open_db

    db = open_db(staging)
    try:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("SELECT id, status FROM source_runs WHERE source = ? AND id > ? "
                         "ORDER BY id DESC LIMIT 1", [source, last_id]).fetchone()
        if row is None:
            db.execute("INSERT INTO source_runs (source, started_at, finished_at, status, error) "
                       "VALUES (?, ?, ?, 'failed', ?)", [source, started_at, now(), error])
        elif row[1] != "failed":  # crashed mid-run: the row still says running
            db.execute("UPDATE source_runs SET status = 'failed', finished_at = ?, "
                       "error = coalesce(error, ?) WHERE id = ?", [now(), error, row[0]])
        db.execute("COMMIT")
    finally:
        db.close()


def _refuse_demo(live: pathlib.Path) -> None:
    if live.exists() and read_meta_file(live, "dataset") == "demo":
        raise UserError(f"{live} holds DEMO data; refresh loads real sources only "
                        "(move the demo database away or pass --db)")


def _remove(path: pathlib.Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    datasette_inspect.path_for(path).unlink(missing_ok=True)


@contextlib.contextmanager
def _exclusive(path: pathlib.Path):
    """One refresh at a time per database (an advisory lock file beside it)."""
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another refresh of this database is running (lock: {path})") from None
        yield


