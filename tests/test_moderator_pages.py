"""Moderator pages: text from senders and moderators is bidi-isolated; quarantined files claim no type."""
from __future__ import annotations

import html.parser
import pathlib

from test_complaints_moderation import conn, login, make_case, post, users  # noqa: F401 (fixtures)

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: reverses what follows until the end of its isolate
CSS = pathlib.Path(__file__).resolve().parent.parent / "portal" / "complaints" / "static" / "complaints.css"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


class _Isolation(html.parser.HTMLParser):
    """Collects every text holding an RLO, with whether an element around it isolates it:
    ``<bdi>``, or ``dir="auto"`` on an element the stylesheet isolates (``.body``) or a textarea."""

    def __init__(self):
        super().__init__()
        self.stack, self.found = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in ("input", "br", "meta", "link", "img"):
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if RLO in data:
            self.found.append((data.strip()[:40], any(_isolates(t, a) for t, a in self.stack)))


def _isolates(tag, attrs):
    if tag == "bdi":
        return True
    return attrs.get("dir") == "auto" and (tag == "textarea" or "body" in attrs.get("class", "").split())


def unisolated(page):
    parser = _Isolation()
    parser.feed(page)
    assert parser.found, "no RLO on the page"
    return [text for text, isolated in parser.found if not isolated]


def test_user_text_on_the_case_page_is_isolated(app, conn, users):
    code, case = make_case(app, conn, body=f"ผู้รับเหมา {RLO}gnp.exe ไม่ได้ทำถนน", contact=f"{RLO}moc.liame@a",
                           province=f"{RLO}จังหวัดทดสอบ")
    conn.execute("UPDATE complaints SET project_title = ? WHERE id = ?", [f"ถนน {RLO}evil", case["id"]])
    alice, _ = login(app, "alice")
    url = f"/moderate/cases/{case['case_no']}"
    assert post(alice, url + "/redact", body=f"[ชื่อ] {RLO}redacted", reason=f"{RLO}names").status_code == 303
    assert post(alice, url + "/message", body=f"{RLO}ส่งรูปได้ไหม").status_code == 303
    assert post(alice, url + "/transition", to_state="triage", reason=f"{RLO}claim").status_code == 303
    page = alice.get(url + "?lang=en").get_data(as_text=True)
    assert unisolated(page) == []
    package = alice.get(url + "/package?lang=en").get_data(as_text=True)
    assert unisolated(package) == []


def test_user_text_in_the_queue_is_isolated(app, conn, users):
    _, case = make_case(app, conn)
    conn.execute("UPDATE complaints SET project_title = ? WHERE id = ?", [f"ถนน {RLO}evil", case["id"]])
    alice, _ = login(app, "alice")
    assert unisolated(alice.get("/moderate?lang=en").get_data(as_text=True)) == []


def test_the_stylesheet_isolates_blocks_of_user_text():
    rules = CSS.read_text()
    body = next(line for line in rules.splitlines() if line.startswith(".body"))
    assert "unicode-bidi: isolate" in body
    assert "bdi" in rules and "unicode-bidi: isolate" in rules.split("bdi", 1)[1].split("}", 1)[0]


def test_a_quarantined_file_is_labelled_unverified_and_only_ever_downloaded(app, conn, users):
    _, case = make_case(app, conn, files=[(MP4, "clip.mp4")])
    row = conn.execute("SELECT id, stored_name, mime, status FROM evidence").fetchone()
    assert row["stored_name"].endswith(".bin") and row["mime"] == "application/octet-stream"
    alice, _ = login(app, "alice")
    page = alice.get(f"/moderate/cases/{case['case_no']}?lang=en").get_data(as_text=True)
    evidence = page.split("<h2>Evidence</h2>", 1)[1].split("<h2>", 1)[0]
    assert "video" not in evidence.lower() and "unverified file" in evidence and "QUARANTINE" in evidence
    r = alice.get(f"/moderate/evidence/{row['id']}")
    assert r.status_code == 200 and r.data == MP4
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith(f'-{row["id"]}-QUARANTINE.bin"')
