"""Moderators and volunteers: sign-in, the queue, case handling, forwarding packages, flags,
right-of-reply requests and conflicts of interest. Cases touching a moderator's declared
conflicts answer 404 for them, everywhere."""
from __future__ import annotations

import base64
import json

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.complaints import agency, auth, cases, crypto, digests, forms, outbox
from portal.complaints.db import STATES, get_cdb, transaction
from portal.complaints.intake import check_address
from portal.complaints.projects import project_facts
from portal.ratelimit import client_address, rate_limited
from prongsai.core.clock import now
from prongsai.core.config import evidence_dir

bp = Blueprint("moderate", __name__, template_folder="templates")

FLAG_CATEGORIES = {
    "overpriced": _l("Price looks too high"),
    "poor_quality": _l("Poor quality work"),
    "not_built": _l("Work not done or not finished"),
    "bid_rigging": _l("Signs of bid rigging"),
    "conflict": _l("Conflict of interest"),
    "other": _l("Other"),
}


@bp.before_app_request
def load_user():
    if request.endpoint and request.endpoint.startswith("moderate."):
        auth.load_user()


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(message, status=400):
    return render_template("complaints/error.html", status=status, message=message), status


@bp.route("/login", methods=["GET", "POST"])
@rate_limited("login")
def login():
    asked = auth.safe_next(request.values.get("next"), "")
    if request.method == "GET":
        return render_template("complaints/login.html", next=asked, error=None)
    target = asked
    conn = get_cdb()
    user, wait = auth.authenticate(conn, request.form.get("username", ""), request.form.get("password", ""),
                                   client_address())
    if wait:
        error = _("Too many failed attempts for this account from your connection. Wait %(seconds)d seconds "
                  "and try again.", seconds=wait)
        return render_template("complaints/login.html", next=target, error=error), 429, {"Retry-After": str(wait)}
    if user is None:
        return render_template("complaints/login.html", next=target, error=_("Wrong username or password.")), 401
    auth.start_session(conn, user)
    return redirect(target or auth.landing(user), code=303)


@bp.route("/logout", methods=["POST"])
def logout():
    auth.end_session(get_cdb())
    return redirect(url_for("main.index"), code=303)


@bp.route("/volunteer")
@auth.require("volunteer", "moderator")
def volunteer():
    """A volunteer's own page: what they can do, and the flags they raised with where each stands."""
    flags = get_cdb().execute("SELECT * FROM flags WHERE user_id = ? ORDER BY id DESC LIMIT 200",
                              [g.user["id"]]).fetchall()
    return render_template("complaints/volunteer.html", flags=flags, categories=FLAG_CATEGORIES)


@bp.route("/moderate")
@auth.require("moderator")
def queue():
    conn = get_cdb()
    uid = g.user["id"]
    open_cases = cases.visible_cases(conn, uid, "state NOT IN ('closed')")
    visible_ids = {c["id"] for c in open_cases}
    proposals = [p for p in conn.execute(
        "SELECT p.*, c.case_no, u.username FROM proposals p JOIN complaints c ON c.id = p.complaint_id "
        "JOIN users u ON u.id = p.proposed_by WHERE p.status = 'pending' ORDER BY p.id") if p["complaint_id"]
        in visible_ids]
    due = cases.follow_ups_due(conn, current_app.config["FOLLOW_UP_DAYS"], uid)
    flags = conn.execute("SELECT f.*, u.username FROM flags f JOIN users u ON u.id = f.user_id "
                         "WHERE f.status = 'pending' ORDER BY f.id").fetchall()
    corrections = conn.execute("SELECT * FROM corrections WHERE state = 'received' ORDER BY id").fetchall()
    return render_template("complaints/queue.html", cases=open_cases, proposals=proposals, due=due, flags=flags,
                           corrections=corrections, labels=cases.STATE_LABELS, categories=FLAG_CATEGORIES,
                           recipients=cases.RECIPIENTS, outbox_failed=outbox.health(conn)["failed"])


def _case(case_no):
    complaint = cases.case_for(get_cdb(), g.user["id"], case_no)
    if complaint is None:
        abort(404)
    return complaint


