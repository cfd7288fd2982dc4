"""backup/restore: an encrypted copy of complaints.db and its evidence that restores identical."""
import sqlite3
import stat
import threading
import time

import pytest

from prongsai.cli import cli
from prongsai.core import config
from prongsai.core.errors import UserError
from prongsai.ops import backup as backups

CANARY = "ผู้ร้องเรียนลับ-canary-7f3a"


def make_complaints(folder, n=3):
    """complaints.db as the complaints area keeps it: WAL, an evidence table, files beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "complaints.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE complaints (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("CREATE TABLE evidence (id INTEGER PRIMARY KEY, complaint_id INTEGER REFERENCES complaints(id), "
                 "stored_name TEXT UNIQUE, size INTEGER)")
    (folder / "evidence").mkdir(exist_ok=True)
    for i in range(1, n + 1):
        add(conn, folder, i)
    return db, conn


def add(conn, folder, i):
    """A complaint and its evidence file, written as the portal writes one: under a dot-name, then
    renamed (a backup reading a file half-written under its final name would hash another content)."""
    name = f"{i:032x}.jpg"
    data = f"JPEG {i} {CANARY}".encode() * 50
    tmp = folder / "evidence" / f".tmp-{name}"
    tmp.write_bytes(data)
    tmp.replace(folder / "evidence" / name)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO complaints (id, body) VALUES (?, ?)", [i, f"{CANARY} {i}"])
    conn.execute("INSERT INTO evidence (complaint_id, stored_name, size) VALUES (?, ?, ?)", [i, name, len(data)])
    conn.execute("COMMIT")


def dump(db):
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def keys():
    secret, public = backups.new_key()
    return backups.identity_from(secret), backups.recipients_from(public)


def test_backup_restores_an_identical_database_and_files(tmp_path, keys):
    identity, recipients = keys
    db, conn = make_complaints(tmp_path / "live")
    (tmp_path / "live" / "evidence" / ".tmp-upload-in-flight").write_bytes(b"partial")
    out = tmp_path / "backups" / "b.tar.age"
    manifest = backups.backup(db, out, recipients)
    assert len(manifest["evidence"]) == 3
    raw = out.read_bytes()
    assert raw.startswith(b"age-encryption.org/v1")
    assert CANARY.encode() not in raw and b"CREATE TABLE" not in raw
    assert not [p for p in (tmp_path / "live").iterdir() if p.name.startswith(".backup-")]

    target = tmp_path / "restored" / "complaints.db"
    backups.restore(out, target, identity)
    assert dump(target) == dump(db)
    for name in manifest["evidence"]:
        assert (target.parent / "evidence" / name).read_bytes() == (db.parent / "evidence" / name).read_bytes()
    assert sorted(p.name for p in (target.parent / "evidence").iterdir()) == sorted(manifest["evidence"])
    assert sqlite3.connect(target).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_backup_while_the_portal_writes_is_consistent(tmp_path, keys):
    identity, recipients = keys
    db, conn = make_complaints(tmp_path / "live", n=1)
    conn.close()
    stop, written = threading.Event(), []

    def writer():
        own = sqlite3.connect(db, isolation_level=None)
        i = 2
        while not stop.is_set():
            add(own, db.parent, i)
            written.append(i)
            i += 1
        own.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(written) < 2 and time.monotonic() < deadline:  # the writer is under way
            time.sleep(0.01)
        for k in range(3):
            backups.backup(db, tmp_path / f"b{k}.age", recipients)
    finally:
        stop.set()
        thread.join()
    assert len(written) >= 2
    for k in range(3):
        target = tmp_path / f"r{k}" / "complaints.db"
        manifest = backups.restore(tmp_path / f"b{k}.age", target, identity)
        restored = sqlite3.connect(target)
        names = {r[0] for r in restored.execute("SELECT stored_name FROM evidence")}
        assert names <= set(manifest["evidence"])  # every row in the snapshot has its file
        assert restored.execute("SELECT count(*) FROM complaints").fetchone()[0] == len(names)


def test_wrong_key_tampering_and_overwrite_are_refused(tmp_path, keys):
    identity, recipients = keys
    db, conn = make_complaints(tmp_path / "live")
    out = tmp_path / "b.age"
    backups.backup(db, out, recipients)
    other, _ = backups.new_key()
    with pytest.raises(UserError, match="cannot decrypt"):
        backups.restore(out, tmp_path / "x" / "complaints.db", backups.identity_from(other))
    tampered = tmp_path / "tampered.age"
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    with pytest.raises(UserError, match="cannot decrypt"):
        backups.restore(tampered, tmp_path / "y" / "complaints.db", identity)
    assert not (tmp_path / "y" / "complaints.db").exists()
    with pytest.raises(UserError, match="--force"):
        backups.restore(out, db, identity)

    add(conn, db.parent, 99)  # newer than the backup: kept aside on a forced restore, never deleted
    conn.close()
    backups.restore(out, db, identity, force=True)
    aside = [p for p in db.parent.iterdir() if ".before-restore-" in p.name]
    assert any(p.name.startswith("complaints.db.before-restore-") and not p.name.endswith(("-wal", "-shm"))
               for p in aside)
    assert any(p.name.startswith("evidence.before-restore-") for p in aside)
    assert sqlite3.connect(db).execute("SELECT count(*) FROM complaints").fetchone()[0] == 3


def test_keys_come_from_the_environment_with_clear_errors():
    with pytest.raises(UserError, match="PRONGSAI_BACKUP_RECIPIENTS"):
        backups.recipients_from("")
    with pytest.raises(UserError, match="invalid age public key"):
        backups.recipients_from("age1notakey")
    with pytest.raises(UserError, match="PRONGSAI_BACKUP_IDENTITY"):
        backups.identity_from(None)


def test_cli_backup_key_backup_restore(runner, tmp_path, monkeypatch):
    result = runner.invoke(cli, ["backup-key"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    secret = lines[-1]
    public = lines[1].removeprefix("# ")
    assert secret.startswith("AGE-SECRET-KEY-") and public.startswith("age1")
    db, conn = make_complaints(tmp_path / "live")
    conn.close()
    out = tmp_path / "b.age"

    result = runner.invoke(cli, ["backup", "--complaints-db", str(db), "-o", str(out)])
    assert result.exit_code == 1 and "PRONGSAI_BACKUP_RECIPIENTS" in result.output

    monkeypatch.setenv("PRONGSAI_BACKUP_RECIPIENTS", public)
    result = runner.invoke(cli, ["backup", "--complaints-db", str(db), "-o", str(out), "--armor"])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("-----BEGIN AGE ENCRYPTED FILE-----")

    key_file = tmp_path / "key.txt"
    key_file.write_text("\n".join(lines) + "\n")  # what `prongsai backup-key > key.txt` writes
    target = tmp_path / "restored" / "complaints.db"
    result = runner.invoke(cli, ["restore", str(out), "--complaints-db", str(target), "--identity-file", str(key_file)])
    assert result.exit_code == 0, result.output
    assert dump(target) == dump(db)


def test_with_the_complaints_area_own_store(app, tmp_path, keys):
    """The same round trip and reconciliation over complaints.db as the portal writes it."""
    import io

    from PIL import Image

    from portal.complaints import cases
    from portal.complaints.db import open_complaints_db
    from portal.complaints.evidence import clean
    from prongsai.core.config import evidence_dir
    from prongsai.ops.check import check_complaints

    identity, recipients = keys
    db = tmp_path / "data" / "complaints.db"
    conn = open_complaints_db(db)
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(picture, "JPEG")
    with app.app_context():
        cases.create_complaint(conn, evidence_dir(db), nonce="n-1", project={"project_id": "P-1"},
                               body=f"{CANARY} ถนนไม่ได้สร้าง", concern="money", contact="line: somchai",
                               files=[clean(picture.getvalue(), "road.jpg")])
    conn.close()
    assert [f for f in check_complaints(db) if not f.ok] == []

    out = tmp_path / "b.age"
    manifest = backups.backup(db, out, recipients)
    assert len(manifest["evidence"]) == 1 and CANARY.encode() not in out.read_bytes()
    target = tmp_path / "restored" / "complaints.db"
    backups.restore(out, target, identity)
    assert dump(target) == dump(db)
    assert [f for f in check_complaints(target) if not f.ok] == []

    (evidence_dir(target) / "planted.jpg").write_bytes(b"\xff\xd8 not from any complaint")
    [failed] = [f for f in check_complaints(target) if not f.ok]
    assert "planted.jpg" in failed.detail


def test_cli_backup_to_stdout(runner, tmp_path, monkeypatch, keys):
    """`fly ssh console -C "prongsai backup -o - --armor" > file` style: only the backup on stdout."""
    identity, _ = keys
    monkeypatch.setenv("PRONGSAI_BACKUP_RECIPIENTS", str(identity.to_public()))
    db, conn = make_complaints(tmp_path / "live")
    conn.close()
    result = runner.invoke(cli, ["backup", "--complaints-db", str(db), "-o", "-", "--armor"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("-----BEGIN AGE ENCRYPTED FILE-----")
    assert result.stdout.rstrip().endswith("-----END AGE ENCRYPTED FILE-----")
    out = tmp_path / "b.age"
    out.write_bytes(result.stdout_bytes)
    backups.restore(out, tmp_path / "r" / "complaints.db", identity)
    assert dump(tmp_path / "r" / "complaints.db") == dump(db)


def test_the_server_secret_key_goes_with_the_backup(tmp_path, keys):
    """A restored server signs with the same key, so sessions and open forms keep working."""
    identity, recipients = keys
    db, conn = make_complaints(tmp_path / "live")
    conn.close()
    key = config.secret_key(db)
    out = tmp_path / "b.age"
    manifest = backups.backup(db, out, recipients)
    assert "secret_key" in manifest and key.encode() not in out.read_bytes()

    target = tmp_path / "restored" / "complaints.db"
    backups.restore(out, target, identity)
    assert config.secret_key(target) == key
    assert stat.S_IMODE(config.secret_key_path(target).stat().st_mode) == 0o600

    other = tmp_path / "other" / "complaints.db"  # a server that made its own key meanwhile
    make_complaints(other.parent)[1].close()
    own = config.secret_key(other)
    backups.restore(out, other, identity, force=True)
    assert config.secret_key(other) == key
    [aside] = other.parent.glob("secret_key.before-restore-*")
    assert aside.read_text() == own


def test_a_backup_without_a_key_file_restores_without_one(tmp_path, keys):
    identity, recipients = keys
    db, conn = make_complaints(tmp_path / "live")
    conn.close()
    manifest = backups.backup(db, tmp_path / "b.age", recipients)
    assert "secret_key" not in manifest
    backups.restore(tmp_path / "b.age", tmp_path / "r" / "complaints.db", identity)
    assert not config.secret_key_path(tmp_path / "r" / "complaints.db").exists()
