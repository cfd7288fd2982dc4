"""The ops commands of the ``prongsai`` CLI: refresh, publish, fetch-public, backup, restore, backup-key, check."""
from __future__ import annotations

import datetime as _dt
import os

import click
from flask.cli import with_appcontext

from prongsai.core import config
from prongsai.core.cli_options import complaints_db_option, db_option
from prongsai.core.errors import UserError
from prongsai.ops import backup as backups
from prongsai.ops.check import check_complaints, check_public
from prongsai.ops.fetch import fetch_public as fetch
from prongsai.ops.publish import publish as publish_db
from prongsai.ops.refresh import SOURCES_FILE, Source, plan
from prongsai.ops.refresh import refresh as refresh_db

#: ``refresh`` exit status when it published but some sources failed (cron marks the run red).
SOME_SOURCES_FAILED = 3


@click.command()
@db_option
@click.option("--sources", "sources_path", type=click.Path(dir_okay=False), default=str(SOURCES_FILE),
              show_default=True, help="Which sources run, with which options.")
@click.option("--only", multiple=True, metavar="SOURCE", help="Run only this source (repeatable).")
@click.option("--flag-settings", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Passed to `prongsai build`.")
@click.pass_context
@with_appcontext  # the watchlists' digests read the app's settings
def refresh(ctx, db_path, sources_path, only, flag_settings):
    """Run every enabled source, then build, then publish (exit 3: published, some sources failed)."""
    import scrapers
    from portal.watch.digests import after_build

    registry = {name: bool(getattr(scrapers.source(name), "REFRESH", False)) for name in scrapers.SOURCES}
    sources = plan(registry, sources_path)
    if only:
        unknown = set(only) - set(registry)
        if unknown:
            raise UserError(f"no such source: {', '.join(sorted(unknown))} (known: {', '.join(registry)})")
        sources = [Source(s.name, s.options, s.name in only) for s in sources]

    def run_live(name, options, staging):
        return scrapers.source(name).run_live(staging, **options)

    outcomes, published = refresh_db(db_path, sources, run_live, flag_settings=flag_settings)
    after_build(db_path)  # the watchlists' digests of what the published build brought
    failed = [o for o in outcomes if not o.ok]
    click.echo(f"published build {published['build_id']} to {db_path} (sha256 {published['sha256'][:12]}…); "
               f"sources: {len(outcomes) - len(failed)} ok, {len(failed)} failed"
               + (f" ({', '.join(o.source for o in failed)})" if failed else ""))
    if failed:
        ctx.exit(SOME_SOURCES_FAILED)


@click.command()
@db_option
@click.option("--from", "source", type=click.Path(dir_okay=False), default=None,
              help="The built database to publish (default: check --db in place and record its sha256).")
@click.option("--quick", is_flag=True, help="quick_check instead of the full integrity_check.")
@with_appcontext  # the watchlists' digests read the app's settings
def publish(db_path, source, quick):
    """Swap a built database in as the public one, atomically, with a .sha256 beside it."""
    from portal.watch.digests import after_build

    result = publish_db(source or db_path, db_path, quick=quick)
    after_build(db_path)  # the digests of builds made elsewhere (--from) and published here
    demo = " (DEMO data)" if result["dataset"] == "demo" else ""
    click.echo(f"published build {result['build_id']}{demo} to {db_path}, sha256 {result['sha256']}")
    click.echo("the portal sees it now; restart `prongsai serve` so Datasette opens the new file", err=True)


@click.command("fetch-public")
@db_option
@click.option("--url", required=True, envvar="PRONGSAI_PUBLIC_DB_URL", show_envvar=True,
              help="URL of a published procurement.db (its .sha256 and inspect file beside it).")
def fetch_public(db_path, url):
    """Download a published public database (a mirror), check its sha256, swap it in atomically."""
    from scrapers.http import Client

    client = Client(cache_path=False, robots=False)  # our own published file, not a scraped site
    try:
        result = fetch(url, db_path, client)
    finally:
        client.close()
    if result["downloaded"]:
        click.echo(f"installed build {result['build_id']} from {url} as {db_path} (sha256 {result['sha256']})")
    else:
        click.echo(f"{db_path} is already the published file (sha256 {result['sha256']})")


@click.command()
@complaints_db_option
@click.option("-o", "--output", default=None,
              help="Where to write it; `-` for stdout (default: backups/complaints-<time>.tar.age "
                   "in the data folder).")
@click.option("--armor", is_flag=True, help="ASCII-armoured output (safe through a terminal).")
def backup(complaints_db_path, output, armor):
    """Encrypted backup of complaints.db and its evidence files (keys: $PRONGSAI_BACKUP_RECIPIENTS)."""
    recipients = backups.recipients_from(os.environ.get(backups.RECIPIENTS_ENV))
    if output is None:
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        output = str(config.data_dir() / "backups" / f"complaints-{stamp}.tar.age")
    manifest = backups.backup(complaints_db_path, output, recipients, armored=armor)
    where = "stdout" if output == "-" else output
    click.echo(f"backup of {complaints_db_path} with {len(manifest[backups.EVIDENCE]):,} evidence files "
               f"written to {where}", err=True)


@click.command()
@complaints_db_option
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--identity-file", type=click.File("r"), default=None,
              help="age secret key file (default: $PRONGSAI_BACKUP_IDENTITY).")
@click.option("--force", is_flag=True, help="Replace an existing complaints.db (kept aside, never deleted).")
def restore(complaints_db_path, backup_file, identity_file, force):
    """Restore complaints.db and evidence/ from a `prongsai backup` file (stop the server first)."""
    identity = backups.identity_from(identity_file.read() if identity_file
                                     else os.environ.get(backups.IDENTITY_ENV))
    manifest = backups.restore(backup_file, complaints_db_path, identity, force=force)
    click.echo(f"restored {complaints_db_path} and {len(manifest[backups.EVIDENCE]):,} evidence files "
               f"from the backup of {manifest['created_at']}")


@click.command("backup-key")
def backup_key():
    """Print a new age key pair for backups: keep the secret key OFF the server."""
    secret, public = backups.new_key()
    click.echo(f"# public key: set it on the server as {backups.RECIPIENTS_ENV}\n# {public}\n{secret}")


@click.command()
@db_option
@complaints_db_option
@click.option("--public-only", is_flag=True, help="Only the public database (e.g. a release machine).")
@click.option("--quick", is_flag=True, help="quick_check for the public database (its sha256 still proves "
              "the bytes are those publish checked); complaints.db always gets the full check.")
def check(db_path, complaints_db_path, public_only, quick):
    """integrity_check both databases; every evidence row has its file and every file its row."""
    findings = check_public(db_path, quick=quick)
    if not public_only:
        findings += check_complaints(complaints_db_path)
    for finding in findings:
        click.echo(finding.line())
    failed = [f for f in findings if not f.ok]
    if failed:
        raise UserError(f"{len(failed)} check(s) failed")


COMMANDS = (refresh, publish, fetch_public, backup, restore, backup_key, check)