@bp.route("/moderate/cases/<case_no>", methods=["GET", "POST"])
@auth.require("moderator")
def case(case_no):
    """The case; its reporter's contact is decrypted only on a POST from the "Show the contact" button."""
    conn = get_cdb()
    complaint = _case(case_no)
    cid = complaint["id"]
    contact = None
    if request.method == "POST" and complaint["contact_encrypted"]:  # a deliberate click, logged each time
        contact = crypto.decrypt(complaint["contact_encrypted"])
        with transaction(conn):
            cases.audit(conn, "contact_viewed", user_id=g.user["id"], complaint_id=cid)
    history = conn.execute("SELECT a.*, u.username FROM audit a LEFT JOIN users u ON u.id = a.user_id "
                           "WHERE complaint_id = ? ORDER BY a.id", [cid]).fetchall()
    return render_template(
        "complaints/case.html", complaint=complaint, contact=contact, revealed=request.method == "POST",
        versions=conn.execute("SELECT v.*, u.username FROM complaint_versions v LEFT JOIN users u "
                              "ON u.id = v.created_by WHERE complaint_id = ? ORDER BY version", [cid]).fetchall(),
        evidence=conn.execute("SELECT * FROM evidence WHERE complaint_id = ? ORDER BY id", [cid]).fetchall(),
        messages=conn.execute("SELECT m.*, u.username FROM messages m LEFT JOIN users u ON u.id = m.user_id "
                              "WHERE complaint_id = ? ORDER BY m.id", [cid]).fetchall(),
        history=[dict(a, what=cases.ACTION_LABELS.get(a["action"], a["action"]), detail=_detail(conn, a["detail"]))
                 for a in history],
        proposals=conn.execute("SELECT p.*, u.username FROM proposals p JOIN users u ON u.id = p.proposed_by "
                               "WHERE complaint_id = ? ORDER BY p.id", [cid]).fetchall(),
        forwardings=conn.execute("SELECT * FROM forwardings WHERE complaint_id = ? ORDER BY id", [cid]).fetchall(),
        deliveries=conn.execute("SELECT kind, status, sent_at, unconfirmed, last_error FROM outbox WHERE "
                                "complaint_id = ? AND kind != 'reporter_news' ORDER BY id", [cid]).fetchall(),
        answers=conn.execute("SELECT a.* FROM agency_answers a JOIN forwardings f ON f.id = a.forwarding_id "
                             "WHERE f.complaint_id = ? ORDER BY a.id", [cid]).fetchall(), kinds=agency.KINDS,
        summary=conn.execute("SELECT * FROM case_summaries WHERE complaint_id = ?", [cid]).fetchone(),
        flags=json.loads(complaint["flags_snapshot"]), next_states=[s for s in STATES if s in cases.TRANSITIONS[complaint["state"]]],
        two_person=cases.TWO_PERSON, labels=cases.STATE_LABELS, recipients=cases.RECIPIENTS,
        choices=[*cases.RECIPIENTS, *filter(None, [cases.unit_of(complaint["project_id"])])],
        suggested=cases.CONCERNS[complaint["concern"]][1], concerns=cases.CONCERNS, outcomes=cases.OUTCOMES)


def _detail(conn, detail: str | None) -> str | None:
    """An audit line's ``key=value`` detail in words (``approved_by=2`` -> "approved by alice")."""
    if not detail or "=" not in detail:
        return detail
    key, _sep, value = detail.partition("=")
    if key == "approved_by":
        row = conn.execute("SELECT username FROM users WHERE id = ?", [value]).fetchone()
        return _("approved by %(name)s", name=row["username"] if row else value)
    words = {"files": _("%(n)s files attached"), "version": _("version %(n)s"), "number": _("reminder %(n)s"),
             "from": _("from evidence file %(n)s"), "evidence": _("evidence file %(n)s")}
    if key == "kind":
        return str(agency.KINDS.get(value, value))
    return words[key] % {"n": value} if key in words else detail


def _act(case_no, action):
    try:
        action()
    except cases.Refused as exc:
        return _refused(str(exc.args[0]))
    return redirect(url_for("moderate.case", case_no=case_no), code=303)


@bp.route("/moderate/cases/<case_no>/transition", methods=["POST"])
@auth.require("moderator")
def transition(case_no):
    complaint = _case(case_no)
    f = request.form
    return _act(case_no, lambda: cases.transition(
        get_cdb(), g.user["id"], complaint["id"], f.get("to_state", ""), f.get("reason", "")[:1000],
        duplicate_of_case=f.get("duplicate_of"), outcome=f.get("outcome")))


