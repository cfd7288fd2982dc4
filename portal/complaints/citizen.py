"""The citizen's side: the report form, the tracking page with messages, outcomes, right of reply."""
from __future__ import annotations

import shutil
import sqlite3
import time

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from portal.complaints import agency, cases, crypto, forms
from portal.complaints.db import get_cdb, transaction
from portal.complaints.projects import project_facts
from portal.ratelimit import rate_limited
from prongsai.core.clock import now
from prongsai.core.config import evidence_dir

bp = Blueprint("complaints", __name__, template_folder="templates", static_folder="static",
               static_url_path="/complaints-static")

MAX_BODY_CHARS = 20_000
MIN_BODY_CHARS = 20
TRACK_SESSION_SECONDS = 15 * 60


def _fail(status: int, message: str):
    return render_template("complaints/error.html", status=status, message=message), status


@bp.before_request
def complaints_enabled():
    problem = current_app.extensions.get("complaints_disabled")
    if problem and request.endpoint not in ("complaints.outcomes", "complaints.corrections_log",
                                            "complaints.responsiveness", "complaints.static"):
        return _fail(503, _("Reporting is switched off on this server until its operator sets the "
                            "encryption key. Please try again later."))


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/projects/<path:project_id>/report", methods=["GET", "POST"])
@rate_limited("report")
def report(project_id):
    project = project_facts(project_id)
    if project is None:
        abort(404)
    conn = get_cdb()
    if request.method == "GET":
        return _form(project, {}, {}, forms.new_nonce())
    folder = evidence_dir(current_app.config["COMPLAINTS_DATABASE"])
    if shutil.disk_usage(folder).free < current_app.config["MIN_FREE_DISK_BYTES"]:
        return _fail(503, _("The server is short of disk space, so it cannot accept reports safely right now. "
                            "Please try again later; nothing was stored."))
    form = request.form
    errors = {}
    nonce = forms.check_nonce(form.get("nonce"))
    if nonce is None:
        return _fail(400, str(forms.EXPIRED))
    if form.get("website"):  # honeypot, hidden from people
        return _fail(400, _("The form could not be accepted."))
    body, errors["body"] = forms.clean_text(form.get("body"), required=True, max_len=MAX_BODY_CHARS,
                                            min_len=MIN_BODY_CHARS)
    concern = form.get("concern", "unsure")
    if concern not in cases.CONCERNS:
        errors["concern"] = _("Choose one of the options.")
    contact = None
    if form.get("mode") == "contact":
        contact, errors["contact"] = forms.clean_text(form.get("contact"), required=True, max_len=500)
    elif form.get("mode") != "anonymous":
        errors["mode"] = _("Choose whether to stay anonymous or to leave contact details.")
    errors = {k: v for k, v in errors.items() if v}
    files = [] if errors else forms.read_files(request.files.getlist("evidence"), errors)
    if errors:
        return _form(project, form, errors, form.get("nonce")), 400
    try:
        code = cases.create_complaint(conn, folder, nonce=nonce, project=project, body=body, concern=concern,
                                      contact=contact, files=files)
    except cases.Replayed as exc:
        return _fail(409, str(exc.args[0]))
    # Shown once, only now that it is committed; never stored in clear, never in a URL.
    return render_template("complaints/received.html", code=code, project=project, files=len(files))


