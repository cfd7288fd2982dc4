"""Every portal page through the Flask test client: content, language, edges and friendly errors."""
from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET

import pytest
from conftest import ODD_PROJECT_ID

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def ids(portal_db):
    db = sqlite3.connect(portal_db)
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    found = {
        "competitive": one("SELECT project_id FROM bids GROUP BY project_id HAVING count(*) >= 3 "
                           "AND sum(status = 'disqualified') >= 1 LIMIT 1"),
        "flagged": one("SELECT project_id FROM red_flags WHERE code = 'TST01' LIMIT 1"),
        "agency": one("SELECT agency_id FROM agg_agency ORDER BY amount DESC LIMIT 1"),
        "supplier": one("SELECT supplier_id FROM agg_top_suppliers WHERE rank = 1"),
        "province": one("SELECT province FROM agg_spend_province ORDER BY amount DESC LIMIT 1"),
    }
    db.close()
    return found


def no_inline_script(html: str) -> bool:
    """Every <script> has a src: the content security policy forbids inline script."""
    return all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))


def figures(html: str) -> list[dict]:
    return [json.loads(raw.replace("&#39;", "'")) for raw in re.findall(r"data-figure='([^']*)'", html)]


# --- home -------------------------------------------------------------------------------------

def test_home_is_thai_by_default_with_charts_as_data_and_tables(portal_client):
    r = portal_client.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert '<html lang="th"' in html
    assert "เงินจัดซื้อจัดจ้างภาครัฐไปที่ไหน" in html
    assert no_inline_script(html)
    figs = figures(html)
    assert len(figs) == 4 and all(f["data"][0].get("x") or f["data"][0].get("values") for f in figs)
    assert html.count('class="chart-table"') == 4  # every chart has its table
    assert "/vendor/plotly.min.js" in html and "charts.js" in html
    assert html.count('class="tile r') == 77  # the province tile map
    assert "บาท" in html


def test_home_totals_match_the_contracts(portal_client, portal_db):
    db = sqlite3.connect(portal_db)
    total = db.execute("SELECT total(contract_amount) FROM contracts WHERE currency = 'THB'").fetchone()[0]
    db.close()
    html = portal_client.get("/?lang=en").get_data(as_text=True)
    months = figures(html)[0]
    assert months["data"][0]["y"]  # the last 36 months
    assert f"{total / 1e9:,.2f}".rstrip("0").rstrip(".") + " billion baht" in html


def test_home_fiscal_year_filter_and_bad_value(portal_client):
    assert portal_client.get("/?fiscal_year=2567").status_code == 200
    r = portal_client.get("/?fiscal_year=abc")
    assert r.status_code == 400
    assert "fiscal_year" in r.get_data(as_text=True)
    assert "ใช้ไม่ได้" in r.get_data(as_text=True)  # the message is in Thai
    assert portal_client.get("/?fiscal_year=1999").status_code == 400


def test_footer_shows_build_id_and_data_date(portal_client, portal_db):
    db = sqlite3.connect(portal_db)
    build_id = db.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()[0]
    db.close()
    assert build_id in portal_client.get("/learn").get_data(as_text=True)


# --- language ---------------------------------------------------------------------------------

def test_language_from_query_is_remembered_in_a_cookie(portal_client):
    r = portal_client.get("/?lang=en")
    assert '<html lang="en"' in r.get_data(as_text=True)
    assert "lang=en" in r.headers["Set-Cookie"]
    assert '<html lang="en"' in portal_client.get("/about").get_data(as_text=True)
    assert '<html lang="th"' in portal_client.get("/about?lang=th").get_data(as_text=True)


def test_thai_by_default_whatever_the_browser_asks(portal_client):
    assert '<html lang="th"' in portal_client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="th"' in portal_client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_language_switch_keeps_the_query(portal_client):
    html = portal_client.get("/search?q=ถนน&fiscal_year=2567").get_data(as_text=True)
    switch = re.search(r'<a class="lang" href="([^"]+)"', html).group(1)
    assert "lang=en" in switch and "fiscal_year=2567" in switch and "q=" in switch


def test_dates_are_buddhist_era_in_thai_and_common_era_in_english(portal_client):
    th = portal_client.get(f"/projects/{ODD_PROJECT_ID}?lang=th").get_data(as_text=True)
    en = portal_client.get(f"/projects/{ODD_PROJECT_ID}?lang=en").get_data(as_text=True)
    assert "10 ม.ค. 2568" in th  # announce_date 2025-01-10
    assert "10 Jan 2025" in en


