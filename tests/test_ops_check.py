"""check: integrity of both databases, evidence rows and files reconciled both ways."""
import sqlite3

import pytest
from test_ops_backup import make_complaints

from prongsai.cli import cli
from prongsai.ops.check import check_complaints, check_public
from prongsai.ops.publish import publish


def failures(findings):
    return [f for f in findings if not f.ok]


@pytest.fixture
def complaints(tmp_path):
    db, conn = make_complaints(tmp_path / "data")
    conn.close()
    return db


def test_clean_complaints_pass(complaints):
    findings = check_complaints(complaints)
    assert failures(findings) == []
    assert {f.subject for f in findings} == {"complaints database", "complaints foreign keys",
                                             "evidence rows", "evidence files", "evidence sizes"}


def test_planted_orphan_file_is_found_and_kept(complaints):
    orphan = complaints.parent / "evidence" / "deadbeef.pdf"
    orphan.write_bytes(b"%PDF-1.7 planted")
    (complaints.parent / "evidence" / ".tmp-upload").write_bytes(b"in flight, not evidence yet")
    [failed] = failures(check_complaints(complaints))
    assert failed.subject == "evidence files" and "1 files without a row: deadbeef.pdf" in failed.detail
    assert orphan.exists()


def test_row_without_its_file_is_found(complaints):
    [name] = sqlite3.connect(complaints).execute("SELECT stored_name FROM evidence LIMIT 1").fetchone()
    (complaints.parent / "evidence" / name).unlink()
    [failed] = failures(check_complaints(complaints))
    assert failed.subject == "evidence rows" and name in failed.detail


def test_truncated_evidence_file_is_found(complaints):
    [name] = sqlite3.connect(complaints).execute("SELECT stored_name FROM evidence LIMIT 1").fetchone()
    path = complaints.parent / "evidence" / name
    path.write_bytes(path.read_bytes()[:100])
    [failed] = failures(check_complaints(complaints))
    assert failed.subject == "evidence sizes" and name in failed.detail


def test_corrupt_complaints_database_is_found(complaints, tmp_path):
    conn = sqlite3.connect(complaints)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(complaints.read_bytes())
    data[4096:8192] = b"\x00" * 4096
    complaints.write_bytes(bytes(data))
    assert failures(check_complaints(complaints))[0].subject == "complaints database"


def test_public_sha256_mismatch_and_corruption(demo_db, tmp_path):
    live = tmp_path / "procurement.db"
    publish(demo_db, live)
    assert failures(check_public(live)) == []
    conn = sqlite3.connect(live)
    conn.execute("UPDATE meta SET value = 'tampered' WHERE key = 'dataset'")
    conn.commit()
    conn.close()
    [failed] = failures(check_public(live))
    assert failed.subject == "public sha256"
    assert failures(check_public(tmp_path / "missing.db"))[0].detail.startswith("not found")


def test_cli_check_exit_status(runner, demo_db, complaints, tmp_path):
    args = ["check", "--db", str(demo_db), "--complaints-db", str(complaints), "--quick"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    (complaints.parent / "evidence" / "planted.jpg").write_bytes(b"x")
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert "FAIL  evidence files: 1 files without a row: planted.jpg" in result.output
    assert "1 check(s) failed" in result.output
    result = runner.invoke(cli, [*args, "--public-only"])
    assert result.exit_code == 0 and "evidence" not in result.output
