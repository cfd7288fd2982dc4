"""refresh: sources into a staging copy, then build, then publish; a failed source keeps yesterday's rows."""
import datetime as dt
import json
import re
import sqlite3
import types

import pytest

from portal import create_app
from prongsai.cli import cli
from prongsai.core.errors import UserError
from prongsai.core.schema import open_db, set_meta
from prongsai.derive.build import run_build
from prongsai.ops.refresh import Source, plan, refresh


@pytest.fixture
def live(tmp_path):
    """Yesterday's real public database: one project from each source."""
    path = tmp_path / "procurement.db"
    db = open_db(path)
    db.execute("BEGIN")
    set_meta(db, dataset="real")
    for source in ("good", "broken"):
        db.execute("INSERT INTO projects (project_id, title, source) VALUES (?, 'yesterday', ?)",
                   [f"{source}-1", source])
        db.execute("INSERT INTO source_runs (source, started_at, finished_at, status, rows_in) "
                   "VALUES (?, '2026-01-01', '2026-01-01', 'ok', 1)", [source])
    db.execute("COMMIT")
    db.close()
    run_build(path)
    return path


def good(name, options, staging):
    conn = sqlite3.connect(staging)
    with conn:
        conn.execute("INSERT OR REPLACE INTO projects (project_id, title, source) VALUES ('good-2', ?, 'good')",
                     [f"today {options.get('year', '')}"])
        conn.execute("INSERT INTO source_runs (source, status, rows_in) VALUES ('good', 'ok', 1)")
    conn.close()


def broken(name, options, staging):
    """Fails half-way through its load: its transaction rolls back, as the scrapers' loads do."""
    conn = sqlite3.connect(staging)
    conn.execute("BEGIN")
    conn.execute("UPDATE projects SET title = 'half-written' WHERE source = 'broken'")
    conn.close()  # rolled back
    raise ConnectionError("e-GP answered 403 (anti-bot wall)")


def run(name, options, staging):
    {"good": good, "broken": broken}[name](name, options, staging)


def titles(path):
    return dict(sqlite3.connect(path).execute("SELECT project_id, title FROM projects"))


def test_failed_source_keeps_yesterday_and_shows_in_healthz(live, tmp_path):
    outcomes, published = refresh(live, [Source("good", {"year": 2570}), Source("broken")], run)
    assert [(o.source, o.ok) for o in outcomes] == [("good", True), ("broken", False)]
    assert "403" in outcomes[1].error
    assert titles(live) == {"good-1": "yesterday", "good-2": "today 2570", "broken-1": "yesterday"}
    conn = sqlite3.connect(live)
    assert conn.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()[0] == published["build_id"]
    app = create_app({"TESTING": True, "DATABASE": str(live), "COMPLAINTS_DATABASE": str(tmp_path / "c.db")})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    sources = response.get_json()["sources"]
    assert sources["good"]["status"] == "ok"
    assert sources["broken"]["status"] == "failed" and "403" in sources["broken"]["error"]
    about = app.test_client().get("/about").get_data(as_text=True)
    assert re.search(r"<td>broken</td><td>[^<]*</td><td>failed</td>", about)
    assert re.search(r"<td>good</td><td>[^<]*</td><td>ok</td>", about)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".procurement.db.refresh")
                and not p.name.endswith(".lock")]


def test_scraper_that_recorded_its_own_failure_gets_no_second_row(live):
    def records_then_fails(name, options, staging):
        conn = sqlite3.connect(staging)
        with conn:
            conn.execute("INSERT INTO source_runs (source, status, error) VALUES ('broken', 'failed', 'layout changed')")
        raise RuntimeError("layout changed")

    refresh(live, [Source("broken")], records_then_fails)
    rows = sqlite3.connect(live).execute(
        "SELECT status, error FROM source_runs WHERE source = 'broken' ORDER BY id").fetchall()
    assert rows == [("ok", None), ("failed", "layout changed")]