# --- project ----------------------------------------------------------------------------------

def test_project_page_shows_bidders_contracts_sources_and_report(portal_client, ids, portal_db):
    pid = ids["competitive"]
    r = portal_client.get(f"/projects/{pid}?lang=en")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    db = sqlite3.connect(portal_db)
    title, source_url = db.execute("SELECT title, source_url FROM projects WHERE project_id = ?", [pid]).fetchone()
    bidders = db.execute("SELECT count(*) FROM bids WHERE project_id = ?", [pid]).fetchone()[0]
    db.close()
    assert title in html and source_url in html
    assert "passed" in html and "failed" in html
    assert html.count('<tr class="winner">') == 1
    assert html.count("/suppliers/") >= bidders
    assert f'href="/projects/{pid}/report"' in html
    assert "แจ้งเบาะแส / Report this project" in html
    assert f"/data/procurement/projects/{pid}" in html
    assert 'property="og:title"' in html and "social-plugins.line.me/lineit/share?url=" in html
    assert "facebook.com/sharer/sharer.php?u=" in html
    assert "fetched" in html  # fetch date beside each source link
    assert no_inline_script(html)


def test_project_page_flags_in_plain_language_with_evidence(portal_client, ids):
    html = portal_client.get(f"/projects/{ids['flagged']}").get_data(as_text=True)
    assert "ผู้เสนอราคารายเดียว" in html  # Thai title from flag_definitions
    assert "มีผู้เสนอราคาเพียง 1 ราย" in html  # explanation filled from the evidence
    assert "/flags/TST01" in html
    en = portal_client.get(f"/projects/{ids['flagged']}?lang=en").get_data(as_text=True)
    assert "Only 1 bidder took part" in en


