"""The LINE conversation: a tip about a project becomes a real case; follows by chat.

A tip: "แจ้งเบาะแส" (or a project number or a Prongsai project link at once) -> the bot names the
project and says plainly that LINE reads the chat, with the web form's link for full anonymity,
before asking for anything -> the citizen's texts and photos, each photo cleaned on arrival by
``portal.complaints.evidence`` (EXIF and GPS gone; the raw bytes are never written) and kept in
``line_draft_files`` -> "ส่งรายงาน" makes the case through ``cases.create_complaint`` (the web
form's path: the same two-person verification) and the tracking code goes back in the chat.
The case is anonymous: the moderators reach the reporter through ``/track`` only.

The user is known here by ``user_hash`` alone (an HMAC of the LINE user id under the secret key);
the id itself is held only in memory while an event is handled. Following is the exception the
user asks for: a follow keeps the id encrypted in ``watch_subscribers`` (``portal.watch.store``)
so that digests can be pushed to it; "เลิกติดตาม" and blocking the account delete it.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import urllib.parse

from flask import current_app
from linebot.v3.messaging import PushMessageRequest, ReplyMessageRequest

from portal import ratelimit
from portal.complaints import cases, crypto
from portal.complaints.citizen import MAX_BODY_CHARS, MIN_BODY_CHARS
from portal.complaints.db import transaction
from portal.complaints.evidence import MAX_FILES, CleanFile, EvidenceRefused, clean, display_name
from portal.complaints.forms import clean_text
from portal.complaints.letters import base_url
from portal.complaints.projects import project_facts
from portal.db import get_db
from portal.i18n import in_language
from portal.line import client, texts
from portal.line.users import user_hash
from portal.watch import store
from prongsai.core import clock
from prongsai.core.config import evidence_dir
from prongsai.core.errors import UserError

log = logging.getLogger(__name__)

LEASE = 120                      # seconds an inbox event is held by the process handling it
DRAFT_DAYS = 7                   # a report begun in a chat and never sent is forgotten after this
MAX_TRIES = 5                    # then the event is dropped (and said so in the log, without content)
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_PROJECT_LINK = re.compile(r"/projects/(\S+)")
_FILE_MESSAGES = {"image": "photo.jpg", "video": "video.mp4", "file": "file"}


def drain(conn, *, min_age: int = 0) -> int:
    """Handle the inbox's events in order; ``min_age`` seconds leaves the newest to the request that
    brought them (``prongsai notify`` takes only what a dead process left). Returns how many."""
    handled = 0
    with client.apis(current_app.config) as (api, blob), in_language("th"):
        while (row := _claim(conn, min_age)) is not None:
            event = json.loads(crypto.decrypt(row["event"]) or "null")
            try:
                if event is not None:
                    Turn(conn, api, blob, row["id"], event).handle()
                else:  # queued under another key: nothing can be done with it
                    _done(conn, row["id"])
            except Exception as exc:  # never the message: pydantic and the API echo what was sent
                log.warning("LINE event %s not handled (attempt %s): %s", row["id"], row["attempts"],
                            type(exc).__name__)
                if row["attempts"] >= MAX_TRIES:
                    _done(conn, row["id"])
                continue
            handled += 1
    return handled


def leftovers(conn) -> None:
    """For ``prongsai notify``'s tick: reports never sent are forgotten after ``DRAFT_DAYS``, and the
    events a dead process left in the inbox are handled (their reply tokens have expired: pushed)."""
    with transaction(conn):
        conn.execute("DELETE FROM line_chats WHERE updated_at < ?", [clock.ago(dt.timedelta(days=DRAFT_DAYS))])
    if current_app.config.get("LINE_CHANNEL_SECRET") and current_app.config.get("LINE_ACCESS_TOKEN"):
        drain(conn, min_age=LEASE)


def _claim(conn, min_age: int):
    stamp = clock.utcnow()
    with transaction(conn):
        # a user's oldest event only: another process may be handling the one before it
        row = conn.execute("SELECT id, event, attempts FROM line_inbox i WHERE (lease_until IS NULL OR lease_until < ?) "
                           "AND received_at <= ? AND NOT EXISTS (SELECT 1 FROM line_inbox o WHERE o.user_hash = "
                           "i.user_hash AND o.id < i.id) ORDER BY id LIMIT 1",
                           [stamp.isoformat(timespec="seconds"),
                            (stamp - dt.timedelta(seconds=min_age)).isoformat(timespec="seconds")]).fetchone()
        if row is not None:
            conn.execute("UPDATE line_inbox SET lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                         [(stamp + dt.timedelta(seconds=LEASE)).isoformat(timespec="seconds"), row["id"]])
            row = dict(row, attempts=row["attempts"] + 1)
    return row


def _done(conn, inbox_id: int) -> None:
    """Inside or outside a transaction: the event is handled (its encrypted copy is overwritten)."""
    conn.execute("DELETE FROM line_inbox WHERE id = ?", [inbox_id])


class Turn:
    """One event from one user and the bot's answer to it."""

    def __init__(self, conn, api, blob, inbox_id: int, event: dict):
        self.conn, self.api, self.blob, self.inbox_id, self.event = conn, api, blob, inbox_id, event
        source = event.get("source") or {}
        self.user_id = source.get("userId") if source.get("type") == "user" else None
        self.base = base_url()

    def handle(self) -> None:
        if not self.user_id or self.event.get("mode") == "standby":  # groups, rooms; another bot's turn
            return _done(self.conn, self.inbox_id)
        self.hash = user_hash(self.user_id)
        kind = self.event["type"]
        if kind == "follow":
            return self.answer(texts.welcome(self.base))
        if kind == "unfollow":  # blocked: forget the report being written and every follow
            with transaction(self.conn):
                self.conn.execute("DELETE FROM line_chats WHERE user_hash = ?", [self.hash])
                _done(self.conn, self.inbox_id)
            self._unfollow_all()
            return None
        if kind == "postback":
            return self.text(str((self.event.get("postback") or {}).get("data") or ""))
        if kind != "message":
            return _done(self.conn, self.inbox_id)
        message = self.event.get("message") or {}
        if message.get("type") == "text":
            return self.text(str(message.get("text") or ""))
        if message.get("type") in _FILE_MESSAGES:
            return self.file(message)
        return self.answer(texts.unsupported())

    # -- what the bot says back ---------------------------------------------------------------------

    def answer(self, *messages, then=None) -> None:
        """Mark the event handled (with ``then``'s writes, in one commit), then reply."""
        with transaction(self.conn):
            if then:
                then()
            _done(self.conn, self.inbox_id)
        self.send(list(messages))

    def send(self, messages: list) -> None:
        """The reply token first (free, valid about a minute); a push if it is spent or expired, with a
        retry key of this event so the push is delivered once however often it is tried."""
        try:
            self.api.reply_message(ReplyMessageRequest(reply_token=self.event.get("replyToken") or "-",
                                                       messages=messages[:5]), _request_timeout=client.TIMEOUT)
            return
        except client.ApiException as exc:
            if exc.status != 400:
                log.warning("LINE reply failed: %s", client.problem(exc))
        try:
            self.api.push_message(PushMessageRequest(to=self.user_id, messages=messages[:5]),
                                  x_line_retry_key=client.retry_key(f"line-reply:{self.event['webhookEventId']}"),
                                  _request_timeout=client.TIMEOUT)
        except client.ApiException as exc:
            if exc.status != 409:  # 409: that push was already accepted
                log.warning("LINE push of a reply failed: %s", client.problem(exc))

    # -- text: commands, a project, the report's words ------------------------------------------------

    def text(self, text: str) -> None:
        words = " ".join(text.split())
        head, _sep, rest = words.partition(" ")
        chat = self.chat()
        if words == texts.REPORT:
            return self.answer(texts.in_progress(chat["project_id"]) if chat else texts.ask_project(self.base))
        if words == texts.HELP or words.lower() in ("help", "?"):
            return self.answer(texts.help_text(self.base))
        if words == texts.CANCEL:
            return self.answer(texts.cancelled() if chat else texts.nothing_to_send(), then=self._forget_draft)
        if words == texts.SEND:
            return self.submit(chat) if chat else self.answer(texts.nothing_to_send())
        if words == texts.FOLLOWING:
            return self.answer(self.follows())
        if head in (texts.FOLLOW, texts.UNFOLLOW):
            return self.answer(self.watch(head == texts.FOLLOW, rest))
        project_id = project_reference(words)
        if project_id and (chat is None or not (chat["body"] or self._file_count())):
            project = project_facts(project_id)
            if project is not None:
                return self.answer(texts.project_chosen(self.base, project), then=lambda: self._start(project_id))
            if chat is None and (_PROJECT_LINK.search(words) or words.isdigit()):
                return self.answer(texts.no_project(project_id))
        if chat is None:
            return self.answer(texts.ask_project(self.base))
        body = f"{chat['body']}\n\n{text}" if chat["body"] else text
        if len(body) > MAX_BODY_CHARS:
            return self.answer(texts.too_long(MAX_BODY_CHARS))
        return self.answer(texts.noted(len(body), self._file_count()), then=lambda: self.conn.execute(
            "UPDATE line_chats SET body = ?, updated_at = ? WHERE user_hash = ?", [body, clock.now(), self.hash]))

    def chat(self):
        return self.conn.execute("SELECT * FROM line_chats WHERE user_hash = ?", [self.hash]).fetchone()

    def _file_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM line_draft_files WHERE user_hash = ?",
                                 [self.hash]).fetchone()[0]

    def _start(self, project_id: str) -> None:
        self._forget_draft()
        self.conn.execute("INSERT INTO line_chats (user_hash, project_id, nonce, updated_at) VALUES (?, ?, ?, ?)",
                          [self.hash, project_id, secrets.token_urlsafe(24), clock.now()])

    def _forget_draft(self) -> None:
        self.conn.execute("DELETE FROM line_chats WHERE user_hash = ?", [self.hash])  # files: ON DELETE CASCADE

    # -- photos and files ----------------------------------------------------------------------------

    def file(self, message: dict) -> None:
        if self.chat() is None:
            return self.answer(texts.photo_first(self.base))
        if self._file_count() >= MAX_FILES:
            return self.answer(texts.refused_file(f"รายงานหนึ่งแนบได้ไม่เกิน {MAX_FILES} ชิ้น"))
        if (message.get("contentProvider") or {}).get("type", "line") != "line":
            return self.answer(texts.refused_file("ไฟล์นี้อยู่นอก LINE"))
        data = bytes(self.blob.get_message_content(str(message["id"]), _request_timeout=client.TIMEOUT))
        name = display_name(str(message.get("fileName") or _FILE_MESSAGES[message["type"]]))
        held = self.conn.execute("SELECT coalesce(sum(length(data)), 0) FROM line_draft_files WHERE user_hash = ?",
                                 [self.hash]).fetchone()[0]
        if held + len(data) > current_app.config["MAX_EVIDENCE_BYTES"]:
            return self.answer(texts.refused_file("ไฟล์ใหญ่เกินกำหนด"))
        try:
            cleaned = clean(data, name)
        except EvidenceRefused as exc:
            return self.answer(texts.refused_file(str(exc.args[0])))
        del data
        chat = self.chat()
        return self.answer(texts.noted(len(chat["body"]), self._file_count() + 1), then=lambda: self.conn.execute(
            "INSERT INTO line_draft_files (user_hash, data, kind, mime, ext, status, original_name, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [self.hash, cleaned.data, cleaned.kind, cleaned.mime, cleaned.ext,
                                                cleaned.status, cleaned.original_name, clock.now()]))

    # -- sending the report --------------------------------------------------------------------------

    def submit(self, chat) -> None:
        body, error = clean_text(chat["body"], required=True, max_len=MAX_BODY_CHARS, min_len=MIN_BODY_CHARS)
        if error:
            return self.answer(texts.too_short(MIN_BODY_CHARS) if len(body) < MIN_BODY_CHARS
                               else texts.cannot_send(str(error)))
        project = project_facts(chat["project_id"])
        if project is None:
            return self.answer(texts.no_project(chat["project_id"]), then=self._forget_draft)
        # the web form's limits, the LINE account standing for the address (keyed, in memory only)
        wait = current_app.extensions["rate_limiter"].hit("report", f"line:{self.hash}",
                                                          ratelimit._limits("report"))  # noqa: SLF001
        if wait:
            return self.answer(texts.wait(wait))
        files = [CleanFile(r["data"], r["kind"], r["mime"], r["ext"], r["status"], r["original_name"])
                 for r in self.conn.execute("SELECT * FROM line_draft_files WHERE user_hash = ? ORDER BY id",
                                            [self.hash])]
        # The nonce makes this idempotent: handled again after a crash, the same case and code come back.
        code = cases.create_complaint(self.conn, evidence_dir(current_app.config["COMPLAINTS_DATABASE"]),
                                      nonce=chat["nonce"], project=project, body=body, concern="unsure",
                                      contact=None, files=files)
        self.send([texts.received(self.base, code, len(files))])  # before forgetting: a crash sends it again
        with transaction(self.conn):
            self._forget_draft()
            _done(self.conn, self.inbox_id)

    # -- following -----------------------------------------------------------------------------------

    def watch(self, start: bool, what: str):
        if not start and what == texts.EVERYTHING:
            n = store.unfollow_all(self.conn, channel="line", contact=self.user_id)
            return texts.unfollowed_all(n)
        followed = {} if start else {v: r for r in store.following(self.conn, channel="line", contact=self.user_id)
                                     for v in (r["label"], r["key"])}
        try:
            if what in followed:  # "เลิกติดตาม" and the name the bot gave it (its quick reply sends that)
                kind, key, label = followed[what]["kind"], followed[what]["key"], followed[what]["label"]
            else:
                kind, key, label = store.resolve(get_db(), _KIND_WORDS.get(what.partition(" ")[0]),
                                                 _strip_kind_word(what))
            if start:
                store.follow(self.conn, channel="line", contact=self.user_id, kind=kind, key=key, label=label)
                return texts.followed(label)
            gone = store.unfollow(self.conn, channel="line", contact=self.user_id, kind=kind, key=key)
            return texts.unfollowed(label) if gone else texts.not_following(label)
        except UserError as exc:
            return texts.follow_problem(str(exc))

    def follows(self):
        rows = store.following(self.conn, channel="line", contact=self.user_id)
        return texts.following([r["label"] for r in rows])

    def _unfollow_all(self) -> None:
        store.unfollow_all(self.conn, channel="line", contact=self.user_id)


#: "ติดตาม หน่วยงาน กรมทางหลวง": an optional first word saying what kind of thing follows.
_KIND_WORDS = {"หน่วยงาน": "agency", "ผู้ขาย": "supplier", "ผู้ประกอบการ": "supplier", "บริษัท": "supplier",
               "จังหวัด": "province", "ธง": "flag", "ธงแดง": "flag", "ค้นหา": "search"}


def _strip_kind_word(what: str) -> str:
    first, _sep, rest = what.partition(" ")
    if first == "จังหวัด":
        return what  # the watch store reads "จังหวัดน่าน" and "จังหวัด น่าน" alike
    return rest if first in _KIND_WORDS and rest else what


def project_reference(text: str) -> str | None:
    """The project id in a Prongsai project link, or the text itself when it could be an id."""
    match = _PROJECT_LINK.search(text)
    if match:
        path = urllib.parse.unquote(match.group(1).split("?")[0].split("#")[0]).rstrip("/.,)")
        return path.removesuffix("/report") or None
    candidate = text.strip().translate(_THAI_DIGITS)
    return candidate if 0 < len(candidate) <= 100 and "\n" not in candidate else None
