"""Evidence cleaning and storage: nothing the sender did not mean to send leaves their device twice.

Type comes from the bytes, never the name or the declared MIME type. Images are rebuilt from their
pixels (EXIF, XMP, ICC, comments and anything appended are gone); PDFs are rewritten from their
pages only (no document info, XMP, attachments, JavaScript or annotations) and the photos inside
them are rebuilt from their pixels too. Videos cannot be cleaned or verified here, so they are
kept in quarantine: a few header bytes say nothing about the rest, so a quarantined file claims no
type at all (stored as ``application/octet-stream`` under a ``.bin`` name, only ever downloaded,
never shown inline), moderators are warned and it is never forwarded.
Anything in the allowlist that cannot be parsed is refused, never stored raw (no fail-open).
Files are written 0600 whatever the umask: only the server's own user reads evidence.
"""
from __future__ import annotations

import hashlib
import io
import os
import pathlib
import re
import secrets
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps
from pypdf import PdfReader, PdfWriter

from prongsai.core.files import fsync

MAX_PIXELS = 40_000_000          # below Pillow's own bomb limit (ASVS 5.2.6)
MAX_PDF_PAGES = 300
MAX_FILES = 10
QUARANTINE_MIME = "application/octet-stream"  # an unverified file claims no type
_BRAND = re.compile(rb"[A-Za-z0-9 ]{4}")


class EvidenceRefused(ValueError):
    """A file we will not store; the message is shown to the sender."""


@dataclass
class CleanFile:
    data: bytes
    kind: str           # image / pdf / video
    mime: str
    ext: str
    status: str         # clean / quarantine
    original_name: str


def sniff(data: bytes) -> str | None:
    """The type from magic bytes, for the allowlisted types only."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data[4:8] == b"ftyp" and _ftyp_box(data):
        return "mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    return None


def _ftyp_box(data: bytes) -> bool:
    """An ISO media file starts with a whole ``ftyp`` box: size 16+ within the file, a brand such as ``mp42``."""
    size = int.from_bytes(data[:4], "big")
    return 16 <= size <= len(data) and size % 4 == 0 and _BRAND.fullmatch(data[8:12]) is not None


def clean(data: bytes, original_name: str) -> CleanFile:
    kind = sniff(data)
    if kind is None:
        raise EvidenceRefused(_l("“%(name)s” is not a photo (JPEG, PNG, WebP, GIF), PDF or video (MP4, WebM).",
                                 name=original_name))
    if kind in ("jpeg", "png", "webp", "gif"):
        return _clean_image(data, original_name)
    if kind == "pdf":
        return _clean_pdf(data, original_name)
    return CleanFile(data, "video", QUARANTINE_MIME, "bin", "quarantine", original_name)


def _clean_image(data: bytes, name: str) -> CleanFile:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise Image.DecompressionBombError(name)
                img = ImageOps.exif_transpose(img)
                mode = "RGBA" if img.mode in ("RGBA", "LA", "P", "PA") and _has_alpha(img) else "RGB"
                pixels = img.convert(mode)
                rebuilt = Image.frombytes(mode, pixels.size, pixels.tobytes())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise EvidenceRefused(_l("“%(name)s” has too many pixels (more than %(n)s million).",
                                 name=name, n=MAX_PIXELS // 1_000_000)) from None
    except (OSError, ValueError, SyntaxError):
        raise EvidenceRefused(_l("“%(name)s” could not be read as an image.", name=name)) from None
    out = io.BytesIO()
    if mode == "RGB":
        rebuilt.save(out, "JPEG", quality=90, optimize=True)
        return CleanFile(out.getvalue(), "image", "image/jpeg", "jpg", "clean", name)
    rebuilt.save(out, "PNG", optimize=True)
    return CleanFile(out.getvalue(), "image", "image/png", "png", "clean", name)


def _has_alpha(img) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info


def _clean_pdf(data: bytes, name: str) -> CleanFile:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise EvidenceRefused(_l("“%(name)s” is password-protected; please send it without a password.",
                                     name=name))
        if len(reader.pages) > MAX_PDF_PAGES:
            raise EvidenceRefused(_l("“%(name)s” has more than %(n)s pages.", name=name, n=MAX_PDF_PAGES))
        writer = PdfWriter()
        for page in reader.pages:
            for key in ("/Annots", "/AA", "/Metadata", "/PieceInfo"):
                if key in page:
                    del page[key]
            writer.add_page(page)
        writer.metadata = None
        for page in writer.pages:
            _rebuild_pdf_images(page)
        out = io.BytesIO()
        writer.write(out)
    except EvidenceRefused:
        raise
    except Exception:  # pypdf raises many types on hostile input; none may become a 500
        raise EvidenceRefused(_l("“%(name)s” could not be read as a PDF.", name=name)) from None
    return CleanFile(out.getvalue(), "pdf", "application/pdf", "pdf", "clean", name)


def _rebuild_pdf_images(page) -> None:
    """Photos inside a PDF keep their own EXIF and comments: rebuild each from its pixels.

    Images Pillow cannot decode (CCITT, JBIG2 scans) are left as they are; those codecs carry
    no EXIF. Oversized images raise and the whole PDF is refused.
    """
    for image in page.images:
        try:
            decoded = image.image
        except Image.DecompressionBombError:
            raise
        except Exception:  # exotic codec: nothing to rebuild
            continue
        mode = "L" if decoded.mode in ("1", "L") else "RGB"
        pixels = decoded.convert(mode)
        image.replace(Image.frombytes(mode, pixels.size, pixels.tobytes()), quality=90)


def store(folder: pathlib.Path, cleaned: CleanFile) -> tuple[str, str]:
    """Write under a server-generated name, fsync file and folder; returns (stored_name, sha256).

    Called before the row is inserted, so a committed row always has its file on disk.
    """
    stored_name = f"{secrets.token_hex(16)}.{cleaned.ext}"
    tmp = folder / f".tmp-{stored_name}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)  # the umask may take bits away from 0600 (never add them)
    with os.fdopen(fd, "wb") as fh:
        fh.write(cleaned.data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / stored_name)
    fsync(folder)
    return stored_name, hashlib.sha256(cleaned.data).hexdigest()


def display_name(name: str) -> str:
    """The sender's file name as harmless text: no paths, controls or bidi overrides, 120 chars."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "\u202a\u202b\u202c\u202d\u202e"
                   "\u2066\u2067\u2068\u2069\ufeff")
    return name[:120] or "file"
