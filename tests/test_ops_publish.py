"""publish: an atomic swap of the public database, checked before it goes live."""
import hashlib
import sqlite3
import threading
import time

import pytest

from prongsai.cli import cli
from prongsai.core.errors import UserError
from prongsai.demo import generate
from prongsai.derive.build import run_build
from prongsai.ops.publish import publish, sidecar


def built(path, seed):
    generate(path, projects=40, seed=seed)
    run_build(path)
    return path


def build_id(conn):
    return conn.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()[0]


@pytest.fixture
def two_builds(tmp_path):
    a, b = built(tmp_path / "a.db", 1), built(tmp_path / "b.db", 2)
    ids = [build_id(sqlite3.connect(p)) for p in (a, b)]
    assert ids[0] != ids[1]
    return a, b, ids


def test_reader_during_publish_sees_old_or_new_never_neither(tmp_path, two_builds):
    a, b, ids = two_builds
    live = tmp_path / "public" / "procurement.db"
    publish(a, live)
    seen, errors, stop = [], [], threading.Event()

    def reader():  # opens per request, like the portal
        while not stop.is_set():
            try:
                conn = sqlite3.connect(f"file:{live}?mode=ro", uri=True)
                try:
                    seen.append(build_id(conn))
                    conn.execute("SELECT count(*) FROM projects").fetchone()
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                errors.append(repr(exc))

    def wait_until(condition):
        deadline = time.monotonic() + 30
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        wait_until(lambda: seen)
        for i in range(13):  # ends on b
            publish(b if i % 2 == 0 else a, live)
        wait_until(lambda: seen[-1] == ids[1])
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert seen[0] == ids[0] and seen[-1] == ids[1] and set(seen) == set(ids)
    assert not list(live.parent.glob(".*tmp*"))


def test_open_connection_keeps_the_old_file_new_ones_see_the_new(tmp_path, two_builds):
    a, b, ids = two_builds
    live = tmp_path / "procurement.db"
    publish(a, live)
    held = sqlite3.connect(f"file:{live}?immutable=1", uri=True)  # how Datasette holds it
    assert build_id(held) == ids[0]
    publish(b, live)
    assert build_id(held) == ids[0]
    assert held.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert build_id(sqlite3.connect(f"file:{live}?mode=ro", uri=True)) == ids[1]


def test_sidecar_is_sha256sum_format_and_inspect_file_travels(tmp_path, two_builds):
    a, _, ids = two_builds
    live = tmp_path / "out" / "procurement.db"
    result = publish(a, live)
    digest = hashlib.sha256(live.read_bytes()).hexdigest()
    assert result["sha256"] == digest
    assert sidecar(live).read_text() == f"{digest}  procurement.db\n"
    from prongsai import datasette_inspect

    assert datasette_inspect.load(live) is not None  # the counts match the published file
    assert sqlite3.connect(live).execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_refuses_unbuilt_or_corrupt_and_keeps_the_live_file(tmp_path, two_builds):
    a, _, _ = two_builds
    live = tmp_path / "procurement.db"
    publish(a, live)
    before = live.read_bytes()
    unbuilt = tmp_path / "unbuilt.db"
    generate(unbuilt, projects=5, seed=1)
    with pytest.raises(UserError, match=r"unbuilt.db is not a built .* run `prongsai build`"):
        publish(unbuilt, live)
    corrupt = tmp_path / "corrupt.db"
    data = bytearray(a.read_bytes())
    data[8192:12288] = b"\xff" * 4096
    corrupt.write_bytes(bytes(data))
    with pytest.raises(UserError, match="integrity check"):
        publish(corrupt, live)
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("hello")
    with pytest.raises(UserError):
        publish(not_sqlite, live)
    assert live.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_refuses_when_something_writes_the_public_file(tmp_path, two_builds):
    a, b, _ = two_builds
    live = tmp_path / "procurement.db"
    publish(a, live)
    (tmp_path / "procurement.db-journal").write_bytes(b"hot")
    with pytest.raises(UserError, match="something writes"):
        publish(b, live)


def test_cli_publish_in_place_and_from(runner, tmp_path, two_builds):
    a, b, ids = two_builds
    result = runner.invoke(cli, ["publish", "--db", str(a)])
    assert result.exit_code == 0, result.output
    assert sidecar(a).exists() and ids[0] in result.output and "DEMO" in result.output
    live = tmp_path / "live.db"
    result = runner.invoke(cli, ["publish", "--from", str(b), "--db", str(live)])
    assert result.exit_code == 0, result.output
    assert build_id(sqlite3.connect(live)) == ids[1]
    result = runner.invoke(cli, ["publish", "--from", str(tmp_path / "nope.db"), "--db", str(live)])
    assert result.exit_code == 1 and "database not found" in result.output
