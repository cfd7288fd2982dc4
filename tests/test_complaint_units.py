"""A buying agency's own complaint unit as a receiving agency: offered only on a case of a project
that agency bought, e-mailed at the address of the intake list's ``units`` section, and counted on
the responsiveness board like the national bodies."""
from __future__ import annotations

import pytest
import yaml
from test_complaints_citizen import submit
from test_complaints_moderation import login, post
from test_loop import conn, project_of, run_worker  # noqa: F401 - fixtures
from test_outbox import mail_app, smtp  # noqa: F401 - fixtures

from portal.complaints import agency, cases, intake

UNIT_ADDRESS = "complaints@unit.example.go.th"


def buyer_of(app, project_id):
    with app.app_context():
        from portal.db import get_db

        return get_db().execute("SELECT buyer_id FROM projects WHERE project_id = ?", [project_id]).fetchone()[0]


@pytest.fixture
def units(tmp_path, monkeypatch):
    """An intake list with one unit; returns a function adding the buyer of a project to it."""
    path = tmp_path / "intake.yml"
    monkeypatch.setenv("PRONGSAI_INTAKE_FILE", str(path))

    def add(agency_id, **entry):
        path.write_text(yaml.safe_dump({"units": {agency_id: {"name": "ศูนย์รับเรื่องร้องเรียนของหน่วยงาน",
                                                               "email": UNIT_ADDRESS, **entry}}},
                                       allow_unicode=True), encoding="utf-8")
    path.write_text("units: {}\n", encoding="utf-8")
    return add


def propose_forward(app, conn, case_no, to):  # noqa: F811
    alice, _ = login(app, "alice")
    bob, _ = login(app, "bob")
    assert post(alice, f"/moderate/cases/{case_no}/transition", to_state="triage", reason="claim").status_code == 303
    r = post(alice, f"/moderate/cases/{case_no}/propose", to_state="verified", reason="checked")
    assert r.status_code == 303
    assert post(bob, f"/moderate/proposals/{conn.execute('SELECT max(id) FROM proposals').fetchone()[0]}/approve"
                ).status_code == 303
    return alice, bob, post(alice, f"/moderate/cases/{case_no}/propose", to_state="forwarded", reason="checked",
                            agency=to, channel="e-mail")


def test_the_buyers_unit_is_offered_and_receives_the_package(mail_app, conn, smtp, units):  # noqa: F811
    pid = project_of(mail_app)
    buyer = buyer_of(mail_app, pid)
    units(buyer)
    submit(mail_app.test_client(), pid, lang="th", mode="anonymous", evidence=[])
    case = conn.execute("SELECT * FROM complaints").fetchone()
    alice, bob, r = propose_forward(mail_app, conn, case["case_no"], f"unit:{buyer}")
    assert r.status_code == 303
    page = alice.get(f"/moderate/cases/{case['case_no']}?lang=en").get_data(as_text=True)
    assert "ศูนย์รับเรื่องร้องเรียนของหน่วยงาน" in page
    assert post(bob, f"/moderate/proposals/{conn.execute('SELECT max(id) FROM proposals').fetchone()[0]}/approve"
                ).status_code == 303
    assert run_worker(mail_app, conn)["sent"] >= 1
    [package] = smtp.to(UNIT_ADDRESS)
    assert case["case_no"] in package["Subject"]
    assert conn.execute("SELECT agency FROM forwardings").fetchone()[0] == f"unit:{buyer}"
    with mail_app.test_request_context():
        board = agency.board(conn, minimum=3)
    assert board[f"unit:{buyer}"] == {"forwarded": 1, "shown": False}


def test_a_unit_of_another_agency_is_refused(mail_app, conn, units):  # noqa: F811
    pid = project_of(mail_app)
    units("not-the-buyer")
    submit(mail_app.test_client(), pid, lang="th", mode="anonymous", evidence=[])
    case = conn.execute("SELECT * FROM complaints").fetchone()
    alice, _, r = propose_forward(mail_app, conn, case["case_no"], "unit:not-the-buyer")
    assert conn.execute("SELECT count(*) FROM proposals WHERE to_state = 'forwarded'").fetchone()[0] == 0
    page = alice.get(f"/moderate/cases/{case['case_no']}?lang=en").get_data(as_text=True)
    assert "unit:not-the-buyer" not in page  # not offered either


def test_a_unit_without_an_address_says_where_to_add_it(units):
    units("0307", email=None)
    with pytest.raises(intake.UserError, match="under `units` in the intake list"):
        intake.address("unit:0307")
    assert cases.RECIPIENTS["unit:gone"]["name"]  # a unit dropped from the list keeps a name


def _row(conn, table, **values):
    """Insert a row giving every NOT NULL column without a default a placeholder."""
    for col in conn.execute(f"PRAGMA table_info({table})"):
        if col["notnull"] and col["dflt_value"] is None and not col["pk"] and col["name"] not in values:
            values[col["name"]] = "x"
    cols = ", ".join(values)
    return conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(values))})",
                        list(values.values())).lastrowid


def test_version_8_keeps_forwardings_and_what_points_at_them(tmp_path):
    import sqlite3

    from portal.complaints.db import MIGRATIONS
    from prongsai.core.migrations import migrate

    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn, {v: s for v, s in MIGRATIONS.items() if v < 8})
    complaint = _row(conn, "complaints", case_no="PS-1")
    forwarding = _row(conn, "forwardings", complaint_id=complaint, agency="sao")
    _row(conn, "reminders", forwarding_id=forwarding, number=1)
    assert migrate(conn, MIGRATIONS)[0] == 8
    assert [tuple(r) for r in conn.execute("SELECT id, agency FROM forwardings")] == [(forwarding, "sao")]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    _row(conn, "forwardings", complaint_id=complaint, agency="unit:0307")
    with pytest.raises(sqlite3.IntegrityError):
        _row(conn, "forwardings", complaint_id=complaint, agency="somewhere")
    assert "outbox_dots" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
