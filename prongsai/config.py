"""Where Prongsai keeps its files. ``PRONGSAI_DATA_DIR`` moves both databases at once."""
from __future__ import annotations

import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def data_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("PRONGSAI_DATA_DIR", ROOT / "data"))


def default_db() -> pathlib.Path:
    """The public database: everything in it is publishable."""
    return data_dir() / "procurement.db"


def default_complaints_db() -> pathlib.Path:
    """The private database: complaints, complainants, moderators. Datasette never opens it."""
    return data_dir() / "complaints.db"


def exports_dir(db_path) -> pathlib.Path:
    """Bulk downloads (OCDS, flags) live beside the public database they were written from."""
    return pathlib.Path(db_path).parent / "exports"
