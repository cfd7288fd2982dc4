"""Budget line items: the national budget bill (KaoGeek v2 CSV) and local อบจ. budgets (WeVis JSON).

Traps (thai-data.md §9, the READMEs beside the real files): columns are found by name (the
community extraction adds a leading unnamed index column and writes booleans ``True`` where the
reference file writes ``TRUE``); ``AMOUNT`` is a quoted string with thousands separators;
``FISCAL_YEAR`` is in the common era; ``REF_PAGE_NO`` is the printed page. A multi-year
obligation (``OBLIGED?``) is listed with one row per year of its schedule (2552-2577 in the FY2565
bill): only the row for the bill's own year (``REF_DOC`` = ``<CE year>.<ฉบับ>.<เล่ม>``) is money
this bill appropriates; the other years' rows are kept as the commitment they record, labelled
``instalment_of_bill`` (the bill's fiscal year), and every per-year sum leaves them out, since they
belong to other years' bills and would inflate each. OCR-garbled rows flagged in
``DEBUG_LOG`` still carry a real amount and are kept as published. The WeVis file sums the 76
อบจ. nation-wide twice over (by area and plan, and by type): only the area/plan breakdown is
stored, so that summing ``budget_items`` never counts a baht twice.

WeVis also publishes one file per อบจ. (``pao-<province>.json``: the same breakdown plus ``tasks``
and ``pao.name``). Its lines are stored as that province's own (``scope`` 'province', the province
in the id and the column), never under the nation-wide ids, so files load in any order to the same
rows and the nation-wide totals never move. A file that is neither (no ``pao.name``, no
``budgetPerCapita``) is refused: guessing would put a part where the whole belongs.
"""
from __future__ import annotations

import csv
import io
import json
import pathlib
import re
import urllib.parse
from typing import BinaryIO, Iterable

import click

from prongsai.core.budget_bills import BILL_DOCUMENTS, WITHOUT_CSV, file_name
from prongsai.core.cli_options import db_option
from prongsai.core.errors import UserError
from prongsai.core.files import sha256_file
from prongsai.core.thai import BE_OFFSET, agency_id, is_blank, parse_amount, to_arabic_digits
from scrapers.command import file_or_live
from scrapers.records import Records, load
from scrapers.store import LayoutError, ScrapeError, SourceRun
from scrapers.textfiles import blocks, bounded_lines, csv_rows, utf8_problem

SOURCE = "budget"
REFRESH = False  # published once a year: load a new bill when it appears
BILL_COLUMNS = ("ITEM_ID", "REF_DOC", "REF_PAGE_NO", "MINISTRY", "BUDGETARY_UNIT", "BUDGET_PLAN", "OUTPUT",
                "PROJECT", "CATEGORY_LV1", "ITEM_DESCRIPTION", "FISCAL_YEAR", "AMOUNT")
DETAIL_COLUMNS = ("CATEGORY_LV2", "CATEGORY_LV3", "CATEGORY_LV4", "CATEGORY_LV5", "CATEGORY_LV6", "ITEM_DESCRIPTION")
LOCAL_UNIT = "องค์การบริหารส่วนจังหวัด (รวมทั้งประเทศ)"

_KAOGEEK = ("https://raw.githubusercontent.com/kaogeek/thailand-budget-pdf2csv/"
            "6a39e7dbeefc935eb72a847870e1bf39e17b305e/csv-extraction/napatswift-coordintes/output/")
_WEVIS = ("https://raw.githubusercontent.com/wevisdemo/act-local-budgeting/"
          "aed6ce14122a1368372174fe6b5d8ddbb7d9872b/static/data/")
#: what a live run reads by default: every FY2565 bill document published as CSV, the อบจ. budgets FY2565-2566.
DEFAULT_URLS = (*(f"{_KAOGEEK}{file_name(doc)}" for doc in BILL_DOCUMENTS[2565] if doc not in WITHOUT_CSV),
                *(f"{_WEVIS}{year}/nation-wide.json" for year in (2565, 2566)))
#: WeVis' index of the years and, per year, the provinces with a file of their own.
LOCAL_INDEX = f"{_WEVIS}metadata.json"
NATION, PROVINCE = "nation", "province"


def _year_be(value) -> int:
    """A year as published (CE in the bill, B.E. elsewhere; Thai digits allowed) -> B.E."""
    text = to_arabic_digits(str(value)).strip()
    if not re.fullmatch(r"\d{4}(\.0)?", text):
        raise ValueError(f"not a year: {value!r}")
    year = int(float(text))
    year = year + BE_OFFSET if year < 2400 else year
    if not 2500 <= year <= 2700:
        raise ValueError(f"implausible year: {value!r}")
    return year


#: the part number the extraction appends to a ministry whose volume comes in parts ("... (2)")
_PART = re.compile(r"\s*\(\d+\)$")


