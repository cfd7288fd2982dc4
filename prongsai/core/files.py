"""File and SQLite primitives the ops jobs share: hashes, durable renames, integrity checks."""
from __future__ import annotations

import hashlib
import os
import pathlib
import sqlite3

from prongsai.core.errors import UserError


def sha256_file(path) -> str:
    """Hex sha256 of a file's bytes, read in blocks (downloads and databases of gigabytes)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fsync(path) -> None:
    """Flush a file, or a directory (after a rename in it: POSIX treats the entry as data too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(src, dst) -> None:
    """``os.replace`` with the file synced before and the directory after: old or new, never neither."""
    fsync(src)
    os.replace(src, dst)
    fsync(pathlib.Path(dst).parent)


def write_text_durably(path, text: str) -> None:
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    replace_durably(tmp, path)


def connect_ro(path) -> sqlite3.Connection:
    """A read-only connection; never creates the file."""
    uri = f"{pathlib.Path(path).resolve().as_uri()}?mode=ro"
    return sqlite3.connect(uri, uri=True)


def integrity_errors(path, *, quick: bool = False) -> list[str]:
    """``PRAGMA integrity_check`` (or ``quick_check``) rows other than ``ok``; [] means sound."""
    try:
        conn = connect_ro(path)
        try:
            pragma = "quick_check" if quick else "integrity_check"
            rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [f"{exc.__class__.__name__}: {exc}"]
    return [] if rows == ["ok"] else rows


def online_copy(source, dest) -> None:
    """SQLite's online backup of ``source`` (consistent while others write it) into ``dest``,
    as one rollback-journal file, synced."""
    src, dst = connect_ro(source), sqlite3.connect(dest)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.DatabaseError as exc:
        raise UserError(f"cannot copy {source}: {exc}") from None
    finally:
        dst.close()
        src.close()
    fsync(dest)
