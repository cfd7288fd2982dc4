"""``datagoth``: the Comptroller General's e-GP contract CSVs on data.go.th (CKAN).

One CSV row is one contract of one project (a project with several contracts has several rows).
What the files really look like (``shared/research/thai-data.md`` §3) and how each trap is met:

- UTF-8 with a BOM: decoded as ``utf-8-sig``, and a stray ``\\ufeff`` is stripped from the header.
- Two generations. FY<=2567: 31 headers on 31 cells. FY2568: 26 headers (no district and
  subdistrict) or 31 headers (with the three ``(Eng)`` columns) sitting on 28 data cells. Zipping
  such a header onto its rows shifts every column after จังหวัด, so the layout is chosen from the
  row shape (the most common cell count of the first rows), never by zipping blindly; a row of
  another length is quarantined.
- วิธีจัดซื้อฯ and กลุ่มวิธีจัดซื้อฯ are swapped between generations: the one holding the generic
  listing ``วิธีการจัดหา ประกาศเชิญชวนทั่วไป ...`` is the group column, the other is the method;
  the group and OCDS method are derived from the method (``prongsai.core.thai.method_group``).
- Dates ``15-ก.ย.-64`` and ``17 ม.ค. 68`` and ``-``; Thai digits anywhere.
- Tax ids: Excel-damaged ``3.0556E+11`` (status damaged) and masked ``313060050xxxx`` never become a
  valid-looking id (``prongsai.core.thai.supplier_id``).
- Projects are keyed by รหัสโครงการ; contracts by project + เลขที่สัญญา; one award per project
  (amount ราคาตกลงซื้อ/จ้าง, a project total) with every contract's supplier linked to it.
  ราคาตกลงซื้อ/จ้าง = 0 with no winner means no winner yet: no award, no contract, never a 0 price.
- Agencies carry no code in these files: ``name:`` + the normalised name.
- What is already stored is reconciled before commit: a contract e-GP gave first is merged into
  the published one (``egp_json.merge_into_published``), and a changed winner loses its award link.

``parse`` is pure (text lines -> records); ``load`` writes through ``scrapers.store.SourceRun``;
``fetch`` goes through ``scrapers.http.Client``: CKAN ``package_show`` (package names differ by
year) -> CSV resources -> streamed, resumable downloads under ``data/raw/datagoth/``.
"""
from __future__ import annotations

import collections
import datetime as _dt
import functools
import hashlib
import itertools
import json
import pathlib
import re
from typing import Iterable, Iterator, NamedTuple

import click

from prongsai.core import config
from prongsai.core.cli_options import db_option
from prongsai.core.errors import UserError
from prongsai.core.thai import (
    agency_id,
    current_fiscal_year,
    fiscal_year,
    method_group,
    normalize_name,
    parse_amount,
    parse_be_date,
    supplier_id,
    to_arabic_digits,
)
from scrapers.command import file_or_live
from scrapers.egp_json import merge_into_published
from scrapers.http import Client, Download, FetchError
from scrapers.records import Records, load
from scrapers.store import LayoutError, ScrapeError, SourceRun, each_file
from scrapers.textfiles import blocks, bounded_lines, csv_rows, utf8_problem

SOURCE = "datagoth"
CURRENCY = "THB"
CKAN = "https://data.go.th/api/3/action/"
REFRESH = True
SHAPE_SAMPLE = 300  # rows read to decide the file's layout

