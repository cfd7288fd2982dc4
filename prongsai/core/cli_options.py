"""Options every ``prongsai`` command shares.

Kept apart from ``prongsai.cli`` (which imports every module whose commands it registers), so
those modules can use them at import time without an import cycle.
"""
from __future__ import annotations

import click

from prongsai.core import config


def _path_option(flag: str, dest: str, help: str, default):
    """A database path option whose default (``default()``) follows ``$PRONGSAI_DATA_DIR``."""
    return click.option(flag, dest, type=click.Path(dir_okay=False), default=None, help=help,
                        callback=lambda ctx, param, value: value or str(default()))


#: ``--db PATH``: the public database (default ``$PRONGSAI_DATA_DIR/procurement.db``).
db_option = _path_option("--db", "db_path", "Public database (default: data/procurement.db, or $PRONGSAI_DATA_DIR).",
                         lambda: config.default_db())
#: ``--complaints-db PATH``: the private complaints database.
complaints_db_option = _path_option("--complaints-db", "complaints_db_path",
                                    "Private complaints database (default: data/complaints.db).",
                                    lambda: config.default_complaints_db())
