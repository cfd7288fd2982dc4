"""``prongsai publish``: put a built database in place as the public one, atomically.

The new file is copied beside the public path, checked, and renamed over it (``os.replace`` is
atomic on POSIX), so whoever opens the public path gets the old file or the new one, never a
half-written one. A connection opened before the swap keeps reading the old file (its inode
lives until closed): the portal opens the database per request and sees new data at once;
Datasette holds its connections and serves the old data until ``prongsai serve`` restarts.
"""
from __future__ import annotations

import pathlib
import shutil

from prongsai import datasette_inspect
from prongsai.core.errors import UserError
from prongsai.core.files import (
    connect_ro,
    integrity_errors,
    online_copy,
    replace_durably,
    sha256_file,
    write_text_durably,
)

#: Tables a database must have before it may go public (schema, build output, run log).
REQUIRED_TABLES = ("meta", "projects", "source_runs", "summary_counts")


def sidecar(path) -> pathlib.Path:
    """``procurement.db.sha256``, in ``sha256sum -c`` format (the Docker build checks it)."""
    path = pathlib.Path(path)
    return path.with_name(path.name + ".sha256")


def verify_built(path, *, quick: bool = False, name=None) -> dict:
    """Refuse a file that is corrupt, not a Prongsai database, or never built; return its meta.
    ``name`` is what messages call the file (the source, not its temporary copy)."""
    name = name or path
    errors = integrity_errors(path, quick=quick)
    if errors:
        raise UserError(f"{name} failed its integrity check: {'; '.join(errors[:3])}")
    conn = connect_ro(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise UserError(f"{name} is not a built Prongsai database (missing tables: {', '.join(missing)}; "
                            "run `prongsai build`)")
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    finally:
        conn.close()
    if not meta.get("build_id"):
        raise UserError(f"{name} has no build id: run `prongsai build --db {name}` before publishing")
    return meta


def publish(source, target, *, quick: bool = False) -> dict:
    """Check ``source`` and swap a copy of it into ``target``; return build id, dataset and sha256."""
    source, target = pathlib.Path(source), pathlib.Path(target)
    if not source.exists():
        raise UserError(f"database not found: {source}")
    if target.exists() and source.resolve() == target.resolve():
        _refuse_written(target)
        meta = verify_built(target, quick=quick)
        digest = sha256_file(target)
        write_text_durably(sidecar(target), f"{digest}  {target.name}\n")
        return {"build_id": meta["build_id"], "dataset": meta.get("dataset"), "sha256": digest}
    tmp = staging_path(target)
    try:
        online_copy(source, tmp)  # one file, so Datasette can open it immutable
        return swap_in(tmp, target, name=source, inspect_file=datasette_inspect.path_for(source), quick=quick)
    finally:
        tmp.unlink(missing_ok=True)


def staging_path(target) -> pathlib.Path:
    """Where a new public file is prepared: beside the target, so the final rename is atomic."""
    target = pathlib.Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.publish-tmp")
    tmp.unlink(missing_ok=True)
    return tmp


def swap_in(tmp: pathlib.Path, target: pathlib.Path, *, name, inspect_file=None, quick: bool = False,
            sha256: str | None = None) -> dict:
    """Check ``tmp`` (prepared by ``staging_path``), then rename it over ``target``, with its
    inspect file and its ``.sha256``. ``sha256``: already known, so not computed again."""
    _refuse_written(target)
    meta = verify_built(tmp, quick=quick, name=name)
    digest = sha256 or sha256_file(tmp)
    if inspect_file and pathlib.Path(inspect_file).exists():
        _publish_inspect_file(pathlib.Path(inspect_file), target)
    replace_durably(tmp, target)
    write_text_durably(sidecar(target), f"{digest}  {target.name}\n")
    return {"build_id": meta["build_id"], "dataset": meta.get("dataset"), "sha256": digest}


def _refuse_written(target: pathlib.Path) -> None:
    for journal in ("-journal", "-wal"):
        if target.with_name(target.name + journal).exists():
            # A hot journal beside the public file would be replayed into the new file.
            raise UserError(f"{target}{journal} exists: something writes the public database; "
                            "publish only ever replaces it")


def _publish_inspect_file(inspect_source: pathlib.Path, target: pathlib.Path) -> None:
    """Datasette's counts travel with the database; they go first, and name the build they fit
    (a file that does not match its database is ignored), so any pairing a reader sees is safe."""
    inspect_target = datasette_inspect.path_for(target)
    tmp = inspect_target.with_name(f".{inspect_target.name}.tmp")
    shutil.copyfile(inspect_source, tmp)
    replace_durably(tmp, inspect_target)