#: Generation A (FY<=2567), 31 columns, as published.
COLUMNS_A = (
    "ลำดับ", "รหัสโครงการ", "ชื่อโครงการ", "ชื่อประเภทโครงการ", "ชื่อหน่วยงาน", "ชื่อหน่วยงานย่อย",
    "วิธีจัดซื้อฯ", "กลุ่มวิธีจัดซื้อฯ", "วันที่ประกาศ", "งบประมาณ(บาท)", "ราคากลาง(บาท)",
    "ราคาตกลงซื้อ/จ้าง", "ปีงบประมาณ", "วันที่เกิดรายการ", "จังหวัด", "จังหวัด (Eng)", "เขต/อำเภอ",
    "เขต/อำเภอ (Eng)", "แขวง/ตำบล", "แขวง/ตำบล (Eng)", "สถานะโครงการ", "พิกัดของโครงการ",
    "ละติจูดโครงการ", "ลองจิจูดโครงการ", "เลขนิติบุคคล", "ชื่อผู้ชนะ", "เลขที่สัญญา",
    "วันที่ลงนามสัญญา", "วันที่สิ้นสุดสัญญา", "งบสัญญา(บาท)", "สถานะสัญญา",
)
ENG = ("จังหวัด (Eng)", "เขต/อำเภอ (Eng)", "แขวง/ตำบล (Eng)")
#: Generation B (FY2568) data cells: 28, i.e. generation A without the (Eng) columns.
CELLS_B = tuple(c for c in COLUMNS_A if c not in ENG)
#: Generation B headers: 31 (A's, with Eng) or 26 (no district/subdistrict either).
HEADERS_B = (COLUMNS_A, tuple(c for c in CELLS_B if c not in ("เขต/อำเภอ", "แขวง/ตำบล")))
#: Columns a file must have; the rest (ลำดับ, _id, (Eng), district, lat/lon) are optional.
OPTIONAL = ("ลำดับ", "เขต/อำเภอ", "แขวง/ตำบล", "ละติจูดโครงการ", "ลองจิจูดโครงการ")
REQUIRED = tuple(c for c in CELLS_B if c not in OPTIONAL)
GENERIC_GROUP = "วิธีการจัดหา"  # the FY<=2567 group column's constant 'วิธีการจัดหา ประกาศเชิญชวนทั่วไป ...'
CATEGORY = {"ซื้อ": "goods", "จ้างก่อสร้าง": "works"}  # every other project type is a service
PACKAGE_SPELLINGS = ("cgd-contract-{}", "cdg-contract-{}", "egp-contact-{}", "egp-contract-{}")


_BLANK = frozenset(("", "-"))


class Row(NamedTuple):
    location: str
    cells: list
    record: dict | None   # canonical column -> cleaned cell text; None when the row is malformed
    problem: str | None


# --- parse (pure) ------------------------------------------------------------------------

def _clean_header(cell: str) -> str:
    return re.sub(r"\s+", " ", cell.replace("\ufeff", "")).strip()


def _layout(header: list[str], shapes: collections.Counter, location: str) -> tuple[int, list]:
    """(cells per row, [(canonical name, cell index)]) for a file, from its header and row shape."""
    names = [_clean_header(h) for h in header]
    width = shapes.most_common(1)[0][0] if shapes else len(names)
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        unknown = [n for n in names if n not in COLUMNS_A and not n.startswith("_")]
        raise LayoutError(SOURCE, location, f"column {missing[0]}",
                          f"unrecognised columns {unknown}" if unknown else f"only {names}")
    if width == len(names):  # one cell per header: map by name
        return width, [(c, names.index(c)) for c in CELLS_B if c in names]
    if tuple(names) in HEADERS_B and width == len(CELLS_B):  # FY2568: 26/31 headers on 28 cells
        return width, list(zip(CELLS_B, range(len(CELLS_B))))
    raise LayoutError(SOURCE, location, f"rows of {len(names)} cells like the header",
                      f"rows of {width} cells")


def parse(lines: Iterable[str], location: str) -> Iterator[Row]:
    """Decoded CSV lines -> one :class:`Row` per data row (pure: no I/O beyond the iterable).

    A record maps canonical column names to the cell text with whitespace collapsed, ``''`` and
    ``'-'`` as None. Locations are ``<location>:<record number>`` counting the header as 1.
    """
    reader = csv_rows(lines, source=SOURCE, location=location, expected="a CSV export from data.go.th")
    try:
        header = next(reader)
    except StopIteration:
        raise LayoutError(SOURCE, location, "a header row", "an empty file") from None
    head = list(itertools.islice(reader, SHAPE_SAMPLE))
    shapes = collections.Counter(len(r) for r in head if any(c.strip() for c in r))
    width, mapping = _layout(header, shapes, location)
    for number, cells in enumerate(itertools.chain(head, reader), start=2):
        if not any(c.strip() for c in cells):
            continue
        where = f"{location}:{number}"
        if len(cells) != width:
            yield Row(where, cells, None, f"{len(cells)} cells where the file has {width}")
            continue
        yield Row(where, cells, {n: (v if (v := " ".join(cells[i].split())) not in _BLANK else None)
                                 for n, i in mapping}, None)


