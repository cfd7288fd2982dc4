"""Legacy e-GP announcement pages (``ShowHTMLFile``): TIS-620 winner announcements (W0/W2).

Traps (thai-data.md §6): hundreds of blank JSP lines and a ``<script>`` before ``<html>``;
TIS-620 bytes (whatever the HTTP header claims); amounts, tax ids and dates in Thai numerals
(``๑๕๖,๐๐๐.๐๐``, ``ประกาศ ณ วันที่ ๓๐ กันยายน พ.ศ. ๒๕๖๙``); a missing document is HTTP 200
with ``E4514:ค้นหาไฟล์เอกสารไม่พบ``: that is "missing", never a record. The page is prose, so
fields are found by their label text (``ผู้ได้รับการคัดเลือก ได้แก่``, ``เป็นเงินทั้งสิ้น``, ...),
never by position: the first date on the page is the invitation's, not the announcement's.

The page is parsed with BeautifulSoup (lxml); each label is selected with :func:`one` (or
:func:`select`), so a page where a label is missing or appears twice fails loudly, naming the
field, instead of yielding the first match. Values are read from the block (paragraph, cell)
holding the label, so inline markup around a label or a value does not matter.
"""
from __future__ import annotations

import re

import bs4
import click
import soupsieve

from prongsai.core.cli_options import db_option
from prongsai.core.errors import UserError
from prongsai.core.thai import agency_id, normalize_name, parse_amount, parse_be_date, supplier_id, to_arabic_digits
from scrapers import egp
from scrapers.command import at_most_one, file_or_live, first
from scrapers.records import Records, load
from scrapers.store import LayoutError, SourceRun

SOURCE = "egp-html"
REFRESH = False  # one page per announcement: fetched for chosen projects
MISSING_MARK = "E4514"
WINNER_TITLES = ("ประกาศรายชื่อผู้ชนะการเสนอราคา", "ประกาศผู้ชนะการเสนอราคา")
WINNER_TYPES = ("W0", "W2")
_META_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9._-]+)""", re.I)

#: elements that hold a line of the prose: values are read from the block holding their label.
_BLOCKS = ("p", "div", "tr", "td", "th", "li", "table", "h1", "h2", "h3", "center")
_LINE_BREAKS = {*_BLOCKS, "br"}
#: runs of spaces a label may hold: ``&nbsp;``, the source's line breaks, doubled spaces.
_SPACES = re.compile(r"\s{2,}|[^\S ]")

# Fields: what is published (named in errors), the label selecting its block, the pattern reading
# it. Labels are single words or exact phrases of the page's own text. In the patterns \d matches
# Thai digits too (๐-๙ are Unicode decimals); captured numbers go through prongsai.core.thai.
_SUBJECT_FIELD = "ประกาศ<agency> เรื่อง ประกาศผู้ชนะการเสนอราคา <project> โดยวิธี<method>"
_SUBJECT_LABEL = soupsieve.compile(':-soup-contains-own("เรื่อง"):-soup-contains-own("ผู้ชนะการเสนอราคา")')
_SUBJECT = re.compile(r"ประกาศ\s*(?P<agency>[^\n]+?)\s+เรื่อง\s*ประกาศ(?:รายชื่อ)?ผู้ชนะการเสนอราคา\s*"
                      r"(?P<title>[^\n]+?)\s*โดยวิธี\s*(?P<method>[^\n]+)")
_WINNER_FIELD = "ผู้ได้รับการคัดเลือก ได้แก่ <company> โดยเสนอราคา เป็นเงินทั้งสิ้น <amount> บาท"
_WINNER_LABEL = soupsieve.compile(':-soup-contains-own("ผู้ได้รับการคัดเลือก")')
_WINNER = re.compile(r"ผู้ได้รับการคัดเลือก\s*ได้แก่\s*(?P<who>.+?)\s*โดยเสนอราคา\s*เป็นเงินทั้งสิ้น\s*"
                     r"(?P<amount>[\d,.]+)\s*บาท", re.S)
_DATE_FIELD = "ประกาศ ณ วันที่ <date>"
_DATE_LABEL = soupsieve.compile(':-soup-contains-own("ณ วันที่")')
_DATE = re.compile(r"ประกาศ\s*ณ\s*วันที่\s*(?P<date>[^\n]+)")
_TITLE = soupsieve.compile("title")
_TAX_ID = re.compile(r"เลขประจำตัวผู้เสียภาษี(?:อากร)?\s*:?\s*(?P<tin>[\dxX][\dxX\s-]{11,20}[\dxX])")
#: a trailing "(ขายส่ง,ขายปลีก,ให้บริการ)" says what the company does; it is not part of its name.
_BUSINESS = re.compile(r"\s*\(\s*(?:ขายส่ง|ขายปลีก|ให้บริการ|ผู้ผลิต)(?:\s*,\s*(?:ขายส่ง|ขายปลีก|ให้บริการ|ผู้ผลิต))*\s*\)\s*$")


def select(soup: bs4.Tag, css: soupsieve.SoupSieve, *, field: str, location: str, at_least: int = 1,
           at_most: int | None = None) -> list[bs4.Tag]:
    """The elements matching ``css`` (compiled once, at import); too few or too many is a
    :class:`LayoutError` naming the field, the selector and how many matched, never a guess at
    which one was meant."""
    found = css.select(soup)
    if len(found) < at_least or (at_most is not None and len(found) > at_most):
        wanted = (f"at least {at_least}" if at_most is None else
                  f"exactly {at_most}" if at_least == at_most else f"{at_least} to {at_most}")
        raise LayoutError(SOURCE, location, field, f"{len(found)} elements match {css.pattern} (wanted {wanted})")
    return found


def one(soup: bs4.Tag, css: soupsieve.SoupSieve, *, field: str, location: str) -> bs4.Tag:
    """The one element matching ``css`` (see :func:`select`)."""
    return select(soup, css, field=field, location=location, at_most=1)[0]


def optional(soup: bs4.Tag, css: soupsieve.SoupSieve, *, field: str, location: str) -> bs4.Tag | None:
    """The element matching ``css``, or None where the field may be absent; two still fail."""
    found = select(soup, css, field=field, location=location, at_least=0, at_most=1)
    return found[0] if found else None


def _soup(text: str) -> bs4.BeautifulSoup:
    """The page ready for selection by label: scripts dropped, each run of spaces one space
    (so a label matches whatever spaces the page used)."""
    soup = bs4.BeautifulSoup(text, "lxml")
    for tag in soup(["script", "style"]):
        tag.decompose()
    for string in soup.find_all(string=_SPACES):
        if _visible(string):
            string.replace_with(_SPACES.sub(" ", string))
    return soup


def _visible(node) -> bool:
    """Text a reader sees (not a comment or the doctype, which bs4 also keeps as strings)."""
    return type(node) is bs4.NavigableString


def _block(tag: bs4.Tag) -> bs4.Tag:
    """The paragraph or cell holding ``tag`` (a label may sit in inline markup)."""
    return tag if tag.name in _BLOCKS else tag.find_parent(_BLOCKS) or tag


def _text(tag: bs4.Tag | None) -> str:
    """A tag's visible text, one line per block or ``<br>`` inside it."""
    lines = (_one_line(line) for line in "".join(_strings(tag)).split("\n")) if tag else ()
    return "\n".join(line for line in lines if line)


