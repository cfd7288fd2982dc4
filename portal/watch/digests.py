"""One digest per subscriber and build: what the build brought on what they follow.

``prongsai build`` and ``prongsai refresh`` call ``after_build`` once the public database is in
place. It reads the change set of every build not digested yet (``prongsai.derive.changes``; those
since the first follow when none was), matches it to each followed subject once, and queues one message per
subscriber who has something, then records that those builds are digested: a build queued twice
is still one message each (idempotency key ``watch:<subscriber>:<build>``), and a subscriber whose
subjects brought nothing gets nothing.
"""
from __future__ import annotations

import collections
import itertools
import pathlib
import sqlite3
import time
import urllib.parse

import click
from cryptography.fernet import InvalidToken
from flask import current_app
from flask_babel import gettext as _

from portal.complaints import crypto, outbox
from portal.complaints.db import open_complaints_db, transaction
from portal.complaints.letters import base_url
from portal.watch import letters, store
from prongsai.core import words
from prongsai.core.clock import now
from prongsai.derive import changes

EMAIL_KIND, LINE_KIND = "watch_digest", "digest"
BATCH = 500  # digests a transaction


def page_path(kind: str, key: str) -> str:
    """Where a followed subject lives on the portal."""
    if kind == "search":
        return "/search?" + key
    folder = {"agency": "agencies", "supplier": "suppliers", "province": "provinces", "flag": "flags"}[kind]
    return f"/{folder}/" + urllib.parse.quote(key, safe="/" if kind in ("agency", "supplier") else "")


class Index:
    """A build's changes by what follows match on, so each subject is a lookup, not a scan."""

    def __init__(self, rows, suppliers_of: dict):
        self.by = {kind: collections.defaultdict(list) for kind in ("agency", "province", "flag", "supplier")}
        self.projects = []  # new projects and newly raised flags: what a saved search can match
        for row in rows:
            if row["change"] == "contract":
                self.by["supplier"][row["supplier_id"]].append(row)
                continue
            self.projects.append(row)
            for agency in {row["buyer_id"], row["procuring_entity_id"]} - {None}:
                self.by["agency"][agency].append(row)
            if row["province"]:
                self.by["province"][row["province"]].append(row)
            for code in [row["code"]] if row["change"] == "flag" else (row["codes"] or "").split():
                self.by["flag"][code].append(row)
            if row["change"] == "flag":
                for supplier in suppliers_of.get(row["project_id"], ()):
                    self.by["supplier"][supplier].append(row)

    def match(self, kind: str, key: str) -> list:
        if kind != "search":
            return self.by[kind].get(key, [])
        args = store.search_args(key)
        for name, kind_ in (("agency", "agency"), ("province", "province"), ("flag", "flag")):
            if args.get(name):
                candidates = self.by[kind_].get(args[name], [])
                break
        else:
            candidates = self.projects
        return [row for row in candidates if matches_search(args, row)]


def matches_search(args: dict, row) -> bool:
    """The portal's /search filters on one changed project (portal/views/search.py)."""
    if args.get("fiscal_year") and str(row["fiscal_year"]) != args["fiscal_year"]:
        return False
    for name, column in (("method", "method"), ("province", "province"), ("agency", "buyer_id")):
        if args.get(name) and row[column] != args[name]:
            return False
    if args.get("flag") and args["flag"] not in (row["codes"] or "").split():
        return False
    q = (args.get("q") or "").casefold()
    if q and row["project_id"] != args["q"] and not any(
            q in (row[c] or "").casefold() for c in ("title", "method", "province")):
        return False
    return True


def _items(rows, flag_titles: dict, lang: str) -> list[dict]:
    """The first ``letters.SHOWN`` of a subject's rows, in the locale in force: new projects, then
    contracts, then flags."""
    order = {"project": 0, "contract": 1, "flag": 2}
    words_of = {"project": _("New project"), "contract": _("New contract")}
    items = []
    for row in sorted(rows, key=lambda r: (order[r["change"]], r["project_id"]))[:letters.SHOWN]:
        if row["change"] == "project":
            flags = ", ".join(flag_titles.get(c, c) for c in (row["codes"] or "").split())
            detail = (row["agency_name"], words.money(row["amount"], row["currency"], lang), flags)
        elif row["change"] == "contract":
            detail = (row["supplier_name"], words.money(row["amount"], row["currency"], lang))
        else:
            detail = (row["agency_name"],)
        what = words_of.get(row["change"]) or _("Red flag raised: %(flag)s", flag=flag_titles.get(row["code"], row["code"]))
        items.append({"what": what, "title": row["title"] or row["project_id"], "detail": " · ".join(x for x in detail if x),
                      "path": "/projects/" + urllib.parse.quote(row["project_id"], safe="/")})
    return items


