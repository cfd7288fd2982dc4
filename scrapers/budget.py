"""Budget line items: the national budget bill (KaoGeek v2 CSV) and local อบจ. budgets (WeVis JSON).

Traps (thai-data.md §9, the READMEs beside the real files): columns are found by name (the
community extraction adds a leading unnamed index column and writes booleans ``True`` where the
reference file writes ``TRUE``); ``AMOUNT`` is a quoted string with thousands separators;
``FISCAL_YEAR`` is in the common era; ``REF_PAGE_NO`` is the printed page. A multi-year
obligation (``OBLIGED?``) is listed with one row per year of its schedule (2552-2577 in the FY2565
bill): only the row for the bill's own year (``REF_DOC`` = ``<CE year>.<ฉบับ>.<เล่ม>``) is money
this bill appropriates; the other years belong to other bills and would inflate every per-year
sum, so they are counted and left out (``budget_items`` has no column to tell them apart yet). OCR-garbled rows flagged in
``DEBUG_LOG`` still carry a real amount and are kept as published. The WeVis file sums the 76
อบจ. nation-wide twice over (by area and plan, and by type): only the area/plan breakdown is
stored, so that summing ``budget_items`` never counts a baht twice.
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
#: what a live run reads by default: the FY2565 bill volumes and the อบจ. budgets FY2565-2566.
DEFAULT_URLS = (*(f"{_KAOGEEK}2022-3-{n}.csv" for n in (1, 7, 14, 17)),
                *(f"{_WEVIS}{year}/nation-wide.json" for year in (2565, 2566)))


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


def parse_bill(lines: Iterable[str], *, location: str) -> Records:
    """A KaoGeek v2 budget-bill CSV (decoded lines) -> national budget items."""
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
        if year != bill_year:
            records.skipped += 1  # another year's instalment of a multi-year obligation
            continue
        page = to_arabic_digits(row["REF_PAGE_NO"])
        unit = row["BUDGETARY_UNIT"] or None
        records.upsert("budget_items", {
            "id": f"bill:{row['ITEM_ID']}", "fiscal_year": year, "level": "national",
            "ministry": row["MINISTRY"], "budgetary_unit": unit,
            "agency_id": agency_id(None, unit) if unit else None,
            "plan": row["BUDGET_PLAN"] or None, "output": row["OUTPUT"] or None,
            "project": row["PROJECT"] or None, "category": row["CATEGORY_LV1"] or None,
            "description": " > ".join(row[c] for c in DETAIL_COLUMNS if row.get(c)) or None,
            "amount": amount, "currency": "THB", "source_doc": row["REF_DOC"] or None,
            "source_page": int(page) if page.isdigit() else None,
        })
        if unit:
            records.stub("agencies", {"id": agency_id(None, unit), "name_th": unit, "ministry": row["MINISTRY"]})
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


def parse_local(content: bytes, *, location: str, fiscal_year: int) -> Records:
    """A WeVis ``nation-wide.json`` (อบจ. budgets summed nation-wide) -> local items per area and plan."""
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise LayoutError(SOURCE, location, "a UTF-8 JSON document", str(exc)[:80]) from None
    total = parse_amount(_require(doc, "total", location, ""))
    areas = _require(doc, "groupedByArea", location, "")
    if not isinstance(areas, list):
        raise LayoutError(SOURCE, location, "groupedByArea[] list", type(areas).__name__)
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
            plan_rows.append((plan_name, amount, plan))
        plan_sum = sum(a or 0 for _, a, _ in plan_rows)
        if area_total is not None and abs(plan_sum - area_total) > 0.5:
            for _, _, plan in plan_rows:
                records.quarantine(f"{location} {name}", plan,
                                   f"plans of {name} sum to {plan_sum:,.0f}, the area total is {area_total:,.0f}")
            continue
        for plan_name, amount, _ in plan_rows:
            records.upsert("budget_items", {
                "id": f"local:{fiscal_year}:pao:{name}:{plan_name}", "fiscal_year": fiscal_year, "level": "local",
                "budgetary_unit": LOCAL_UNIT, "plan": plan_name, "description": name,
                "amount": amount, "currency": "THB", "source_doc": _document_name(location)})
    if total is not None and abs(area_sum - total) > 0.5:
        raise ScrapeError(f"{SOURCE}: {location}: areas sum to {area_sum:,.0f} but total is {total:,.0f}")
    return records


def parse(content: bytes, *, location: str, fiscal_year: int | None = None) -> Records:
    """Either format, told apart by content: JSON object -> local, else the bill CSV."""
    return parse_file(io.BytesIO(content), location=location, fiscal_year=fiscal_year)


def parse_file(f: BinaryIO, *, location: str, fiscal_year: int | None = None) -> Records:
    """:func:`parse` of an open binary file; the bill CSV is streamed, never read whole."""
    if f.read(4096).lstrip(b"\xef\xbb\xbf \r\n\t")[:1] == b"{":
        year = fiscal_year or _year_from(location)
        if not year:
            raise UserError(f"{SOURCE}: {location}: which fiscal year is this? (--year YYYY, B.E.)")
        f.seek(0)
        return parse_local(f.read(), location=location, fiscal_year=year)
    f.seek(0)
    text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="")
    try:
        return parse_bill(bounded_lines(text), location=location)
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


def run_file(db_path, path, *, fiscal_year=None) -> SourceRun:
    with SourceRun(db_path, SOURCE, target=path) as run, open(path, "rb") as f:
        run.target_sha256 = sha256_file(path)
        _load(run, parse_file(f, location=str(path), fiscal_year=fiscal_year), str(path))
    return run


def _load(run, records: Records, location: str) -> None:
    if records.skipped:
        click.echo(f"{SOURCE}: {location}: {records.skipped:,} instalments of multi-year obligations "
                   "for other fiscal years left out", err=True)
    load(run, records, source_url=location)


@click.command(SOURCE)
@db_option
@click.option("--file", "paths", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A saved budget-bill CSV (KaoGeek v2 columns) or WeVis nation-wide.json (repeatable: "
                   "one run each).")
@click.option("--url", "urls", multiple=True, help="Fetch this document instead of the default set; repeatable.")
@click.option("--year", "fiscal_year", type=int, default=None,
              help="Fiscal year (B.E.) of a local-budget JSON whose name does not say it.")
def command(db_path, paths, urls, fiscal_year):
    """Budget line items: national budget bill (CSV) and อบจ. local budgets (JSON) into budget_items.

    Live: the FY2565 bill volumes and the อบจ. budgets FY2565-2566 by default.
    """
    file_or_live(SOURCE, paths, lambda path: run_file(db_path, path, fiscal_year=fiscal_year),
                 lambda: run_live(db_path, urls=urls or DEFAULT_URLS, fiscal_year=fiscal_year))