def test_project_ids_with_slashes_and_spaces(portal_client):
    r = portal_client.get("/projects/ocds-th0001/2568%20X/1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "จ้างซ่อมถนนสายทดสอบ" in html
    assert "/data/procurement/projects/ocds-th0001~2F2568+X~2F1" in html  # Datasette's tilde encoding
    assert 'href="/projects/ocds-th0001/2568%20X/1/report"' in html
    assert "700,000" in html  # both contracts


def test_unknown_project_is_a_friendly_404_in_the_current_language(portal_client):
    r = portal_client.get("/projects/00000000000")
    assert r.status_code == 404
    assert "ไม่พบหน้าที่คุณต้องการ" in r.get_data(as_text=True)
    en = portal_client.get("/projects/00000000000?lang=en")
    assert en.status_code == 404 and "We could not find that page." in en.get_data(as_text=True)


# --- agency, supplier -------------------------------------------------------------------------

def test_agency_page(portal_client, ids):
    r = portal_client.get(f"/agencies/{ids['agency']}?lang=en")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Its top suppliers" in html and "<meter" in html
    assert f"/search?agency={ids['agency']}" in html
    assert len(figures(html)) == 2
    assert f"/feeds/agencies/{ids['agency']}.atom" in html
    assert portal_client.get("/agencies/nope").status_code == 404


def test_agency_supplier_shares_add_up(portal_db, ids):
    db = sqlite3.connect(portal_db)
    shares = [r[0] for r in db.execute("SELECT share FROM agg_agency_supplier WHERE agency_id = ?", [ids["agency"]])]
    db.close()
    assert 0 < sum(shares) <= 1.000001 and shares == sorted(shares, reverse=True)


def test_supplier_page(portal_client, ids):
    r = portal_client.get(f"/suppliers/{ids['supplier']}?lang=en")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Agencies it sells to" in html and "Who it bids against" in html
    assert ids["supplier"] in html  # the 13-digit tax id
    assert portal_client.get("/suppliers/0000000000000").status_code == 404


# --- flags, budget, learn, about ----------------------------------------------------------------

def test_flags_page_and_flag_detail(portal_client):
    html = portal_client.get("/flags?lang=en").get_data(as_text=True)
    assert "Single bidder" in html and "5 projects" in html
    detail = portal_client.get("/flags/TST01?lang=en").get_data(as_text=True)
    assert "bidders &lt;= 1" in detail and "Newest examples" in detail
    assert portal_client.get("/flags/NOPE").status_code == 404


def test_budget_page(portal_client):
    r = portal_client.get("/budget?lang=en")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Procurement contracts" in html
    assert len(figures(html)) == 1
    assert portal_client.get("/budget?fiscal_year=2566").status_code == 200
    assert portal_client.get("/budget?fiscal_year=2500").status_code == 400


@pytest.mark.parametrize("lang,text", [("th", "ราคากลาง"), ("en", "Public Procurement and Supplies Administration Act")])
def test_learn_page_in_both_languages(portal_client, lang, text):
    html = portal_client.get(f"/learn?lang={lang}").get_data(as_text=True)
    assert text in html and "1206" in html and "1567" in html


def test_about_page_shows_coverage(portal_client):
    html = portal_client.get("/about?lang=en").get_data(as_text=True)
    assert "Fiscal years loaded" in html and "FY2025" in html
    assert "DEMO data" in html


# --- feeds ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,key", [("agencies", "agency"), ("suppliers", "supplier"), ("provinces", "province")])
def test_atom_feeds(portal_client, ids, kind, key):
    r = portal_client.get(f"/feeds/{kind}/{ids[key]}.atom")
    assert r.status_code == 200 and r.mimetype == "application/atom+xml"
    feed = ET.fromstring(r.data)
    entries = feed.findall(f"{ATOM}entry")
    assert 0 < len(entries) <= 20
    assert entries[0].find(f"{ATOM}link").get("href").startswith("http://localhost/projects/")


def test_feed_for_unknown_things_is_404(portal_client):
    assert portal_client.get("/feeds/agencies/nope.atom").status_code == 404
    assert portal_client.get("/feeds/planets/mars.atom").status_code == 404


# --- assets and errors -------------------------------------------------------------------------

def test_plotly_is_served_from_our_own_origin(portal_client):
    r = portal_client.get("/vendor/plotly.min.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript" and len(r.data) > 1_000_000
    r.close()


def test_every_chart_is_a_valid_plotly_figure(portal_client, ids):
    import plotly.graph_objects as go

    pages = ["/", "/?lang=en", "/budget", f"/agencies/{ids['agency']}", f"/suppliers/{ids['supplier']}"]
    figs = [f for url in pages for f in figures(portal_client.get(url).get_data(as_text=True))]
    assert len(figs) == 4 + 4 + 1 + 2 + 1
    for fig in figs:
        assert go.Figure(fig).to_plotly_json()["data"] == fig["data"]  # validated, nothing dropped or coerced


def test_charts_are_built_by_plotly_so_a_wrong_property_fails_loudly(portal_client):
    from portal import charts

    with portal_client.application.test_request_context("/"):
        with pytest.raises(ValueError, match="color"):
            charts.bar(["ก.ค. 67"], [1.0], color="not-a-colour")
        with pytest.raises(ValueError, match="color"):
            charts.grouped(["กระทรวงการคลัง"], [("Budget", [1.0], "#0b5cad"), ("Contracts", [2.0], "nope")])


@pytest.mark.parametrize("lang, unit, unstated", [("th", "ล้านบาท", "ไม่ระบุ"), ("en", "million baht", "not stated")])
def test_money_axes_read_in_thai_units_and_an_unknown_label_in_words(portal_client, lang, unit, unstated):
    from portal import charts

    with portal_client.application.test_request_context(f"/?lang={lang}"):
        fig = charts.bar(["กรมทางหลวง", "-"], [3_000_000_000.0, 15_000_000.0], horizontal=True)
        assert fig["layout"]["xaxis"]["title"]["text"] == ("พันล้านบาท" if lang == "th" else "billion baht")
        assert fig["data"][0]["x"] == [3.0, 0.015] and fig["data"][0]["y"] == ["กรมทางหลวง", unstated]
        assert fig["data"][0]["customdata"] == [3_000_000_000.0, 15_000_000.0]  # hover shows the exact baht
        assert "~s" not in str(fig["layout"])  # no SI suffixes: "3G" is not a Thai amount
        grouped = charts.grouped(["กระทรวงการคลัง"], [("Budget", [40_000_000.0], "#0b5cad"),
                                                         ("Contracts", [2_000_000.0], "#b35900")])
        assert grouped["layout"]["xaxis"]["title"]["text"] == unit
        assert [d["x"] for d in grouped["data"]] == [[40.0], [2.0]]


@pytest.mark.parametrize("url", ["/nope", "/agencies/", "/flags/%00", "/search?page=-1", "/search?page=x",
                                 "/search?page=%C2%B2", "/search?page=501", "/search?page=1e3",
                                 "/search?fiscal_year=๒๕๖๗x", "/search?method=nope", "/search?province=Atlantis",
                                 "/search?flag=XX", "/budget?fiscal_year=abc"])
def test_bad_addresses_and_parameters_never_500(portal_client, url):
    r = portal_client.get(url)
    assert r.status_code in (400, 404)
    assert "<main" in r.get_data(as_text=True)


# --- serving ----------------------------------------------------------------------------------

def test_serve_workers_one_app_per_process_with_tcp_nodelay(portal_db, monkeypatch):
    import uvicorn
    from click.testing import CliRunner

    from prongsai import asgi
    from prongsai.cli import cli

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    for name in ("PRONGSAI_SERVE_DB", "PRONGSAI_SERVE_COMPLAINTS_DB"):  # restored after the test
        monkeypatch.setenv(name, "unset")
    result = CliRunner().invoke(cli, ["serve", "--db", str(portal_db), "--port", "8123", "--workers", "2"])
    assert result.exit_code == 0, result.output
    (app, kw), = calls
    assert app == "prongsai.asgi:app_from_environment" and kw["factory"] and kw["workers"] == 2
    assert kw["access_log"] is False and kw["http"] == "prongsai.asgi:NoDelayHTTP"
    assert callable(asgi.app_from_environment())  # what each worker process builds from the environment


def test_connections_get_tcp_nodelay(monkeypatch):
    """uvicorn's shared --workers socket has protocol 0, so asyncio leaves Nagle on: we turn it off."""
    import socket

    from prongsai.asgi import NoDelayHTTP

    monkeypatch.setattr(NoDelayHTTP.__mro__[1], "connection_made", lambda self, transport: None)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    conn, _ = listener.accept()

    class Transport:
        def get_extra_info(self, name):
            return conn if name == "socket" else None

    try:
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        NoDelayHTTP.connection_made(object.__new__(NoDelayHTTP), Transport())
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for s in (conn, client, listener):
            s.close()


def test_a_database_swapped_in_place_is_read_at_the_next_request(portal_db, tmp_path):
    """Outside tests each thread keeps its connection; ``prongsai publish`` swaps the file by rename."""
    import os
    import shutil

    from portal import create_app

    live = tmp_path / "procurement.db"
    shutil.copy(portal_db, live)
    client = create_app({"DATABASE": str(live), "COMPLAINTS_DATABASE": str(tmp_path / "c.db")}).test_client()
    assert "TST01" in client.get("/flags?lang=en").get_data(as_text=True)
    new = tmp_path / "new.db"
    shutil.copy(portal_db, new)
    conn = sqlite3.connect(new)
    conn.execute("UPDATE meta SET value = 'swapped-build' WHERE key = 'build_id'")
    conn.commit()
    conn.close()
    os.replace(new, live)
    assert "swapped-build" in client.get("/learn").get_data(as_text=True)


def test_amounts_in_other_currencies_are_never_called_baht(portal_db, tmp_path):
    import shutil

    from portal import create_app

    path = tmp_path / "procurement.db"
    shutil.copy(portal_db, path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO projects (project_id, title, budget, currency) VALUES ('ocds-ua-1', 'Закупівля', 68327, 'UAH')")
    conn.execute("INSERT INTO contracts (id, project_id, contract_amount, currency) VALUES ('ocds-ua-1/1', 'ocds-ua-1', 5023.5, 'UAH')")
    conn.commit()
    conn.close()
    client = create_app({"TESTING": True, "DATABASE": str(path)}).test_client()
    html = client.get("/projects/ocds-ua-1?lang=en").get_data(as_text=True)
    assert "68,327 UAH" in html and "5,023.50 UAH" in html
    assert "68,327 baht" not in html and "0 baht" not in html


def test_template_gettext_is_jinja_new_style(app):
    """``_`` in templates: Markup when autoescaping (variables escaped), always a format string."""
    from flask import render_template_string

    with app.test_request_context("/?lang=en"):
        assert render_template_string('{{ _("%(n)s <b>100%%</b>", n="<x>") }}') == "&lt;x&gt; <b>100%</b>"
        assert render_template_string('{% autoescape false %}{{ _("%(n)s", n="<x>") }}{% endautoescape %}') == "<x>"
    with app.test_request_context("/?lang=th"):
        assert render_template_string('{{ _("Search") }}') != "Search"  # the Thai catalog


def test_a_letter_in_another_language_is_formatted_in_it(app):
    """Letters switch language inside one request (Thai first, then English): the page's cached
    language and catalog must follow, then come back."""
    from portal import format
    from portal.i18n import in_language

    with app.test_request_context("/?lang=th"):
        assert format.baht(1000) == "1,000 บาท"
        with in_language("en"):
            assert format.baht(1000) == "1,000 baht" and format.baht_short(2e6) == "2 million baht"
        assert format.baht(1000) == "1,000 บาท"
