"""The watchlists' pages: follow, check your e-mail, confirm, what a subscription covers, unsubscribe.

Confirming and unsubscribing take a POST (a button on the page the link opens): mail scanners
open links, and must neither confirm nor end a subscription by doing so. The one exception is
RFC 8058's one-click POST to the unsubscribe link, which a mail client sends with no CSRF token:
that link is itself the secret (an HMAC under the server's key), so it is exempt.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.complaints.db import get_cdb
from portal.db import TooSlow, get_db, query_within
from portal.ratelimit import rate_limited
from portal.security import csrf
from portal.watch import digests, store
from prongsai.core.errors import UserError
from prongsai.derive import changes

bp = Blueprint("watch", __name__, template_folder="templates")

#: what each kind of follow tells of, on the follow page and in the docs
COVERS = {
    "agency": (_l("new projects it buys or procures"), _l("red flags newly raised on its projects")),
    "supplier": (_l("new contracts it signs"), _l("red flags newly raised on projects it holds a contract of")),
    "province": (_l("new projects in the province"), _l("red flags newly raised on its projects")),
    "flag": (_l("new projects that raise this flag"), _l("projects seen before on which it is newly raised")),
    "search": (_l("new projects that this search finds"), _l("red flags newly raised on projects it finds")),
}


FEED_KINDS = {"agencies": "agency", "suppliers": "supplier", "provinces": "province", "flags": "flag"}


def _subject():
    """(kind, key, label) of the follow asked for in the query string (a 404 when no such thing)."""
    kind = request.values.get("kind", "")
    if kind == "search":
        key = store.search_key(request.values)
        if not key:
            abort(404)
        return kind, key, store.label_for(get_db(), kind, key)
    try:
        found = store.resolve(get_db(), kind or None, request.values.get("key", ""))
    except UserError:
        abort(404)
    if kind and found[0] != kind:
        abort(404)
    return found


def _feed(kind: str, key: str) -> str:
    if kind == "search":
        return url_for("feeds.search_feed") + "?" + key
    return url_for("feeds.feed", kind={v: k for k, v in FEED_KINDS.items()}[kind], key=key)


#: kind -> the latest build's rows that can concern a subject (indexed), narrowed further by ``Index``
CANDIDATES = {
    "agency": ("buyer_id = :key OR procuring_entity_id = :key", "key"),
    "province": ("province = :key", "key"),
    "flag": ("code = :key OR ' ' || codes || ' ' LIKE '% ' || :key || ' %'", "key"),
    "supplier": ("supplier_id = :key OR (change = 'flag' AND project_id IN "
                 "(SELECT project_id FROM contracts WHERE supplier_id = :key))", "key"),
}


def _preview(kind: str, key: str) -> list:
    """What the latest build brought on this subject: a digest's worth, as an example."""
    db = get_db()
    build = changes.latest(db)
    if build is None or build["baseline"]:
        return []
    if kind == "search":  # narrowed by one of its filters, when it has one
        args = store.search_args(key)
        kind_, value = next(((k, args[k]) for k in ("agency", "province", "flag") if args.get(k)), (None, None))
    else:
        kind_, value = kind, key
    where = f"AND ({CANDIDATES[kind_][0]})" if kind_ else ""
    try:
        rows = query_within(f"SELECT * FROM build_changes WHERE build_id = :build {where} LIMIT 20000",
                            {"build": build["id"], "key": value}, 0.5)
    except TooSlow:
        return []
    flagged = {r["project_id"] for r in rows if r["change"] == "flag"}
    return digests.Index(rows, digests._suppliers_of(db, flagged)).match(kind, key)[:10]


@bp.route("/watch/follow", methods=["GET", "POST"])
@rate_limited("follow")
def follow():
    kind, key, label = _subject()
    error, status = None, 200
    if request.method == "POST":
        lang = request.form.get("lang") if request.form.get("lang") in store.LANGS else "th"
        try:
            store.follow(get_cdb(), channel="email", contact=request.form.get("email", ""), kind=kind, key=key,
                         lang=lang, label=label)
        except UserError as exc:
            error, status = exc.message, 400
        else:
            return redirect(url_for("watch.check"), 303)
    return render_template("watch/follow.html", kind=kind, key=key, label=label, covers=COVERS[kind],
                           feed=_feed(kind, key), page=digests.page_path(kind, key), preview=_preview(kind, key),
                           error=error), status


@bp.route("/watch/check")
def check():
    return render_template("watch/check.html")


@bp.route("/watch/confirm/<token>", methods=["GET", "POST"])
def confirm(token):
    if request.method == "GET":
        return render_template("watch/confirm.html", done=None)
    row = store.confirm(get_cdb(), token)
    if row is None:
        return render_template("watch/confirm.html", done=False), 404
    return render_template("watch/confirm.html", done=row, page=digests.page_path(row["kind"], row["key"]))


def _subscriber(token):
    sub = store.subscriber_by_token(get_cdb(), token)
    if sub is None:
        return None
    follows = get_cdb().execute("SELECT * FROM watch_follows WHERE subscriber_id = ? ORDER BY id",
                                [sub["id"]]).fetchall()
    return sub, follows


@bp.route("/watch/s/<token>")
def manage(token):
    found = _subscriber(token)
    if found is None:
        return render_template("watch/unsubscribed.html", unknown=True), 404
    sub, follows = found
    return render_template("watch/manage.html", token=token, follows=follows, covers=COVERS,
                           pages={f["id"]: digests.page_path(f["kind"], f["key"]) for f in follows})


@bp.route("/watch/s/<token>/remove/<int:follow_id>", methods=["POST"])
def remove(token, follow_id):
    found = _subscriber(token)
    if found is None:
        abort(404)
    sub, _follows = found
    store.remove_follow(get_cdb(), sub["id"], follow_id)
    if store.subscriber_by_token(get_cdb(), token) is None:
        return render_template("watch/unsubscribed.html", unknown=False)
    return redirect(url_for("watch.manage", token=token), 303)


@bp.route("/watch/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token):
    if request.method == "GET":
        if store.subscriber_by_token(get_cdb(), token) is None:
            return render_template("watch/unsubscribed.html", unknown=True), 404
        return render_template("watch/unsubscribe.html")
    ended = store.unsubscribe(get_cdb(), token)
    if ended is None:
        return render_template("watch/unsubscribed.html", unknown=True), 404
    return render_template("watch/unsubscribed.html", unknown=False)


@bp.before_request
def key_set():
    """Without the encryption key no contact can be kept: following by e-mail waits for it (stopping
    needs no key)."""
    if request.endpoint == "watch.follow" and current_app.extensions.get("complaints_disabled"):
        message = _("Following by e-mail is switched off on this server until its operator sets the encryption "
                    "key. The Atom feeds work meanwhile.")
        return render_template("complaints/error.html", status=503, message=message), 503
    return None


@bp.after_request
def private_links(response):
    """Pages opened by a secret link are never cached (the portal's Referrer-Policy, same-origin,
    keeps the link from other sites)."""
    if request.endpoint in ("watch.confirm", "watch.manage", "watch.remove", "watch.unsubscribe"):
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def follow_links():
    """``follow_url(kind, key)`` for the follow buttons (``_follow.html``); a feed's kind
    ("agencies") is taken for its follow's ("agency")."""
    def follow_url(kind, key=None, **search):
        kind = FEED_KINDS.get(kind, kind)
        if kind == "search":
            return url_for("watch.follow", kind="search", **{k: v for k, v in search.items() if v})
        return url_for("watch.follow", kind=kind, key=key)

    return {"follow_url": follow_url}
