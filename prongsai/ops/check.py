"""``prongsai check``: is everything we keep sound? Run nightly and before a deploy goes live.

- the public database: its sha256 against the ``.sha256`` beside it (the bytes ``publish``
  checked) and ``integrity_check``, or the much faster ``quick_check`` with ``--quick``;
- the complaints database: ``integrity_check`` and ``foreign_key_check``;
- evidence: every ``evidence`` row has its file, of the size it records, and every file its row;
- the budget: per fiscal year, the national lines held against the Budget Act's total, the gap
  explained (volumes held and missing, lines refused); it fails only when nothing explains it.
Problems are reported, never repaired: a file without a row may be someone's only copy.
"""
from __future__ import annotations

import dataclasses
import pathlib
import sqlite3

from prongsai.core.config import evidence_dir
from prongsai.core.files import connect_ro, integrity_errors, sha256_file
from prongsai.derive.budget_gap import year_gaps
from prongsai.ops.backup import evidence_files
from prongsai.ops.publish import sidecar

#: Names shown in a report before "and N more".
SHOW = 5


@dataclasses.dataclass(frozen=True)
class Finding:
    subject: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.subject}: {self.detail}"


def check_public(db_path, *, quick: bool = False) -> list[Finding]:
    path = pathlib.Path(db_path)
    if not path.exists():
        return [Finding("public database", False, f"not found: {path}")]
    findings = [_integrity("public database", path, quick)]
    expected = sidecar(path)
    if expected.exists():
        want = expected.read_text().split()[0]
        got = sha256_file(path)
        findings.append(Finding("public sha256", got == want,
                                "matches what was published" if got == want
                                else f"{got} but {expected.name} says {want}"))
    if findings[0].ok:
        findings += check_budget(path)
    return findings


def check_budget(db_path) -> list[Finding]:
    """One finding per fiscal year that has national budget lines."""
    conn = connect_ro(pathlib.Path(db_path))
    try:
        gaps = year_gaps(conn)
    except sqlite3.OperationalError as exc:
        return [Finding("budget", False, f"cannot read budget_items ({exc})")]
    finally:
        conn.close()
    return [Finding(f"budget {g.fiscal_year}", g.explained, g.explanation()) for g in gaps if g.volumes]


def check_complaints(complaints_db) -> list[Finding]:
    path = pathlib.Path(complaints_db)
    if not path.exists():
        return [Finding("complaints database", True, f"not created yet ({path})")]
    findings = [_integrity("complaints database", path, quick=False)]  # small: always the full check
    if not findings[0].ok:
        return findings
    conn = connect_ro(path)
    try:
        bad_fks = conn.execute("PRAGMA foreign_key_check").fetchall()
        findings.append(Finding("complaints foreign keys", not bad_fks,
                                "ok" if not bad_fks else f"{len(bad_fks)} rows point nowhere "
                                f"(first: {bad_fks[0][0]} rowid {bad_fks[0][1]} -> {bad_fks[0][2]})"))
        try:
            rows = dict(conn.execute("SELECT stored_name, size FROM evidence"))
        except sqlite3.OperationalError as exc:
            return [*findings, Finding("evidence", False, f"cannot read the evidence table ({exc})")]
    finally:
        conn.close()
    folder = evidence_dir(path)
    files = set(evidence_files(folder))
    missing, orphans = sorted(rows.keys() - files), sorted(files - rows.keys())
    resized = sorted(n for n in rows.keys() & files if (folder / n).stat().st_size != rows[n])
    findings.append(Finding("evidence rows", not missing, f"{len(rows):,} rows, each with its file"
                            if not missing else f"{len(missing)} rows without a file: {_some(missing)}"))
    findings.append(Finding("evidence files", not orphans, f"{len(files):,} files, each with its row"
                            if not orphans else f"{len(orphans)} files without a row: {_some(orphans)}"))
    findings.append(Finding("evidence sizes", not resized, "every file has the size its row records"
                            if not resized else f"{len(resized)} files changed size: {_some(resized)}"))
    return findings


def _integrity(subject: str, path: pathlib.Path, quick: bool) -> Finding:
    errors = integrity_errors(path, quick=quick)
    kind = "quick_check" if quick else "integrity_check"
    return Finding(subject, not errors, f"{kind} ok ({path})" if not errors else "; ".join(errors[:SHOW]))


def _some(names: list[str]) -> str:
    more = f" and {len(names) - SHOW} more" if len(names) > SHOW else ""
    return ", ".join(names[:SHOW]) + more
