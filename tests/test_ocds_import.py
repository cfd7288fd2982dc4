"""OCDS in: real publishers' samples, Cardinal's fixtures and bad input, loaded through ``SourceRun``."""
from __future__ import annotations

import collections
import gzip
import hashlib
import json
import pathlib
import sqlite3

import pytest
import requests
import responses
from conftest import FIXTURES, SHARED, needs_shared

import scrapers.http
from prongsai.cli import cli
from scrapers import ocds
from scrapers.store import TooManyBadRows

OCDS_DATA = SHARED / "data" / "ocds"
CARDINAL = SHARED / "data" / "cardinal-fixtures"
SCHEMA_DIR = OCDS_DATA / "schema-1.1.5"

#: file -> (projects, bids, contracts), counted by reading the files (see their README).
REAL_SAMPLES = {
    "prozorro-ua/records-10.json": (10, 2, 11),
    "prozorro-ua/compiled-releases-10.jsonl": (10, 2, 11),
    "ocdskit-realdata/compiled-release-1.json": (1, 0, 1),
    "ocdskit-realdata/compiled-release-2.json": (1, 0, 1),
    "ocdskit-realdata/cdmx-compiled-releases-2.jsonl": (2, 0, 2),
    "ocdskit-realdata/record-package-1-2.json": (2, 0, 3),
    "ocdskit-realdata/mx-federal-compiled-releases-2.jsonl": (2, 0, 3),
    "ocdskit-realdata/release-package_1.1-2.json": (1, 0, 1),
}


@pytest.fixture(autouse=True)
def _schema(monkeypatch):
    """The schema as published in ../shared when present, else the copy shipped with Prongsai."""
    if SCHEMA_DIR.exists():
        monkeypatch.setenv("PRONGSAI_OCDS_SCHEMA_DIR", str(SCHEMA_DIR))
    else:
        monkeypatch.delenv("PRONGSAI_OCDS_SCHEMA_DIR", raising=False)


def _count(db, table):
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _load(tmp_path, path, name="p.db"):
    db_path = tmp_path / name
    run = ocds.import_file(db_path, path)
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    return run, conn


@needs_shared
@pytest.mark.parametrize("name", sorted(REAL_SAMPLES))
def test_every_real_sample_imports(tmp_path, name):
    run, db = _load(tmp_path, OCDS_DATA / name)
    assert (_count(db, "projects"), _count(db, "bids"), _count(db, "contracts")) == REAL_SAMPLES[name]
    assert run.rows_quarantined == 0
    assert db.execute("SELECT status FROM source_runs").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert {r[0] for r in db.execute("SELECT DISTINCT source FROM projects")} == {"ocds"}


@needs_shared
def test_prozorro_open_tender_keeps_bids_awards_and_parties(tmp_path):
    _, db = _load(tmp_path, OCDS_DATA / "prozorro-ua/records-10.json")
    release = next(json.loads(line) for line in open(OCDS_DATA / "prozorro-ua/compiled-releases-10.jsonl")
                   if json.loads(line)["tender"]["procurementMethod"] == "open")
    project = db.execute("SELECT * FROM projects WHERE project_id = ?", [release["ocid"]]).fetchone()
    assert project["ocds_method"] == "open"
    assert project["tender_status"] == release["tender"]["status"]
    assert project["budget"] == release["tender"]["value"]["amount"]
    assert project["currency"] == release["tender"]["value"]["currency"]
    assert project["buyer_id"] == release["buyer"]["id"]
    assert project["tender_end"] == release["tender"]["tenderPeriod"]["endDate"]
    bids = db.execute("SELECT * FROM bids WHERE project_id = ? ORDER BY rowid", [release["ocid"]]).fetchall()
    assert [(b["bid_id"], b["amount"], b["status"], b["date"]) for b in bids] == [
        (d["id"], d["value"]["amount"], d["status"], d["date"]) for d in release["bids"]["details"]]
    tenderers = db.execute("SELECT t.supplier_id FROM bid_tenderers t JOIN bids b ON b.id = t.bid_id "
                           "WHERE b.project_id = ? ORDER BY b.rowid", [release["ocid"]]).fetchall()
    assert [t[0] for t in tenderers] == [d["tenderers"][0]["id"] for d in release["bids"]["details"]]
    supplier = db.execute("SELECT * FROM suppliers WHERE id = ?", [tenderers[0][0]]).fetchone()
    assert supplier["name_en"] or supplier["name_th"]
    assert supplier["tax_id_status"] == "missing"  # a Ukrainian EDRPOU is not a Thai tax id


