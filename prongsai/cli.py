"""The ``prongsai`` command: a Flask CLI group over the portal's app factory.

Each area keeps its commands in its own module and is wired here, so ``runner`` tests cover all.
"""
from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command

from prongsai.core.cli_options import complaints_db_option, db_option
from prongsai.core.errors import UserError


def _create_app():
    from portal import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False)
def cli():
    """Prongsai (โปร่งใส): Thai public procurement data for citizens, journalists and volunteers."""


# Prongsai always builds its own app: drop Flask's --app and --env-file options.
cli.params = [p for p in cli.params if p.name not in ("app", "env_file")]
cli.add_command(routes_command)
cli.add_command(shell_command)


@cli.command()
@db_option
@click.option("--projects", default=50_000, show_default=True, type=click.IntRange(1, 2_000_000),
              help="How many demo projects to generate.")
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed (same seed, same data).")
@click.option("--force", is_flag=True, help="Replace an existing demo database.")
def demo(db_path, projects, seed, force):
    """Generate a deterministic DEMO database (never touches the network)."""
    from prongsai.demo import generate

    generate(db_path, projects=projects, seed=seed, force=force)
    click.echo(f"demo database with {projects:,} projects written to {db_path}")


@cli.command()
@db_option
@click.option("--flag-settings", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Cardinal-style settings.ini for the R-indicators (default: the shipped file).")
@click.option("--exports", is_flag=True, help="Also write the bulk downloads (OCDS, flags) beside the database.")
@click.option("--full", is_flag=True,
              help="Recompute everything, even when only some projects changed since the previous build.")
def build(db_path, flag_settings, exports, full):
    """Compute derived tables: red flags, dashboard aggregates, full-text index."""
    from portal.watch.digests import after_build
    from prongsai.derive.build import run_build
    from prongsai.derive.exports import write_exports

    if not os.path.exists(db_path):
        raise UserError(f"database not found: {db_path} (run `prongsai demo` or `prongsai scrape` first)")
    build_id = run_build(db_path, flag_settings=flag_settings, full=full)
    if exports:
        write_exports(db_path)
    after_build(db_path)  # one digest per subscriber of what this build brought
    click.echo(f"build {build_id} done: {db_path}")


@cli.command()
@db_option
@complaints_db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port (default: $PORT, else 8000; 0: any free port, printed at start).")
@click.option("--workers", type=click.IntRange(1, 32), default=None,
              help="Server processes, one per core (default: $WEB_CONCURRENCY, else 1). "
                   "Rate limits are counted per process.")
def serve(db_path, complaints_db_path, host, port, workers):
    """Serve the portal and Datasette (at /data/) in one process on one port."""
    import uvicorn

    from prongsai.asgi import create_asgi_app, serve_workers

    if not os.path.exists(db_path):
        raise UserError(f"database not found: {db_path} (run `prongsai demo` and `prongsai build` first)")
    port = port if port is not None else int(os.environ.get("PORT", 8000))
    workers = workers or int(os.environ.get("WEB_CONCURRENCY", 1))
    problem = current_app.extensions.get("complaints_disabled")
    if problem:
        click.secho(f"warning: {problem}", err=True, fg="yellow")
    # No access log: complainants' addresses must never be written anywhere.
    options = dict(host=host, port=port, access_log=False, proxy_headers=False, server_header=False,
                   log_level="info", http="prongsai.asgi:NoDelayHTTP")
    if workers > 1:  # one app per process (Python runs one thread at a time)
        serve_workers(db_path, complaints_db_path, workers=workers, **options)
    else:
        uvicorn.run(create_asgi_app(db_path, complaints_db_path), **options)


@cli.group()
def scrape():
    """Fetch a public source into the public database (`prongsai scrape SOURCE --help`)."""


@cli.group()
def export():
    """Write public data out (OCDS, red flags)."""


from scrapers import register as _register_scrapers  # noqa: E402 - one command per source

_register_scrapers(scrape)


from prongsai.ops.commands import COMMANDS as OPS_COMMANDS  # noqa: E402 - uses the options above

for _command in OPS_COMMANDS:  # refresh, publish, backup, restore, backup-key, check
    cli.add_command(_command)


from portal.complaints.cli import notify as _notify  # noqa: E402
from portal.complaints.cli import retention as _retention
from portal.complaints.cli import users as _users

cli.add_command(_users)
cli.add_command(_retention)
cli.add_command(_notify)


from portal.line.cli import line as _line  # noqa: E402

cli.add_command(_line)


from prongsai.derive.ocds_export import command as _ocds_export  # noqa: E402

export.add_command(_ocds_export, "ocds")


from prongsai.derive.flags.cli import export_flags as _export_flags  # noqa: E402
from prongsai.derive.flags.cli import flags as _flags

export.add_command(_export_flags, "flags")
cli.add_command(_flags)


def main():
    cli(prog_name="prongsai")