def _strings(tag: bs4.Tag):
    """The visible strings under ``tag``, with a line break around each block and at ``<br>``."""
    for child in tag.children:
        if isinstance(child, bs4.Tag):
            breaks = "\n" if child.name in _LINE_BREAKS else ""
            yield breaks
            yield from _strings(child)
            yield breaks
        elif _visible(child):
            yield child


def _heading(subject: bs4.Tag) -> str:
    """The subject block's text with the line before it: "ประกาศ<agency>" heads the subject,
    on its own line (block) or on the subject's; never the <title>, which is no agency."""
    before = subject.find_previous(string=lambda s: _visible(s) and s.strip())
    line_before = _text(_block(before.parent)) if before and before.find_parent("body") else ""
    return f"{line_before}\n{_text(subject)}"


def _charset(content: bytes) -> str:
    m = _META_CHARSET.search(content[:4096])
    return m.group(1).decode("ascii") if m else "tis-620"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def parse(content: bytes, *, url: str, project_id: str | None = None, announce_type: str | None = None) -> Records:
    """A winner announcement page -> the announcement, winners (suppliers, awards), stubs."""
    soup = _soup(egp.decode(content, _charset(content), source=SOURCE, location=url))
    if MISSING_MARK in soup.get_text():
        return Records(missing=f"{url}: {_one_line(soup.get_text())[:80]}")
    try:
        pid = egp.project_id(project_id or egp.query_param(url, "projectId"))
    except ValueError:
        raise UserError(f"{SOURCE}: {url}: which project is this page? (--project ID, or a URL with projectId=)"
                        ) from None
    kind = announce_type or egp.query_param(url, "templateType") or "W0"
    title_tag = optional(soup, _TITLE, field="the page title", location=url)
    title = _one_line(title_tag.get_text()) if title_tag else ""
    if kind not in WINNER_TYPES or title not in WINNER_TITLES:
        raise LayoutError(SOURCE, url, f"a winner announcement ({WINNER_TITLES[0]}, type W0/W2)",
                          f"title {title!r}, type {kind}")

    heading = _heading(_block(one(soup, _SUBJECT_LABEL, field=_SUBJECT_FIELD, location=url)))
    subject = _SUBJECT.search(heading)
    if not subject:
        raise LayoutError(SOURCE, url, _SUBJECT_FIELD, repr(heading[:100]))
    date_text = _text(_block(one(soup, _DATE_LABEL, field=_DATE_FIELD, location=url)))
    dated = _DATE.search(date_text)
    if not dated:
        raise LayoutError(SOURCE, url, _DATE_FIELD, repr(date_text[:100]))
    winners = []
    # one block may name several winners (by identity: bs4 tags compare by their markup);
    # a block whose winner cannot be read fails the page
    blocks = {id(block): block for block in map(_block, select(soup, _WINNER_LABEL, field=_WINNER_FIELD,
                                                                location=url))}
    for block in blocks.values():
        found = list(_WINNER.finditer(_text(block)))
        if not found:
            raise LayoutError(SOURCE, url, _WINNER_FIELD, repr(_text(block)[:200]))
        winners += found

    records = Records()
    records.rows_in = len(winners) + 1  # the announcement itself and each winner
    try:
        published = parse_be_date(dated["date"])
    except ValueError as exc:
        records.quarantine(url, dated.group(0), str(exc))
        return records
    agency_name, project_title, method = (_one_line(subject[k]) for k in ("agency", "title", "method"))
    entity = agency_id(None, agency_name)
    records.stub("agencies", {"id": entity, "name_th": agency_name})
    records.stub("projects", {"project_id": pid, "title": project_title, "method": method,
                              "procuring_entity_id": entity})
    records.stub("announcements", {
        "id": egp.announcement_id(pid, kind, published), "project_id": pid, "type": kind,
        "title": f"ประกาศผู้ชนะการเสนอราคา {project_title}", "published_at": published, "url": url,
        "agency_id": entity})
    for lot, winner in enumerate(winners, start=1):
        who = winner["who"]
        tin = _TAX_ID.search(who)
        name = _BUSINESS.sub("", _one_line(_TAX_ID.sub(" ", who)))
        try:
            amount = parse_amount(winner["amount"])
        except ValueError as exc:
            records.quarantine(f"{url} winner {lot}", winner.group(0), str(exc))
            continue
        raw_tin = to_arabic_digits(re.sub(r"[\s-]", "", tin["tin"])) if tin else None
        sid, tax_id, status = supplier_id(raw_tin, name)
        records.stub("suppliers", {"id": sid, "tax_id": tax_id, "tax_id_raw": raw_tin, "tax_id_status": status,
                                   "name_th": name, "name_normalized": normalize_name(name)})
        award = f"{pid}/{lot}"  # the id datagoth and egp-json give the same award: fill, never duplicate
        records.stub("awards", {"id": award, "project_id": pid, "award_id": str(lot),
                                "status": "active", "amount": amount, "currency": "THB", "date": published})
        records.link("award_suppliers", {"award_id": award, "supplier_id": sid})
    return records