@needs_shared
def test_ids_come_from_identifiers_when_references_have_none(tmp_path):
    _, db = _load(tmp_path, OCDS_DATA / "ocdskit-realdata/cdmx-compiled-releases-2.jsonl")
    release = json.loads(open(OCDS_DATA / "ocdskit-realdata/cdmx-compiled-releases-2.jsonl").readline())
    supplier = release["awards"][0]["suppliers"][0]
    assert "id" not in supplier
    row = db.execute("SELECT s.supplier_id FROM award_suppliers s JOIN awards a ON a.id = s.award_id "
                     "WHERE a.project_id = ?", [release["ocid"]]).fetchone()
    assert row[0] == supplier["identifier"]["id"]
    project = db.execute("SELECT * FROM projects WHERE project_id = ?", [release["ocid"]]).fetchone()
    assert project["buyer_id"] == release["buyer"]["identifier"]["id"]
    assert project["number_of_tenderers"] == release["tender"]["numberOfTenderers"]


@needs_shared
def test_contract_whose_award_is_not_published_keeps_its_link(tmp_path):
    _, db = _load(tmp_path, OCDS_DATA / "ocdskit-realdata/release-package_1.1-2.json")
    contract = db.execute("SELECT * FROM contracts").fetchone()
    award = db.execute("SELECT * FROM awards WHERE id = ?", [contract["award_id"]]).fetchone()
    assert award["status"] is None and award["amount"] is None
    assert contract["supplier_id"].startswith("x:") and contract["supplier_name"]  # named, no id


def test_release_package_is_merged_per_ocid(tmp_path):
    run, db = _load(tmp_path, FIXTURES / "ocds" / "release-package-two-stages.json")
    assert run.rows_in == 2
    p = db.execute("SELECT * FROM projects WHERE project_id = 'ocds-bkk001-2569-0001'").fetchone()
    # the tender release gives the title, the later award release the final status
    assert p["title"].startswith("จ้างก่อสร้าง") and p["tender_status"] == "complete"
    assert p["method"] == "ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)" and p["ocds_method"] == "open"
    assert p["number_of_tenderers"] == 2 and p["fiscal_year"] == 2569
    assert [tuple(r) for r in db.execute("SELECT bid_id, status FROM bids ORDER BY rowid")] == [
        ("b1", "valid"), ("b2", "disqualified")]
    supplier = db.execute("SELECT * FROM suppliers WHERE id = 'TH-RD-0105536000003'").fetchone()
    assert (supplier["tax_id"], supplier["tax_id_status"]) == ("0105536000003", "ok")
    agency = db.execute("SELECT * FROM agencies WHERE id = 'TH-EGP-5000600'").fetchone()
    assert (agency["department_code"], agency["province"]) == ("5000600", "กรุงเทพมหานคร")
    contract = db.execute("SELECT * FROM contracts").fetchone()
    assert contract["supplier_id"] == "TH-RD-0105536000003" and contract["award_amount"] == 4590000


@needs_shared
def test_a_rerun_changes_nothing(tmp_path):
    ocds.import_file(tmp_path / "p.db", OCDS_DATA / "prozorro-ua/records-10.json")
    again = ocds.import_file(tmp_path / "p.db", OCDS_DATA / "prozorro-ua/compiled-releases-10.jsonl")
    assert again.rows_in == 10 and again.rows_changed == 0


def test_our_own_ocid_prefix_is_stripped():
    records = ocds.release_records({"ocid": "ocds-prongsai-67119524444", "tender": {"id": "x"}})
    assert records.rows("projects")[0]["project_id"] == "67119524444"
    records = ocds.release_records({"ocid": "ocds-abc-1"}, ocid_prefixes=["ocds-abc"])
    assert records.rows("projects")[0]["project_id"] == "1"


# --- Cardinal's conformance fixtures: every field Cardinal reads survives the import ----------

CARDINAL_FILES = sorted(CARDINAL.glob("*/*.jsonl"))