def parse_bill(lines: Iterable[str], *, location: str, fiscal_year: int | None = None) -> Records:
    """A KaoGeek v2 budget-bill CSV (decoded lines) -> national budget items.

    ``fiscal_year`` (B.E.), when given, is the bill's year the caller expects (``--year`` or the
    file's name): a file of another year's bill is refused whole, since a mislabelled bill would
    sit under the wrong year's total."""
    reader = csv_rows(lines, source=SOURCE, location=location, expected="a KaoGeek budget-bill CSV (v2 columns)")
    header = next(reader, None)
    if header is None:
        raise LayoutError(SOURCE, location, "a CSV header", "an empty file")
    header = [h.strip().lstrip("\ufeff") for h in header]
    index = {name: i for i, name in enumerate(header) if name}
    for name in BILL_COLUMNS:
        if name not in index:
            raise LayoutError(SOURCE, location, f"column {name}", f"header {[h for h in header if h]}")
    records = Records()
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        records.rows_in += 1
        where = f"{location}:{line}"
        raw = _csv_line(cells)
        if len(cells) != len(header):
            records.quarantine(where, raw, f"{len(cells)} cells for {len(header)} columns")
            continue
        row = {name: cells[i].strip() for name, i in index.items()}
        try:
            if is_blank(row["ITEM_ID"]) or is_blank(row["MINISTRY"]):
                raise ValueError("no ITEM_ID or MINISTRY")
            try:
                amount = parse_amount(row["AMOUNT"])
            except ValueError as exc:
                raise ValueError(f"AMOUNT: {exc}") from None
            if amount is None:
                raise ValueError("no AMOUNT")
            year = _year_be(row["FISCAL_YEAR"])
            bill_year = _year_be(row["REF_DOC"].split(".")[0])
        except ValueError as exc:
            records.quarantine(where, raw, str(exc))
            continue
        if fiscal_year and bill_year != fiscal_year:
            raise ScrapeError(f"{SOURCE}: {where}: REF_DOC {row['REF_DOC']!r} is the FY{bill_year} bill, but "
                              f"FY{fiscal_year} was expected (--year or the file's name); nothing from this file "
                              "was stored")
        instalment = bill_year if year != bill_year else None  # another year of a multi-year obligation
        records.skipped += instalment is not None
        page = to_arabic_digits(row["REF_PAGE_NO"])
        ministry = _PART.sub("", row["MINISTRY"])
        unit = row["BUDGETARY_UNIT"] or None
        records.upsert("budget_items", {
            "id": f"bill:{row['ITEM_ID']}", "fiscal_year": year, "level": "national",
            "ministry": ministry, "budgetary_unit": unit,
            "agency_id": agency_id(None, unit) if unit else None, "scope": NATION,
            "plan": row["BUDGET_PLAN"] or None, "output": row["OUTPUT"] or None,
            "project": row["PROJECT"] or None, "category": row["CATEGORY_LV1"] or None,
            "description": " > ".join(row[c] for c in DETAIL_COLUMNS if row.get(c)) or None,
            "amount": amount, "currency": "THB", "source_doc": row["REF_DOC"] or None,
            "source_page": int(page) if page.isdigit() else None, "instalment_of_bill": instalment,
        })
        if unit:
            records.stub("agencies", {"id": agency_id(None, unit), "name_th": unit, "ministry": ministry})
    return records


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def _require(obj, key: str, location: str, where: str):
    if not isinstance(obj, dict) or key not in obj:
        found = f"keys {sorted(obj)}" if isinstance(obj, dict) else type(obj).__name__
        raise LayoutError(SOURCE, location, f"{where}{key}", found)
    return obj[key]


def _local_scope(doc: dict, location: str) -> str | None:
    """The province a WeVis file covers, None for the nation-wide sum; refuses a file that says neither."""
    pao = doc.get("pao")
    if isinstance(pao, dict) and str(pao.get("name") or "").strip():
        province = str(pao["name"]).strip()
        file_name = pathlib.PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(location).path)).name
        named = re.fullmatch(r"(?:\d+_)?pao-(.+)\.json", file_name)
        if named and named.group(1) != province:
            raise ScrapeError(f"{SOURCE}: {location}: pao.name is {province!r} but the file is named for "
                              f"{named.group(1)!r}")
        return province
    if "budgetPerCapita" in doc and "pao" not in doc:
        return None
    raise LayoutError(SOURCE, location, "pao.name (one province's file) or budgetPerCapita (the nation-wide file)",
                      f"keys {sorted(doc)}")


def _check_sum(parts: float, total, location: str, field: str, what: str) -> None:
    if total is not None and abs(parts - total) > 0.5:
        raise ScrapeError(f"{SOURCE}: {location}: {field} is {total:,.0f} but {what} sum to {parts:,.0f}; "
                          "nothing from this file was stored")


