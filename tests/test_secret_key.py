"""The key that signs sessions and forms: never a constant, made once, private, shared by workers."""
from __future__ import annotations

import re
import stat
import subprocess
import sys

import pytest
from flask.sessions import SecureCookieSessionInterface

from portal import create_app
from prongsai.core import config
from prongsai.core.errors import UserError

OLD_CONSTANT = "dev-only-not-secret"


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch):
    monkeypatch.delenv("PRONGSAI_SECRET_KEY", raising=False)


def careless_app(demo_db, folder, **extra):
    """An app as `make run` or a careless `prongsai serve` builds it: no secret key configured."""
    return create_app({"TESTING": True, "DATABASE": str(demo_db),
                       "COMPLAINTS_DATABASE": str(folder / "complaints.db"), **extra})


def test_without_a_configured_key_a_random_one_is_kept_privately_and_reused(demo_db, tmp_path):
    app = careless_app(demo_db, tmp_path / "private")
    key_file = tmp_path / "private" / "secret_key"
    assert app.secret_key != OLD_CONSTANT and len(app.secret_key) >= 64
    assert key_file.read_text() == app.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert careless_app(demo_db, tmp_path / "private").secret_key == app.secret_key  # a restart
    assert careless_app(demo_db, tmp_path / "elsewhere").secret_key != app.secret_key
    assert [p.name for p in (tmp_path / "private").iterdir()] == ["secret_key"]  # no temporary file left


def test_a_configured_key_wins_and_no_file_is_written(demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("PRONGSAI_SECRET_KEY", "from-the-environment-" + "x" * 40)
    assert careless_app(demo_db, tmp_path).secret_key == "from-the-environment-" + "x" * 40
    assert careless_app(demo_db, tmp_path, SECRET_KEY="t").secret_key == "t"
    assert not (tmp_path / "secret_key").exists()


def test_workers_starting_at_once_agree_on_one_key(tmp_path):
    script = ("import sys; from prongsai.core import config; "
              "print(config.secret_key(sys.argv[1]))")
    workers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "complaints.db")],
                                stdout=subprocess.PIPE, text=True) for _ in range(8)]
    keys = {w.communicate(timeout=60)[0].strip() for w in workers}
    assert len(keys) == 1 and keys == {(tmp_path / "secret_key").read_text()}


def test_a_damaged_key_file_is_refused_by_name(tmp_path):
    (tmp_path / "secret_key").write_text("short")
    with pytest.raises(UserError, match=re.escape(str(tmp_path / "secret_key"))):
        config.secret_key(tmp_path / "complaints.db")


def test_a_session_minted_with_the_old_constant_opens_no_case(demo_db, tmp_path):
    app = careless_app(demo_db, tmp_path)
    pid = "P-1"
    with app.app_context():
        from portal.complaints import cases
        from portal.complaints.db import get_cdb
        from prongsai.core.config import evidence_dir
        cases.create_complaint(get_cdb(), evidence_dir(app.config["COMPLAINTS_DATABASE"]), nonce="n-1",
                               project={"project_id": pid}, body="A road was paid for but never built.",
                               concern="money", contact=None, files=[])
    forged_app = create_app({"TESTING": True, "SECRET_KEY": OLD_CONSTANT})
    forged = SecureCookieSessionInterface().get_signing_serializer(forged_app).dumps(
        {"track": {"id": 1, "until": 4e9}})
    client = app.test_client()
    client.set_cookie("session", forged)
    page = client.get("/track?lang=en").get_data(as_text=True)
    assert "Received" not in page and 'name="code"' in page  # the code form, not the case