@bp.route("/moderate/cases/<case_no>/propose", methods=["POST"])
@auth.require("moderator")
def propose(case_no):
    complaint = _case(case_no)
    f = request.form
    return _act(case_no, lambda: cases.propose(
        get_cdb(), g.user["id"], complaint["id"], f.get("to_state", ""), f.get("reason", "")[:1000],
        agency=f.get("agency"), channel=f.get("channel")))


def _proposal_case(proposal_id):
    row = get_cdb().execute("SELECT c.case_no FROM proposals p JOIN complaints c ON c.id = p.complaint_id "
                            "WHERE p.id = ?", [proposal_id]).fetchone()
    if row is None:
        abort(404)
    return _case(row["case_no"])


@bp.route("/moderate/proposals/<int:proposal_id>/approve", methods=["POST"])
@auth.require("moderator")
def approve(proposal_id):
    complaint = _proposal_case(proposal_id)
    return _act(complaint["case_no"], lambda: cases.approve(get_cdb(), g.user["id"], proposal_id))


@bp.route("/moderate/proposals/<int:proposal_id>/withdraw", methods=["POST"])
@auth.require("moderator")
def withdraw(proposal_id):
    complaint = _proposal_case(proposal_id)
    return _act(complaint["case_no"], lambda: cases.withdraw(get_cdb(), g.user["id"], proposal_id))


@bp.route("/moderate/cases/<case_no>/message", methods=["POST"])
@auth.require("moderator")
def message(case_no):
    complaint = _case(case_no)
    body, error = forms.clean_text(request.form.get("body"), required=True, max_len=10_000)
    if error:
        return _refused(str(error))
    cases.moderator_message(get_cdb(), complaint["id"], body, user_id=g.user["id"])
    return redirect(url_for("moderate.case", case_no=case_no), code=303)


@bp.route("/moderate/cases/<case_no>/redact", methods=["POST"])
@auth.require("moderator")
def redact(case_no):
    complaint = _case(case_no)
    body, error = forms.clean_text(request.form.get("body"), required=True, max_len=20_000)
    if error:
        return _refused(str(error))
    return _act(case_no, lambda: cases.redact(get_cdb(), g.user["id"], complaint["id"], body,
                                              request.form.get("reason", "")[:1000]))


@bp.route("/moderate/cases/<case_no>/evidence/<int:evidence_id>/redact", methods=["POST"])
@auth.require("moderator")
def redact_file(case_no, evidence_id):
    complaint = _case(case_no)
    conn = get_cdb()
    original = conn.execute("SELECT id FROM evidence WHERE id = ? AND complaint_id = ?",
                            [evidence_id, complaint["id"]]).fetchone()
    if original is None:
        abort(404)
    errors = {}
    files = forms.read_files(request.files.getlist("evidence")[:1], errors)
    if errors or not files:
        return _refused(str(errors.get("evidence") or _("Attach the redacted file.")))
    cases.add_redacted_file(conn, evidence_dir(current_app.config["COMPLAINTS_DATABASE"]), complaint["id"],
                            files[0], user_id=g.user["id"], redacted_from=evidence_id)
    return redirect(url_for("moderate.case", case_no=case_no), code=303)


def _forwarded_case(conn, forwarding_id):
    """The case a forwarding belongs to (``case_no``, ``id``), if this moderator may see it; else 404."""
    row = conn.execute("SELECT c.case_no, c.id FROM forwardings f JOIN complaints c ON c.id = f.complaint_id "
                       "WHERE f.id = ?", [forwarding_id]).fetchone()
    if row is None:
        abort(404)
    _case(row["case_no"])
    return row


@bp.route("/moderate/forwardings/<int:forwarding_id>", methods=["POST"])
@auth.require("moderator")
def forwarding(forwarding_id):
    conn = get_cdb()
    row = _forwarded_case(conn, forwarding_id)
    f = request.form
    reference, e1 = forms.clean_text(f.get("reference"), required=False, max_len=200)
    answer, e2 = forms.clean_text(f.get("answer"), required=False, max_len=2000)
    if e1 or e2:
        return _refused(str(e1 or e2))
    return _act(row["case_no"], lambda: cases.record_forwarding(
        conn, g.user["id"], forwarding_id, reference=reference, answer=answer, reminder=bool(f.get("reminder"))))


