"""``prongsai backup`` / ``restore``: the complaints database and its evidence files, encrypted.

A backup is a tar of ``complaints.db`` (SQLite's online backup: consistent while the portal
writes), every file under ``evidence/``, the server's generated ``secret_key`` when it has one
(so a restored server keeps its sessions and forms valid) and a ``manifest.json`` of their
sha256 sums, encrypted with age (the standard ``age -d -i key.txt`` decrypts it too). It is
encrypted to the public keys in ``PRONGSAI_BACKUP_RECIPIENTS``, so the server writes backups it
cannot read; restoring needs a matching secret key (``PRONGSAI_BACKUP_IDENTITY`` or
``--identity-file``), kept off it.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import os
import pathlib
import shutil
import sys
import tarfile
import tempfile

import pyrage

from prongsai.core import config
from prongsai.core.clock import now
from prongsai.core.config import evidence_dir
from prongsai.core.errors import UserError
from prongsai.core.files import integrity_errors, online_copy, replace_durably, sha256_file

RECIPIENTS_ENV = "PRONGSAI_BACKUP_RECIPIENTS"
IDENTITY_ENV = "PRONGSAI_BACKUP_IDENTITY"
FORMAT = "prongsai-complaints-backup/1"
DB_NAME = "complaints.db"
EVIDENCE = "evidence"
SECRET_KEY = config.SECRET_KEY_FILE


def evidence_files(folder: pathlib.Path) -> list[str]:
    """Every stored evidence file, as a path relative to ``folder`` (``/``-separated), sorted.
    Dot-files are uploads still being written (``.tmp-…``, renamed once synced): not yet evidence."""
    if not folder.is_dir():
        return []
    return sorted(rel.as_posix() for rel in (p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
                  if not any(part.startswith(".") for part in rel.parts))


def new_key() -> tuple[str, str]:
    """A fresh age key pair: (secret identity, public recipient)."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def recipients_from(text: str | None) -> list:
    keys = (text or "").replace(",", " ").split()
    if not keys:
        raise UserError(f"no backup key: set {RECIPIENTS_ENV} to one or more age public keys "
                        "(`prongsai backup-key` makes a pair)")
    try:
        return [pyrage.x25519.Recipient.from_str(k) for k in keys]
    except pyrage.RecipientError as exc:
        raise UserError(f"{RECIPIENTS_ENV} holds an invalid age public key ({exc})") from None


def identity_from(text: str | None):
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        raise UserError(f"no secret key: set {IDENTITY_ENV} or pass --identity-file")
    try:
        return pyrage.x25519.Identity.from_str(lines[0])
    except pyrage.IdentityError as exc:
        raise UserError(f"invalid age secret key ({exc})") from None


def backup(complaints_db, output, recipients: list, *, armored: bool = False) -> dict:
    """Write an encrypted backup to ``output`` (a path, or ``-`` for stdout); return its manifest."""
    db = pathlib.Path(complaints_db)
    if not db.exists():
        raise UserError(f"complaints database not found: {db}")
    # Scratch space on the same private volume as the database, mode 0700, always removed.
    with tempfile.TemporaryDirectory(dir=db.parent, prefix=".backup-") as work:
        work = pathlib.Path(work)
        snapshot = work / DB_NAME
        online_copy(db, snapshot)
        errors = integrity_errors(snapshot)
        if errors:
            raise UserError(f"{db} failed its integrity check, not backed up: {'; '.join(errors[:3])}")
        folder = evidence_dir(db)
        files = evidence_files(folder)
        manifest = {
            "format": FORMAT,
            "created_at": now(),
            DB_NAME: {"sha256": sha256_file(snapshot), "size": snapshot.stat().st_size},
            EVIDENCE: {name: sha256_file(folder / name) for name in files},
        }
        key = config.secret_key_path(db)
        if key.exists():
            manifest[SECRET_KEY] = {"sha256": sha256_file(key)}
        archive = work / "backup.tar"
        with tarfile.open(archive, "w") as tar:
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
            tar.add(snapshot, DB_NAME)
            for name in files:
                tar.add(folder / name, f"{EVIDENCE}/{name}")
            if SECRET_KEY in manifest:
                tar.add(key, SECRET_KEY)
        if str(output) == "-":
            with open(archive, "rb") as src:
                pyrage.encrypt_io(src, sys.stdout.buffer, recipients, armored)
            sys.stdout.buffer.flush()
        else:
            output = pathlib.Path(output)
            output.parent.mkdir(parents=True, exist_ok=True)
            tmp = output.with_name(f".{output.name}.tmp")
            try:
                pyrage.encrypt_file(str(archive), str(tmp), recipients, armored)
                replace_durably(tmp, output)
            finally:
                tmp.unlink(missing_ok=True)
    return manifest