def _form(project, values, errors, nonce):
    return render_template("complaints/report.html", project=project, values=values, errors=errors,
                           nonce=nonce, concerns=cases.CONCERNS, max_mb=current_app.config[
                               "MAX_EVIDENCE_BYTES"] // (1024 * 1024), max_chars=MAX_BODY_CHARS)


def _tracked():
    """The complaint opened with a tracking code in this browser session, while it lasts."""
    track = session.get("track")
    if not track or track.get("until", 0) < time.time():
        session.pop("track", None)
        return None
    row = get_cdb().execute("SELECT * FROM complaints WHERE id = ? AND purged_at IS NULL", [track["id"]]).fetchone()
    return row


@bp.route("/track", methods=["GET", "POST"])
@rate_limited("track")
def track():
    conn = get_cdb()
    if request.method == "POST":
        text = request.form.get("code", "")
        if len(text) > crypto.MAX_CODE_INPUT:
            return _fail(400, _("That is not a tracking code: codes are 24 letters and digits."))
        complaint = cases.find_by_code(conn, text)
        if complaint is None or complaint["purged_at"]:
            return render_template("complaints/track_form.html", not_found=True), 404
        session["track"] = {"id": complaint["id"], "until": time.time() + TRACK_SESSION_SECONDS}
        return redirect(url_for("complaints.track"), code=303)
    complaint = _tracked()
    if complaint is None:
        return render_template("complaints/track_form.html", not_found=False)
    events, forwardings = cases.timeline(conn, complaint["id"])
    messages = conn.execute("SELECT sender, body, created_at FROM messages WHERE complaint_id = ? ORDER BY id",
                            [complaint["id"]]).fetchall()
    return render_template("complaints/track.html", complaint=complaint, events=events,
                           forwardings=forwardings, messages=messages, labels=cases.STATE_LABELS,
                           recipients=cases.RECIPIENTS, outcomes=cases.OUTCOMES,
                           follow_up_days=agency.reminder_days()[0], nonce=forms.new_nonce(),
                           reminders=agency.reminders_of(conn, complaint["id"]), kinds=agency.KINDS,
                           answers=agency.published_answers(conn, complaint["id"]), reminder_total=len(
                               agency.reminder_days()))


@bp.route("/track/message", methods=["POST"])
@rate_limited("message")
def track_message():
    complaint = _tracked()
    if complaint is None:
        return _fail(403, _("Your session with this report has ended. Enter your tracking code again."))
    nonce = forms.check_nonce(request.form.get("nonce"))
    if nonce is None:
        return _fail(400, str(forms.EXPIRED))
    conn = get_cdb()
    errors = {}
    body, error = forms.clean_text(request.form.get("body"), required=False, max_len=MAX_BODY_CHARS)
    files = forms.read_files(request.files.getlist("evidence"), errors)
    if body and crypto.contains_code(body, complaint["tracking_hash"]):
        return _fail(400, _("Please do not write your tracking code in a message: moderators never need it. "
                            "Nothing was sent."))
    if error or errors or not (body or files):
        message = error or errors.get("evidence") or _("Write a message or attach a file.")
        return _fail(400, str(message))
    held = conn.execute("SELECT coalesce(sum(size), 0) FROM evidence WHERE complaint_id = ?",
                        [complaint["id"]]).fetchone()[0]
    if held + sum(len(f.data) for f in files) > current_app.config["MAX_CASE_EVIDENCE_BYTES"]:
        return _fail(413, _("This report already holds as much evidence as one report can. Nothing was "
                            "stored."))
    try:
        cases.complainant_message(conn, evidence_dir(current_app.config["COMPLAINTS_DATABASE"]), complaint["id"],
                                  body=body, files=files, nonce=nonce)
    except cases.Replayed as exc:
        return _fail(409, str(exc.args[0]))
    return redirect(url_for("complaints.track"), code=303)


@bp.route("/track/leave", methods=["POST"])
def track_leave():
    session.pop("track", None)
    return redirect(url_for("complaints.track"), code=303)


@bp.route("/outcomes")
def outcomes():
    minimum = current_app.config["PUBLIC_MIN_REPORTS"]
    months = cases.outcomes_by_month(get_cdb(), minimum=minimum)
    return render_template("complaints/outcomes.html", months=months, recipients=cases.RECIPIENTS,
                           outcomes=cases.OUTCOMES, minimum=minimum, summaries=cases.public_summaries(get_cdb()))


@bp.route("/responsiveness")
def responsiveness():
    """Per receiving agency: forwarded, answered, median days to a first answer, overdue."""
    minimum = current_app.config["PUBLIC_MIN_REPORTS"]
    return render_template("complaints/responsiveness.html", board=agency.board(get_cdb(), minimum=minimum),
                           recipients=cases.RECIPIENTS, minimum=minimum, reminder_days=agency.reminder_days(),
                           overdue_days=current_app.config.get("OVERDUE_DAYS", agency.DEFAULT_OVERDUE_DAYS))


@bp.route("/corrections")
def corrections_log():
    rows = get_cdb().execute("SELECT page, requester, public_summary, decided_at FROM corrections "
                             "WHERE state = 'accepted' ORDER BY decided_at DESC").fetchall()
    return render_template("complaints/corrections.html", rows=rows)


@bp.route("/corrections/request", methods=["GET", "POST"])
@rate_limited("correction")
def correction_request():
    if request.method == "GET":
        values = {"page": request.args.get("page", "")[:300]}
        return render_template("complaints/correction_form.html", values=values, errors={},
                               nonce=forms.new_nonce())
    form = request.form
    nonce = forms.check_nonce(form.get("nonce"))
    if nonce is None:
        return _fail(400, str(forms.EXPIRED))
    errors = {}
    page, errors["page"] = forms.clean_text(form.get("page"), required=True, max_len=300)
    requester, errors["requester"] = forms.clean_text(form.get("requester"), required=True, max_len=200)
    contact, errors["contact"] = forms.clean_text(form.get("contact"), required=True, max_len=500)
    body, errors["body"] = forms.clean_text(form.get("body"), required=True, max_len=5000, min_len=20)
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        return render_template("complaints/correction_form.html", values=form, errors=errors,
                               nonce=form.get("nonce")), 400
    conn = get_cdb()
    try:
        with transaction(conn):
            cur = conn.execute("INSERT INTO corrections (form_nonce, page, requester, contact_encrypted, body, "
                               "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                               [nonce, page, requester, crypto.encrypt(contact), body, now()])
            cases.audit(conn, "correction_requested", detail=f"correction={cur.lastrowid}")
    except sqlite3.IntegrityError as exc:  # the nonce UNIQUE constraint: the same form twice
        if "form_nonce" not in str(exc):
            raise
        return _fail(409, _("This request was already received."))
    return render_template("complaints/correction_sent.html")
