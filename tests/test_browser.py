"""A new user's path in a real browser: Debian's chromium driven by Playwright against ``prongsai serve``.

Home page → search a Thai word → open a flagged project → read its flags → switch to English →
click Report. Screenshots go to test-output/ (git-ignored) so a person can look at the pages.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

CHROMIUM = pathlib.Path("/usr/bin/chromium")
OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "test-output"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
WORD = "ถนน"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PRONGSAI = pathlib.Path(sys.executable).parent / "prongsai"


@contextlib.contextmanager
def serving(db, env: dict, port: int):
    """``prongsai serve --db db`` on ``port`` with ``env``, as a user would start it: its base URL
    once /healthz answers; stopped on the way out."""
    proc = subprocess.Popen([str(PRONGSAI), "serve", "--db", str(db), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("prongsai serve did not start: " + proc.stderr.read().decode(errors="replace")[-2000:])
            time.sleep(0.3)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(portal_db, tmp_path_factory):
    from cryptography.fernet import Fernet

    data = tmp_path_factory.mktemp("browser-data")
    env = dict(os.environ, PRONGSAI_DATA_DIR=str(data), PRONGSAI_COMPLAINTS_KEY=Fernet.generate_key().decode())
    with serving(portal_db, env, _free_port()) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def test_new_user_finds_a_flagged_project_and_reports_it(server, browser):
    OUTPUT.mkdir(exist_ok=True)
    context = browser.new_context(locale="th-TH", viewport={"width": 412, "height": 915})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # 1. the home page, in Thai because the browser asks for Thai; charts drawn by the static script
    page.goto(server + "/")
    assert page.locator("html").get_attribute("lang") == "th"
    page.wait_for_selector(".chart.drawn .main-svg", timeout=20_000)
    assert page.locator("html.js").count() == 1
    page.screenshot(path=str(OUTPUT / "browser-1-home.png"), full_page=False)

    # 2. search a Thai word from the header box
    page.fill("#site-q", WORD)
    page.press("#site-q", "Enter")
    page.wait_for_url("**/search?q=*")
    results = page.locator("ol.results.projects > li")
    assert results.count() > 0
    assert WORD in results.first.inner_text()

    # 3. open a project that carries a red flag
    flagged = page.locator("ol.results.projects > li:has(a.badge)").first
    flagged.locator("a").first.click()
    page.wait_for_url("**/projects/**")

    # 4. read its flags: plain-language sentences, not codes
    flags = page.locator(".flag-list .flag")
    assert flags.count() >= 1
    first = flags.first.inner_text()
    assert len(first) > 20 and any("\u0e00" <= ch <= "\u0e7f" for ch in first)
    page.screenshot(path=str(OUTPUT / "browser-2-project-th.png"), full_page=True)

    # 5. switch to English: same project, English text, choice remembered
    project_url = page.url
    page.click("a.lang")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#flags-h").inner_text() == "Red flags"
    assert page.url.split("?")[0] == project_url.split("?")[0]
    page.screenshot(path=str(OUTPUT / "browser-3-project-en.png"), full_page=True)

    # 6. Report: the complaints form for this very project
    report = page.locator("a.report")
    assert "Report this project" in report.inner_text()
    with page.expect_navigation():
        report.click()
    assert page.url.split("?")[0] == project_url.split("?")[0] + "/report"
    page.screenshot(path=str(OUTPUT / "browser-4-report.png"), full_page=True)
    assert page.locator("form").count() >= 1
    assert errors == []
    context.close()
