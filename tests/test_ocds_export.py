"""OCDS out: valid OCDS 1.1, the same rows after a round trip, the same ids everywhere."""
from __future__ import annotations

import io
import json
import sqlite3

import jsonschema
import pytest
from conftest import SHARED, needs_shared
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from test_ocds_import import REAL_SAMPLES

from prongsai.cli import cli
from prongsai.core.schema import PROVENANCE
from prongsai.derive import ocds_export
from scrapers import ocds

OCDS_DATA = SHARED / "data" / "ocds"
RELEASE_SCHEMA = json.loads((ocds.SCHEMA_DIR / "release-schema.json").read_text())  # the one Prongsai ships
PACKAGE_SCHEMA_FILE = OCDS_DATA / "schema-1.1.5" / "release-package-schema.json"
RELEASE_URL = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
PROVENANCE_COLUMNS = {c.split()[0] for c in PROVENANCE.strip().split(",")}


def _errors(release) -> list[str]:
    validator = jsonschema.Draft4Validator(RELEASE_SCHEMA)
    return [f"{release['ocid']} {list(e.path)}: {e.message[:120]}" for e in validator.iter_errors(release)]


def _rows(db_path) -> dict:
    """Every row of every table OCDS fills, provenance columns left out."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    out = {}
    for table in ocds.TABLES:
        rows = [{k: r[k] for k in r.keys() if k not in PROVENANCE_COLUMNS}
                for r in conn.execute(f"SELECT * FROM {table}")]
        out[table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, ensure_ascii=False))
    return out


def test_ocid_rules_are_shared_with_import():
    from prongsai.core.ocds import ocid_for, project_id_for

    assert ocid_for("ocds-213czf-UA-1", "ocds") == "ocds-213czf-UA-1"
    assert ocid_for("67119524444", "datagoth") == "ocds-prongsai-67119524444"
    assert ocid_for("67119524444", "demo", prefix="ocds-abc123") == "ocds-abc123-67119524444"
    assert project_id_for(ocid_for("67119524444", "egp")) == "67119524444"


@needs_shared
@pytest.mark.parametrize("name", sorted(REAL_SAMPLES))
def test_round_trip_gives_identical_rows(tmp_path, name):
    ocds.import_file(tmp_path / "first.db", OCDS_DATA / name)
    count = ocds_export.export_file(tmp_path / "first.db", tmp_path / "out.jsonl")
    assert count == REAL_SAMPLES[name][0]
    releases = [json.loads(line) for line in open(tmp_path / "out.jsonl")]
    assert [e for r in releases for e in _errors(r)] == []
    ocds.import_file(tmp_path / "second.db", tmp_path / "out.jsonl")
    first, second = _rows(tmp_path / "first.db"), _rows(tmp_path / "second.db")
    assert sum(len(rows) for rows in first.values()) > count  # more than bare projects went through
    for table in ocds.TABLES:
        assert second[table] == first[table], table


def test_demo_export_is_valid_ocds(demo_db, tmp_path):
    out = tmp_path / "demo.jsonl"
    count = ocds_export.export_file(demo_db, out)
    conn = sqlite3.connect(demo_db)
    conn.row_factory = sqlite3.Row
    assert count == conn.execute("SELECT count(*) FROM projects").fetchone()[0]
    releases = [json.loads(line) for line in open(out)]
    errors = [e for r in releases for e in _errors(r)]
    assert errors == [], errors[:5]
    assert len({r["ocid"] for r in releases}) == count
    assert len({r["id"] for r in releases}) == count

    release = releases[0]
    project = conn.execute("SELECT * FROM projects WHERE project_id = ?", [release["tender"]["id"]]).fetchone()
    assert release["ocid"] == f"ocds-prongsai-{project['project_id']}"
    tender = release["tender"]
    assert tender["value"] == {"amount": project["budget"], "currency": "THB"}
    assert tender["referencePrice"] == {"amount": project["reference_price"], "currency": "THB"}
    assert tender["procurementMethodDetails"] == project["method"]
    methods = {(r["tender"]["procurementMethodDetails"], r["tender"]["procurementMethod"]) for r in releases}
    assert ("เฉพาะเจาะจง", "limited") in methods and ("คัดเลือก", "selective") in methods
    assert ("ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)", "open") in methods
    assert tender["tenderPeriod"]["startDate"].endswith("T00:00:00+07:00")  # a Thai date, made a date-time
    ok_supplier = conn.execute("SELECT id, tax_id FROM suppliers WHERE tax_id_status = 'ok' LIMIT 1").fetchone()
    parties = {p["id"]: p for r in releases for p in r.get("parties", [])}
    assert parties[ok_supplier["id"]]["identifier"] == {"scheme": "TH-RD", "id": ok_supplier["tax_id"]}
    bids = sum(len(r.get("bids", {}).get("details", [])) for r in releases)
    assert bids == conn.execute("SELECT count(*) FROM bids").fetchone()[0]


def test_demo_export_reimports_its_bids_and_awards(demo_db, tmp_path):
    """Thai data read back by our own importer keeps what Cardinal-style flags read."""
    ocds_export.export_file(demo_db, tmp_path / "demo.jsonl")
    ocds.import_file(tmp_path / "back.db", tmp_path / "demo.jsonl")
    sql = ("SELECT b.status, b.amount, t.supplier_id FROM bids b JOIN bid_tenderers t ON t.bid_id = b.id "
           "ORDER BY 3, 2, 1")
    demo, back = sqlite3.connect(demo_db), sqlite3.connect(tmp_path / "back.db")
    assert back.execute(sql).fetchall() == demo.execute(sql).fetchall()
    sql = "SELECT count(*), count(DISTINCT supplier_id) FROM award_suppliers"
    assert back.execute(sql).fetchone() == demo.execute(sql).fetchone()
    sql = "SELECT announce_date, tender_start, tender_end FROM projects ORDER BY 1, 2, 3"  # plain dates again
    assert back.execute(sql).fetchall() == demo.execute(sql).fetchall()
    sql = "SELECT signed_date, end_date FROM contracts ORDER BY 1, 2"
    assert back.execute(sql).fetchall() == demo.execute(sql).fetchall()


@needs_shared
def test_package_format_is_a_valid_release_package(demo_db):
    out = io.StringIO()
    conn = sqlite3.connect(demo_db)
    count = ocds_export.write(conn, out, fmt="package", uri="https://example.invalid/ocds.json")
    package = json.loads(out.getvalue())
    assert len(package["releases"]) == count > 0
    resource = Resource.from_contents(RELEASE_SCHEMA, default_specification=DRAFT4)
    registry = Registry().with_resource(RELEASE_URL, resource)
    package_schema = json.loads(PACKAGE_SCHEMA_FILE.read_text())
    validator = jsonschema.Draft4Validator(package_schema, registry=registry)
    package["releases"] = package["releases"][:50]  # the whole export is checked release by release above
    assert [e.message for e in validator.iter_errors(package)] == []


def test_failed_export_keeps_the_previous_file(demo_db, tmp_path, monkeypatch):
    out = tmp_path / "ocds.jsonl"
    out.write_text("previous export\n")

    def broken(*args, **kwargs):
        yield {"ocid": "x"}
        raise RuntimeError("disk gone")

    monkeypatch.setattr(ocds_export, "releases", broken)
    with pytest.raises(RuntimeError):
        ocds_export.export_file(demo_db, out)
    assert out.read_text() == "previous export\n"


def test_cli_export_ocds(runner, demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("PRONGSAI_DATA_DIR", str(tmp_path))
    result = runner.invoke(cli, ["export", "ocds", "--db", str(demo_db), "--ocid-prefix", "ocds-zzz999"])
    assert result.exit_code == 0, result.output
    default = tmp_path / "exports" / "ocds.jsonl"
    first = json.loads(default.open().readline())
    assert first["ocid"].startswith("ocds-zzz999-")
    result = runner.invoke(cli, ["export", "ocds", "--db", str(demo_db), "--format", "package", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["releases"][0]["ocid"].startswith("ocds-prongsai-")
    result = runner.invoke(cli, ["export", "ocds", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code != 0 and "database not found" in result.output