def _package(complaint):
    """Project facts, flags, the latest (redacted) text and the cleaned evidence; never the sender."""
    conn = get_cdb()
    facts = project_facts(complaint["project_id"]) or {"project_id": complaint["project_id"]}
    files = cases.package_files(conn, complaint["id"])
    forwarding = conn.execute("SELECT * FROM forwardings WHERE complaint_id = ? ORDER BY id DESC LIMIT 1",
                              [complaint["id"]]).fetchone()
    return facts, files, forwarding


@bp.route("/moderate/cases/<case_no>/package")
@auth.require("moderator")
def package(case_no):
    complaint = _case(case_no)
    facts, files, forwarding = _package(complaint)
    with transaction(get_cdb()):
        cases.audit(get_cdb(), "package_viewed", user_id=g.user["id"], complaint_id=complaint["id"])
    return render_template("complaints/package.html", complaint=complaint, facts=facts, files=files,
                           forwarding=forwarding, body=cases.latest_body(get_cdb(), complaint["id"]),
                           recipients=cases.RECIPIENTS, suggested=cases.CONCERNS[complaint["concern"]][1],
                           labels=cases.STATE_LABELS)


@bp.route("/moderate/cases/<case_no>/package.json")
@auth.require("moderator")
def package_json(case_no):
    complaint = _case(case_no)
    facts, files, forwarding = _package(complaint)
    folder = evidence_dir(current_app.config["COMPLAINTS_DATABASE"])
    doc = {
        "case": complaint["case_no"], "state": complaint["state"], "received_at": complaint["created_at"],
        "suggested_recipient": cases.CONCERNS[complaint["concern"]][1],
        "forwarding": dict(forwarding) if forwarding else None,
        "project": {k: v for k, v in facts.items() if k not in ("flags",)},
        "red_flags": facts.get("flags", []),
        "complaint_text": cases.latest_body(get_cdb(), complaint["id"]),
        "evidence": [{"file_name": f"{complaint['case_no']}-{f['id']}.{f['stored_name'].rsplit('.', 1)[-1]}",
                      "mime": f["mime"], "size": f["size"], "sha256": f["sha256"],
                      "content_base64": base64.b64encode((folder / f["stored_name"]).read_bytes()).decode()}
                     for f in files],
        "generated_at": now(),
    }
    with transaction(get_cdb()):
        cases.audit(get_cdb(), "package_downloaded", user_id=g.user["id"], complaint_id=complaint["id"])
    return Response(json.dumps(doc, ensure_ascii=False, indent=1, default=str), mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=\"prongsai-{case_no}.json\""})


