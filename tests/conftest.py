"""Shared fixtures (the flaskr pattern): ``app``, ``client``, ``runner`` over a built demo database.

``SHARED`` points at the real public records beside the checkout (CI has it too).
"""
from __future__ import annotations

import pathlib

import pytest

from portal import create_app
from prongsai.build import run_build
from prongsai.demo import generate
from prongsai.schema import open_db

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"


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
