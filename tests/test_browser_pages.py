"""Every page a citizen, a journalist or a volunteer reads, in Thai and English, desktop and phone,
in a real browser (Debian's chromium via Playwright against ``prongsai serve``).

Home, search, a project with flags, the flag pages, agency, supplier, budget, report, track, exports,
the moderation queue, a case and its forwarding package; and where each role lands after signing
in. Each page is checked against the lists of ``test_plain_thai`` (no "…" placeholders, no raw
keys or codes, no ISO dates on Thai pages, no English words inside Thai flag sentences) and
photographed into bench/output/screens/ (git-ignored) for a person to look at.
"""
from __future__ import annotations

import os
import pathlib
import re
import sqlite3
import subprocess

import pytest
from test_browser import CHROMIUM, PRONGSAI, _free_port, browser, serving  # noqa: F401 - fixture
from test_plain_thai import PATTERNS_THAI, problems

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")]

SCREENS = pathlib.Path(__file__).resolve().parent.parent / "bench" / "output" / "screens"
PASSWORD = "correct horse battery staple"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 412, "height": 915}}
ROLES = {"vera": ("volunteer", "/volunteer"), "alice": ("moderator", "/moderate"), "ada": ("admin", "/moderate")}
#: raw keys and codes no page shows a reader
RAW = ("number_of_tenderers", "tax_id_status", "procurement_method", "project_ids", "window_days", "_pct",
       "contact_viewed", "approved_by=", "received → received", "nan ", "{{", "}}")
#: on Thai pages, never: ISO dates and 0.0 % (PATTERNS_THAI), THB beside บาท, Python's None
THAI_PAGE_WORDS = ("THB", "None")


@pytest.fixture(scope="module")
def site(portal_db, tmp_path_factory):
    """``prongsai serve`` with a volunteer, two moderators and an admin."""
    from cryptography.fernet import Fernet

    port = _free_port()
    data = tmp_path_factory.mktemp("browser-pages")
    env = dict(os.environ, PRONGSAI_DATA_DIR=str(data), PRONGSAI_COMPLAINTS_KEY=Fernet.generate_key().decode(),
               PRONGSAI_SECRET_KEY="browser-pages-secret")
    for name, (role, _) in ROLES.items():
        subprocess.run([str(PRONGSAI), "users", "add", name, "--role", role, "--password-stdin"], env=env,
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    with serving(portal_db, env, port) as base:
        yield base


@pytest.fixture(scope="module")
def ids(portal_db):
    db = sqlite3.connect(portal_db)
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    found = {
        # the project with the most flags of our own, a split purchase among them
        "project": one("SELECT r.project_id FROM red_flags r JOIN red_flags s ON s.project_id = r.project_id "
                       "WHERE r.code = 'TH10' GROUP BY r.project_id ORDER BY count(*) DESC, r.project_id LIMIT 1"),
        "agency": one("SELECT agency_id FROM agg_agency ORDER BY amount DESC LIMIT 1"),
        "supplier": one("SELECT supplier_id FROM agg_top_suppliers WHERE rank = 1"),
    }
    db.close()
    return found


def signed_in(browser, base, name, viewport="desktop"):  # noqa: F811
    context = browser.new_context(locale="th-TH", viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) button[type=submit]")
    return page


@pytest.fixture(scope="module")
def case(site, browser, ids):  # noqa: F811
    """A citizen's report on the flagged project, as a moderator finds it in the queue: its address."""
    citizen = browser.new_context(locale="th-TH").new_page()
    citizen.goto(f"{site}/projects/{ids['project']}/report")
    citizen.fill("textarea[name=body]", "ถนนสายนี้จ่ายเงินครบแล้ว แต่สร้างเสร็จเพียงครึ่งเดียว")
    citizen.click("form:has(textarea[name=body]) button[type=submit]")
    assert citizen.locator("output#tracking-code").count() == 1
    citizen.context.close()
    alice = signed_in(browser, site, "alice")
    alice.locator("a[href*='/moderate/cases/']").first.click()
    url = alice.url.split("?")[0]
    alice.context.close()
    return url[len(site):]


def check(page, lang: str, name: str) -> list[str]:
    """What on the page a reader of ``lang`` should not see."""
    text = page.locator("main").inner_text() if page.locator("main").count() else page.locator("body").inner_text()
    found = [f"{name}: placeholder …"] if "…" in text else []
    found += [f"{name}: raw {r!r}" for r in RAW if r in text]
    if lang == "th":
        found += [f"{name}: {p.pattern}" for p in PATTERNS_THAI[:2] if p.search(text)]
        found += [f"{name}: {w}" for w in THAI_PAGE_WORDS if re.search(rf"\b{w}\b", text)]
    for sentence in page.locator(".flag-list .flag > p:first-of-type, .flag-sentence").all_inner_texts():
        found += [f"{name}: flag sentence {sentence!r}: {p}" for p in problems(sentence, lang)]
    return found


def shoot(page, lang: str, viewport: str, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{lang}-{viewport}-{name}.png"), full_page=True)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", ["th", "en"])
def test_every_page_reads_plainly(site, browser, ids, case, lang, viewport):  # noqa: F811
    public = {
        "home": "/", "search": "/search?q=ถนน", "project": f"/projects/{ids['project']}", "flags": "/flags",
        "flag": "/flags/TH10", "agency": f"/agencies/{ids['agency']}", "supplier": f"/suppliers/{ids['supplier']}",
        "budget": "/budget", "report": f"/projects/{ids['project']}/report", "track": "/track", "exports": "/exports/",
    }
    context = browser.new_context(locale="th-TH", viewport=VIEWPORTS[viewport])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{site}/?lang={lang}")  # the choice, remembered in a cookie
    found = []
    for name, path in public.items():
        response = page.goto(site + path)
        assert response.status == 200, (name, response.status)
        assert page.locator("html").get_attribute("lang") == lang, name
        found += check(page, lang, name)
        shoot(page, lang, viewport, name)
    context.close()
    moderator = signed_in(browser, site, "alice", viewport)
    moderator.goto(f"{site}/moderate?lang={lang}")
    for name, path in {"queue": "/moderate", "case": case, "package": case + "/package"}.items():
        response = moderator.goto(site + path)
        assert response.status == 200, (name, response.status)
        found += check(moderator, lang, name)
        shoot(moderator, lang, viewport, name)
    moderator.context.close()
    assert not found, "\n".join(found)
    assert errors == []


@pytest.mark.parametrize("name", list(ROLES))
def test_each_role_lands_on_a_page_it_can_use(site, browser, name):  # noqa: F811
    role, landing = ROLES[name]
    page = signed_in(browser, site, name, "phone")
    assert page.url.split("?")[0] == site + landing, role
    assert page.locator("html").get_attribute("lang") == "th"
    assert "403" not in page.title() and "Forbidden" not in page.content()
    shoot(page, "th", "phone", f"landing-{role}")
    page.context.close()
