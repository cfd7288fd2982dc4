"""The citizen network loop in a real browser: Debian's chromium driven by Playwright against
``prongsai serve`` and ``prongsai notify`` with a real SMTP server (aiosmtpd) on 127.0.0.1.

A citizen reports with an e-mail contact -> two moderators verify and forward -> the package
arrives at the agency's intake address -> the agency answers through its link -> a moderator
publishes the answer -> the citizen reads it on /track -> /responsiveness counts it.
"""
from __future__ import annotations

import os
import re
import subprocess

import pytest
from test_browser import CHROMIUM, OUTPUT, PRONGSAI, _free_port, browser, serving  # noqa: F401 - fixture
from test_outbox import Inbox

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")]

PASSWORD = "correct horse battery staple"
INTAKE = "intake@nacc.example"
REPORTER = "reporter@example.org"


@pytest.fixture(scope="module")
def loop_server(portal_db, tmp_path_factory):
    """``prongsai serve`` and the environment ``prongsai notify`` needs, with an SMTP inbox."""
    from aiosmtpd.controller import Controller
    from cryptography.fernet import Fernet

    inbox, smtp_port, port = Inbox(), _free_port(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    data = tmp_path_factory.mktemp("browser-loop")
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PRONGSAI_DATA_DIR=str(data), PRONGSAI_COMPLAINTS_KEY=Fernet.generate_key().decode(),
               PRONGSAI_SECRET_KEY="browser-loop-secret", PRONGSAI_SMTP_HOST="127.0.0.1",
               PRONGSAI_SMTP_PORT=str(smtp_port), PRONGSAI_SMTP_SECURITY="plain",
               PRONGSAI_SMTP_FROM="noreply@prongsai.test", PRONGSAI_PUBLIC_URL=base, PRONGSAI_INTAKE_NACC=INTAKE)
    for name in ("alice", "bob"):
        subprocess.run([str(PRONGSAI), "users", "add", name, "--role", "moderator", "--password-stdin"], env=env,
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    with serving(portal_db, env, port):
        yield {"base": base, "env": env, "inbox": inbox, "data": data}
    controller.stop()


def notify_once(server):
    subprocess.run([str(PRONGSAI), "notify", "--once"], env=server["env"], check=True, capture_output=True)


def signed_in(browser, base, name):  # noqa: F811
    context = browser.new_context(locale="th-TH")
    page = context.new_page()
    page.goto(f"{base}/login?lang=en")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=password]) button[type=submit]")
    return page


def decide(page, case_url, state, **fields):
    page.goto(case_url)
    form = page.locator(f"form:has(input[name=to_state][value={state}])")
    form.locator("input[name=reason]").fill("checked in the field")
    for name, value in fields.items():
        if name == "agency":
            form.locator("select[name=agency]").select_option(value)
        else:
            form.locator(f"input[name={name}]").fill(value)
    form.locator("button[type=submit]").click()


def test_the_loop_in_a_browser(loop_server, browser, portal_db):  # noqa: F811
    import sqlite3

    OUTPUT.mkdir(exist_ok=True)
    base, inbox = loop_server["base"], loop_server["inbox"]
    project = sqlite3.connect(portal_db).execute("SELECT project_id FROM red_flags ORDER BY project_id").fetchone()[0]
    citizen = browser.new_context(locale="th-TH").new_page()
    citizen.goto(f"{base}/projects/{project}/report?lang=en")
    citizen.fill("textarea[name=body]", "The road was paid for in full but only half of it was ever built.")
    citizen.check("input[name=mode][value=contact]")
    citizen.fill("[name=contact]", REPORTER)
    citizen.click("form:has(textarea[name=body]) button[type=submit]")
    code = citizen.locator("output#tracking-code").inner_text()

    alice, bob = signed_in(browser, base, "alice"), signed_in(browser, base, "bob")
    alice.goto(f"{base}/moderate?lang=en")
    alice.locator("a[href*='/moderate/cases/']").first.click()
    case_url = alice.url
    decide(alice, case_url, "triage")
    for state, fields in (("verified", {}), ("forwarded", {"agency": "nacc", "channel": "e-mail"})):
        decide(alice, case_url, state, **fields)
        bob.goto(f"{base}/moderate?lang=en")
        bob.locator(".proposal button").first.click()
    notify_once(loop_server)
    package = inbox.to(INTAKE)[0].get_body(("plain",)).get_content()
    link = re.search(re.escape(base) + r"(/reply/[A-Za-z0-9_-]+)", package).group(1)

    agency = browser.new_context(locale="th-TH").new_page()
    agency.goto(f"{base}{link}?lang=en")
    agency.check("input[name=kind][value=acknowledge]")
    agency.fill("textarea[name=body]", "Received; an inspector visits the site next week.")
    agency.click("form:has(textarea[name=body]) button[type=submit]")
    assert "Answer received" in agency.content()

    alice.goto(case_url)
    alice.locator(".answer textarea[name=public_text]").fill("The agency received the report and will inspect the site.")
    alice.locator(".answer button[value=published]").click()
    notify_once(loop_server)
    assert len(inbox.to(REPORTER)) >= 2 and all("/track" in m.get_body(("plain",)).get_content()
                                                 for m in inbox.to(REPORTER))

    citizen.goto(f"{base}/track?lang=en")
    citizen.fill("input[name=code]", code)
    citizen.click("form:has(input[name=code]) button[type=submit]")
    assert "will inspect the site" in citizen.content()
    citizen.screenshot(path=str(OUTPUT / "loop-track.png"), full_page=True)

    board = browser.new_context(locale="th-TH").new_page()
    board.goto(f"{base}/responsiveness?lang=en")
    assert "fewer than 3 cases" in board.content()  # one forwarded case: counted, not yet shown
    board.screenshot(path=str(OUTPUT / "loop-responsiveness.png"), full_page=True)
