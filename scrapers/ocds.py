"""OCDS in: any Open Contracting publisher (Bangkok's BMA feed included) into the public schema.

Entry points:

- ``import_file(db, path)`` loads a release package, record package, single release or JSON
  Lines of compiled releases (one per line; gzip allowed) in one ``SourceRun``; the red-flag
  conformance tests load Cardinal's fixtures with it.
- ``release_records(release)`` is the pure mapping: one compiled release -> its ``Records``.
- ``prongsai scrape ocds --file PATH | --url URL | --bangkok YEAR``.

Reading streams (``ijson`` for JSON documents, line by line for JSON Lines, parsed by ``orjson``)
with flat memory; JSON Lines of :data:`PARALLEL_FROM` bytes or more are parsed and mapped by
worker processes while this one writes (``scrapers.workers``; on a first load the workers also
prepare the inserts). Releases of a release package are spooled to a temporary SQLite file and
merged per ocid with ``ocdsmerge``, which needs the release schema: read from
``$PRONGSAI_OCDS_SCHEMA_DIR``, else the OCDS 1.1.5 copy shipped in ``scrapers/ocds_schema/``.

Bad input: a JSON document that does not parse fails the run (nothing kept); a bad line of JSON
Lines, a release without ``ocid`` or with an unreadable amount is quarantined (the 5 % rule of
``SourceRun`` applies). Ids are kept as published (``suppliers.id`` = the party id), so other
OCDS tools see the same ids in our export.
"""
from __future__ import annotations

import datetime as _dt
import functools
import gzip
import itertools
import json
import marshal
import os
import pathlib
import re
import sqlite3
import tempfile
from collections.abc import Iterator

import click
import ijson
import ocdsmerge
import orjson

from prongsai.core import config, thai
from prongsai.core.cli_options import db_option
from prongsai.core.ocds import (
    AGENCY_SCHEME,
    OCDS_SOURCE,
    PROJECT_PATHS,
    TAX_ID_SCHEMES,
    THAI_OFFSET,
    dig,
    project_id_for,
)
from scrapers import workers
from scrapers.command import file_or_live
from scrapers.http import Client
from scrapers.records import Records, Row, load
from scrapers.store import ScrapeError, SourceRun, Staging, staged

SOURCE = OCDS_SOURCE
REFRESH = False  # files and URLs are given by the user; there is no single live feed to poll
BANGKOK_URL = "https://opencontract.bangkok.go.th/assets/data/output/yearly/ocds_releases_{year}.json"
#: The OCDS release schema the merge follows: version 1.1.5, shipped with its licence (NOTICE there).
SCHEMA_DIR = pathlib.Path(__file__).parent / "ocds_schema"
BID_STATUSES = {"valid", "disqualified", "pending", "withdrawn", "invited"}

#: Tables in load order; the link tables have no provenance columns.
TABLES = ("agencies", "suppliers", "projects", "items", "bids", "bid_tenderers", "awards",
          "award_suppliers", "award_items", "contracts")
LINK_TABLES = {"bid_tenderers", "award_suppliers", "award_items"}


class OCDSError(ScrapeError):
    """The input is not OCDS we can read; the message names the file and the problem."""


class BadRelease(ValueError):
    """One release cannot be mapped (it is quarantined, the run goes on)."""


# --- schema ----------------------------------------------------------------------------------


def schema_dir() -> pathlib.Path:
    """Directory holding ``release-schema.json``: the configured copy, else the one shipped with
    Prongsai (so importing a file never needs the network)."""
    configured = os.environ.get("PRONGSAI_OCDS_SCHEMA_DIR")
    if not configured:
        return SCHEMA_DIR
    path = pathlib.Path(configured)
    if not (path / "release-schema.json").exists():
        raise OCDSError(f"PRONGSAI_OCDS_SCHEMA_DIR={path} has no release-schema.json")
    return path


@functools.cache
def _merger() -> ocdsmerge.Merger:
    return ocdsmerge.Merger(str(schema_dir() / "release-schema.json"))


def merge(releases: list[dict]) -> dict:
    """Compile the releases of one contracting process (OCDS merge rules from the schema)."""
    return _merger().create_compiled_release(releases)


# --- reading ---------------------------------------------------------------------------------