@functools.lru_cache(maxsize=8192)
def _date(text: str) -> str | None:
    return parse_be_date(text)


@functools.lru_cache(maxsize=65536)
def _supplier(raw: str, name: str):
    sid, tax_id, status = supplier_id(raw, name)
    return sid, tax_id, status, normalize_name(name)


@functools.lru_cache(maxsize=16384)
def _agency(name: str) -> str:
    return agency_id(None, name)


@functools.lru_cache(maxsize=1024)
def _method(first: str, second: str) -> str | None:
    """The specific method of a row whichever of the two swapped columns holds it."""
    if first.startswith(GENERIC_GROUP) or (method_group(second)[0] and not method_group(first)[1]):
        first, second = second, first
    return None if first.startswith(GENERIC_GROUP) or first in ("", "-") else first


def _wkt(location: str | None, lat: str | None, lon: str | None) -> str | None:
    if location and location.upper().startswith(("POINT", "POLYGON", "LINESTRING", "MULTI")):
        return location
    if not (lat and lon):
        return None
    try:
        lat_f, lon_f = float(to_arabic_digits(lat)), float(to_arabic_digits(lon))
    except ValueError:
        return None
    return f"POINT({lon_f} {lat_f})"


def _amount(text: str | None) -> float | None:
    """Plain decimals (the CSVs' form) fast; anything else through ``parse_amount``."""
    if text and text[0].isdigit() and text.isascii():
        try:
            return float(text)
        except ValueError:
            pass
    return parse_amount(text)


_PROJECT_ID = re.compile(r"\d{6,}")
_BE_YEAR = re.compile(r"25\d\d")


#: (column, parser) of the values that must parse; a failure names the column.
_PARSED = (("วันที่ประกาศ", _date), ("วันที่เกิดรายการ", _date), ("วันที่ลงนามสัญญา", _date),
           ("วันที่สิ้นสุดสัญญา", _date), ("งบประมาณ(บาท)", _amount), ("ราคากลาง(บาท)", _amount),
           ("ราคาตกลงซื้อ/จ้าง", _amount), ("งบสัญญา(บาท)", _amount))