def _expected(release):
    tender = release.get("tender", {})
    period = tender.get("tenderPeriod", {})
    valid = lambda v: v if v and v[0].isdigit() else None  # noqa: E731 - 'invalid' dates are dropped
    bids = [(b.get("status"), (b.get("value") or {}).get("amount"), (b.get("value") or {}).get("currency"),
             b.get("date"), sorted(t["id"] for t in b.get("tenderers", [])))
            for b in release.get("bids", {}).get("details", [])]
    awards = [(a.get("status"), sorted(s["id"] for s in a.get("suppliers", [])),
               sorted({i["classification"]["id"] for i in a.get("items", [])}))
              for a in release.get("awards", [])]
    return {
        "tender_status": tender.get("status"), "ocds_method": tender.get("procurementMethod"),
        "method": tender.get("procurementMethodDetails"), "tender_start": valid(period.get("startDate")),
        "tender_end": valid(period.get("endDate")), "number_of_tenderers": tender.get("numberOfTenderers"),
        "buyer_id": release.get("buyer", {}).get("id"),
        "procuring_entity_id": tender.get("procuringEntity", {}).get("id"),
        "bids": bids, "awards": awards,
    }


def _stored(db, ocid):
    p = db.execute("SELECT * FROM projects WHERE project_id = ?", [ocid]).fetchone()
    bids = []
    for b in db.execute("SELECT * FROM bids WHERE project_id = ? ORDER BY rowid", [ocid]):
        ids = sorted(r[0] for r in db.execute("SELECT supplier_id FROM bid_tenderers WHERE bid_id = ?", [b["id"]]))
        bids.append((b["status"], b["amount"], b["currency"], b["date"], ids))
    awards = []
    for a in db.execute("SELECT * FROM awards WHERE project_id = ? ORDER BY rowid", [ocid]):
        ids = sorted(r[0] for r in db.execute("SELECT supplier_id FROM award_suppliers WHERE award_id = ?", [a["id"]]))
        classes = sorted(r[0] for r in db.execute(
            "SELECT classification_id FROM award_items WHERE award_id = ?", [a["id"]]))
        awards.append((a["status"], ids, classes))
    return {**{k: p[k] for k in ("tender_status", "ocds_method", "method", "tender_start", "tender_end",
                                 "number_of_tenderers", "buyer_id", "procuring_entity_id")},
            "bids": bids, "awards": awards}


@needs_shared
@pytest.mark.parametrize("path", CARDINAL_FILES, ids=[f"{p.parent.name}/{p.name}" for p in CARDINAL_FILES])
def test_cardinal_fixture_imports_without_loss(tmp_path, path):
    run, db = _load(tmp_path, path)
    releases = [json.loads(line) for line in open(path) if line.strip()]
    assert run.rows_quarantined == 0 and _count(db, "projects") == len(releases)
    for release in releases:
        assert _stored(db, release["ocid"]) == _expected(release), release["ocid"]


@needs_shared
def test_cardinal_fixtures_cover_the_odd_cases():
    """The conformance test above must see the tricky inputs it claims to handle."""
    seen = collections.Counter()
    for path in CARDINAL_FILES:
        for line in filter(str.strip, open(path)):
            release = json.loads(line)
            for bid in release.get("bids", {}).get("details", []):
                seen["bid without tenderers"] += "tenderers" not in bid
                seen["bid without amount"] += "amount" not in bid.get("value", {"amount": 0})
            seen["invalid date"] += "invalid" in line
            seen["award item without scheme"] += '"classification":{"id"' in line
    assert all(seen[k] for k in ("bid without tenderers", "bid without amount", "invalid date",
                                 "award item without scheme")), seen


# --- bad input ---------------------------------------------------------------------------------


def _jsonl(path, releases, bad_lines=()):
    lines = [json.dumps(r) for r in releases]
    for index, text in bad_lines:
        lines.insert(index, text)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_lines_are_quarantined_and_the_rest_loads(tmp_path):
    releases = [{"ocid": f"ocds-x-{i}", "tender": {"id": str(i), "value": {"amount": i, "currency": "USD"}}}
                for i in range(40)]
    path = _jsonl(tmp_path / "in.jsonl", releases, [(3, '{"ocid": "broken",'), (7, '{"tender": {"id": "1"}}')])
    run, db = _load(tmp_path, path)
    assert (_count(db, "projects"), run.rows_quarantined) == (40, 2)
    reasons = sorted(r[0] for r in db.execute("SELECT reason FROM quarantine"))
    assert reasons[0].startswith("invalid JSON") and reasons[1] == "release without ocid"
    assert {r[0] for r in db.execute("SELECT location FROM quarantine")} == {"in.jsonl:4", "in.jsonl:8"}


