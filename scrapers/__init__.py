"""Scrapers: one module per public source on the shared ``http`` client and ``store`` loader.

Every source module in :data:`SOURCES` provides

- ``command``: its click command, named after the source (``prongsai scrape <name> ...``);
  live use by default, ``--file PATH`` for a saved copy;
- ``run_live(db_path, **options)``: one live refresh with the source's defaults, returning its
  ``SourceRun`` (or a list of them when it loads several files, e.g. datagoth: one run per CSV);
  it raises a ``UserError`` when the refresh failed. ``prongsai refresh`` calls it for every
  source whose ``REFRESH`` is true;
- ``REFRESH``: whether a routine refresh should run it (false for sources whose live use is
  fragile or slow, e.g. behind an anti-bot wall).

Add a source with one line in :data:`SOURCES`; ``register`` wires every command into the
``scrape`` group of ``prongsai/cli.py``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

#: source name -> module. Keep the names as users type them.
SOURCES: dict[str, str] = {
    "datagoth": "scrapers.datagoth",
    "ocds": "scrapers.ocds",
    "egp-rss": "scrapers.egp_rss",
    "egp-json": "scrapers.egp_json",
    "egp-html": "scrapers.egp_html",
    "budget": "scrapers.budget",
}


def source(name: str) -> ModuleType:
    return importlib.import_module(SOURCES[name])


def register(group) -> None:
    """Add every source's command to the click ``group`` (``prongsai scrape``)."""
    for name in SOURCES:
        group.add_command(source(name).command, name)
