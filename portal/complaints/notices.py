"""Who is told what, queued in the outbox inside the transaction of the event.

- The reporter, only when they left contact details holding an e-mail address: "your report has
  news, open /track with your code" and nothing of the case (not its number, project or state),
  as GlobaLeaks notifies whistleblowers; one waiting message tells of all news since. Anonymous
  reports, and contacts without an address, are followed with the tracking code alone.
- The receiving agency: the forwarding package (project, red flags, the moderated text, evidence
  with SHA-256 hashes, the files themselves up to ``MAIL_MAX_ATTACHMENT_BYTES``) with its reply
  link, then the reminders.
- Moderators: digests (``portal.complaints.digests``).
"""
from __future__ import annotations

import json
import re

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.complaints import crypto, links, outbox
from portal.complaints.intake import check_address
from portal.complaints.letters import base_url, compose

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_EMAIL_LIKE = re.compile(r"[^\s<>,;()\"'\[\]]+@[^\s<>,;()\"'\[\]]+")


def reporter_address(complaint) -> str | None:
    """The first e-mail address in the reporter's (encrypted) contact details, if any."""
    contact = crypto.decrypt(complaint["contact_encrypted"])
    for candidate in _EMAIL_LIKE.findall(contact or ""):
        try:
            return check_address(candidate.rstrip("."))
        except ValueError:
            continue
    return None


def reporter_news(conn, complaint_id: int) -> bool:
    """Inside the caller's transaction, after its audit row: tell the reporter there is news."""
    complaint = conn.execute("SELECT * FROM complaints WHERE id = ?", [complaint_id]).fetchone()
    address = reporter_address(complaint)
    if address is None or conn.execute(
            "SELECT 1 FROM outbox WHERE complaint_id = ? AND kind = 'reporter_news' AND status = 'pending' "
            "AND attempts = 0", [complaint_id]).fetchone():
        return False
    event = conn.execute("SELECT max(id) FROM audit WHERE complaint_id = ?", [complaint_id]).fetchone()[0]
    letter = compose("news", complaint["lang"], _l("Prongsai: there is news about your report"))
    return outbox.enqueue(conn, f"news:{complaint_id}:{event}", "reporter_news", to={"address": address},
                          complaint_id=complaint_id, **letter)


def agency_package(conn, complaint, forwarding, *, body: str, files, recipient: dict) -> None:
    """Inside the approval's transaction: the reply link and the package for the intake address."""
    token = links.create(conn, forwarding["id"])
    cap = int(current_app.config.get("MAIL_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES))
    listed, attached, total = [], [], 0
    for f in files:
        name = f"{complaint['case_no']}-{f['id']}.{f['stored_name'].rsplit('.', 1)[-1]}"
        fits = total + f["size"] <= cap
        if fits:
            total += f["size"]
            attached.append({"stored_name": f["stored_name"], "filename": name, "mime": f["mime"]})
        listed.append({"name": name, "mime": f["mime"], "size": f["size"], "sha256": f["sha256"], "attached": fits})
    letter = compose("package", "th", _l("Prongsai: citizen report %(case)s for your action", case=complaint["case_no"]),
                     complaint=complaint, body=body, files=listed, recipient=recipient,
                     flags=json.loads(complaint["flags_snapshot"] or "[]"), link=f"{base_url()}/reply/{token}",
                     forwarding=forwarding)
    outbox.enqueue(conn, f"package:{forwarding['id']}", "agency_package", to={"agency": forwarding["agency"]},
                   attachments=attached, complaint_id=complaint["id"], **letter)


def agency_reminder(conn, complaint, forwarding, number: int, total: int, recipient: dict) -> None:
    token = links.token_of(conn, forwarding["id"])
    letter = compose("reminder", "th", _l("Prongsai: reminder %(n)s of %(total)s about citizen report %(case)s",
                                          n=number, total=total, case=complaint["case_no"]),
                     complaint=complaint, forwarding=forwarding, number=number, total=total, recipient=recipient,
                     link=f"{base_url()}/reply/{token}")
    outbox.enqueue(conn, f"reminder:{forwarding['id']}:{number}", "agency_reminder",
                   to={"agency": forwarding["agency"]}, complaint_id=complaint["id"], **letter)