def restore(backup_file, complaints_db, identity, *, force: bool = False) -> dict:
    """Decrypt, verify every hash, then put ``complaints.db`` and ``evidence/`` in place."""
    target = pathlib.Path(complaints_db)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not force:
        raise UserError(f"{target} exists; stop the server and pass --force to replace it "
                        "(the current files are kept aside, never deleted)")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".restore-") as work:
        work = pathlib.Path(work)
        archive = work / "backup.tar"
        try:
            pyrage.decrypt_file(str(backup_file), str(archive), [identity])
        except (pyrage.DecryptError, OSError) as exc:  # a flipped byte surfaces as an I/O error
            raise UserError(f"cannot decrypt {backup_file}: wrong key or damaged file ({exc})") from None
        unpacked = work / "unpacked"
        manifest = _unpack(archive, unpacked)
        errors = integrity_errors(unpacked / DB_NAME)
        if errors:
            raise UserError(f"the database in {backup_file} failed its integrity check: {errors[0]}")
        if target.exists():
            _keep_aside(target)
        evidence_src, evidence_dst = unpacked / EVIDENCE, evidence_dir(target)
        if evidence_dst.exists():
            _keep_aside(evidence_dst)
        evidence_src.mkdir(exist_ok=True)
        evidence_src.chmod(0o700)  # as the complaints area keeps it
        os.replace(evidence_src, evidence_dst)
        if SECRET_KEY in manifest:
            key = config.secret_key_path(target)
            if key.exists():
                _keep_aside(key)
            (unpacked / SECRET_KEY).chmod(0o600)
            replace_durably(unpacked / SECRET_KEY, key)
        replace_durably(unpacked / DB_NAME, target)
    return manifest


def _unpack(archive: pathlib.Path, dest: pathlib.Path) -> dict:
    """Extract only the names a backup may hold, then check them against the manifest."""
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            name = member.name
            allowed = name in ("manifest.json", DB_NAME, SECRET_KEY) or (
                name.startswith(f"{EVIDENCE}/") and ".." not in name.split("/") and member.isfile())
            if not allowed:
                raise UserError(f"unexpected entry in backup: {name!r}")
        tar.extractall(dest, filter="data")
    try:
        manifest = json.loads((dest / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"backup has no readable manifest ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise UserError(f"not a Prongsai complaints backup (format {manifest.get('format')!r})")
    if sha256_file(dest / DB_NAME) != manifest[DB_NAME]["sha256"]:
        raise UserError("complaints.db in the backup does not match its manifest")
    key = dest / SECRET_KEY
    if key.exists() != (SECRET_KEY in manifest) or (
            key.exists() and sha256_file(key) != manifest[SECRET_KEY]["sha256"]):
        raise UserError("the secret key in the backup does not match its manifest")
    found = evidence_files(dest / EVIDENCE)
    if found != sorted(manifest[EVIDENCE]):
        raise UserError("evidence files in the backup do not match its manifest")
    for name in found:
        if sha256_file(dest / EVIDENCE / name) != manifest[EVIDENCE][name]:
            raise UserError(f"evidence file {name} in the backup does not match its manifest")
    return manifest


def _keep_aside(path: pathlib.Path) -> None:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for suffix in ("", "-wal", "-shm"):
        p = path.with_name(path.name + suffix)
        if p.exists():
            shutil.move(p, p.with_name(f"{path.name}.before-restore-{stamp}{suffix}"))


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(_dt.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))