@bp.route("/moderate/evidence/<int:evidence_id>")
@auth.require("moderator")
def evidence_file(evidence_id):
    conn = get_cdb()
    row = conn.execute("SELECT e.*, c.case_no FROM evidence e JOIN complaints c ON c.id = e.complaint_id "
                       "WHERE e.id = ?", [evidence_id]).fetchone()
    if row is None:
        abort(404)
    _case(row["case_no"])
    path = evidence_dir(current_app.config["COMPLAINTS_DATABASE"]) / row["stored_name"]
    with transaction(conn):
        cases.audit(conn, "evidence_downloaded", user_id=g.user["id"], complaint_id=row["complaint_id"],
                    detail=f"evidence={evidence_id}")
    name = f"{row['case_no']}-{row['id']}{'-QUARANTINE' if row['status'] == 'quarantine' else ''}." \
           f"{row['stored_name'].rsplit('.', 1)[-1]}"
    return Response(path.read_bytes(), mimetype="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    })


@bp.route("/moderate/flags/<int:flag_id>", methods=["POST"])
@auth.require("moderator")
def decide_flag(flag_id):
    decision = request.form.get("decision")
    if decision not in ("approved", "rejected"):
        return _refused(_("Choose approve or reject."))
    conn = get_cdb()
    with transaction(conn):
        n = conn.execute("UPDATE flags SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND "
                         "status = 'pending'", [decision, g.user["id"], now(), flag_id]).rowcount
        if not n:
            abort(404)
        cases.audit(conn, f"flag_{decision}", user_id=g.user["id"], detail=f"flag={flag_id}")
    return redirect(url_for("moderate.queue"), code=303)


@bp.route("/moderate/corrections/<int:correction_id>", methods=["POST"])
@auth.require("moderator")
def decide_correction(correction_id):
    decision = request.form.get("decision")
    summary, error = forms.clean_text(request.form.get("public_summary"), required=decision == "accepted",
                                      max_len=2000)
    if decision not in ("accepted", "rejected") or error:
        return _refused(str(error or _("Choose accept or reject.")))
    conn = get_cdb()
    with transaction(conn):
        n = conn.execute("UPDATE corrections SET state = ?, public_summary = ?, decided_by = ?, decided_at = ? "
                         "WHERE id = ? AND state = 'received'",
                         [decision, summary or None, g.user["id"], now(), correction_id]).rowcount
        if not n:
            abort(404)
        cases.audit(conn, f"correction_{decision}", user_id=g.user["id"], detail=f"correction={correction_id}")
    return redirect(url_for("moderate.queue"), code=303)


@bp.route("/moderate/conflicts", methods=["GET", "POST"])
@auth.require("moderator")
def conflicts():
    conn = get_cdb()
    if request.method == "POST":
        kind = request.form.get("kind")
        value, error = forms.clean_text(request.form.get("value"), required=True, max_len=200)
        if kind not in ("agency", "supplier", "province") or error:
            return _refused(str(error or _("Choose agency, supplier or province.")))
        with transaction(conn):
            conn.execute("INSERT OR IGNORE INTO conflicts (user_id, kind, value, declared_at) VALUES (?, ?, ?, ?)",
                         [g.user["id"], kind, value, now()])
            cases.audit(conn, "conflict_declared", user_id=g.user["id"], detail=kind)
        return redirect(url_for("moderate.conflicts"), code=303)
    rows = conn.execute("SELECT * FROM conflicts WHERE user_id = ? ORDER BY id", [g.user["id"]]).fetchall()
    return render_template("complaints/conflicts.html", rows=rows)


@bp.route("/projects/<path:project_id>/flag", methods=["GET", "POST"])
@auth.require("volunteer", "moderator")
def flag_project(project_id):
    """Volunteers flag a project (category + note); it counts publicly once a moderator approves."""
    facts = project_facts(project_id)
    if facts is None:
        abort(404)
    if request.method == "GET":
        return render_template("complaints/flag_form.html", project=facts, categories=FLAG_CATEGORIES, errors={},
                               values={}, sent=request.args.get("sent") == "1", nonce=forms.new_nonce())
    nonce = forms.check_nonce(request.form.get("nonce"))
    if nonce is None:
        return _refused(str(forms.EXPIRED))
    category = request.form.get("category")
    note, error = forms.clean_text(request.form.get("note"), required=True, max_len=2000, min_len=10)
    errors = {"note": error} if error else {}
    if category not in FLAG_CATEGORIES:
        errors["category"] = _("Choose one of the options.")
    if errors:
        return render_template("complaints/flag_form.html", project=facts, categories=FLAG_CATEGORIES,
                               errors=errors, values=request.form, sent=False, nonce=request.form.get("nonce")), 400
    conn = get_cdb()
    try:
        with transaction(conn):
            cases.spend_nonce(conn, nonce)
            cur = conn.execute("INSERT INTO flags (project_id, category, note, user_id, created_at) VALUES (?,?,?,?,?)",
                               [project_id, category, note, g.user["id"], now()])
            cases.audit(conn, "flag_added", user_id=g.user["id"], detail=f"flag={cur.lastrowid}")
    except cases.Replayed as exc:
        return _refused(str(exc.args[0]), 409)
    return redirect(url_for("moderate.flag_project", project_id=project_id, sent=1), code=303)


@bp.route("/moderate/answers/<int:answer_id>", methods=["POST"])
@auth.require("moderator")
def decide_answer(answer_id):
    complaint = _answer_case(answer_id)
    text, error = forms.clean_text(request.form.get("public_text"), required=False, max_len=5000)
    if error:
        return _refused(str(error))
    return _act(complaint["case_no"], lambda: agency.moderate_answer(
        get_cdb(), g.user["id"], answer_id, request.form.get("decision"), text))


def _answer_case(answer_id):
    row = get_cdb().execute("SELECT c.case_no FROM agency_answers a JOIN forwardings f ON f.id = a.forwarding_id "
                            "JOIN complaints c ON c.id = f.complaint_id WHERE a.id = ?", [answer_id]).fetchone()
    if row is None:
        abort(404)
    return _case(row["case_no"])


@bp.route("/moderate/answers/<int:answer_id>/document")
@auth.require("moderator")
def answer_document(answer_id):
    complaint = _answer_case(answer_id)
    conn = get_cdb()
    row = conn.execute("SELECT * FROM agency_answers WHERE id = ?", [answer_id]).fetchone()
    if not row["doc_stored_name"]:
        abort(404)
    with transaction(conn):
        cases.audit(conn, "agency_document_downloaded", user_id=g.user["id"], complaint_id=complaint["id"])
    path = evidence_dir(current_app.config["COMPLAINTS_DATABASE"]) / row["doc_stored_name"]
    return Response(path.read_bytes(), mimetype="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=\"{complaint['case_no']}-answer-{answer_id}."
                               f"{row['doc_stored_name'].rsplit('.', 1)[-1]}\"",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    })


