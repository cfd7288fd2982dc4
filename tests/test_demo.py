import hashlib
import sqlite3

import pytest

from prongsai.core.errors import UserError
from prongsai.core.schema import open_db, set_meta
from prongsai.core.thai import is_valid_tax_id
from prongsai.demo import PROVINCES, generate


def _digest(path):
    db = sqlite3.connect(path)
    h = hashlib.sha256()
    for table in ("projects", "bids", "suppliers", "contracts"):
        for row in db.execute(f"SELECT * FROM {table} ORDER BY 1"):
            h.update(repr(row).encode())
    return h.hexdigest()


def test_same_seed_same_data(tmp_path):
    generate(tmp_path / "a.db", projects=400, seed=7)
    generate(tmp_path / "b.db", projects=400, seed=7)
    generate(tmp_path / "c.db", projects=400, seed=8)
    assert _digest(tmp_path / "a.db") == _digest(tmp_path / "b.db") != _digest(tmp_path / "c.db")


def test_demo_is_realistic(demo_db):
    db = sqlite3.connect(demo_db)
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    assert one("SELECT value FROM meta WHERE key = 'dataset'") == "demo"
    assert one("SELECT count(*) FROM projects") == 3000
    assert one("SELECT count(DISTINCT province) FROM agencies") == len(PROVINCES) == 77
    methods = dict(db.execute("SELECT method_group, count(*) FROM projects GROUP BY 1").fetchall())
    assert set(methods) == {"เฉพาะเจาะจง", "ประกาศเชิญชวนทั่วไป", "คัดเลือก"}
    assert methods["เฉพาะเจาะจง"] > sum(methods.values()) / 2
    statuses = dict(db.execute("SELECT tax_id_status, count(*) FROM suppliers GROUP BY 1").fetchall())
    assert statuses.keys() >= {"ok", "masked", "damaged"}
    for (tax_id,) in db.execute("SELECT tax_id FROM suppliers WHERE tax_id_status = 'ok'"):
        assert is_valid_tax_id(tax_id)
    assert one("SELECT count(*) FROM suppliers WHERE tax_id_status != 'ok' AND tax_id IS NOT NULL") == 0
    # September (fiscal year end) is the busiest month
    busiest = one("SELECT substr(announce_date, 6, 2) m FROM projects GROUP BY m ORDER BY count(*) DESC")
    assert busiest == "09"
    assert one("SELECT count(*) FROM projects WHERE number_of_tenderers != "
               "(SELECT count(*) FROM bids WHERE bids.project_id = projects.project_id)") == 0
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_demo_refuses_to_overwrite_real_data(tmp_path):
    path = tmp_path / "real.db"
    db = open_db(path)
    set_meta(db, dataset="real")
    db.close()
    with pytest.raises(UserError, match="real"):
        generate(path, projects=10)
    assert sqlite3.connect(path).execute("SELECT value FROM meta WHERE key='dataset'").fetchone()[0] == "real"


def test_demo_replaces_demo_only_with_force(tmp_path):
    path = tmp_path / "d.db"
    generate(path, projects=10)
    with pytest.raises(UserError, match="--force"):
        generate(path, projects=20)
    generate(path, projects=20, force=True)
    assert sqlite3.connect(path).execute("SELECT count(*) FROM projects").fetchone()[0] == 20
