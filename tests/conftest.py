"""Shared fixtures (the flaskr pattern): ``app``, ``client``, ``runner`` over a built demo database.

``SHARED`` points at the real public records beside the checkout (CI has it too).
"""
from __future__ import annotations

import pathlib

import pytest

from portal import create_app
from prongsai.core.schema import open_db
from prongsai.demo import generate
from prongsai.derive.build import run_build

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
#: Tests on the real records in ../shared skip with this when the folder is absent (the suite runs without it).
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="needs the real records in ../shared (absent)")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """No test writes into the checkout's data/ folder."""
    monkeypatch.setenv("PRONGSAI_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> pathlib.Path:
    """A built demo database (3,000 projects, seed 1), shared read-only by the whole session."""
    path = tmp_path_factory.mktemp("demo") / "procurement.db"
    generate(path, projects=3000, seed=1)
    run_build(path)
    return path


@pytest.fixture
def tmp_db(tmp_path):
    """An empty public database built by the same schema code."""
    db = open_db(tmp_path / "procurement.db")
    yield db
    db.close()


@pytest.fixture
def app(demo_db, tmp_path):
    return create_app({
        "TESTING": True,
        "DATABASE": str(demo_db),
        "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"),
        "SECRET_KEY": "test",
    })


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


#: A project id as OCDS sources spell them: slashes and a space (the portal's path routes must cope).
ODD_PROJECT_ID = "ocds-th0001/2568 X/1"


@pytest.fixture(scope="session")
def portal_db(demo_db, tmp_path_factory) -> pathlib.Path:
    """The demo database plus a known red flag and an OCDS-style project with two contracts."""
    import shutil

    from prongsai.derive import aggregates, search_index

    path = tmp_path_factory.mktemp("portal") / "procurement.db"
    shutil.copy(demo_db, path)
    db = open_db(path)
    db.execute("BEGIN")
    db.execute("INSERT OR REPLACE INTO flag_definitions (code, scope, severity, title_th, title_en, explanation_th, "
               "explanation_en, threshold) VALUES ('TST01', 'process', 'high', 'ผู้เสนอราคารายเดียว', 'Single bidder', "
               "'มีผู้เสนอราคาเพียง {bidders} ราย', 'Only {bidders} bidder took part', 'bidders <= 1')")
    flagged = [r[0] for r in db.execute("SELECT project_id FROM projects ORDER BY project_id LIMIT 5")]
    for pid in flagged:
        db.execute("INSERT OR REPLACE INTO red_flags VALUES (?, 'TST01', 1, '{\"bidders\": 1}', '2025-10-15')", [pid])
    buyer = db.execute("SELECT buyer_id FROM projects LIMIT 1").fetchone()[0]
    db.execute("INSERT INTO projects (project_id, title, buyer_id, procuring_entity_id, method, fiscal_year, "
               "announce_date, budget, currency, province, source, source_url, fetched_at) VALUES "
               "(?, 'จ้างซ่อมถนนสายทดสอบ', ?, ?, 'คัดเลือก', 2568, '2025-01-10', 1000000, 'THB', 'น่าน', 'ocds', "
               "'https://example.org/ocds', '2025-10-01')", [ODD_PROJECT_ID, buyer, buyer])
    for k, (amount, signed) in enumerate([(400000, "2025-02-01"), (300000, None)], 1):
        db.execute("INSERT INTO contracts (id, project_id, contract_no, contract_amount, currency, signed_date) "
                   "VALUES (?, ?, ?, ?, 'THB', ?)", [f"{ODD_PROJECT_ID}/{k}", ODD_PROJECT_ID, f"C-{k}", amount, signed])
    db.execute("COMMIT")
    aggregates.build(db)
    search_index.update(db, [r[0] for r in db.execute(
        "SELECT rowid FROM projects WHERE project_id IN (%s)" % ", ".join("?" * (len(flagged) + 1)),
        [*flagged, ODD_PROJECT_ID])])
    db.close()
    return path


@pytest.fixture
def portal_client(portal_db, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(portal_db),
                       "COMPLAINTS_DATABASE": str(tmp_path / "complaints.db"), "SECRET_KEY": "test"}).test_client()


@pytest.fixture
async def datasette(demo_db):
    """Datasette over the built demo database, as ``prongsai serve`` configures it, started."""
    from prongsai.asgi import create_datasette

    ds = create_datasette(demo_db)
    await ds.invoke_startup()
    return ds