def test_disabled_sources_do_not_run(live):
    calls = []
    refresh(live, [Source("good", enabled=False), Source("broken", enabled=False)],
            lambda *a: calls.append(a))
    assert calls == []


def test_refresh_refuses_a_demo_database(tmp_path):
    from prongsai.demo import generate

    demo = tmp_path / "procurement.db"
    generate(demo, projects=5, seed=1)
    with pytest.raises(UserError, match="DEMO"):
        refresh(demo, [Source("good")], run)


def test_nothing_to_publish_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="nothing to publish"):
        refresh(tmp_path / "procurement.db", [Source("broken")], run)
    assert not (tmp_path / "procurement.db").exists()


def test_plan_follows_module_flags_and_sources_yml(tmp_path):
    path = tmp_path / "sources.yml"
    path.write_text("sources:\n  slow:\n    enabled: true\n    options:\n"
                    "      year: '{fiscal_year}'\n      since: 'FY{previous_fiscal_year}'\n"
                    "  daily:\n    enabled: false\n"
                    "  twice:\n    options:\n      - {year: '{fiscal_year}'}\n      - {year: 2500}\n")
    registry = {"daily": True, "slow": False, "other": True, "twice": True}
    sources = plan(registry, path, today=dt.date(2026, 11, 27))
    assert sources == [Source("daily", {}, False),
                       Source("slow", {"year": 2570, "since": "FY2569"}, True),
                       Source("other", {}, True),
                       Source("twice", {"year": 2570}, True), Source("twice", {"year": 2500}, True)]
    assert plan(registry, path, today=dt.date(2026, 9, 30))[1].options["year"] == 2569
    path.write_text("sources:\n  nope: {}\n")
    with pytest.raises(UserError, match="no such source: nope"):
        plan({"daily": True}, path)
    path.write_text("sources:\n  daily:\n    enabled: yes please\n")
    with pytest.raises(UserError, match="enabled"):
        plan({"daily": True}, path)


def test_shipped_sources_yml_fits_the_real_sources():
    """Every option in sources.yml is a keyword its source's run_live() takes."""
    import inspect

    import scrapers

    sources = plan({name: bool(getattr(scrapers.source(name), "REFRESH", False)) for name in scrapers.SOURCES})
    enabled = [s for s in sources if s.enabled]
    assert enabled
    for s in enabled:
        inspect.signature(scrapers.source(s.name).run_live).bind("procurement.db", **s.options)


def test_cli_refresh_exit_status_says_some_sources_failed(runner, live, monkeypatch):
    import scrapers

    modules = {"good": types.SimpleNamespace(REFRESH=True, run_live=lambda db, **o: good("good", o, db)),
               "broken": types.SimpleNamespace(REFRESH=True, run_live=lambda db, **o: broken("broken", o, db))}
    monkeypatch.setattr(scrapers, "SOURCES", {name: name for name in modules})
    monkeypatch.setattr(scrapers, "source", modules.__getitem__)
    sources_file = live.parent / "sources.yml"
    sources_file.write_text("sources: {}\n")
    args = ["refresh", "--db", str(live), "--sources", str(sources_file)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 3, result.output
    assert "1 ok, 1 failed (broken)" in result.output
    result = runner.invoke(cli, [*args, "--only", "good"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, [*args, "--only", "nope"])
    assert result.exit_code == 1 and "no such source: nope" in result.output


def test_refresh_writes_the_exports_the_portal_serves(live, tmp_path):
    refresh(live, [Source("good")], run)
    folder = tmp_path / "exports"
    ocds = (folder / "ocds.jsonl").read_text().splitlines()
    assert {json.loads(line)["ocid"] for line in ocds} == {
        "ocds-prongsai-good-1", "ocds-prongsai-good-2", "ocds-prongsai-broken-1"}
    assert (folder / "flags-cardinal.json").exists()
    app = create_app({"TESTING": True, "DATABASE": str(live), "COMPLAINTS_DATABASE": str(tmp_path / "c.db")})
    assert app.test_client().get("/exports/ocds.jsonl").status_code == 200
