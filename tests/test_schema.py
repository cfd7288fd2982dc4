import sqlite3

import pytest

from prongsai.core.schema import MIGRATIONS, SCHEMA_VERSION, migrate, open_db


def test_migrations_apply_once(tmp_db):
    versions = [r[0] for r in tmp_db.execute("SELECT version FROM schema_version")]
    assert versions == sorted(MIGRATIONS) and versions[-1] == SCHEMA_VERSION
    before = tmp_db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    assert migrate(tmp_db) == []
    assert tmp_db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before


def test_public_tables_and_names(tmp_db):
    tables = set(tmp_db.table_names())
    for name in ["meta", "agencies", "suppliers", "projects", "items", "bids", "bid_tenderers", "awards",
                 "award_suppliers", "award_items", "contracts", "announcements", "budget_items",
                 "red_flags", "org_flags", "risk_scores", "flag_definitions", "source_runs", "changes",
                 "quarantine"]:
        assert name in tables
    cols = tmp_db["projects"].columns_dict
    for col in ["project_id", "buyer_id", "procuring_entity_id", "method", "method_group", "ocds_method",
                "fiscal_year", "reference_price", "currency", "first_seen", "last_seen", "content_sha256"]:
        assert col in cols


def test_every_foreign_key_column_is_indexed(tmp_db):
    for table in tmp_db.table_names():
        indexed = {tuple(i.columns)[0] for i in tmp_db[table].indexes}
        pk = tmp_db[table].pks
        for fk in tmp_db[table].foreign_keys:
            assert fk.column in indexed or fk.column == pk[0], f"{table}.{fk.column} has no index"


def test_foreign_keys_enforced(tmp_db):
    with pytest.raises(sqlite3.IntegrityError):
        tmp_db.execute("INSERT INTO bids (id, project_id) VALUES ('x/1', 'missing')")


def test_only_the_private_database_overwrites_what_it_deletes(tmp_db, tmp_path):
    """Everything in the public one is published; a complaint's retention delete must leave no trace."""
    from portal.complaints.db import open_complaints_db

    assert tmp_db.execute("PRAGMA secure_delete").fetchone()[0] == 0
    assert open_complaints_db(tmp_path / "complaints.db").execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_failed_migration_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setitem(MIGRATIONS, SCHEMA_VERSION + 1, "CREATE TABLE half (a); CREATE TABLE broken (;")
    with pytest.raises(sqlite3.OperationalError):
        open_db(tmp_path / "x.db")
    db = sqlite3.connect(tmp_path / "x.db")
    assert db.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'half'").fetchone()