def to_records(r: dict, records: Records | None = None) -> Records:
    """One parsed record -> its rows, added to ``records`` (a new one by default). Raises
    ``ValueError`` naming a malformed value, before adding any row.

    The record names its agency and winner as that row has them (the project's province, the
    winner's spelling, a joint-venture marker): those are stubs, which only fill what is still
    empty, so files that differ there do not rewrite each other on every run."""
    pid = r["รหัสโครงการ"] or ""
    if not (pid.isascii() and pid.isdigit() and len(pid) >= 6):
        pid = to_arabic_digits(pid)
        if not _PROJECT_ID.fullmatch(pid):
            raise ValueError(f"รหัสโครงการ is not a project id: {r['รหัสโครงการ']!r}" if r["รหัสโครงการ"]
                             else "รหัสโครงการ is empty")
    values = []
    for column, parser in _PARSED:
        try:
            values.append(parser(r[column]))
        except ValueError as exc:
            raise ValueError(f"{column}: {exc}") from None
    announce, transaction, signed, end, budget, reference, agreed, contract_value = values
    fy_text = to_arabic_digits(r["ปีงบประมาณ"] or "")
    if _BE_YEAR.fullmatch(fy_text):
        fy = int(fy_text)
    elif not fy_text and (announce or transaction):
        fy = fiscal_year(announce or transaction)
    else:
        raise ValueError(f"ปีงบประมาณ is not a B.E. year: {r['ปีงบประมาณ']!r}")

    agency_name, province, ptype = r["ชื่อหน่วยงาน"], r["จังหวัด"], r["ชื่อประเภทโครงการ"]
    method = _method(r["วิธีจัดซื้อฯ"] or "", r["กลุ่มวิธีจัดซื้อฯ"] or "")
    group, ocds = method_group(method)
    buyer = _agency(agency_name) if agency_name else None
    records = Records() if records is None else records
    if buyer:
        records.stub("agencies", {"id": buyer, "name_th": agency_name, "province": province})
    records.upsert("projects", {
            "project_id": pid, "title": r["ชื่อโครงการ"], "project_type": ptype,
            "main_procurement_category": CATEGORY.get(ptype, "services") if ptype else None,
            "buyer_id": buyer, "procuring_entity_id": buyer, "sub_agency": r["ชื่อหน่วยงานย่อย"],
            "method": method, "method_group": group, "ocds_method": ocds, "fiscal_year": fy,
            "announce_date": announce, "budget": budget, "reference_price": reference,
            "currency": CURRENCY, "status": r["สถานะโครงการ"], "province": province,
            "district": r.get("เขต/อำเภอ"), "subdistrict": r.get("แขวง/ตำบล"),
            "location_wkt": _wkt(r["พิกัดของโครงการ"], r.get("ละติจูดโครงการ"), r.get("ลองจิจูดโครงการ")),
    })
    winner_name, contract_no, raw_tax = r["ชื่อผู้ชนะ"], r["เลขที่สัญญา"], r["เลขนิติบุคคล"]
    if not agreed and not winner_name and not contract_no:
        return records  # ราคาตกลงซื้อ/จ้าง = 0 and nobody named: no winner yet
    sid = None
    if winner_name or raw_tax:
        sid, tax_id, status, normalized = _supplier(raw_tax or "", winner_name or "")
        records.stub("suppliers", {"id": sid, "tax_id": tax_id, "tax_id_raw": raw_tax, "tax_id_status": status,
                                   "name_th": winner_name, "name_normalized": normalized, "country": "TH"})
        records.link("award_suppliers", {"award_id": f"{pid}/1", "supplier_id": sid})
    award = f"{pid}/1"
    records.upsert("awards", {"id": award, "project_id": pid, "award_id": "1", "status": "active",
                              "amount": agreed or None, "currency": CURRENCY, "date": transaction or signed})
    records.upsert("contracts", {
        "id": f"{pid}/{contract_no or 'x:' + (sid or '')}", "project_id": pid, "award_id": award,
        "contract_no": contract_no, "supplier_id": sid, "supplier_name": winner_name,
        "award_amount": agreed or None, "contract_amount": contract_value, "currency": CURRENCY,
        "signed_date": signed, "end_date": end, "status": r["สถานะสัญญา"]})
    return records


#: Source rows per :class:`Records` of :func:`parse_records`: a file streams in flat memory.
BATCH = 1000


def parse_records(lines: Iterable[str], location: str) -> Iterator[Records]:
    """Decoded CSV lines -> one :class:`Records` per :data:`BATCH` rows (pure), malformed rows
    quarantined with their cells."""
    records = Records()
    for row in parse(lines, location):
        records.rows_in += 1
        if row.record is None:
            records.quarantine(row.location, json.dumps(row.cells, ensure_ascii=False), row.problem)
        else:
            try:
                to_records(row.record, records)
            except ValueError as exc:
                records.quarantine(row.location, json.dumps(row.cells, ensure_ascii=False), str(exc))
        if records.rows_in == BATCH:
            yield records
            records = Records()
    if records.rows_in:
        yield records


# --- load --------------------------------------------------------------------------------

def load_lines(run: SourceRun, lines: Iterable[str], location: str, source_url: str) -> None:
    """Parse ``lines`` and load every record through ``run`` (malformed rows to quarantine)."""
    for records in parse_records(lines, location):
        load(run, records, source_url=source_url)