def parse_local(content: bytes, *, location: str, fiscal_year: int) -> Records:
    """A WeVis ``nation-wide.json`` or ``pao-<province>.json`` -> local items per area and plan.

    All or nothing: an area whose plans do not add up to it, or areas or types that do not add up to
    the file's total, refuse the whole file (naming the field), since a budget with a hole in it
    would read as a smaller budget."""
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise LayoutError(SOURCE, location, "a UTF-8 JSON document", str(exc)[:80]) from None
    if not isinstance(doc, dict):
        raise LayoutError(SOURCE, location, "a JSON object", type(doc).__name__)
    province = _local_scope(doc, location)
    total = parse_amount(_require(doc, "total", location, ""))
    areas = _require(doc, "groupedByArea", location, "")
    if not isinstance(areas, list):
        raise LayoutError(SOURCE, location, "groupedByArea[] list", type(areas).__name__)
    prefix = f"local:{fiscal_year}:pao-{province}" if province else f"local:{fiscal_year}:pao"
    records = Records()
    area_sum = 0.0
    for n, area in enumerate(areas):
        name = str(_require(area, "area", location, f"groupedByArea[{n}].")).strip()
        area_total = parse_amount(_require(area, "total", location, f"groupedByArea[{n}]."))
        plans = _require(area, "plans", location, f"groupedByArea[{n}].")
        area_sum += area_total or 0
        plan_rows = []
        for m, plan in enumerate(plans):
            records.rows_in += 1
            plan_name = str(_require(plan, "plan", location, f"groupedByArea[{n}].plans[{m}].")).strip()
            amount = parse_amount(_require(plan, "total", location, f"groupedByArea[{n}].plans[{m}]."))
            plan_rows.append((plan_name, amount))
        _check_sum(sum(a or 0 for _, a in plan_rows), area_total, location, f"groupedByArea[{n}].total ({name})",
                   "its plans")
        for plan_name, amount in plan_rows:
            records.upsert("budget_items", {
                "id": f"{prefix}:{name}:{plan_name}", "fiscal_year": fiscal_year, "level": "local",
                "scope": PROVINCE if province else NATION, "province": province,
                "budgetary_unit": f"องค์การบริหารส่วนจังหวัด{province}" if province else LOCAL_UNIT,
                "plan": plan_name, "description": name,
                "amount": amount, "currency": "THB", "source_doc": _document_name(location)})
    _check_sum(area_sum, total, location, "total", "groupedByArea[].total")
    types = doc.get("groupedByType")
    if isinstance(types, list) and types:
        _check_sum(sum(parse_amount(t.get("total")) or 0 for t in types if isinstance(t, dict)), total, location,
                   "total", "groupedByType[].total")
    return records


def parse(content: bytes, *, location: str, fiscal_year: int | None = None) -> Records:
    """Either format, told apart by content: JSON -> local (an object, else refused), else the bill CSV."""
    return parse_file(io.BytesIO(content), location=location, fiscal_year=fiscal_year)


def parse_file(f: BinaryIO, *, location: str, fiscal_year: int | None = None) -> Records:
    """:func:`parse` of an open binary file; the bill CSV is streamed, never read whole."""
    if f.read(4096).lstrip(b"\xef\xbb\xbf \r\n\t")[:1] in (b"{", b"["):  # JSON: a WeVis file, or not one
        named = _year_from(location)
        if fiscal_year and named and fiscal_year != named:
            raise UserError(f"{SOURCE}: {location}: --year {fiscal_year} but the file is named for {named}")
        year = fiscal_year or named
        if not year:
            raise UserError(f"{SOURCE}: {location}: which fiscal year is this? (--year YYYY, B.E.)")
        f.seek(0)
        return parse_local(f.read(), location=location, fiscal_year=year)
    named = _bill_year_from(location)
    if fiscal_year and named and fiscal_year != named:
        raise UserError(f"{SOURCE}: {location}: --year {fiscal_year} but the file is named for {named}")
    f.seek(0)
    text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="")
    try:
        return parse_bill(bounded_lines(text), location=location, fiscal_year=fiscal_year or named)
    except UnicodeDecodeError:
        f.seek(0)
        raise LayoutError(SOURCE, location, "UTF-8 CSV text", utf8_problem(blocks(f))) from None
    finally:
        text.detach()  # the caller's file stays open


def _document_name(location: str) -> str:
    """A URL stays a URL (it names the document); a local path keeps only its file name."""
    return location if "://" in location else pathlib.PurePath(location).name


def _year_from(location: str) -> int | None:
    """``nation-wide-2565.json`` or ``.../2565/nation-wide.json`` -> 2565."""
    parts = pathlib.PurePosixPath(urllib.parse.urlsplit(location).path or location).parts
    for part in reversed(parts[-2:]):
        m = re.search(r"(?<!\d)(25\d\d)(?!\d)", part)
        if m:
            return int(m.group(1))
    return None


