"""Digests worked out from a build's change set: who gets what, in which language, never twice,
and the change set itself (new projects, flags newly raised, new contracts; the first build brings
nothing)."""
from __future__ import annotations

import sqlite3

from test_outbox import smtp  # noqa: F401 - fixture
from test_watchlists import a_supplier, build, cdb, seed_project, watch_app, watch_db  # noqa: F401 - fixtures

from portal.complaints import outbox
from portal.watch import digests, store
from prongsai.core.schema import open_db
from prongsai.derive import changes

LINE_USER = "U" + "0123456789abcdef" * 2


def follow(app, conn, **kw):
    with app.test_request_context():
        row = store.follow(conn, **kw)
        if kw["channel"] == "email":  # as if the link were opened
            conn.execute("UPDATE watch_follows SET confirmed_at = '2026-01-01' WHERE id = ?", [row["id"]])
        return row


def queued(app, conn):
    with app.app_context():
        return [(r["kind"], outbox.payload(r)) for r in conn.execute(
            "SELECT * FROM outbox WHERE kind != 'watch_confirm' ORDER BY id")]


def test_the_first_build_is_the_baseline_and_a_flag_raised_again_counts(watch_db):  # noqa: F811
    db = open_db(watch_db)
    assert db.execute("SELECT baseline, new_projects FROM builds").fetchall() == [(1, 0)]
    pid, code = db.execute("SELECT project_id, code FROM red_flags LIMIT 1").fetchone()
    saved = db.execute("SELECT * FROM red_flags WHERE project_id = ? AND code = ?", [pid, code]).fetchone()
    db.execute("DELETE FROM red_flags WHERE project_id = ? AND code = ?", [pid, code])
    changes.build(db)  # lowered: nothing new
    db.execute("INSERT INTO red_flags VALUES (?, ?, ?, ?, ?)", list(saved))
    changes.build(db)  # raised again
    db.conn.row_factory = sqlite3.Row
    last = changes.latest(db.conn)
    rows = db.conn.execute("SELECT * FROM build_changes WHERE build_id = ?", [last["id"]]).fetchall()
    assert [(r["change"], r["project_id"], r["code"]) for r in rows] == [("flag", pid, code)]
    assert last["new_flags"] == 1 and last["new_projects"] == 0
    db.close()


def test_each_kind_of_follow_gets_what_it_covers_in_its_language(watch_app, watch_db, cdb, smtp):  # noqa: F811
    supplier_id, _name, buyer_id = a_supplier(watch_db)
    follow(watch_app, cdb, channel="email", contact="agency@example.org", kind="agency", key=buyer_id, lang="en")
    follow(watch_app, cdb, channel="email", contact="search@example.org", kind="search",
           key=store.search_key({"q": "สะพานทดสอบ", "province": "น่าน"}))
    follow(watch_app, cdb, channel="email", contact="quiet@example.org", kind="province", key="ยะลา")
    follow(watch_app, cdb, channel="line", contact=LINE_USER, kind="supplier", key=supplier_id)
    seed_project(watch_db, "66099000011", buyer_id=buyer_id, supplier_id=supplier_id, title="จ้างก่อสร้างสะพานทดสอบ")
    build(watch_app, watch_db)
    messages = queued(watch_app, cdb)
    to = {next(iter(p["to"].values())): (kind, p) for kind, p in messages}
    assert set(to) == {"agency@example.org", "search@example.org", LINE_USER}  # ยะลา brought nothing
    kind, agency = to["agency@example.org"]
    assert kind == "watch_digest" and "โครงการใหม่" in agency["text"] and "New project" in agency["text"]
    assert agency["text"].index("โครงการใหม่") < agency["text"].index("-- English --")
    assert "จ้างก่อสร้างสะพานทดสอบ" in to["search@example.org"][1]["text"]
    kind, line = to[LINE_USER]
    assert kind == "digest" and line["html"] == "" and "สัญญาใหม่" in line["text"] and len(line["text"]) < 5000
    assert "/watch/s/" in line["text"]

    build(watch_app, watch_db)  # nothing new: nothing queued
    with watch_app.app_context():
        public = sqlite3.connect(watch_db)
        public.row_factory = sqlite3.Row
        # the same build queued again is the same messages: one each
        assert digests.queue(public, cdb, changes.since(public, set())) == 0
    assert len(queued(watch_app, cdb)) == 3


