"""Evidence on disk: file modes whatever the umask, and what a quarantined file may claim."""
from __future__ import annotations

import io
import os
import stat

import pytest
from PIL import Image

from portal.complaints.evidence import EvidenceRefused, clean, store

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def jpeg():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 120, 0)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_evidence_files_are_0600_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        name, _ = store(tmp_path, clean(jpeg(), "a.jpg"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_a_quarantined_file_claims_no_type():
    kept = clean(MP4, "clip.mp4")
    assert (kept.status, kept.mime, kept.ext) == ("quarantine", "application/octet-stream", "bin")


def test_a_server_name_without_the_senders_extension(tmp_path):
    name, _ = store(tmp_path, clean(MP4, "clip.html"))
    assert name.endswith(".bin") and "clip" not in name and len(name) == 32 + 4


@pytest.mark.parametrize("data", [
    b"\x00\x00\x00\x00ftyp<html><script>alert(1)</script>",   # no box size
    b"\xff\xff\xff\xffftypmp42" + b"\x00" * 64,                # a box larger than the file
    b"\x00\x00\x00\x18ftyp<sc>" + b"\x00" * 64,                # not a brand
])
def test_ftyp_at_offset_4_alone_is_not_a_video(data):
    with pytest.raises(EvidenceRefused):
        clean(data, "x.mp4")
