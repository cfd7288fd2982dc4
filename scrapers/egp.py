"""What the three e-GP sources (RSS, process5 JSON, legacy HTML) share.

Formats and traps: ``../shared/research/thai-data.md`` §1, §5, §6.
"""
from __future__ import annotations

import codecs
import re
import urllib.parse

import click

from prongsai.core.thai import to_arabic_digits
from scrapers.store import LayoutError
from scrapers.textfiles import utf8_problem

#: e-GP announcement type codes (``anounceType``) and what they announce.
TYPES = {
    "P0": "แผนการจัดซื้อจัดจ้าง",
    "B0": "ร่างเอกสารประกวดราคา / ร่างขอบเขตของงาน (TOR)",
    "15": "ประกาศราคากลาง",
    "D0": "ประกาศเชิญชวน",
    "D1": "ยกเลิกประกาศเชิญชวน",
    "D2": "เปลี่ยนแปลงประกาศเชิญชวน",
    "W0": "ประกาศผู้ชนะการเสนอราคา",
    "W1": "ยกเลิกประกาศผู้ชนะ",
    "W2": "เปลี่ยนแปลงประกาศผู้ชนะ",
}

#: Where a reader can look a project up (the process5 web app's search deep link).
PROJECT_PAGE = "https://process5.gprocurement.go.th/egp-agpc01-web/announcement?keywordSearch={}"

_PROJECT_ID = re.compile(r"^\s*([0-9]{11})(?:-[0-9]+)?\s*$")
_THAI_ENCODINGS = {"windows-874", "cp874", "tis-620", "tis620", "x-windows-874", "iso-8859-11"}
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def project_id(raw) -> str:
    """An e-GP project id: 11 digits (Thai digits read as digits), process5's ``-XXXX`` suffix dropped."""
    m = _PROJECT_ID.match(to_arabic_digits(str(raw or "")))
    if not m:
        raise ValueError(f"not an e-GP project id: {raw!r}")
    return m.group(1)


def project_ids(ctx, param, values):
    """click callback: ``--project`` values as e-GP ids, or a clear usage error."""
    try:
        return tuple(project_id(v) for v in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def announcement_id(project: str, kind: str, published_at: str) -> str:
    """``<project>/<type>/<date>``: the same announcement gets the same id from the RSS (a
    date-time with offset), the listing (a date-time) and the HTML page (a date)."""
    return f"{project}/{kind}/{published_at[:10]}"


def query_param(url: str | None, name: str) -> str | None:
    """A query parameter of ``url`` (e.g. ``projectId`` of a legacy ShowHTMLFile link)."""
    if not url:
        return None
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get(name)
    return values[0] if values else None


def xml_encoding(data: bytes) -> str:
    """The encoding an XML document declares (UTF-8 when it declares none, as XML says)."""
    m = _XML_ENCODING.match(data[:200])
    return m.group(1).decode("ascii").lower() if m else "utf-8"


class EncodingError(LayoutError):
    """The bytes are not in the encoding the source uses (or declares)."""


def decode(data: bytes, encoding: str, *, source: str, location: str) -> str:
    """Decode e-GP bytes strictly: a page in another encoding fails loudly, never as mojibake.

    Legacy e-GP speaks TIS-620 / windows-874 (read as cp874, its superset). Thai text in UTF-8
    uses bytes cp874 leaves undefined, so a feed that silently switched to UTF-8 is caught here.
    """
    codec = "cp874" if encoding.lower() in _THAI_ENCODINGS else encoding
    try:
        return data.decode(codec)
    except LookupError:
        raise EncodingError(source, location, "a known encoding", repr(encoding)) from None
    except UnicodeDecodeError as exc:
        if codecs.lookup(codec).name == "utf-8":
            found = utf8_problem([data])
        elif codec == "cp874" and utf8_problem([data]) is None:
            found = "UTF-8 text"
        else:
            found = f"byte 0x{data[exc.start]:02X} at byte {exc.start:,}, which is not {encoding}"
        raise EncodingError(source, location, f"{encoding} text", found) from None


def fetch(client, url: str, parse, *, params=None, attempts: int = 2):
    """GET ``url`` and ``parse(content, final_url)``; a wrongly encoded answer is fetched again.

    A cut or interstitial page (an anti-bot or proxy page in another encoding) is worth one more
    polite try; a second wrong answer fails the run with the :class:`EncodingError`.
    """
    for attempt in range(1, attempts + 1):
        response = client.get(url, params=params)
        try:
            return response.url, response.content, parse(response.content, response.url)
        except EncodingError:
            if attempt == attempts:
                raise