def test_an_unreadable_amount_quarantines_its_release(tmp_path):
    with pytest.raises(ocds.BadRelease, match="tender.value: not an amount"):
        ocds.release_records({"ocid": "x", "tender": {"value": {"amount": "a lot"}}})


def test_mostly_bad_input_loads_nothing(tmp_path):
    path = _jsonl(tmp_path / "in.jsonl", [{"ocid": "ok"}], [(0, "{]"), (0, '{"no": "ocid"}')])
    with pytest.raises(TooManyBadRows):
        _load(tmp_path, path)
    db = sqlite3.connect(tmp_path / "p.db")
    assert _count(db, "projects") == 0
    assert db.execute("SELECT status FROM source_runs").fetchone()[0] == "failed"


def test_invalid_json_document_fails_with_its_name(tmp_path):
    path = tmp_path / "package.json"
    path.write_text('{"releases": [{"ocid": "a"}, {"ocid": ')
    with pytest.raises(ocds.OCDSError, match="package.json: invalid JSON") as error:
        _load(tmp_path, path)
    assert "\n" not in str(error.value)  # one line, even though yajl draws a pointer below it
    db = sqlite3.connect(tmp_path / "p.db")
    assert _count(db, "projects") == 0


@needs_shared
def test_a_json_document_that_is_not_ocds_is_refused(tmp_path):
    with pytest.raises(ocds.OCDSError, match="not OCDS"):
        _load(tmp_path, SCHEMA_DIR / "release-package-schema.json")


@needs_shared
def test_cli_scrape_ocds(runner, tmp_path):
    db = tmp_path / "cli.db"
    result = runner.invoke(cli, ["scrape", "ocds", "--db", str(db), "--file",
                                 str(OCDS_DATA / "prozorro-ua/compiled-releases-10.jsonl")])
    assert result.exit_code == 0, result.output
    assert "10 releases read" in result.output
    result = runner.invoke(cli, ["scrape", "ocds", "--db", str(db), "--bangkok", "2026"])
    assert result.exit_code != 0 and "Buddhist-era year" in result.output


def test_bangkok_feed_url_is_named_by_be_year():
    assert ocds.bangkok_url(2569).endswith("/yearly/ocds_releases_2569.json")


def test_record_without_compiled_release_is_merged_by_date():
    found = list(ocds.read_releases(FIXTURES / "ocds" / "record-package-without-compiled.json"))
    (_, merged, problem, partial), (_, _, linked_only, _) = found
    assert problem is None and not partial
    # releases come newest first in the file; the merge orders them by date
    assert merged["tender"]["title"] == "Road repair" and merged["tender"]["status"] == "complete"
    assert merged["awards"][0]["suppliers"][0]["id"] == "S1"
    assert "only linked" in linked_only


@needs_shared
def test_a_file_import_needs_no_network_the_release_schema_ships_with_prongsai(tmp_path, monkeypatch):
    monkeypatch.delenv("PRONGSAI_OCDS_SCHEMA_DIR")
    ocds._merger.cache_clear()
    asked = []

    def offline(self, method, url, *args, **kwargs):
        asked.append(url)
        raise requests.ConnectionError(f"no network in this test: {url}")

    monkeypatch.setattr(requests.Session, "request", offline)
    run, db = _load(tmp_path, FIXTURES / "ocds" / "release-package-two-stages.json")  # merged: needs the schema
    assert asked == [] and run.rows_quarantined == 0
    assert db.execute("SELECT status FROM source_runs").fetchone()[0] == "ok"
    shipped = ocds.schema_dir()
    assert shipped.is_relative_to(pathlib.Path(ocds.__file__).parent)
    assert (shipped / "release-schema.json").read_bytes() == (SCHEMA_DIR / "release-schema.json").read_bytes()
    assert "Apache License" in (shipped / "LICENSE").read_text() and "Open Contracting" in (shipped / "NOTICE").read_text()
    ocds._merger.cache_clear()


@needs_shared
def test_configured_schema_dir_still_wins_and_must_hold_the_schema(tmp_path, monkeypatch):
    assert ocds.schema_dir() == SCHEMA_DIR
    monkeypatch.setenv("PRONGSAI_OCDS_SCHEMA_DIR", str(tmp_path))
    with pytest.raises(ocds.OCDSError, match=f"PRONGSAI_OCDS_SCHEMA_DIR={tmp_path} has no release-schema.json"):
        ocds.schema_dir()


