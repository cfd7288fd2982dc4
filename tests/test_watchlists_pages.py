"""The watchlists' pages and feeds: follow buttons on the pages of what can be followed, the follow
form's refusals, the confirmation by a button (a GET confirms nothing), the feeds of a red flag and
a saved search, and the contact kept only encrypted, in complaints.db."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from test_complaints_citizen import form_tokens

from portal.complaints.db import open_complaints_db
from portal.watch import store

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def ids(app):
    with app.app_context():
        from portal.db import get_db

        db = get_db()
        return {"agency": db.execute("SELECT buyer_id FROM projects WHERE buyer_id IS NOT NULL LIMIT 1").fetchone()[0],
                "supplier": db.execute("SELECT supplier_id FROM contracts WHERE supplier_id IS NOT NULL LIMIT 1"
                                       ).fetchone()[0],
                "flag": db.execute("SELECT code FROM red_flags GROUP BY code ORDER BY count(*) DESC LIMIT 1"
                                   ).fetchone()[0],
                "province": "น่าน"}


@pytest.mark.parametrize("kind, page", [("agency", "/agencies/{}"), ("supplier", "/suppliers/{}"),
                                        ("province", "/provinces/{}"), ("flag", "/flags/{}")])
def test_each_followable_page_has_a_follow_button_to_a_form_that_says_what_it_covers(client, ids, kind, page):
    html = client.get(page.format(ids[kind])).get_data(as_text=True)
    link = re.search(r'href="(/watch/follow\?[^"]+)"', html).group(1).replace("&amp;", "&")
    form = client.get(link)
    text = form.get_data(as_text=True)
    assert form.status_code == 200 and "ติดตามทางอีเมล" in text and 'name="email"' in text
    assert ".atom" in text and "ธงแดงเป็นเพียงสัญญาณความเสี่ยง" in text


def test_following_something_that_does_not_exist_is_a_404(client):
    assert client.get("/watch/follow?kind=agency&key=no-such-agency").status_code == 404
    assert client.get("/watch/follow?kind=flag&key=ZZ99").status_code == 404
    assert client.get("/watch/follow?kind=search").status_code == 404


def test_a_bad_address_is_refused_naming_it_and_nothing_is_stored(app, client, ids):
    path = f"/watch/follow?kind=agency&key={ids['agency']}"
    r = client.post(path, data={**form_tokens(client, path), "email": "not an address", "lang": "th"})
    assert r.status_code == 400 and "นี่ไม่ใช่ที่อยู่อีเมล: not an address" in r.get_data(as_text=True)
    conn = open_complaints_db(app.config["COMPLAINTS_DATABASE"])
    assert conn.execute("SELECT count(*) FROM watch_subscribers").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_a_follow_waits_for_its_link_and_asking_again_sends_no_second_mail(app, client, ids):
    path = "/watch/follow?kind=search&q=ถนน&province=น่าน"
    for _ in range(2):
        r = client.post(path, data={**form_tokens(client, path), "email": "Someone@Example.org", "lang": "en"})
        assert r.status_code == 303
    conn = open_complaints_db(app.config["COMPLAINTS_DATABASE"])
    [row] = conn.execute("SELECT * FROM watch_follows").fetchall()
    assert row["kind"] == "search" and store.search_args(row["key"]) == {"q": "ถนน", "province": "น่าน"}
    assert row["confirmed_at"] is None
    assert conn.execute("SELECT count(*) FROM outbox WHERE kind = 'watch_confirm'").fetchone()[0] == 1
    raw = open(app.config["COMPLAINTS_DATABASE"], "rb").read()
    assert b"someone@example.org" not in raw.lower()  # encrypted; the lookup is a keyed hash
    with app.test_request_context():
        assert [f["kind"] for f in store.following(conn, channel="email", contact="someone@example.org")] == ["search"]


def test_a_confirmation_link_that_is_unknown_says_so(client):
    r = client.post("/watch/confirm/nothing-like-this", data=form_tokens(client, "/watch/confirm/nothing-like-this"))
    assert r.status_code == 404 and "ลิงก์นี้ใช้ไม่ได้แล้ว" in r.get_data(as_text=True)


def test_an_unknown_unsubscribe_link_changes_nothing(client):
    r = client.get("/watch/unsubscribe/1-AAAA")
    assert r.status_code == 404 and r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert client.post("/watch/unsubscribe/1-AAAA").status_code == 404
    assert client.get("/watch/s/1-AAAA").status_code == 404


def entries(response):
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    return ET.fromstring(response.data)


def test_a_red_flags_feed_lists_its_newest_projects(client, ids):
    feed = entries(client.get(f"/feeds/flags/{ids['flag']}.atom"))
    assert feed.findall(f"{ATOM}entry") and feed.find(f"{ATOM}link[@rel='alternate']").get("href").endswith(
        f"/flags/{ids['flag']}")
    assert client.get("/feeds/flags/ZZ99.atom").status_code == 404


def test_a_saved_searchs_feed_lists_what_the_search_finds(client):
    feed = entries(client.get("/feeds/search.atom?q=ถนน&page=3"))
    titles = [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")]
    assert titles and all("ถนน" in t for t in titles)
    assert client.get("/feeds/search.atom").status_code == 404
    assert client.get("/feeds/search.atom?fiscal_year=abc").status_code == 404


def test_the_province_feed_links_to_the_province_page(client):
    feed = entries(client.get("/feeds/provinces/น่าน.atom"))
    assert feed.find(f"{ATOM}link[@rel='alternate']").get("href").endswith("/provinces/%E0%B8%99%E0%B9%88%E0%B8%B2%E0%B8%99")


def test_resolve_what_a_person_types(app, ids):
    with app.test_request_context():
        from portal.db import get_db

        db = get_db()
        name = db.execute("SELECT name_th FROM agencies WHERE id = ?", [ids["agency"]]).fetchone()[0]
        tax_id = db.execute("SELECT tax_id FROM suppliers WHERE tax_id IS NOT NULL LIMIT 1").fetchone()[0]
        assert store.resolve(db, None, name)[:2] == ("agency", ids["agency"])
        assert store.resolve(db, None, ids["flag"].lower())[:2] == ("flag", ids["flag"])
        assert store.resolve(db, None, "จังหวัดน่าน")[:2] == ("province", "น่าน")
        assert store.resolve(db, None, tax_id)[0] == "supplier"
        assert store.resolve(db, None, f"https://prongsai.example/agencies/{ids['agency']}")[:2] == ("agency", ids["agency"])
        assert store.resolve(db, None, "https://prongsai.example/search?q=ถนน&page=2")[:2] == ("search", "q=%E0%B8%96%E0%B8%99%E0%B8%99")
        for text, message in [("", "บอกสิ่งที่ต้องการติดตาม"), ("ไม่มีชื่อนี้แน่นอน", "ไม่พบ"), ("0000000000000", "ไม่พบผู้ขาย"),
                              ("https://prongsai.example/about", "ลิงก์นี้ไม่ใช่")]:
            with pytest.raises(store.UserError, match=message):
                store.resolve(db, None, text)


def test_a_search_can_be_followed_with_its_filters(client):
    html = client.get("/search?q=ถนน&province=น่าน&page=2").get_data(as_text=True)
    link = re.search(r'href="(/watch/follow\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert "kind=search" in link and "page" not in link
    assert client.get(link).status_code == 200
    assert "/watch/follow" not in client.get("/search").get_data(as_text=True)


def test_without_the_encryption_key_following_by_email_waits_and_says_why(demo_db, tmp_path):
    from portal import create_app

    app = create_app({"DATABASE": str(demo_db), "COMPLAINTS_DATABASE": str(tmp_path / "c.db"), "SECRET_KEY": "x"})
    r = app.test_client().get("/watch/follow?kind=province&key=น่าน")
    assert r.status_code == 503 and "ฟีด Atom" in r.get_data(as_text=True)


def test_the_page_a_digest_links_to_lists_each_follow_and_stops_them_one_by_one(app, client, ids):
    conn = open_complaints_db(app.config["COMPLAINTS_DATABASE"])
    with app.test_request_context():
        for kind in ("agency", "flag"):
            store.follow(conn, channel="line", contact="U" + "f" * 32, kind=kind, key=ids[kind], label=f"{kind} label")
        token = store.subscriber_token(conn.execute("SELECT * FROM watch_subscribers").fetchone())
    page = client.get(f"/watch/s/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "agency label" in html and "flag label" in html
    assert page.headers["Cache-Control"] == "no-store"
    first, second = [r["id"] for r in conn.execute("SELECT id FROM watch_follows ORDER BY id")]
    path = f"/watch/s/{token}/remove/{first}"
    assert client.post(path, data=form_tokens(client, f"/watch/s/{token}")).status_code == 303
    assert "agency label" not in client.get(f"/watch/s/{token}").get_data(as_text=True)
    r = client.post(f"/watch/s/{token}/remove/{second}", data=form_tokens(client, f"/watch/s/{token}"))
    assert r.status_code == 200 and "เลิกรับแล้ว" in r.get_data(as_text=True)
    assert conn.execute("SELECT count(*) FROM watch_subscribers").fetchone()[0] == 0
