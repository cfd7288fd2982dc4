"""Our Datasette plugins: cells, portal links and feeds, demo banner, rate limit, crawlers, inspect file."""
import importlib.util
import json
import re
from urllib.parse import quote

import pytest

from prongsai import datasette_inspect
from prongsai.asgi import PLUGINS_DIR, create_datasette


async def html(ds, path, **params):
    r = await ds.client.get(path, params=params)
    assert r.status_code == 200, r.text[:500]
    return r.text


async def test_money_in_baht_with_separators_and_be_dates(datasette):
    page = await html(datasette, "/procurement/contracts", _size="5")
    assert re.search(r'<span class="money">\d{1,3}(,\d{3})*\.\d{2}&nbsp;บาท</span>', page)
    assert re.search(r"\d{4}-\d{2}-\d{2} <span class=\"be-date\">\(\d{1,2} [^\s]+ 25\d\d\)</span>", page)
    # JSON keeps the stored values
    row = (await datasette.client.get("/procurement/contracts.json?_shape=array&_size=1")).json()[0]
    assert isinstance(row["contract_amount"], float) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["signed_date"])


async def test_ids_link_to_portal_pages(datasette):
    row = (await datasette.client.get("/procurement/contracts.json?_shape=array&_size=1")).json()[0]
    page = await html(datasette, "/procurement/contracts", _size="1")
    pid, sid = quote(row["project_id"], safe=""), quote(row["supplier_id"], safe="")
    assert f'href="/projects/{pid}"' in page and f'href="/projects/{pid}/report"' in page
    assert f'href="/suppliers/{sid}"' in page
    assert 'href="/data/procurement/projects/' in page  # Datasette's own row links are kept
    assert 'href="/data/procurement/suppliers/' in page
    page = await html(datasette, "/procurement/projects", _size="1")
    assert 'href="/agencies/' in page and 'href="/data/procurement/agencies/' in page
    page = await html(datasette, "/procurement/org_flags", org_type="tenderer", _size="1")
    assert 'href="/suppliers/' in page


async def test_flag_codes_are_badges_explained_in_plain_words(datasette):
    from markupsafe import escape

    from prongsai.derive.flags.explain import explain

    db = datasette.get_database("procurement")
    project_id, code, evidence = (await db.execute(
        "SELECT project_id, code, evidence FROM red_flags WHERE code = 'TH01' LIMIT 1")).rows[0]
    page = await html(datasette, "/procurement/red_flags", project_id=project_id, code=code)
    badge = re.search(rf'<span class="flag-badge" title="([^"]+)"[^>]*>{code}</span>', page)
    sentence = f"{code}: {explain(code, evidence, 'th')} / {explain(code, evidence, 'en')}"
    assert badge and badge.group(1).startswith(str(escape(sentence)))
    assert "ไม่ใช่หลักฐาน" in badge.group(1) and "%" in badge.group(1)  # filled with the evidence's numbers
    # comma-separated codes in the investigation tables become one badge each, titled by flag_definitions
    page = await html(datasette, "/procurement/recently_flagged", province="")
    assert page.count('class="flag-badge"') > 20
    first = re.search(r'<span class="flag-badge" title="([^"]+)"[^>]*>(\w+)</span>', page)
    title_th, title_en = (await db.execute(
        "SELECT title_th, title_en FROM flag_definitions WHERE code = ?", [first.group(2)])).rows[0]
    assert first.group(1).startswith(f"{first.group(2)}: {escape(title_th)} / {escape(title_en)}")