def load_file(db_path, path, *, source_url: str | None = None, sha256: str | None = None) -> SourceRun:
    """Load one saved CSV in one run; ``source_url`` is where it came from (else the file)."""
    path = pathlib.Path(path)
    url = source_url or path.resolve().as_uri()
    fetched = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc).isoformat(timespec="seconds")
    with SourceRun(db_path, SOURCE, target=url, fetched_at=fetched, label=f"{SOURCE} {path.name}") as run, \
            open(path, encoding="utf-8-sig", newline="") as text:  # utf-8-sig: the files have a BOM
        try:
            with run.hashing(path, sha256):
                load_lines(run, bounded_lines(text), str(path), url)
        except UnicodeDecodeError:
            with open(path, "rb") as raw:
                found = utf8_problem(blocks(raw))
            raise ScrapeError(f"{SOURCE}: {path}: expected UTF-8 text (data.go.th CSVs are UTF-8), "
                              f"found {found}") from None
        if not run.first_load:  # a first load has nothing stored to reconcile with
            run.flush()
            merge_into_published(run)
            unlink_replaced_winners(run)
    return run


def unlink_replaced_winners(run: SourceRun) -> None:
    """A contract whose supplier this run changed: its award's link to the former supplier goes,
    unless another contract of that award or a winning bid of the project (e-GP's bidders) still
    names it; logged in ``changes`` as ``(removed)``."""
    conn = run.db.conn
    for contract_id, pid, former in conn.execute(
            "SELECT row_id, project_id, old_value FROM changes WHERE source_run_id = ? AND "
            "table_name = 'contracts' AND field = 'supplier_id' AND old_value IS NOT NULL", (run.id,)).fetchall():
        award = conn.execute("SELECT award_id FROM contracts WHERE id = ?", (contract_id,)).fetchone()[0]
        if award is None or conn.execute(
                "SELECT 1 FROM contracts WHERE award_id = ? AND supplier_id = ? UNION ALL "
                "SELECT 1 FROM bids b JOIN bid_tenderers t ON t.bid_id = b.id "
                "WHERE b.project_id = ? AND b.is_winner = 1 AND t.supplier_id = ?",
                (award, former, pid, former)).fetchone():
            continue
        if conn.execute("DELETE FROM award_suppliers WHERE award_id = ? AND supplier_id = ?",
                        (award, former)).rowcount:
            run.log_changes([("award_suppliers", award, pid, "(removed)", former, None)])
            run.rows_changed += 1


# --- fetch -------------------------------------------------------------------------------

def package_names(year: int) -> list[str]:
    """CKAN package names to try for a fiscal year: the spelling changed over the years."""
    if year <= 2563:
        first = "cgd-contract-{}"
    elif year <= 2567:
        first = "cdg-contract-{}"
    else:
        first = "egp-contact-{}"
    return [first.format(year)] + [s.format(year) for s in PACKAGE_SPELLINGS if s != first]


def resources(client: Client, year: int) -> list[dict]:
    """The CSV resources of a fiscal year's package: ``[{id, name, url}]``."""
    tried = []
    for name in package_names(year):
        url = f"{CKAN}package_show?id={name}"
        try:
            data = client.get_json(url)
        except FetchError as exc:
            if "HTTP 404" in str(exc):
                tried.append(name)
                continue
            raise
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, dict) or not isinstance(result.get("resources"), list):
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise LayoutError(SOURCE, url, "result.resources", f"keys {found}")
        csvs = [r for r in result["resources"]
                if str(r.get("format", "")).upper() == "CSV" or str(r.get("url", "")).lower().endswith(".csv")]
        if not csvs:
            raise LayoutError(SOURCE, url, "a CSV resource",
                              f"formats {sorted({str(r.get('format')) for r in result['resources']})}")
        return [{"id": r.get("id"), "name": r.get("name") or r.get("id"), "url": r["url"],
                 "last_modified": r.get("last_modified")} for r in csvs]
    raise ScrapeError(f"{SOURCE}: no data.go.th package for fiscal year {year} (tried {', '.join(tried)})")


