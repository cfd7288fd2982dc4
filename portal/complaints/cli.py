"""``prongsai users …`` (accounts, sessions, the encryption key) and ``prongsai retention``."""
from __future__ import annotations

import sqlite3
import sys

import click
from cryptography.fernet import Fernet
from flask import current_app
from flask.cli import with_appcontext

from portal.complaints import auth
from portal.complaints import retention as retention_rules
from portal.complaints.db import open_complaints_db, transaction
from prongsai.core.clock import now
from prongsai.core.errors import UserError


def complaints_db_option(f):
    return click.option(
        "--complaints-db", "complaints_db_path", type=click.Path(dir_okay=False), default=None,
        help="Private complaints database (default: data/complaints.db).")(f)


def _open(path):
    return open_complaints_db(path or current_app.config["COMPLAINTS_DATABASE"])


def _user(conn, username):
    row = conn.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
    if row is None:
        raise UserError(f"no such user: {username}")
    return row


@click.group()
def users():
    """Volunteer and moderator accounts."""


@users.command("add")
@with_appcontext
@complaints_db_option
@click.argument("username")
@click.option("--role", type=click.Choice(auth.ROLES), default="volunteer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def add(complaints_db_path, username, role, password_stdin):
    """Create an account (the password is asked for, at least 15 characters)."""
    if not username.strip() or len(username) > 100 or not username.isprintable():
        raise UserError("username must be 1-100 printable characters")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = auth.check_password_policy(password)
    if problem:
        raise UserError(problem)
    conn = _open(complaints_db_path)
    try:
        auth.create_user(conn, username, password, role)
    except sqlite3.IntegrityError:
        raise UserError(f"user already exists: {username}") from None
    click.echo(f"{role} {username} added")


@users.command("list")
@with_appcontext
@complaints_db_option
def list_users(complaints_db_path):
    """Accounts with their role and state."""
    for row in _open(complaints_db_path).execute("SELECT * FROM users ORDER BY username"):
        state = f"disabled {row['disabled_at']}" if row["disabled_at"] else "active"
        click.echo(f"{row['username']}\t{row['role']}\t{state}")


@users.command("revoke")
@with_appcontext
@complaints_db_option
@click.argument("username")
def revoke(complaints_db_path, username):
    """End every session of an account now."""
    conn = _open(complaints_db_path)
    n = auth.revoke_all(conn, _user(conn, username)["id"])
    click.echo(f"{n} session(s) of {username} revoked")


@users.command("disable")
@with_appcontext
@complaints_db_option
@click.argument("username")
def disable(complaints_db_path, username):
    """Disable an account and end its sessions."""
    conn = _open(complaints_db_path)
    user = _user(conn, username)
    with transaction(conn):
        conn.execute("UPDATE users SET disabled_at = ? WHERE id = ?", [now(), user["id"]])
    auth.revoke_all(conn, user["id"])
    click.echo(f"{username} disabled")


@users.command("genkey")
def genkey():
    """Print a new key for PRONGSAI_COMPLAINTS_KEY (keep it outside the data folder and its backups)."""
    click.echo(Fernet.generate_key().decode())


@click.command()
@with_appcontext
@complaints_db_option
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; change nothing.")
def retention(complaints_db_path, dry_run):
    """Apply the retention schedule to complaints.db (the only command that deletes; audited)."""
    path = complaints_db_path or current_app.config["COMPLAINTS_DATABASE"]
    counts = retention_rules.run(_open(path), path, dry_run=dry_run)
    prefix = "would delete" if dry_run else "retention done"
    click.echo(f"{prefix}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@click.command()
@with_appcontext
@complaints_db_option
@click.option("--once", is_flag=True, help="Deliver what is due, then exit (default: keep delivering).")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=2.0, show_default=True,
              help="Seconds between looks at the outbox when it is empty.")
def notify(complaints_db_path, once, interval):
    """Deliver the outbox (e-mail via PRONGSAI_SMTP_*), send due reminders and digests."""
    from portal.complaints import mail
    from portal.complaints import notify as worker
    from portal.complaints.letters import require_base_url

    problem = current_app.extensions.get("complaints_disabled")
    if problem:
        raise UserError(problem)
    require_base_url(current_app.config)
    settings = mail.settings(current_app.config)
    if complaints_db_path:
        current_app.config["COMPLAINTS_DATABASE"] = complaints_db_path
    totals = worker.run(_open(complaints_db_path), settings, once=once, interval=interval)
    click.echo("outbox: " + ", ".join(f"{k}={v}" for k, v in totals.items()))