async def test_menu_and_table_actions_lead_back_to_the_portal(datasette):
    page = await html(datasette, "/")
    assert 'href="/"' in page and "พอร์ทัลโปร่งใส / Prongsai portal" in page
    page = await html(datasette, "/procurement/projects", method="คัดเลือก")
    assert "กลับสู่พอร์ทัล / Back to the portal" in page
    csv = re.search(r'href="(/data/procurement/projects\.csv\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert "_stream=on" in csv and "method=" in csv


async def test_feeds_on_province_and_agency_pages(datasette):
    page = await html(datasette, "/procurement/projects", province="น่าน")
    feed = f"/feeds/provinces/{quote('น่าน', safe='')}.atom"
    assert f'href="{feed}"' in page and 'type="application/atom+xml"' in page
    db = datasette.get_database("procurement")
    agency_id, province = (await db.execute(
        "SELECT id, province FROM agencies WHERE province != 'กรุงเทพมหานคร' LIMIT 1")).rows[0]
    page = await html(datasette, f"/procurement/agencies/{agency_id}")
    assert f'href="/feeds/agencies/{agency_id}.atom"' in page
    assert f'href="/feeds/provinces/{quote(province, safe="")}.atom"' in page
    page = await html(datasette, "/procurement/projects", buyer_id=agency_id)
    assert f'href="/feeds/agencies/{agency_id}.atom"' in page


async def test_demo_banner_on_every_page(datasette):
    for path in ["/", "/procurement", "/procurement/projects", "/procurement/recently_flagged"]:
        assert "ข้อมูลสาธิต / DEMO DATA" in await html(datasette, path)


async def test_no_demo_banner_on_real_data(tmp_db, tmp_path):
    tmp_db.execute("INSERT INTO meta VALUES ('dataset', 'real')")
    tmp_db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    tmp_db.execute("PRAGMA journal_mode = DELETE")
    ds = create_datasette(tmp_path / "procurement.db")
    await ds.invoke_startup()
    assert "DEMO DATA" not in await html(ds, "/procurement")


async def test_arbitrary_sql_is_rate_limited_per_client_but_canned_queries_are_not(datasette):
    """A journalist's exploring (60 queries in a row) passes; a script that keeps going is stopped."""
    statuses = []
    for _ in range(70):
        r = await datasette.client.get("/procurement.json", params={"sql": "select 1"})
        statuses.append(r.status_code)
    assert statuses[:60] == [200] * 60 and 429 in statuses
    assert int(r.headers["retry-after"]) >= 1 and "Too many SQL queries" in r.json()["error"]
    for _ in range(15):
        r = await datasette.client.get("/procurement/suppliers_across_agencies.json")
        assert r.status_code == 200
    assert (await datasette.client.get("/procurement/projects.json")).status_code == 200


def test_token_bucket_refills():
    spec = importlib.util.spec_from_file_location("heavy_endpoints", PLUGINS_DIR / "heavy_endpoints.py")
    heavy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(heavy)
    now = [0.0]
    buckets = heavy.TokenBuckets(per_minute=60, burst=2, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)
    assert buckets.take("b") == 0.0  # another client has its own bucket
    now[0] = 1.0
    assert buckets.take("a") == 0.0
    assert all(len(key) == 16 and b"a" != key for key in buckets.buckets)  # addresses are not kept


def test_many_clients_over_their_sql_limit_leave_a_newcomer_untouched():
    spec = importlib.util.spec_from_file_location("heavy_endpoints", PLUGINS_DIR / "heavy_endpoints.py")
    heavy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(heavy)
    buckets = heavy.TokenBuckets(per_minute=30, burst=2, clock=lambda: 0.0)
    for i in range(500):
        while not buckets.take(f"198.51.100.{i}"):
            pass
    assert buckets.take("203.0.113.1") == 0.0


async def test_heavy_endpoints_are_kept_from_crawlers(datasette):
    for path, params in [("/procurement/projects.csv", {}), ("/procurement", {"sql": "select 1"}),
                         ("/procurement/projects", {"_search": "ถนน"}), ("/procurement/projects", {"_facet": "method"})]:
        r = await datasette.client.get(path, params=params)
        assert r.headers.get("x-robots-tag") == "noindex, nofollow", path
    assert "x-robots-tag" not in (await datasette.client.get("/procurement/projects")).headers
    robots = (await datasette.client.get("/robots.txt")).text
    assert "Disallow: /data/procurement?" in robots and "Disallow: /data/*.csv" in robots


async def test_inspect_file_is_used_only_for_its_own_database(demo_db, tmp_path):
    data = datasette_inspect.load(demo_db)
    assert data["procurement"]["tables"]["projects"]["count"] == 3000
    assert create_datasette(demo_db).inspect_data == data
    other = tmp_path / "other.db-inspect.json"
    stale = json.loads(datasette_inspect.path_for(demo_db).read_text())
    stale["procurement"]["hash"] = "0" * 16
    other.write_text(json.dumps(stale))
    assert datasette_inspect.load(demo_db, other) is None


async def test_links_carry_the_data_prefix_once_and_resolve(demo_db, tmp_path):
    import httpx

    from prongsai.asgi import create_asgi_app

    app = create_asgi_app(demo_db, tmp_path / "complaints.db")
    await app.datasette.invoke_startup()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        seen = set()
        for page in ["/data/", "/data/procurement", "/data/procurement/projects?province=น่าน",
                     "/data/procurement/recently_flagged?province=", "/data/procurement?sql=select+1"]:
            r = await client.get(page)
            assert r.status_code == 200
            links = {h.replace("&amp;", "&") for h in re.findall(r'(?:href|action)="([^"#]+)"', r.text)}
            assert not [h for h in links if "/data/data/" in h], page
            seen |= {h.removeprefix("http://testserver") for h in links
                     if h.removeprefix("http://testserver").startswith("/data/")}
        exports = sorted(h for h in seen if ".json" in h or ".csv" in h or "_sort" in h or "_hide_sql" in h)
        assert len(exports) >= 8
        kinds = {}  # one link of each kind per page is enough to show they resolve
        for href in exports:
            kinds.setdefault((href.split("?")[0].rsplit(".", 1)[-1], "_sort" in href, "_hide_sql" in href), href)
        for href in kinds.values():
            assert (await client.get(href)).status_code == 200, href


async def test_big_tables_offer_facet_links_computed_only_when_clicked(datasette):
    page = await html(datasette, "/procurement/projects")
    assert 'class="facet-info' not in page  # no facet queries on a plain page view
    links = re.search(r'<p class="suggested-facets">แยกกลุ่มตาม / Facet by:(.*?)</p>', page, re.S).group(1)
    names = re.findall(r">(\w+)</a>", links)
    assert {"method", "fiscal_year", "province"} <= set(names)
    href = re.search(r'href="([^"]*_facet=method[^"]*)"', links).group(1).replace("&amp;", "&")
    assert href.startswith("/data/procurement/projects?")
    r = await datasette.client.get(href.removeprefix("/data"))
    assert 'data-column="method"' in r.text and "facet-info" in r.text
    page = await html(datasette, "/procurement/org_flags", _facet="code")  # an active facet is not offered again
    offered = re.search(r'<p class="suggested-facets">.*?</p>', page, re.S).group(0)
    assert ">org_type</a>" in offered and ">code</a>" not in offered


def test_client_is_fly_client_ip_only_behind_fly(monkeypatch):
    spec = importlib.util.spec_from_file_location("heavy_endpoints", PLUGINS_DIR / "heavy_endpoints.py")
    heavy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(heavy)
    scope = {"client": ("10.0.0.9", 1234), "headers": [(b"fly-client-ip", b"198.51.100.7")]}
    monkeypatch.delenv("PRONGSAI_BEHIND_FLY_PROXY", raising=False)
    assert heavy._client(scope) == "10.0.0.9"  # a spoofable header is ignored unless we are behind Fly
    monkeypatch.setenv("PRONGSAI_BEHIND_FLY_PROXY", "true")
    assert heavy._client(scope) == "198.51.100.7"
