import sqlite3

from prongsai.cli import cli


def test_demo_then_build(runner, tmp_path):
    db = tmp_path / "x.db"
    result = runner.invoke(cli, ["demo", "--db", str(db), "--projects", "50", "--seed", "2"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["build", "--db", str(db)])
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()[0] in result.output


def test_data_dir_moves_the_default(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("PRONGSAI_DATA_DIR", str(tmp_path / "elsewhere"))
    result = runner.invoke(cli, ["demo", "--projects", "5"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere" / "procurement.db").exists()


def test_missing_database_is_one_clear_line(runner, tmp_path):
    result = runner.invoke(cli, ["build", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code != 0
    assert "database not found" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_serve_warns_when_complaints_have_no_key(demo_db, monkeypatch):
    """The real CLI app (not the TESTING one): serving without the key says so before it starts."""
    import uvicorn
    from click.testing import CliRunner

    monkeypatch.delenv("PRONGSAI_COMPLAINTS_KEY", raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    result = CliRunner().invoke(cli, ["serve", "--db", str(demo_db)])
    assert result.exit_code == 0, result.output
    assert "PRONGSAI_COMPLAINTS_KEY" in result.output