def _suppliers_of(public, project_ids) -> dict:
    out = collections.defaultdict(set)
    ids = sorted(project_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for project_id, supplier_id in public.execute(
                f"SELECT project_id, supplier_id FROM contracts WHERE supplier_id IS NOT NULL AND project_id IN "
                f"({', '.join('?' * len(chunk))})", chunk):
            out[project_id].add(supplier_id)
    return out


def work_out(public, conn, builds) -> dict:
    """subscriber id -> (subscriber row, [(kind, key, label, rows)]) for everyone with something."""
    marks = ", ".join("?" * len(builds))
    rows = public.execute(f"SELECT * FROM build_changes WHERE build_id IN ({marks})",
                          [b["id"] for b in builds]).fetchall()
    index = Index(rows, _suppliers_of(public, {r["project_id"] for r in rows if r["change"] == "flag"}))
    matched: dict = {}
    found = collections.defaultdict(list)
    subscribers = {}
    for f in conn.execute("SELECT f.kind, f.key, f.label, s.* FROM watch_follows f JOIN watch_subscribers s ON "
                          "s.id = f.subscriber_id WHERE f.confirmed_at IS NOT NULL ORDER BY s.id, f.id"):
        subject = (f["kind"], f["key"])
        if subject not in matched:
            matched[subject] = index.match(*subject)
        if matched[subject]:
            found[f["id"]].append((f["kind"], f["key"], f["label"], matched[subject]))
            subscribers[f["id"]] = f
    return {sid: (subscribers[sid], subjects) for sid, subjects in found.items()}


def compose(public, conn, builds):
    """Each digest of ``builds``: (outbox key, kind, enqueue arguments), one subscriber at a time.
    Each followed subject's part is written once per language; a digest joins its parts."""
    due = work_out(public, conn, builds)
    build_key = builds[-1]["build_key"]
    base = base_url()
    frames, shells, parts = {}, {}, {}
    for locale in ("th", "en"):
        frames[locale], shells[locale] = letters.frame(locale), letters.shell(locale)
        column = "title_th" if locale == "th" else "coalesce(title_en, title_th)"
        titles = dict(public.execute(f"SELECT code, {column} FROM flag_definitions"))
        subjects = {}
        for sub, subs in due.values():
            if locale in letters.locales(sub["lang"]):
                for kind, key, label, rows in subs:
                    if (kind, key, label) not in subjects:
                        subjects[kind, key, label] = (page_path(kind, key), rows)
        parts[locale] = letters.sections(locale, subjects, lambda rows: _items(rows, titles, locale))
    fernet, secret = crypto.fernet(), current_app.secret_key  # looked up once, not per digest
    for sid, (sub, subjects) in due.items():
        try:
            contact = fernet.decrypt(sub["contact_encrypted"]).decode()
        except InvalidToken:
            continue  # not readable with this key: nothing to send it to
        token = store.subscriber_token(sub, secret)
        mine = {locale: [parts[locale][kind, key, label] for kind, key, label, _rows in subjects]
                for locale in letters.locales(sub["lang"])}
        manage, unsubscribe = f"{base}/watch/s/{token}", f"{base}/watch/unsubscribe/{token}"
        letter = letters.digest(sub["lang"], frames, shells, mine, unsubscribe=unsubscribe, manage=manage)
        key = f"watch:{sid}:{build_key}"
        if sub["channel"] == "line":
            yield key, LINE_KIND, dict(to={"line": contact}, subject=letter["subject"], html="",
                                       text=letters.line_text(sub["lang"], frames, mine, manage=manage))
        else:  # ``unsubscribe`` becomes RFC 8058's List-Unsubscribe headers when the message is built
            yield key, EMAIL_KIND, dict(to={"address": contact, "unsubscribe": unsubscribe}, **letter)


def queue(public, conn, builds) -> int:
    """Queue the digests of ``builds`` (rows of ``builds``, oldest first), ``BATCH`` to a commit so
    the report forms never wait long on complaints.db, then mark the builds digested. A run stopped
    half-way is finished by the next: the messages already queued are kept by their keys."""
    if not builds:
        return 0
    queued, messages = 0, compose(public, conn, builds)
    while True:
        batch = list(itertools.islice(messages, BATCH))
        if not batch:
            break
        with transaction(conn):
            for key, kind, message in batch:
                queued += outbox.enqueue(conn, key, kind, **message)
    with transaction(conn):
        for build in builds:
            conn.execute("INSERT OR IGNORE INTO watch_builds (build_key, digested_at, digests) VALUES (?, ?, ?)",
                         [build["build_key"], now(), queued if build is builds[-1] else 0])
    return queued


def after_build(db_path, *, echo=click.echo) -> int | None:
    """Queue the digests of the public database's builds not digested yet; None when skipped (no
    complaints.db, so nobody follows anything; another database than the portal's; no key)."""
    served = pathlib.Path(current_app.config["DATABASE"]).resolve()
    if pathlib.Path(db_path).resolve() != served:
        return None  # a copy being built (a benchmark, a test): its changes are nobody's news
    private = pathlib.Path(current_app.config["COMPLAINTS_DATABASE"])
    if not private.exists():
        return None
    conn = open_complaints_db(private)
    public = sqlite3.connect(f"{served.as_uri()}?mode=ro", uri=True)
    public.row_factory = sqlite3.Row
    try:
        store.purge_unconfirmed(conn)
        if conn.execute("SELECT 1 FROM watch_follows WHERE confirmed_at IS NOT NULL LIMIT 1").fetchone():
            try:
                crypto.fernet()
            except crypto.MissingKey as exc:
                echo(f"watchlists: digests not queued ({exc}); the next build queues them", err=True)
                return None
        first = conn.execute("SELECT min(confirmed_at) FROM watch_follows").fetchone()[0]
        builds = changes.since(public, {r[0] for r in conn.execute("SELECT build_key FROM watch_builds")}, first)
        started = time.monotonic()
        queued = queue(public, conn, builds)
        if builds:
            echo(f"watchlists: {queued} digest(s) queued for build {builds[-1]['build_key']} in "
                 f"{time.monotonic() - started:.1f}s", err=True)
        return queued
    finally:
        public.close()
        conn.close()