def run_live(db_path, *, year: int | None = None, client: Client | None = None,
             raw_dir=None) -> list[SourceRun]:
    """Fetch and load every CSV of a fiscal year (default: the current one); one run per file.

    A resource CKAN reports unmodified since our saved copy is not downloaded again, and a file
    whose sha256 equals the last successful run's for the same URL is not loaded again.
    Every file is tried; failures are reported together at the end.
    """
    year = year or current_fiscal_year()
    raw_dir = pathlib.Path(raw_dir or config.data_dir() / "raw" / SOURCE / str(year))
    own = client is None
    client = client or Client()

    def load_resource(res: dict) -> SourceRun | None:
        dest = raw_dir / f"{res['id']}.csv"
        dl = _saved(dest, res) or _download(client, res, dest)
        if _unchanged(db_path, res["url"], dl.sha256):
            click.echo(f"{SOURCE}: {res['name']} unchanged since the last run, skipped", err=True)
            return None
        return load_file(db_path, dl.path, source_url=res["url"], sha256=dl.sha256)

    try:
        runs = each_file(SOURCE, resources(client, year), load_resource, label=lambda res: res["name"])
    finally:
        if own:
            client.close()
    return [run for run in runs if run is not None]


def _saved(dest: pathlib.Path, res: dict) -> Download | None:
    """The copy downloaded earlier, if CKAN says the resource has not been modified since."""
    meta = dest.with_suffix(".json")
    if not (res.get("last_modified") and dest.exists() and meta.exists()):
        return None
    known = json.loads(meta.read_text(encoding="utf-8"))
    if (known.get("url"), known.get("last_modified")) != (res["url"], res["last_modified"]):
        return None
    return Download(dest, res["url"], known["size"], known["sha256"])


def _download(client: Client, res: dict, dest: pathlib.Path) -> Download:
    dl = client.download(res["url"], dest)
    dest.with_suffix(".json").write_text(json.dumps(
        {"url": res["url"], "last_modified": res.get("last_modified"), "size": dl.size,
         "sha256": dl.sha256}), encoding="utf-8")
    return dl


def _unchanged(db_path, url: str, sha256: str) -> bool:
    from prongsai.core.schema import open_db

    if not pathlib.Path(db_path).exists():
        return False
    db = open_db(db_path)
    try:
        row = db.execute("SELECT target_sha256 FROM source_runs WHERE source = ? AND target = ? AND "
                         "status = 'ok' ORDER BY id DESC LIMIT 1", [SOURCE, url]).fetchone()
    finally:
        db.close()
    return bool(row) and row[0] == sha256


# --- command -----------------------------------------------------------------------------

def _summary(run: SourceRun) -> str:
    return (f"{SOURCE}: {run.target}: {run.rows_in:,} rows read, {run.rows_changed:,} rows changed, "
            f"{run.rows_quarantined:,} quarantined")


@click.command(SOURCE)
@db_option
@click.option("--year", type=click.IntRange(2558, 2600), default=None,
              help="Fiscal year (B.E.) to fetch live, e.g. 2568 (default: the current one).")
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Load a saved CSV instead (repeatable); no network.")
@click.option("--url", default=None, help="Fetch and load one CSV resource URL.")
def command(db_path, year, files, url):
    """e-GP contracts from data.go.th (the Comptroller General's CSVs).

    Live use (no --file): asks data.go.th's CKAN API (package_show) for the fiscal year's
    contract package, then downloads each CSV resource (hundreds of MB each) into
    data/raw/datagoth/<year>/: one request per second, retries with backoff, resumable,
    sha256 recorded; an unchanged file is not loaded again. Each file is one run in
    source_runs. --file loads saved copies without touching the network.
    """
    if sum(map(bool, (files, year, url))) > 1:
        raise UserError("use one of --file, --year or --url")
    file_or_live(SOURCE, files, lambda path: load_file(db_path, path),
                 lambda: [_load_url(db_path, url)] if url else run_live(db_path, year=year), summary=_summary)


def _load_url(db_path, url: str) -> SourceRun:
    with Client() as client:
        name = hashlib.sha256(url.encode()).hexdigest()[:16]
        dl = client.download(url, config.data_dir() / "raw" / SOURCE / f"{name}.csv")
    return load_file(db_path, dl.path, source_url=url, sha256=dl.sha256)
