"""``prongsai build``: every derived table, computed from the source tables in one pass.

Each step is a function ``(db) -> None`` in the module that owns its tables; steps replace
their tables atomically so readers never see half a build.
"""
from __future__ import annotations

import datetime as _dt
import importlib
import secrets

import click

from prongsai.core.clock import now
from prongsai.core.schema import open_db, set_meta

#: (label, "module:function") in the order they run; flags first, aggregates read them.
STEPS = [
    ("reconcile", "prongsai.derive.reconcile:build"),  # damaged tax ids joined to their twins, before flags
    ("flags", "prongsai.derive.flags.build:build"),
    ("coverage", "prongsai.derive.flags.coverage:build"),
    ("aggregates", "prongsai.derive.aggregates:build"),
    ("investigations", "prongsai.derive.investigations:build"),
    ("search index", "prongsai.derive.search_index:build"),
    ("changes", "prongsai.derive.changes:build"),  # what this build brought, for watchlists
    ("datasette inspect", "prongsai.datasette_inspect:build"),  # keep last: counts every table
]


def run_build(db_path, *, flag_settings=None) -> str:
    db = open_db(db_path, create=False)
    for label, target in STEPS:
        module_name, func_name = target.split(":")
        step = getattr(importlib.import_module(module_name), func_name)
        started = _dt.datetime.now()
        if label == "flags":
            step(db, settings_path=flag_settings)
        else:
            step(db)
        click.echo(f"build: {label} in {(_dt.datetime.now() - started).total_seconds():.1f}s", err=True)
    build_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
    db.execute("BEGIN")
    set_meta(db, build_id=build_id,
             built_at=now())
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA journal_mode = DELETE")  # a single file Datasette can open immutable
    db.execute("ANALYZE")
    db.close()
    return build_id