def announcement_url(project_id: str, announce_type: str = "W0") -> str:
    """The legacy ShowHTMLFile link the RSS feed gives for a project's announcement."""
    return ("http://process3.gprocurement.go.th/egp2procmainWeb/jsp/procsearch.sch?servlet=gojsp"
            f"&proc_id=ShowHTMLFile&processFlows=Procure&projectId={egp.project_id(project_id)}"
            f"&templateType={announce_type}&temp_Announ=A&temp_itemNo=0&seqNo=1")


def _load(run, records: Records, url: str) -> None:
    if records.missing:
        click.echo(f"{SOURCE}: missing (E4514, no such document): {records.missing}", err=True)
    load(run, records, source_url=url)


def run_live(db_path, *, urls=(), projects=(), announce_type="W0", client=None) -> SourceRun:
    from scrapers.http import Client

    client = client or Client()
    urls = [*urls, *(announcement_url(p, announce_type) for p in projects)]
    with SourceRun(db_path, SOURCE, target=" ".join(urls)) as run:
        for url in urls:
            final_url, _, records = egp.fetch(client, url, lambda c, u: parse(c, url=u))
            _load(run, records, final_url)
    return run


def run_file(db_path, path, *, url=None, project_id=None, announce_type=None) -> SourceRun:
    with open(path, "rb") as f:
        content = f.read()
    location = url or str(path)
    if not (project_id or egp.query_param(url, "projectId")):
        raise UserError("say which project the page belongs to: --project ID or --url <its ShowHTMLFile link>")
    with SourceRun(db_path, SOURCE, target=path) as run:
        _load(run, parse(content, url=location, project_id=project_id, announce_type=announce_type), location)
    return run


@click.command(SOURCE)
@db_option
@click.option("--url", "urls", multiple=True, help="A ShowHTMLFile announcement link (as the RSS gives); repeatable.")
@click.option("--project", "projects", multiple=True, metavar="ID", callback=egp.project_ids, help="Fetch this project's winner announcement.")
@click.option("--type", "announce_type", type=click.Choice(WINNER_TYPES), default=None,
              help="W0 winner announcement (default) or W2 amended.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False),
              help="Read a saved page (give --project, or --url it came from).")
def command(db_path, urls, projects, announce_type, path):
    """Legacy e-GP winner announcements (TIS-620 HTML) into announcements, awards and suppliers."""
    if path:
        at_most_one("--file reads one page", url=urls, project=projects)
    elif not urls and not projects:
        raise UserError("say which announcement: --url LINK or --project ID (or --file PATH)")
    file_or_live(SOURCE, (path,) if path else (),
                 lambda file: run_file(db_path, file, url=first(urls), project_id=first(projects),
                                       announce_type=announce_type),
                 lambda: run_live(db_path, urls=urls, projects=projects, announce_type=announce_type or "W0"))