def _open(path: pathlib.Path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


#: A first line longer than this is a one-line JSON document (streamed), not JSON Lines.
MAX_LINE = 16 << 20


def _is_json_lines(path: pathlib.Path) -> bool:
    """JSON Lines when the first non-blank line is a whole JSON object on its own."""
    with _open(path) as f:
        while line := f.readline(MAX_LINE):
            if line.strip():
                if not line.endswith(b"\n") and len(line) >= MAX_LINE:
                    return False
                try:
                    return isinstance(json.loads(line), dict)
                except ValueError:
                    return False
    return False


def read_releases(path) -> Iterator[tuple[str, dict | str | None, str | None, bool]]:
    """Yield ``(location, release, None, partial)``, or ``(location, raw, reason, False)`` for bad input.

    ``partial`` is true for what may be only part of a contracting process: releases of a
    release package (another file may hold the same ocid's other stages) or a release that
    is not tagged ``compiled``. Their missing fields must not erase what is stored.
    """
    path = pathlib.Path(path)
    if _is_json_lines(path):
        yield from _read_lines(path)
    else:
        yield from _read_document(path)


def _loads(line: bytes):
    """orjson, else the standard parser: it also reads what orjson refuses (NaN, integers past
    64 bits, lone surrogates, UTF-16) and its message is the one a bad line is quarantined with."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def _read_lines(path):
    with _open(path) as f:
        yield from _parse_lines(path.name, enumerate(f, 1))


def _parse_lines(name: str, numbered):
    """What :func:`read_releases` yields for ``(line number, line)`` pairs of JSON Lines."""
    for number, line in numbered:
        if not line or line.isspace():  # isspace stops at the first character; strip copies the line
            continue
        location = f"{name}:{number}"
        try:
            obj = _loads(line)
        except ValueError as e:
            yield location, line.decode("utf-8", "replace"), f"invalid JSON: {e}", False
            continue
        if isinstance(obj, dict) and ("releases" in obj or "records" in obj):
            yield from _from_package(obj, location)
        else:
            yield location, obj, None, _partial(obj)


def _from_package(package: dict, location: str):
    """A small package held in memory (one line of JSON Lines)."""
    for i, record in enumerate(package.get("records") or []):
        yield _from_record(record, f"{location} records[{i}]")
    with _Spool() as spool:
        for release in package.get("releases") or []:
            spool.add(release)
        yield from spool.compiled(location)


def _partial(release) -> bool:
    tag = release.get("tag") if isinstance(release, dict) else None
    return isinstance(tag, list) and bool(tag) and "compiled" not in tag


def _from_record(record, location):
    """A record holds every release of its ocid: its compiled release is the whole process."""
    if not isinstance(record, dict):
        return location, record, "record is not an object", False
    compiled = record.get("compiledRelease")
    if isinstance(compiled, dict):
        compiled.setdefault("ocid", record.get("ocid"))
        return location, compiled, None, False
    releases = [r for r in record.get("releases") or [] if isinstance(r, dict)]
    full = [r for r in releases if "ocid" in r or "tender" in r or "awards" in r or "buyer" in r]
    if not full:
        return location, record, "record has no compiledRelease and only linked (url) releases", False
    try:
        return location, merge(full), None, False
    except Exception as e:  # ocdsmerge raises several types for broken releases
        return location, record, f"releases cannot be merged: {e}", False


class _Spool:
    """Releases of a release package, spooled to disk and grouped by ocid (flat memory)."""

    def __enter__(self):
        self._file = tempfile.NamedTemporaryFile(suffix=".db")
        self.conn = sqlite3.connect(self._file.name)
        self.conn.execute("CREATE TABLE r (seq INTEGER PRIMARY KEY, ocid TEXT, body TEXT)")
        self.bad = []
        return self

    def __exit__(self, *exc):
        self.conn.close()
        self._file.close()

    def add(self, release) -> None:
        ocid = release.get("ocid") if isinstance(release, dict) else None
        self.conn.execute("INSERT INTO r (ocid, body) VALUES (?, ?)",
                          (ocid if isinstance(ocid, str) else None, json.dumps(release, ensure_ascii=False)))

    def compiled(self, location):
        self.conn.execute("CREATE INDEX r_ocid ON r (ocid, seq)")
        for (body,) in self.conn.execute("SELECT body FROM r WHERE ocid IS NULL OR ocid = '' ORDER BY seq"):
            yield location, body, "release without ocid", False
        group, current = [], None
        rows = self.conn.execute("SELECT ocid, body FROM r WHERE ocid IS NOT NULL AND ocid != '' "
                                 "ORDER BY ocid, seq")
        for ocid, body in rows:
            if ocid != current and group:
                yield self._compile(current, group, location)
                group = []
            current = ocid
            group.append(json.loads(body))
        if group:
            yield self._compile(current, group, location)

    @staticmethod
    def _compile(ocid, releases, location):
        where = f"{location} ocid {ocid}"
        try:
            return where, releases[0] if len(releases) == 1 else merge(releases), None, True
        except Exception as e:  # ocdsmerge raises several types for broken releases
            return where, json.dumps(releases, ensure_ascii=False), f"releases cannot be merged: {e}", False


def _read_document(path):
    """A JSON document: release package, record package or one release, streamed with ijson."""
    name = path.name
    with _open(path) as f, _Spool() as spool:
        top = item = None
        kind = None
        records = 0
        try:
            for prefix, event, value in ijson.parse(f, use_float=True):
                if item is None and event == "start_map" and prefix in ("releases.item", "records.item"):
                    item, kind = ijson.ObjectBuilder(), prefix
                if item is not None:
                    item.event(event, value)
                    if prefix == kind and event == "end_map":
                        if kind == "releases.item":
                            spool.add(item.value)
                        else:
                            yield _from_record(item.value, f"{name} records[{records}]")
                            records += 1
                        item = None
                    continue
                if top is None:
                    top = ijson.ObjectBuilder()
                top.event(event, value)
        except ijson.JSONError as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise OCDSError(f"{name}: invalid JSON after byte {f.tell():,}: {reason}") from None
        document = top.value if top is not None else None
        if not isinstance(document, dict):
            raise OCDSError(f"{name}: not OCDS (expected a release package, record package, "
                            "release or JSON Lines)")
        if "ocid" in document and "releases" not in document and "records" not in document:
            yield name, document, None, _partial(document)
        elif "releases" not in document and "records" not in document:
            raise OCDSError(f"{name}: not OCDS: the document has no releases, records or ocid")
        yield from spool.compiled(name)


# --- mapping (pure) --------------------------------------------------------------------------


def _text(value) -> str | None:
    if type(value) is str:  # the common case, first
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _amount(value, where: str) -> float | None:
    if type(value) is float:  # the common case, first (a bool is refused below)
        return value
    if isinstance(value, bool):
        raise BadRelease(f"{where}: not an amount: {value!r}")
    try:
        return thai.parse_amount(value)
    except ValueError:
        raise BadRelease(f"{where}: not an amount: {value!r}") from None


def _date(value) -> str | None:
    """An ISO 8601 date or datetime as published; anything unreadable is dropped (None). Thai
    midnight is a plain date, as the Thai sources give it (and as the export wrote it)."""
    text = _text(value)
    return None if text is None else _iso_date(text)


@functools.lru_cache(maxsize=1 << 16)  # dates repeat across releases
def _iso_date(text: str) -> str | None:
    try:
        _dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    return text[:10] if text.endswith(f"T00:00:00{THAI_OFFSET}") else text


def _int(value, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRelease(f"{where}: not a number: {value!r}") from None
    if not number.is_integer():
        raise BadRelease(f"{where}: not a whole number: {value!r}")
    return int(number)


def _status(obj: dict) -> str | None:
    """``status``, else ``statusDetails`` (where our export puts statuses outside the codelist)."""
    return _text(obj.get("status")) or _text(obj.get("statusDetails"))


_THAI = re.compile("[\u0e00-\u0e7f]").search


def _is_thai(text: str | None) -> bool:
    return bool(text) and _THAI(text) is not None


def _names(name: str | None) -> dict:
    name = _text(name)
    return {"name_th": name if _is_thai(name) else None, "name_en": None if _is_thai(name) else name}


def _objects(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _fill(rows: dict, key: str, row: dict) -> None:
    """Keep one row per organisation; a later mention only fills what earlier ones lacked."""
    old = rows.get(key)
    rows[key] = row if old is None else {k: old[k] if old[k] is not None else v for k, v in row.items()}


class _Orgs:
    """The organisations of one release: parties merged with every reference to them.

    A release names one organisation many times (buyer and procuring entity, a tenderer who
    won and signed): a reference equal to one already read is read once (filling a row again
    with the same values changes nothing), and the rows themselves come from caches shared by
    every release, as the same organisations recur across a whole file."""

    def __init__(self, release: dict):
        self.parties: dict[str, dict] = {}
        self.agencies: dict[str, dict] = {}
        self.suppliers: dict[str, dict] = {}
        self._given: dict[str, dict] = {}  # party id -> its non-empty fields
        self._read: dict = {}  # (kind, reference items) -> result
        for party in _objects(release.get("parties")):
            key = _text(party.get("id"))
            if key:
                self.parties[key] = party

    @staticmethod
    def _identifier_id(ref: dict) -> str | None:
        identifier = ref.get("identifier") if isinstance(ref.get("identifier"), dict) else {}
        ident, scheme = _text(identifier.get("id")), _text(identifier.get("scheme"))
        if ident is None:
            return None
        return f"{scheme}-{ident}" if scheme and not ident.startswith(scheme + "-") else ident

    def _detail(self, ref: dict) -> dict:
        """The party a reference points to, with the reference's own fields filling gaps."""
        party_id = _text(ref.get("id")) or ""
        given = self._given.get(party_id)
        if given is None:
            party = self.parties.get(party_id, {})
            given = self._given[party_id] = {k: v for k, v in party.items() if v not in (None, "", [], {})}
        return {**ref, **given}

    def _once(self, kind: str, ref: dict, read):
        values = tuple(ref.values())
        if not all(type(v) is str for v in values):  # nested, or 1 and True (equal as keys)
            return read(ref)
        memo = (kind, tuple(ref), values)
        found = self._read.get(memo)
        if found is None:
            found = self._read[memo] = read(ref)
        return found

    def agency(self, ref) -> str | None:
        return self._once("agency", ref, self._agency) if isinstance(ref, dict) else None

    def _agency(self, ref: dict) -> str | None:
        org = self._detail(ref)
        name = _text(org.get("name"))
        key = _text(org.get("id")) or self._identifier_id(org) or (name and _agency_id(name))
        if not key:
            return None
        identifier = org.get("identifier") if isinstance(org.get("identifier"), dict) else {}
        details = org.get("details") if isinstance(org.get("details"), dict) else {}
        address = org.get("address") if isinstance(org.get("address"), dict) else {}
        _fill(self.agencies, key, _agency_row(
            key, name, _text(details.get("ministry")),
            _text(identifier.get("id")) if identifier.get("scheme") == AGENCY_SCHEME else None,
            _text(address.get("region"))))
        return key

    def supplier(self, ref) -> tuple[str | None, str | None]:
        """(suppliers.id, name) of an organisation reference; the id is kept as published."""
        return self._once("supplier", ref, self._supplier) if isinstance(ref, dict) else (None, None)

    def _supplier(self, ref: dict) -> tuple[str | None, str | None]:
        org = self._detail(ref)
        name = _text(org.get("name"))
        key = _text(org.get("id")) or self._identifier_id(org) or (name and _supplier_id(name))
        if not key:
            return None, name
        identifier = org.get("identifier") if isinstance(org.get("identifier"), dict) else {}
        address = org.get("address") if isinstance(org.get("address"), dict) else {}
        raw = _text(identifier.get("id")) if identifier.get("scheme") in TAX_ID_SCHEMES else None
        _fill(self.suppliers, key, _supplier_row(key, name, raw, _text(address.get("countryName"))))
        return key, name


@functools.lru_cache(maxsize=1 << 14)
def _agency_id(name: str) -> str:
    return thai.agency_id(None, name)


@functools.lru_cache(maxsize=1 << 16)
def _supplier_id(name: str) -> str:
    return thai.supplier_id(None, name)[0]


def _cached_row(function):
    """A row computed once per distinct arguments; each caller gets its own copy."""
    cached = functools.lru_cache(maxsize=1 << 16)(function)
    return functools.wraps(function)(lambda *args: dict(cached(*args)))


@_cached_row
def _agency_row(key, name, ministry, department_code, province) -> dict:
    return {"id": key, **_names(name), "ministry": ministry, "department_code": department_code,
            "province": province}


@_cached_row
def _supplier_row(key, name, raw, country) -> dict:
    tax_id, status = thai.classify_tax_id(raw)
    return {"id": key, "tax_id": tax_id, "tax_id_raw": raw, "tax_id_status": status, **_names(name),
            "name_normalized": thai.normalize_name(name) or None, "country": country}


def _row_ids(project_id: str, objects: list[dict]) -> list[tuple[str, str | None]]:
    """(row id, source id) per object: ``<project_id>/<id>``, ``#<index>`` when absent or repeated."""
    seen, out = set(), []
    for i, obj in enumerate(objects):
        source_id = _text(obj.get("id"))
        if source_id and source_id[0] == "#" and source_id[1:].isdigit():
            source_id = None  # the placeholder our export writes for an object without id
        row_id = f"{project_id}/{source_id}" if source_id and source_id not in seen else f"{project_id}/#{i}"
        if source_id:
            seen.add(source_id)
        out.append((row_id, source_id))
    return out


def _classification(obj: dict) -> tuple[str | None, str | None]:
    c = obj.get("classification") if isinstance(obj.get("classification"), dict) else {}
    return _text(c.get("scheme") or c.get("schema")), _text(c.get("id"))


_PROJECT_PATHS = tuple(PROJECT_PATHS.items())


def _release_rows(release: dict, ocid_prefixes) -> dict[str, list[dict]]:
    """Rows for every table from one compiled release (pure; raises ``BadRelease``)."""
    if not isinstance(release, dict):
        raise BadRelease("release is not a JSON object")
    ocid = _text(release.get("ocid"))
    if not ocid:
        raise BadRelease("release without ocid")
    pid = project_id_for(ocid, ocid_prefixes)
    orgs = _Orgs(release)
    tender = release.get("tender") if isinstance(release.get("tender"), dict) else {}
    rows: dict[str, list[dict]] = {t: [] for t in TABLES}

    project = {"project_id": pid}
    for column, path in _PROJECT_PATHS:
        value = release
        for key in path:  # dig(), inlined: 24 paths per release
            if not isinstance(value, dict):
                value = None
                break
            value = value.get(key)
        project[column] = _text(value)
    project["buyer_id"] = orgs.agency(release.get("buyer"))
    project["procuring_entity_id"] = orgs.agency(tender.get("procuringEntity"))
    for column in ("announce_date", "tender_start", "tender_end"):
        project[column] = _date(project[column])
    budget = dig(release, PROJECT_PATHS["budget"])
    if budget is None:
        planned = dig(release, ("planning", "budget", "amount")) or {}
        budget, project["currency"] = planned.get("amount"), _text(planned.get("currency"))
    project["budget"] = _amount(budget, "tender.value")
    project["reference_price"] = _amount(dig(release, PROJECT_PATHS["reference_price"]), "tender.referencePrice")
    project["number_of_tenderers"] = _int(project["number_of_tenderers"], "tender.numberOfTenderers")
    project["fiscal_year"] = _int(project["fiscal_year"], "tender.fiscalYear")
    project["announce_date"] = project["announce_date"] or project["tender_start"]
    if project["fiscal_year"] is None and project["announce_date"]:
        project["fiscal_year"] = thai.fiscal_year(project["announce_date"][:10])
    rows["projects"].append(project)

    items = _objects(tender.get("items"))
    for (row_id, item_id), item in zip(_row_ids(pid, items), items):
        scheme, cid = _classification(item)
        unit = item.get("unit") if isinstance(item.get("unit"), dict) else {}
        unit_value = unit.get("value") if isinstance(unit.get("value"), dict) else {}
        rows["items"].append({
            "id": row_id, "project_id": pid, "item_id": item_id, "classification_scheme": scheme,
            "classification_id": cid, "description": _text(item.get("description")),
            "quantity": _amount(item.get("quantity"), f"tender.items {item_id}.quantity"),
            "unit": _text(unit.get("name")),
            "unit_value": _amount(unit_value.get("amount"), f"tender.items {item_id}.unit.value"),
            "currency": _text(unit_value.get("currency")),
        })

    bids = _objects(dig(release, ("bids", "details")))
    for (row_id, bid_id), bid in zip(_row_ids(pid, bids), bids):
        value = bid.get("value") if isinstance(bid.get("value"), dict) else {}
        status = _text(bid.get("status"))
        status = status.lower() if status and status.lower() in BID_STATUSES else None
        rows["bids"].append({
            "id": row_id, "project_id": pid, "bid_id": bid_id, "date": _date(bid.get("date")),
            "amount": _amount(value.get("amount"), f"bids {bid_id or row_id}.value"),
            "currency": _text(value.get("currency")), "status": status, "is_winner": None,
        })
        for ref in _objects(bid.get("tenderers")):
            sid, name = orgs.supplier(ref)
            if sid:
                rows["bid_tenderers"].append({"bid_id": row_id, "supplier_id": sid, "name": name})

    awards = _objects(release.get("awards"))
    award_rows: dict[str, dict] = {}  # source award id -> row
    award_refs: dict[str, list] = {}
    for (row_id, award_id), award in zip(_row_ids(pid, awards), awards):
        value = award.get("value") if isinstance(award.get("value"), dict) else {}
        row = {
            "id": row_id, "project_id": pid, "award_id": award_id, "status": _status(award),
            "amount": _amount(value.get("amount"), f"awards {award_id or row_id}.value"),
            "currency": _text(value.get("currency")), "date": _date(award.get("date")),
        }
        rows["awards"].append(row)
        refs = [orgs.supplier(ref) for ref in _objects(award.get("suppliers"))]
        refs = [r for r in refs if r[0]]
        if award_id and award_id not in award_rows:
            award_rows[award_id], award_refs[award_id] = row, refs
        for sid, _ in refs:
            rows["award_suppliers"].append({"award_id": row_id, "supplier_id": sid})
        for item in _objects(award.get("items")):
            scheme, cid = _classification(item)
            if cid:
                rows["award_items"].append({"award_id": row_id, "classification_scheme": scheme or "",
                                            "classification_id": cid})

    contracts = _objects(release.get("contracts"))
    for (row_id, contract_id), contract in zip(_row_ids(pid, contracts), contracts):
        award_key = _text(contract.get("awardID"))
        award = award_rows.get(award_key) if award_key else None
        if award_key and award is None:  # the award is not published: keep the link with a stub
            award = award_rows[award_key] = {
                "id": f"{pid}/{award_key}", "project_id": pid, "award_id": award_key, "status": None,
                "amount": None, "currency": None, "date": None}
            award_refs[award_key] = []
            rows["awards"].append(award)
        # one supplier per contract row: the contract's own (extension), else the award's only one
        own = [r for r in (orgs.supplier(ref) for ref in _objects(contract.get("suppliers"))) if r[0]]
        awarded = award_refs.get(award_key) or []
        supplier, supplier_name = own[0] if own else awarded[0] if len(awarded) == 1 else (None, None)
        value = contract.get("value") if isinstance(contract.get("value"), dict) else {}
        rows["contracts"].append({
            "id": row_id, "project_id": pid, "award_id": award["id"] if award else None,
            "contract_no": _text(contract.get("contractNumber")) or contract_id,
            "supplier_id": supplier, "supplier_name": supplier_name,
            "award_amount": award["amount"] if award else None,
            "contract_amount": _amount(value.get("amount"), f"contracts {contract_id or row_id}.value"),
            "currency": _text(value.get("currency")) or (award["currency"] if award else None),
            "signed_date": _date(contract.get("dateSigned")),
            "end_date": _date(dig(contract, ("period", "endDate"))),
            "status": _status(contract),
        })

    rows["agencies"] = list(orgs.agencies.values())
    rows["suppliers"] = list(orgs.suppliers.values())
    return rows


#: What a compiled release states whole (its blanks erase); an organisation is only mentioned.
COMPLETE_TABLES = frozenset(TABLES) - LINK_TABLES - {"agencies", "suppliers"}


def release_records(release: dict, *, partial: bool = False, ocid_prefixes=()) -> Records:
    """One release -> its :class:`Records` (pure; raises ``BadRelease``). Organisations and a
    ``partial`` release (see :func:`read_releases`) give only the values they have, so they never
    erase what another release or source stored."""
    rows = _release_rows(release, ocid_prefixes)
    complete = frozenset() if partial else COMPLETE_TABLES
    return Records(
        upserts=[Row(table, row if table in complete else {k: v for k, v in row.items() if v is not None})
                 for table in _UPSERT_TABLES for row in rows[table]],
        links=[Row(table, row) for table in TABLES if table in LINK_TABLES for row in rows[table]],
        rows_in=1, complete=complete)


#: Tables in load order, link tables left out (their rows go after the upserts, as ``load`` does).
_UPSERT_TABLES = tuple(t for t in TABLES if t not in LINK_TABLES)


# --- loading ---------------------------------------------------------------------------------


def _mapped(releases, ocid_prefixes=()) -> Iterator[tuple[Records, bool]]:
    """``(records, partial)`` per item of :func:`read_releases`: the release's rows, or the
    quarantine of what cannot be read or mapped (pure)."""
    for location, release, problem, partial in releases:
        records = None
        if problem is None:
            try:
                records = release_records(release, partial=partial, ocid_prefixes=ocid_prefixes)
            except BadRelease as e:
                problem = str(e)
        if records is None:
            records = Records(rows_in=1)
            records.quarantine(location, release, problem)
        yield records, partial


def load_releases(run: SourceRun, releases, *, source_url: str | None = None, ocid_prefixes=()) -> None:
    """Map and load every release read by :func:`read_releases` into ``run``."""
    _load_mapped(run, _mapped(releases, ocid_prefixes), source_url)


def _load_mapped(run: SourceRun, mapped, source_url: str | None) -> None:
    """Load what :func:`_mapped` gives, in order. A compiled release states the whole process,
    so when every release of the run was compiled, what it no longer lists is removed (`_prune`)."""
    compiled_only = True
    for records, partial in mapped:
        compiled_only = compiled_only and not partial
        load(run, records, source_url=source_url)
    if compiled_only:
        run.flush()
        _prune(run)


# --- reading and mapping in worker processes ------------------------------------------------

#: JSON Lines from this size on (bytes on disk) are read and mapped by worker processes while
#: this one writes (``scrapers.workers``).
PARALLEL_FROM = 4 << 20
#: Lines per worker task.
CHUNK_LINES = 500


def _chunks(path: pathlib.Path) -> Iterator[tuple[int, list[bytes]]]:
    """``(first line number, lines)`` of a JSON Lines file, :data:`CHUNK_LINES` at a time."""
    number = 1
    with _open(path) as f:
        while lines := list(itertools.islice(f, CHUNK_LINES)):
            yield number, lines
            number += len(lines)


def _map_lines(name: str, first: int, lines: list[bytes], ocid_prefixes, staging: Staging | None) -> bytes:
    """In a worker: the releases of ``lines`` (numbered from ``first``) mapped, as
    ``(partial, [plain records])``, or with ``staging`` (a first load) as ``(partial, staged rows)``."""
    mapped = list(_mapped(_parse_lines(name, enumerate(lines, first)), ocid_prefixes))
    partial = any(p for _, p in mapped)
    if staging is not None:
        return marshal.dumps((partial, staged((r for r, _ in mapped), staging)))
    return marshal.dumps((partial, [(workers.plain(r), p) for r, p in mapped]))


def _load_in_workers(run: SourceRun, pool, n: int, path: pathlib.Path, url: str, ocid_prefixes) -> None:
    """:func:`_load_mapped` of a JSON Lines file mapped by ``pool``: on a first load the workers
    also prepare the inserts (``SourceRun.staging``)."""
    staging = run.staging(_UPSERT_TABLES, LINK_TABLES, source_url=url)
    tasks = ((_map_lines, (path.name, first, lines, ocid_prefixes, staging)) for first, lines in _chunks(path))
    if staging is None:
        _load_mapped(run, ((workers.unplain(r), p) for data in workers.ordered(pool, tasks, n)
                           for r, p in marshal.loads(data)[1]), url)
        return
    for data in workers.ordered(pool, tasks, n):
        run.load_staged(*marshal.loads(data)[1])
    # no _prune: every table started empty, so no row is older than this run


#: child table -> link tables hanging from its rows (removed with them).
_CHILDREN = {"items": (), "bids": (("bid_tenderers", "bid_id"),), "contracts": (),  # before awards
             "awards": (("award_suppliers", "award_id"), ("award_items", "award_id"))}


def _prune(run: SourceRun) -> None:
    """Remove the OCDS rows of this run's projects that their compiled release no longer lists.

    Every row a release listed was written or touched by the run (``last_seen`` = the run's
    time); an older one of a project the run loaded was dropped by the publisher. Each removal
    is logged in ``changes`` (field ``(removed)``). Rows of other sources are never touched.
    """
    conn = run.db.conn
    stale = ("SELECT id FROM {t} WHERE source = ? AND last_seen < ? AND project_id IN "
             "(SELECT project_id FROM projects WHERE last_seen = ?)")  # whoever stored the project
    args = (SOURCE, run.seen_at, run.seen_at)
    for table, links in _CHILDREN.items():
        for link, key in links:
            conn.execute(f"DELETE FROM {link} WHERE {key} IN ({stale.format(t=table)})", args)
        conn.execute(f"INSERT OR IGNORE INTO run_touched SELECT ?, 'project', project_id FROM {table} "
                     f"WHERE id IN ({stale.format(t=table)})", (run.id, *args))
        conn.execute("INSERT INTO changes (table_name, row_id, project_id, field, old_value, new_value, seen_at, "
                     f"source_run_id) SELECT '{table}', id, project_id, '(removed)', id, NULL, ?, ? "
                     f"FROM {table} WHERE id IN ({stale.format(t=table)})", (run.seen_at, run.id, *args))
        removed = conn.execute(f"DELETE FROM {table} WHERE id IN ({stale.format(t=table)})", args).rowcount
        run.rows_changed += removed


def import_file(db, path, *, source_url: str | None = None, sha256: str | None = None,
                ocid_prefixes=()) -> SourceRun:
    """Load one OCDS file into ``db`` (path or sqlite-utils Database) in one run; return the run.

    ``source_url`` is where the file came from (default: the file itself), ``sha256`` its
    digest when the download already computed it.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise OCDSError(f"no such file: {path}")
    url = source_url or path.resolve().as_uri()
    fetched = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc).isoformat(timespec="seconds")
    n = workers.count() if path.stat().st_size >= PARALLEL_FROM and _is_json_lines(path) else 0
    with workers.pool(n) as pool, \
            SourceRun(db, SOURCE, url, fetched_at=fetched, label=f"ocds {path.name}: releases") as run:
        with run.hashing(path, sha256):
            if pool is None:
                _load_mapped(run, _mapped(read_releases(path), ocid_prefixes), url)
            else:
                _load_in_workers(run, pool, n, path, url, ocid_prefixes)
    return run


def import_url(db, url: str, *, ocid_prefixes=()) -> SourceRun:
    """Download ``url`` (resumable, into ``data/raw/ocds/``) and load it."""
    dest = config.data_dir() / "raw" / "ocds" / url.rstrip("/").rsplit("/", 1)[-1]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Client(cache_path=None) as client:
        download = client.download(url, dest)
    return import_file(db, dest, source_url=url, sha256=download.sha256, ocid_prefixes=ocid_prefixes)


def bangkok_url(year: int) -> str:
    """Bangkok (BMA) publishes one release package per Buddhist-era year."""
    if not 2500 <= year <= 2700:
        raise OCDSError(f"--bangkok takes a Buddhist-era year such as 2569, not {year}")
    return BANGKOK_URL.format(year=year)


def run_live(db_path, **options) -> SourceRun:
    """The current B.E. year of Bangkok's feed."""
    return import_url(db_path, bangkok_url(thai.thai_today().year + thai.BE_OFFSET))


@click.command("ocds")
@db_option
@click.option("--file", "file_path", type=click.Path(exists=True, dir_okay=False),
              help="Release package, record package, release or JSON Lines of compiled releases.")
@click.option("--url", help="Download an OCDS file from this URL and load it.")
@click.option("--bangkok", type=int, metavar="YEAR",
              help="Bangkok's yearly release package (B.E. year, e.g. 2569).")
@click.option("--ocid-prefix", "ocid_prefixes", multiple=True,
              help="An ocid prefix to strip from project ids (ours is stripped anyway).")
def command(db_path, file_path, url, bangkok, ocid_prefixes):
    """Load Open Contracting (OCDS) data: any publisher's file or URL, or Bangkok's feed.

    Release packages are merged per ocid against the OCDS 1.1.5 release schema shipped
    with Prongsai ($PRONGSAI_OCDS_SCHEMA_DIR points to another copy): --file never needs
    the network.
    """
    chosen = [x for x in (file_path, url, bangkok) if x]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --file, --url, --bangkok")
    file_or_live(SOURCE, (file_path,) if file_path else (),
                 lambda file: import_file(db_path, file, ocid_prefixes=ocid_prefixes),
                 lambda: import_url(db_path, url or bangkok_url(bangkok), ocid_prefixes=ocid_prefixes),
                 summary=lambda run: f"ocds: {run.rows_in:,} releases read, {run.rows_changed:,} rows changed, "
                                     f"{run.rows_quarantined:,} quarantined -> {db_path}")