@bp.route("/moderate/cases/<case_no>/summary", methods=["POST"])
@auth.require("moderator")
def summary(case_no):
    complaint = _case(case_no)
    text, error = forms.clean_text(request.form.get("summary"), required=True, max_len=2000, min_len=10)
    if error:
        return _refused(str(error))
    return _act(case_no, lambda: cases.publish_summary(get_cdb(), g.user["id"], complaint["id"], text))


@bp.route("/moderate/outbox", methods=["GET", "POST"])
@auth.require("moderator")
def outbox_page():
    conn = get_cdb()
    if request.method == "POST":
        if outbox.retry(conn, request.form.get("id", type=int) or 0):
            with transaction(conn):
                cases.audit(conn, "outbox_retry", user_id=g.user["id"], detail=f"outbox={request.form.get('id')}")
        return redirect(url_for("moderate.outbox_page"), code=303)
    return render_template("complaints/outbox.html", rows=outbox.problems(conn), health=outbox.health(conn))


@bp.route("/moderate/notifications", methods=["GET", "POST"])
@auth.require("moderator")
def notifications():
    conn = get_cdb()
    pref = conn.execute("SELECT * FROM notify_prefs WHERE user_id = ?", [g.user["id"]]).fetchone()
    values = {"email": crypto.decrypt(pref["email_encrypted"]) if pref else "", "mode": pref["mode"] if pref
              else "off", "lang": pref["lang"] if pref else "th"}
    error = None
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in ("email", "mode", "lang")}
        if values["mode"] not in digests.MODES or values["lang"] not in ("th", "en"):
            error = _("Choose one of the options.")
        elif values["mode"] != "off" or values["email"]:
            try:
                values["email"] = check_address(values["email"])
            except ValueError:
                error = _("This is not an e-mail address: “%(text)s”.", text=values["email"])
        if error is None:
            digests.save_choice(conn, g.user["id"], email=values["email"] or None, mode=values["mode"],
                                lang=values["lang"])
            return redirect(url_for("moderate.notifications", saved=1), code=303)
    return render_template("complaints/notifications.html", values=values, modes=digests.MODES, error=error,
                           saved=request.args.get("saved") == "1"), 400 if error else 200


@bp.route("/moderate/forwardings/<int:forwarding_id>/revoke-link", methods=["POST"])
@auth.require("moderator")
def revoke_link(forwarding_id):
    """The agency's reply link stops working (sent to a wrong address, leaked)."""
    conn = get_cdb()
    row = _forwarded_case(conn, forwarding_id)
    with transaction(conn):
        conn.execute("UPDATE agency_links SET revoked_at = coalesce(revoked_at, ?) WHERE forwarding_id = ?",
                     [now(), forwarding_id])
        cases.audit(conn, "reply_link_revoked", user_id=g.user["id"], complaint_id=row["id"])
    return redirect(url_for("moderate.case", case_no=row["case_no"]), code=303)
