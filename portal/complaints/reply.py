"""The agency's reply page: /reply/<token>, from the link in the forwarding e-mail, no account."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from portal.complaints import agency, cases, forms
from portal.complaints.db import get_cdb
from portal.ratelimit import rate_limited
from prongsai.core.config import evidence_dir

bp = Blueprint("reply", __name__, template_folder="templates")


@bp.after_request
def private(response):
    response.headers["Cache-Control"] = "no-store"  # the token is in the path; the portal's Referrer-Policy
    # (same-origin) keeps it from other sites
    return response


def _fail(status, message):
    return render_template("complaints/error.html", status=status, message=message), status


@bp.route("/reply/<token>", methods=["GET", "POST"])
@rate_limited("message")
def answer(token):
    conn = get_cdb()
    try:
        _link, forwarding, complaint = agency.open_link(conn, token)
    except agency.LinkRefused as exc:
        return _fail(exc.status, str(exc.args[0]))
    context = dict(complaint=complaint, forwarding=forwarding, kinds=agency.KINDS, recipients=cases.RECIPIENTS,
                   outcomes={k: cases.OUTCOMES[k] for k in agency.AGENCY_OUTCOMES},
                   answers=conn.execute("SELECT kind, created_at FROM agency_answers WHERE forwarding_id = ? "
                                        "ORDER BY id", [forwarding["id"]]).fetchall())
    if request.method == "GET":
        return render_template("complaints/reply_form.html", values={}, errors={}, nonce=forms.new_nonce(), **context)
    form = request.form
    nonce = forms.check_nonce(form.get("nonce"))
    if nonce is None:
        return _fail(400, str(forms.EXPIRED))
    errors = {}
    body, errors["body"] = forms.clean_text(form.get("body"), required=True, max_len=10_000)
    reference, errors["reference"] = forms.clean_text(form.get("reference"), required=False, max_len=200)
    errors = {k: v for k, v in errors.items() if v}
    files = [] if errors else forms.read_files(request.files.getlist("document")[:1], errors)
    if errors:
        return render_template("complaints/reply_form.html", values=form, errors=errors, nonce=form.get("nonce"),
                               **context), 400
    try:
        agency.receive(conn, evidence_dir(current_app.config["COMPLAINTS_DATABASE"]), token, nonce=nonce,
                       kind=form.get("kind"), outcome=form.get("outcome"), body=body, reference=reference,
                       document=files[0] if files else None)
    except agency.LinkRefused as exc:
        return _fail(exc.status, str(exc.args[0]))
    except cases.Replayed as exc:
        return _fail(409, str(exc.args[0]))
    except cases.Refused as exc:
        return render_template("complaints/reply_form.html", values=form, errors={"kind": str(exc.args[0])},
                               nonce=form.get("nonce"), **context), 400
    return render_template("complaints/reply_sent.html", complaint=complaint)
