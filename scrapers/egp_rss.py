"""e-GP announcement RSS: one feed per agency and announcement type, windows-874 XML.

Traps (thai-data.md §6): the query parameter is spelled ``anounceType`` (``announceType`` is
silently ignored and returns the wrong feed); the feed is windows-874, which Python's expat does
not know, so we decode it ourselves; ``description`` is ``"<projectId>, <title>"`` and titles
contain commas. Items become ``announcements`` plus project and agency stubs that never
overwrite what a richer source stored.
"""
from __future__ import annotations

import email.utils
import re
from xml.etree.ElementTree import ParseError

import click
import defusedxml.ElementTree as ET
from defusedxml import DefusedXmlException

from prongsai.core.cli_options import db_option
from prongsai.core.errors import UserError
from prongsai.core.thai import to_arabic_digits
from scrapers import egp
from scrapers.command import at_most_one, file_or_live, first
from scrapers.records import Records, load
from scrapers.store import LayoutError, ScrapeError, SourceRun

SOURCE = "egp-rss"
REFRESH = False  # one feed per agency x type at 3 s each: run it for chosen agencies
FEED_URL = "http://process3.gprocurement.go.th/EPROCRssFeedWeb/egpannouncerss.xml"
ITEM_FIELDS = ("title", "link", "description", "pubDate")
_DESCRIPTION = re.compile(r"^\s*([0-9]{11})(?:-[0-9]+)?\s*,\s*(.+?)\s*$", re.S)


def feed_params(dept_id: str, announce_type: str, method_id: str | None = None) -> dict:
    """Query of one feed. ``anounceType`` with ONE n is what the server reads."""
    params = {"deptId": dept_id, "anounceType": announce_type}
    if method_id:
        params["methodId"] = method_id
    return params


def parse(data: bytes, *, url: str, dept_id: str | None = None, announce_type: str | None = None) -> Records:
    """Feed bytes -> announcements and stubs. Agency and type come from the feed's query."""
    text = egp.decode(data, egp.xml_encoding(data), source=SOURCE, location=url)
    try:
        root = ET.fromstring(text)
    except DefusedXmlException as exc:
        raise ScrapeError(f"{SOURCE}: {url}: refused unsafe XML ({type(exc).__name__})") from None
    except ParseError as exc:
        raise ScrapeError(f"{SOURCE}: {url}: not well-formed XML ({exc}); a truncated answer?") from None
    if root.tag != "rss":
        raise LayoutError(SOURCE, url, "<rss> root element", f"<{root.tag}>")
    channel = root.find("channel")
    if channel is None:
        raise LayoutError(SOURCE, url, "<rss><channel>", f"children {[c.tag for c in root]}")
    feed_link = channel.findtext("link")
    dept_id = dept_id or egp.query_param(feed_link, "deptId")
    announce_type = announce_type or egp.query_param(feed_link, "anounceType")
    if not dept_id or announce_type not in egp.TYPES:
        raise UserError(f"{SOURCE}: {url}: say which agency and type this feed is "
                        f"(--dept and --type; the channel link gives deptId={dept_id!r}, "
                        f"anounceType={announce_type!r})")

    records = Records()
    records.stub("agencies", {"id": dept_id, "department_code": dept_id})
    for n, item in enumerate(channel.iter("item"), start=1):
        records.rows_in += 1
        location = f"{url} item {n}"
        values = {}
        for field in ITEM_FIELDS:
            node = item.find(field)
            if node is None:
                raise LayoutError(SOURCE, location, f"<item><{field}>", f"children {[c.tag for c in item]}")
            values[field] = (node.text or "").strip()
        raw = ET.tostring(item, encoding="unicode")
        m = _DESCRIPTION.match(to_arabic_digits(values["description"]))
        if not m:
            records.quarantine(location, raw, "description is not '<projectId>, <title>'")
            continue
        try:
            published_at = email.utils.parsedate_to_datetime(to_arabic_digits(values["pubDate"])).isoformat()
        except (TypeError, ValueError):
            records.quarantine(location, raw, f"pubDate is not an RFC 822 date: {values['pubDate']!r}")
            continue
        pid, title = m.group(1), values["description"][m.start(2):].strip()  # title as published
        records.stub("announcements", {
            "id": egp.announcement_id(pid, announce_type, published_at), "project_id": pid, "type": announce_type,
            "title": values["title"] or title, "published_at": published_at,
            "url": values["link"] or None, "agency_id": dept_id,
        })
        records.stub("projects", {"project_id": pid, "title": title, "buyer_id": dept_id})
    return records


def run_live(db_path, *, depts, types=tuple(egp.TYPES), method_id=None, client=None) -> SourceRun:
    """Fetch every (agency, type) feed into one run: all of it is kept, or none."""
    from scrapers.http import Client

    client = client or Client()
    with SourceRun(db_path, SOURCE, target=f"{FEED_URL} deptId={','.join(depts)} "
                   f"anounceType={','.join(types)}") as run:
        for dept_id in depts:
            for announce_type in types:
                params = feed_params(dept_id, announce_type, method_id)
                url, _, records = egp.fetch(
                    client, FEED_URL, lambda data, url: parse(
                        data, url=url, dept_id=dept_id, announce_type=announce_type), params=params)
                load(run, records, source_url=url)
    return run


def run_file(db_path, path, *, dept_id=None, announce_type=None, url=None) -> SourceRun:
    with open(path, "rb") as f:
        data = f.read()
    location = url or str(path)
    with SourceRun(db_path, SOURCE, target=path) as run:
        load(run, parse(data, url=location, dept_id=dept_id, announce_type=announce_type),
             source_url=location)
    return run


@click.command(SOURCE)
@db_option
@click.option("--dept", "depts", multiple=True, metavar="CODE",
              help="e-GP department code (deptId); repeat for several agencies.")
@click.option("--type", "types", multiple=True, type=click.Choice(list(egp.TYPES)),
              help="Announcement type (default: all nine); repeatable.")
@click.option("--method", "method_id", default=None, help="Only this methodId (e.g. 16 e-bidding).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False),
              help="Read a saved feed instead of fetching (give --dept/--type unless its channel link has them).")
@click.option("--url", default=None, help="With --file: the feed URL it was saved from (provenance).")
def command(db_path, depts, types, method_id, path, url):
    """e-GP announcement RSS (windows-874) into announcements and project stubs.

    Live: one feed per agency and type, at most one request per 3 seconds.
    """
    if path:
        at_most_one("--file reads one feed", dept=depts, type=types)
    elif not depts:
        raise UserError("say which agencies: --dept CODE (or read a saved feed with --file)")
    file_or_live(SOURCE, (path,) if path else (),
                 lambda file: run_file(db_path, file, dept_id=first(depts), announce_type=first(types), url=url),
                 lambda: run_live(db_path, depts=depts, types=types or tuple(egp.TYPES), method_id=method_id))
