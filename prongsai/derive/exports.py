"""The bulk downloads (``/exports/``, linked from Datasette) written beside the public database."""
from __future__ import annotations

import click

from prongsai.core import config
from prongsai.derive.flags.export import export_file as export_flags
from prongsai.derive.ocds_export import export_file as export_ocds


def write_exports(db_path, echo=click.echo) -> None:
    """Every file ``/exports/`` serves, from the database as it is now."""
    folder = config.exports_dir(db_path)
    echo(f"exports into {folder}", err=True)
    export_ocds(db_path, folder / "ocds.jsonl")
    export_flags(db_path, folder / "flags-cardinal.json")