def _bill_year_from(location: str) -> int | None:
    """KaoGeek's ``2022-3-3(1).csv`` (CE year, ฉบับ, เล่ม) -> 2565."""
    m = re.search(r"(?<!\d)(\d{4})-\d+-\d+(?:\(\d+\))?\.csv$", urllib.parse.unquote(location))
    return int(m.group(1)) + BE_OFFSET if m else None


def run_live(db_path, *, urls=DEFAULT_URLS, fiscal_year=None, client=None) -> SourceRun:
    """Download each document (streamed, checksummed) and load them all in one run."""
    from prongsai.core import config
    from scrapers.http import Client

    client = client or Client()
    folder = config.data_dir() / "downloads" / SOURCE
    with SourceRun(db_path, SOURCE, target=" ".join(urls)) as run:
        for url in urls:
            name = pathlib.PurePosixPath(urllib.parse.urlsplit(url).path)
            dl = client.download(url, folder / "_".join(name.parts[-2:]))
            with open(dl.path, "rb") as f:
                _load(run, parse_file(f, location=url, fiscal_year=fiscal_year), url)
        if len(urls) == 1:
            run.target_sha256 = dl.sha256
    return run


def local_urls(fiscal_year: int, *, client) -> list[str]:
    """The nation-wide file and every province's file WeVis lists for ``fiscal_year`` (B.E.)."""
    index = client.get_json(LOCAL_INDEX)
    by_year = index.get("provincesByYears") if isinstance(index, dict) else None
    if not isinstance(by_year, dict):
        raise LayoutError(SOURCE, LOCAL_INDEX, "provincesByYears {year: [province]}",
                          f"keys {sorted(index)}" if isinstance(index, dict) else type(index).__name__)
    if str(fiscal_year) not in by_year:
        raise UserError(f"{SOURCE}: WeVis has no อบจ. budgets for {fiscal_year}; it has {', '.join(sorted(by_year))}")
    base = f"{_WEVIS}{fiscal_year}/"
    return [f"{base}nation-wide.json",
            *(f"{base}{urllib.parse.quote(f'pao-{name}.json')}" for name in by_year[str(fiscal_year)])]


def run_local(db_path, fiscal_year: int, *, client=None) -> SourceRun:
    """A year's อบจ. budgets, nation-wide and per province, in one run (one file wrong: none stored)."""
    from scrapers.http import Client

    client = client or Client()
    return run_live(db_path, urls=local_urls(fiscal_year, client=client), fiscal_year=fiscal_year, client=client)


def run_file(db_path, path, *, fiscal_year=None) -> SourceRun:
    with SourceRun(db_path, SOURCE, target=path) as run, open(path, "rb") as f:
        run.target_sha256 = sha256_file(path)
        _load(run, parse_file(f, location=str(path), fiscal_year=fiscal_year), str(path))
    return run


def _load(run, records: Records, location: str) -> None:
    if records.skipped:
        click.echo(f"{SOURCE}: {location}: {records.skipped:,} instalments of multi-year obligations "
                   "for other fiscal years kept, labelled instalment_of_bill (not in any year's sum)", err=True)
    load(run, records, source_url=location)


@click.command(SOURCE)
@db_option
@click.option("--file", "paths", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A saved budget-bill CSV (KaoGeek v2 columns) or WeVis nation-wide.json (repeatable: "
                   "one run each).")
@click.option("--url", "urls", multiple=True, help="Fetch this document instead of the default set; repeatable.")
@click.option("--year", "fiscal_year", type=int, default=None,
              help="Fiscal year (B.E.) of a local-budget JSON whose name does not say it; a bill CSV of "
                   "another year is refused.")
@click.option("--local", "local_year", type=int, default=None, metavar="YEAR",
              help="Fetch the year's อบจ. budgets (B.E.): the nation-wide file and every province's file.")
def command(db_path, paths, urls, fiscal_year, local_year):
    """Budget line items: national budget bill (CSV) and อบจ. local budgets (JSON) into budget_items.

    Live: the FY2565 bill volumes and the อบจ. budgets FY2565-2566 by default; --local YEAR: that
    year's อบจ. files, nation-wide and per province.
    """
    if local_year and (paths or urls):
        raise UserError(f"{SOURCE}: --local fetches its own files; give it without --file or --url")
    live = ((lambda: run_local(db_path, local_year)) if local_year
            else lambda: run_live(db_path, urls=urls or DEFAULT_URLS, fiscal_year=fiscal_year))
    file_or_live(SOURCE, paths, lambda path: run_file(db_path, path, fiscal_year=fiscal_year), live)