def test_a_build_of_another_database_queues_nothing(watch_app, watch_db, cdb, tmp_path, smtp):  # noqa: F811
    supplier_id, _name, buyer_id = a_supplier(watch_db)
    follow(watch_app, cdb, channel="email", contact="agency@example.org", kind="agency", key=buyer_id)
    copy = tmp_path / "copy.db"
    copy.write_bytes(watch_db.read_bytes())
    seed_project(copy, "66099000012", buyer_id=buyer_id)
    build(watch_app, copy)
    assert queued(watch_app, cdb) == []


def test_without_the_key_nothing_is_queued_and_the_next_build_catches_up(watch_app, watch_db, cdb, smtp):  # noqa: F811
    _supplier, _name, buyer_id = a_supplier(watch_db)
    follow(watch_app, cdb, channel="email", contact="agency@example.org", kind="agency", key=buyer_id)
    seed_project(watch_db, "66099000013", buyer_id=buyer_id, title="ซื้อรอบแรกทดสอบ")
    watch_app.config["TESTING"] = False  # the per-process test key no longer applies
    out = build(watch_app, watch_db).output
    assert "digests not queued" in out and "PRONGSAI_COMPLAINTS_KEY" in out and queued(watch_app, cdb) == []
    watch_app.config["TESTING"] = True
    seed_project(watch_db, "66099000014", buyer_id=buyer_id, title="ซื้อรอบสองทดสอบ")
    build(watch_app, watch_db)
    [(_kind, message)] = queued(watch_app, cdb)
    assert "ซื้อรอบแรกทดสอบ" in message["text"] and "ซื้อรอบสองทดสอบ" in message["text"]


def test_the_follow_page_shows_what_the_latest_build_brought(watch_app, watch_db, smtp):  # noqa: F811
    supplier_id, _name, buyer_id = a_supplier(watch_db)
    seed_project(watch_db, "66099000021", buyer_id=buyer_id, supplier_id=supplier_id, title="จ้างปรับปรุงอาคารทดสอบ",
                 province="น่าน")
    build(watch_app, watch_db)
    client = watch_app.test_client()
    for query in (f"kind=agency&key={buyer_id}", f"kind=supplier&key={supplier_id}", "kind=province&key=น่าน",
                  "kind=search&q=อาคารทดสอบ&province=น่าน", "kind=search&q=อาคารทดสอบ"):
        html = client.get(f"/watch/follow?{query}").get_data(as_text=True)
        assert "จ้างปรับปรุงอาคารทดสอบ" in html, query
    assert "จ้างปรับปรุงอาคารทดสอบ" not in client.get("/watch/follow?kind=province&key=ยะลา").get_data(as_text=True)


def test_an_incremental_build_looks_only_at_the_projects_it_changed(watch_db):  # noqa: F811
    _supplier, _name, buyer_id = a_supplier(watch_db)
    seed_project(watch_db, "66099000031", buyer_id=buyer_id)
    seed_project(watch_db, "66099000032", buyer_id=buyer_id)
    db = open_db(watch_db)
    changes.build(db, changed={"66099000031"})
    db.conn.row_factory = sqlite3.Row
    assert [r["project_id"] for r in db.conn.execute("SELECT project_id FROM build_changes")] == ["66099000031"]
    changes.build(db)  # a full build finds the other
    assert [r["project_id"] for r in db.conn.execute("SELECT project_id FROM build_changes WHERE build_id = "
                                                     "(SELECT max(id) FROM builds)")] == ["66099000032"]
    db.close()