@needs_shared
def test_import_url_downloads_then_loads_with_provenance(tmp_path, monkeypatch):
    monkeypatch.setattr(scrapers.http, "DEFAULT_INTERVAL", 0)
    url = "https://opencontract.example.th/data/compiled.jsonl"
    body = (OCDS_DATA / "prozorro-ua/compiled-releases-10.jsonl").read_bytes()
    with responses.RequestsMock() as mocked:
        mocked.get("https://opencontract.example.th/robots.txt", status=404)
        mocked.get(url, body=body)
        run = ocds.import_url(tmp_path / "p.db", url)
    assert run.rows_in == 10
    db = sqlite3.connect(tmp_path / "p.db")
    assert db.execute("SELECT DISTINCT source_url FROM projects").fetchall() == [(url,)]
    assert db.execute("SELECT target, target_sha256 FROM source_runs").fetchone() == (
        url, hashlib.sha256(body).hexdigest())


def test_stages_in_different_yearly_files_add_up(tmp_path):
    """Bangkok publishes a release package per year; a process can span two of them."""
    package = json.loads((FIXTURES / "ocds" / "release-package-two-stages.json").read_text())
    tender, award, _ = package["releases"]
    for year, release in (("2568", tender), ("2569", award)):
        (tmp_path / f"ocds_releases_{year}.json").write_text(json.dumps({**package, "releases": [release]}))
        ocds.import_file(tmp_path / "p.db", tmp_path / f"ocds_releases_{year}.json")
    db = sqlite3.connect(tmp_path / "p.db")
    row = db.execute("SELECT title, budget, tender_status, number_of_tenderers FROM projects").fetchone()
    assert row == ("จ้างก่อสร้างรางระบายน้ำ ซอยสุขุมวิท 101", 4850000, "complete", 2)
    assert _count(db, "bids") == 2 and _count(db, "contracts") == 1


def test_a_compiled_release_states_the_whole_process(tmp_path):
    path = tmp_path / "compiled.jsonl"
    path.write_text(json.dumps({"ocid": "ocds-x-1", "tender": {"title": "Old title", "numberOfTenderers": 3}}))
    ocds.import_file(tmp_path / "p.db", path)
    path.write_text(json.dumps({"ocid": "ocds-x-1", "tender": {"numberOfTenderers": 4}}))
    ocds.import_file(tmp_path / "p.db", path)
    db = sqlite3.connect(tmp_path / "p.db")
    assert db.execute("SELECT title, number_of_tenderers FROM projects").fetchone() == (None, 4)
    change = db.execute("SELECT field, old_value, new_value FROM changes WHERE field = 'title'").fetchone()
    assert change == ("title", "Old title", None)


@needs_shared
def test_a_package_on_one_long_line_is_streamed(tmp_path, monkeypatch):
    monkeypatch.setattr(ocds, "MAX_LINE", 4096)  # Bangkok's yearly files are one line of many MB
    package = json.loads((OCDS_DATA / "prozorro-ua/records-10.json").read_text())
    path = tmp_path / "one-line.json"
    path.write_text(json.dumps(package))
    assert path.stat().st_size > 4096 and not ocds._is_json_lines(path)
    run, db = _load(tmp_path, path)
    assert run.rows_in == 10 and _count(db, "contracts") == 11


def test_what_a_compiled_release_no_longer_lists_is_removed(tmp_path):
    release = {"ocid": "ocds-x-1", "bids": {"details": [
        {"id": "b1", "status": "valid", "tenderers": [{"id": "A"}]},
        {"id": "b2", "status": "valid", "tenderers": [{"id": "B"}]}]},
        "awards": [{"id": "a1", "status": "active", "suppliers": [{"id": "A"}]}]}
    other = {"ocid": "ocds-x-2", "bids": {"details": [{"id": "b9", "status": "valid"}]}}
    path = tmp_path / "compiled.jsonl"
    _jsonl(path, [release, other])
    ocds.import_file(tmp_path / "p.db", path)
    release["bids"]["details"].pop()  # the publisher drops bid b2 ...
    release["awards"] = []  # ... and the award
    _jsonl(path, [release])  # ocds-x-2 is not in this file: it stays as it was
    run = ocds.import_file(tmp_path / "p.db", path)
    db = sqlite3.connect(tmp_path / "p.db")
    assert [r[0] for r in db.execute("SELECT id FROM bids ORDER BY id")] == ["ocds-x-1/b1", "ocds-x-2/b9"]
    assert db.execute("SELECT bid_id, supplier_id FROM bid_tenderers").fetchall() == [("ocds-x-1/b1", "A")]
    assert _count(db, "awards") == 0 and _count(db, "award_suppliers") == 0
    removed = db.execute("SELECT table_name, row_id FROM changes WHERE field = '(removed)' ORDER BY 1").fetchall()
    assert removed == [("awards", "ocds-x-1/a1"), ("bids", "ocds-x-1/b2")]
    assert run.rows_changed == 2
    assert db.execute("SELECT kind, key FROM run_touched WHERE source_run_id = ?", (run.id,)).fetchall() == [
        ("project", "ocds-x-1")]  # for an incremental build: the project whose rows were removed


