"""Where Prongsai keeps its files. ``PRONGSAI_DATA_DIR`` moves both databases at once."""
from __future__ import annotations

import importlib.metadata
import os
import pathlib
import secrets

import yaml

from prongsai.core.errors import UserError
from prongsai.core.files import fsync

#: the installed package's version (pyproject.toml is its one source).
VERSION = importlib.metadata.version("prongsai")
ROOT = pathlib.Path(__file__).resolve().parents[2]
#: Datasette's metadata: titles, canned queries, licences; the portal reads it too (robots, exports).
METADATA = ROOT / "metadata.yml"


def load_metadata() -> dict:
    return yaml.safe_load(METADATA.read_text(encoding="utf-8")) if METADATA.exists() else {}


def data_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("PRONGSAI_DATA_DIR", ROOT / "data"))


def default_db() -> pathlib.Path:
    """The public database: everything in it is publishable."""
    return data_dir() / "procurement.db"


def default_complaints_db() -> pathlib.Path:
    """The private database: complaints, complainants, moderators. Datasette never opens it."""
    return data_dir() / "complaints.db"


def evidence_dir(complaints_db) -> pathlib.Path:
    """Evidence files live beside the private database (never inside a served folder)."""
    return pathlib.Path(complaints_db).resolve().parent / "evidence"


def exports_dir(db_path) -> pathlib.Path:
    """Bulk downloads (OCDS, flags) live beside the public database they were written from."""
    return pathlib.Path(db_path).parent / "exports"


SECRET_KEY_FILE = "secret_key"


def secret_key_path(complaints_db) -> pathlib.Path:
    """The server's own signing key lives in the private folder, beside the complaints database."""
    return pathlib.Path(complaints_db).parent / SECRET_KEY_FILE


def secret_key(complaints_db) -> str:
    """The key that signs sessions and forms when ``PRONGSAI_SECRET_KEY`` is unset: random, made on
    first start (mode 0600), reused on every later one.

    The new key is written and synced under a temporary name, then hard-linked into place: a link
    never replaces an existing name, so of workers starting at once one makes the key and the
    others read it, and nobody ever reads a half-written file."""
    path = secret_key_path(complaints_db)
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                try:
                    os.write(fd, secrets.token_hex(32).encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.link(tmp, path)
                fsync(path.parent)
            except FileExistsError:
                pass  # another worker was first: its key is the one
            finally:
                tmp.unlink()
        key = path.read_text().strip()
    except OSError as exc:
        raise UserError(f"cannot create or read the secret key {path} ({exc.strerror}): make its folder "
                        "writable, or set PRONGSAI_SECRET_KEY") from None
    if len(key) < 32:
        raise UserError(f"the secret key {path} is damaged (under 32 characters): restore it from a "
                        "backup, or delete it to make a new one (everyone signs in again)")
    return key
