"""Options every ``prongsai`` command shares.

Kept apart from ``prongsai.cli`` (which imports every module whose commands it registers), so
those modules can use them at import time without an import cycle.
"""
from __future__ import annotations

import click

from prongsai import config


def db_option(f):
    """``--db PATH``: the public database (default ``$PRONGSAI_DATA_DIR/procurement.db``)."""
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False), default=None,
        help="Public database (default: data/procurement.db, or $PRONGSAI_DATA_DIR).",
        callback=lambda ctx, param, value: value or str(config.default_db()),
    )(f)


def complaints_db_option(f):
    """``--complaints-db PATH``: the private complaints database."""
    return click.option(
        "--complaints-db", "complaints_db_path", type=click.Path(dir_okay=False), default=None,
        help="Private complaints database (default: data/complaints.db).",
        callback=lambda ctx, param, value: value or str(config.default_complaints_db()),
    )(f)