def test_a_compiled_release_removes_its_dropped_rows_of_a_project_another_source_stored(tmp_path):
    from scrapers.store import SourceRun

    with SourceRun(tmp_path / "p.db", "egp-json") as run:
        run.upsert("projects", {"project_id": "ocds-x-1", "title": "จาก e-GP"})
    release = {"ocid": "ocds-x-1", "bids": {"details": [{"id": "b1", "status": "valid"},
                                                        {"id": "b2", "status": "valid"}]}}
    path = tmp_path / "compiled.jsonl"
    _jsonl(path, [release])
    ocds.import_file(tmp_path / "p.db", path)
    release["bids"]["details"].pop()
    _jsonl(path, [release])
    ocds.import_file(tmp_path / "p.db", path)
    db = sqlite3.connect(tmp_path / "p.db")
    assert db.execute("SELECT source FROM projects").fetchall() == [("egp-json",)]  # OCDS only filled it
    assert [r[0] for r in db.execute("SELECT id FROM bids")] == ["ocds-x-1/b1"]


def test_thai_midnight_is_a_plain_date_and_exports_as_a_date_time_again(tmp_path):
    from prongsai.derive import ocds_export

    release = {"ocid": "ocds-x-1", "tender": {"tenderPeriod": {"startDate": "2024-01-05T00:00:00+07:00",
                                                               "endDate": "2024-01-20T16:30:00+07:00"}}}
    path = tmp_path / "compiled.jsonl"
    _jsonl(path, [release])
    ocds.import_file(tmp_path / "p.db", path)
    db = sqlite3.connect(tmp_path / "p.db")
    assert db.execute("SELECT tender_start, tender_end FROM projects").fetchone() == (
        "2024-01-05", "2024-01-20T16:30:00+07:00")
    ocds_export.export_file(tmp_path / "p.db", tmp_path / "out.jsonl")
    (exported,) = [json.loads(line) for line in open(tmp_path / "out.jsonl")]
    assert exported["tender"]["tenderPeriod"] == release["tender"]["tenderPeriod"]


def test_a_release_package_never_removes(tmp_path):
    """Bangkok's yearly files each hold some stages: a later file must not remove earlier bids."""
    package = json.loads((FIXTURES / "ocds" / "release-package-two-stages.json").read_text())
    ocds.import_file(tmp_path / "p.db", FIXTURES / "ocds" / "release-package-two-stages.json")
    path = tmp_path / "next-year.json"
    path.write_text(json.dumps({**package, "releases": [package["releases"][0]]}))  # tender stage only
    ocds.import_file(tmp_path / "p.db", path)
    assert _count(sqlite3.connect(tmp_path / "p.db"), "bids") == 2


@needs_shared
def test_gzipped_json_lines_of_packages(tmp_path):
    """ocdskit and Kingfisher write one package per line, often gzipped."""
    package = (FIXTURES / "ocds" / "release-package-two-stages.json").read_text()
    records = (OCDS_DATA / "prozorro-ua/records-10.json").read_text()
    path = tmp_path / "packages.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write(json.dumps(json.loads(package)) + "\n" + json.dumps(json.loads(records)) + "\n")
    run, db = _load(tmp_path, path)
    assert (run.rows_in, _count(db, "projects"), _count(db, "bids")) == (12, 12, 4)
    status = db.execute("SELECT tender_status FROM projects WHERE project_id = 'ocds-bkk001-2569-0001'")
    assert status.fetchone()[0] == "complete"  # the package's two releases were merged
