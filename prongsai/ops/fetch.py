"""``prongsai fetch-public``: download a published public database, check it, swap it in.

For a read-only mirror, or a machine that gets the database beside its image rather than inside
it (docs/scaling.md, step 2). ``publish`` leaves ``procurement.db``, ``procurement.db.sha256``
and Datasette's inspect file side by side; upload the three anywhere (the nightly workflow keeps
them as the `data` release) and give this command the database's URL. Nothing is downloaded when
the local file already has the published sha256; a download that differs is refused and the
current file stays in place. An interrupted download resumes on the next run (its ``.part`` is
kept, named by the sha256 it should reach).
"""
from __future__ import annotations

import pathlib
import re

from prongsai.core.errors import UserError
from prongsai.core.files import sha256_file
from prongsai.ops.publish import sidecar, staging_path, swap_in

_SHA256 = re.compile(r"[0-9a-f]{64}")


def fetch_public(url: str, target, client) -> dict:
    """Bring ``target`` to the database published at ``url``; ``client`` is a ``scrapers.http.Client``."""
    from scrapers.http import FetchError

    target = pathlib.Path(target)
    line = client.get(url + ".sha256").text.split()
    if not line or not _SHA256.fullmatch(line[0]):
        raise UserError(f"{url}.sha256 does not hold a sha256 (got {' '.join(line)[:80]!r})")
    expected = line[0]
    local = sidecar(target)
    if target.exists() and local.exists() and local.read_text().split()[:1] == [expected] \
            and sha256_file(target) == expected:
        return {"sha256": expected, "downloaded": False}
    staging_path(target)  # the folder made, an old publish's leftover gone
    # Named by the published sha256, so a cut download resumes only into the same file: a
    # leftover of another build is dropped, never completed with this one's bytes.
    tmp = target.with_name(f".{target.name}.{expected[:16]}.fetch")
    for stale in target.parent.glob(f".{target.name}.*.fetch*"):
        if not stale.name.startswith(tmp.name):
            stale.unlink(missing_ok=True)
    inspect_tmp = tmp.with_name(tmp.name + "-inspect.json")
    try:
        download = client.download(url, tmp)
        if download.sha256 != expected:
            raise UserError(f"{url} has sha256 {download.sha256}, but {url}.sha256 says {expected}: "
                            f"not installed, {target} unchanged")
        try:  # named as datasette_inspect.path_for names it beside the database
            client.download(url + "-inspect.json", inspect_tmp)
        except FetchError:
            inspect_tmp.unlink(missing_ok=True)  # optional: Datasette counts the tables itself
        result = swap_in(tmp, target, name=url, inspect_file=inspect_tmp, quick=True, sha256=expected)
    finally:
        tmp.unlink(missing_ok=True)
        inspect_tmp.unlink(missing_ok=True)
    return {**result, "downloaded": True}
