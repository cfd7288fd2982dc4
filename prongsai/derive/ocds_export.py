"""OCDS out: every project, whatever its source, as OCDS 1.1 compiled releases.

What import and export share (the ocid of a project, where each ``projects`` column lives in a
release) is in :mod:`prongsai.core.ocds`, so the two cannot drift apart.

Thai fields with no home in OCDS 1.1 travel as extension fields (additional properties, which
the release schema allows), all under ``tender``:

- ``referencePrice`` (Value): ราคากลาง, the reference price;
- ``procurementMethodGroup`` / ``procurementMethodCode``: the method group under the 2560 Act
  and the raw e-GP method id; the Thai method name itself is ``procurementMethodDetails``;
- ``projectType``, ``fiscalYear`` (B.E.), ``datePublished``, ``statusDetails`` (สถานะโครงการ),
  ``procuringEntityUnit`` (the division inside the procuring entity);
- ``deliveryAddress`` (Address: ``region`` = province, ``locality`` = district, plus
  ``subdistrict``) and ``deliveryLocation.wkt``;
- ``contracts[].suppliers`` and ``contracts[].contractNumber`` follow the published OCDS
  extensions of those names; statuses outside a closed codelist go to ``statusDetails``.
"""
from __future__ import annotations

import functools
import hashlib
import json
import pathlib
import sqlite3
import sys

import click

from prongsai.core import config
from prongsai.core.cli_options import db_option
from prongsai.core.clock import now
from prongsai.core.errors import UserError
from prongsai.core.ocds import (
    AGENCY_SCHEME,
    DEFAULT_OCID_PREFIX,
    OCDS_SOURCE,
    PROJECT_PATHS,
    TAX_ID_SCHEMES,
    THAI_OFFSET,
    ocid_for,
)
from prongsai.core.progress import progress

# --- export ----------------------------------------------------------------------------------

TENDER_STATUSES = {"planning", "planned", "active", "cancelled", "unsuccessful", "complete", "withdrawn"}
AWARD_STATUSES = {"pending", "active", "cancelled", "unsuccessful"}
CONTRACT_STATUSES = {"pending", "active", "cancelled", "terminated"}
METHODS = {"open", "selective", "limited", "direct"}
CATEGORIES = {"goods", "works", "services"}
#: Thai method group or name fragment -> OCDS procurementMethod (first match wins).
THAI_METHODS = (
    ("เฉพาะเจาะจง", "limited"), ("ตกลงราคา", "limited"), ("วิธีพิเศษ", "limited"),
    ("คัดเลือก", "selective"),
    ("ประกาศเชิญชวน", "open"), ("e-bidding", "open"), ("e-market", "open"), ("ประกวดราคา", "open"),
    ("สอบราคา", "open"), ("ตลาดอิเล็กทรอนิกส์", "open"),
)
#: Thai contract statuses as published (data.go.th, e-GP) -> OCDS contractStatus.
THAI_CONTRACT_STATUSES = {"ระหว่างดำเนินการ": "active", "สิ้นสุดสัญญา": "terminated", "ยกเลิกสัญญา": "cancelled"}
FORMATS = ("jsonl", "package")


def _date_time(value: str | None) -> str | None:
    """OCDS dates are date-times: a plain date (the Thai sources', or a Thai-midnight OCDS date
    read back) is Thai midnight; a date-time stays as published."""
    return f"{value}T00:00:00{THAI_OFFSET}" if value and len(value) == 10 else value


def procurement_method(project) -> str | None:
    """OCDS open/selective/limited/direct for a project; Thai sources are mapped from the method."""
    if project["ocds_method"] in METHODS or project["source"] == OCDS_SOURCE:
        return project["ocds_method"] if project["ocds_method"] in METHODS else None
    text = f"{project['method_group'] or ''} {project['method'] or ''}"
    return next((code for fragment, code in THAI_METHODS if fragment in text), None)


def _put(obj: dict, path, value) -> None:
    if value is None:
        return
    for key in path[:-1]:
        obj = obj.setdefault(key, {})
    obj[path[-1]] = value


def _value(amount, currency) -> dict | None:
    value = {k: v for k, v in (("amount", amount), ("currency", currency)) if v is not None}
    return value or None


def _suffix(row_id: str, project_id: str) -> str:
    """The source id inside a ``<project_id>/<id>`` row id."""
    prefix = project_id + "/"
    return row_id[len(prefix):] if row_id.startswith(prefix) else row_id


def _status(obj: dict, value, codes, mapped=None) -> None:
    """A status inside the codelist goes to ``status``; any other to ``statusDetails``, with
    its code in ``status`` when ``mapped`` knows it."""
    if value in codes:
        obj["status"] = value
    elif value is not None:
        _put(obj, ("status",), (mapped or {}).get(value))
        obj["statusDetails"] = value


class _Children:
    """Rows of one child table, read in project order alongside the projects (a merge join)."""

    def __init__(self, conn, sql: str):
        self._rows = conn.execute(sql)
        self._next = next(self._rows, None)

    def take(self, project_id: str) -> list:
        out = []
        while self._next is not None and self._next["project_id"] < project_id:
            self._next = next(self._rows, None)  # orphan rows (no project) cannot be exported
        while self._next is not None and self._next["project_id"] == project_id:
            out.append(self._next)
            self._next = next(self._rows, None)
        return out


_CHILD_SQL = {
    "items": "SELECT * FROM items ORDER BY project_id, rowid",
    "bids": "SELECT * FROM bids ORDER BY project_id, rowid",
    "bid_tenderers": "SELECT b.project_id, t.bid_id, t.supplier_id, t.name FROM bids b "
                     "CROSS JOIN bid_tenderers t ON t.bid_id = b.id ORDER BY b.project_id, b.rowid, t.rowid",
    "awards": "SELECT * FROM awards ORDER BY project_id, rowid",
    "award_suppliers": "SELECT a.project_id, s.award_id, s.supplier_id FROM awards a "
                       "CROSS JOIN award_suppliers s ON s.award_id = a.id ORDER BY a.project_id, a.rowid, s.rowid",
    "award_items": "SELECT a.project_id, i.award_id, i.classification_scheme, i.classification_id "
                   "FROM awards a CROSS JOIN award_items i ON i.award_id = a.id ORDER BY a.project_id, a.rowid, i.rowid",
    "contracts": "SELECT * FROM contracts ORDER BY project_id, rowid",
}


#: projects columns written below rather than as they are (closed codelists, dates, references, money).
_NOT_AS_IS = {"buyer_id", "procuring_entity_id", "budget", "reference_price", "currency", "tender_status",
              "main_procurement_category", "ocds_method", "announce_date", "tender_start", "tender_end"}


class _Exporter:
    def __init__(self, conn, prefix: str | None, published: str):
        self.conn = conn
        self.prefix = prefix
        self.published = published
        self.agency = functools.lru_cache(maxsize=50_000)(self._lookup("agencies"))
        self.supplier = functools.lru_cache(maxsize=200_000)(self._lookup("suppliers"))

    def _lookup(self, table):
        def get(key):
            return self.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (key,)).fetchone()
        return get

    def releases(self):
        children = {name: _Children(self.conn, sql) for name, sql in _CHILD_SQL.items()}
        for project in self.conn.execute("SELECT * FROM projects ORDER BY project_id"):
            pid = project["project_id"]
            yield self.release(project, {name: c.take(pid) for name, c in children.items()})

    def release(self, p, rows) -> dict:
        pid = p["project_id"]
        parties: dict[str, dict] = {}
        release = {"ocid": ocid_for(pid, p["source"], self.prefix)}

        tender = release.setdefault("tender", {"id": pid})
        for column, path in PROJECT_PATHS.items():
            if column not in _NOT_AS_IS:
                _put(release, path, p[column])
        for column in ("announce_date", "tender_start", "tender_end"):
            _put(release, PROJECT_PATHS[column], _date_time(p[column]))
        _put(tender, ("status",), p["tender_status"] if p["tender_status"] in TENDER_STATUSES else None)
        _put(tender, ("mainProcurementCategory",),
             p["main_procurement_category"] if p["main_procurement_category"] in CATEGORIES else None)
        _put(tender, ("procurementMethod",), procurement_method(p))
        _put(tender, ("value",), _value(p["budget"], p["currency"]))
        _put(tender, ("referencePrice",), _value(p["reference_price"], p["currency"]))
        if p["buyer_id"]:
            release["buyer"] = self._org(parties, p["buyer_id"], "buyer")
        if p["procuring_entity_id"]:
            tender["procuringEntity"] = self._org(parties, p["procuring_entity_id"], "procuringEntity")

        items = [self._item(i, pid) for i in rows["items"]]
        if items:
            tender["items"] = items

        tenderers: dict[str, list] = {}
        for t in rows["bid_tenderers"]:
            tenderers.setdefault(t["bid_id"], []).append(
                self._supplier_ref(parties, t["supplier_id"], "tenderer", t["name"]))
        details = []
        for b in rows["bids"]:
            bid = {}
            _put(bid, ("id",), b["bid_id"])
            _put(bid, ("date",), _date_time(b["date"]))
            _put(bid, ("status",), b["status"])
            _put(bid, ("value",), _value(b["amount"], b["currency"]))
            _put(bid, ("tenderers",), tenderers.get(b["id"]))
            details.append(bid)
        if details:
            release["bids"] = {"details": details}

        award_ids, awards = {}, []
        suppliers: dict[str, list] = {}
        for s in rows["award_suppliers"]:
            ref = self._supplier_ref(parties, s["supplier_id"], "supplier")
            suppliers.setdefault(s["award_id"], []).append(ref)
        classes: dict[str, list] = {}
        for i in rows["award_items"]:
            classification = {"id": i["classification_id"]}
            _put(classification, ("scheme",), i["classification_scheme"] or None)
            classes.setdefault(i["award_id"], []).append(classification)
        for a in rows["awards"]:
            award = {"id": a["award_id"] or _suffix(a["id"], pid)}
            award_ids[a["id"]] = award["id"]
            _status(award, a["status"], AWARD_STATUSES)
            _put(award, ("date",), _date_time(a["date"]))
            _put(award, ("value",), _value(a["amount"], a["currency"]))
            _put(award, ("suppliers",), suppliers.get(a["id"]))
            if a["id"] in classes:
                award["items"] = [{"id": str(k), "classification": c} for k, c in enumerate(classes[a["id"]], 1)]
            awards.append(award)

        contracts = []
        for c in rows["contracts"]:
            contract = {"id": _suffix(c["id"], pid)}
            supplier = (self._supplier_ref(parties, c["supplier_id"], "supplier", c["supplier_name"])
                        if c["supplier_id"] else None)
            if c["award_id"] in award_ids:
                contract["awardID"] = award_ids[c["award_id"]]
            else:  # OCDS needs an award behind every contract: say what we know of it
                award = {"id": f"contract-{contract['id']}"}
                _put(award, ("value",), _value(c["award_amount"], c["currency"]))
                _put(award, ("suppliers",), [supplier] if supplier else None)
                awards.append(award)
                contract["awardID"] = award["id"]
            _put(contract, ("contractNumber",), c["contract_no"])
            _status(contract, c["status"], CONTRACT_STATUSES, THAI_CONTRACT_STATUSES)
            _put(contract, ("value",), _value(c["contract_amount"], c["currency"]))
            _put(contract, ("dateSigned",), _date_time(c["signed_date"]))
            _put(contract, ("period", "endDate"), _date_time(c["end_date"]))
            _put(contract, ("suppliers",), [supplier] if supplier else None)
            contracts.append(contract)
        if awards:
            release["awards"] = awards
        if contracts:
            release["contracts"] = contracts
        if parties:
            release["parties"] = list(parties.values())

        digest = hashlib.sha256(json.dumps(release, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        return {"ocid": release.pop("ocid"), "id": f"prongsai-{digest[:16]}",
                "date": p["last_seen"] or self.published, "tag": ["compiled"],
                "initiationType": "tender", **release}

    def _item(self, i, pid) -> dict:
        item = {"id": i["item_id"] or _suffix(i["id"], pid)}
        _put(item, ("description",), i["description"])
        _put(item, ("classification", "scheme"), i["classification_scheme"])
        _put(item, ("classification", "id"), i["classification_id"])
        _put(item, ("quantity",), i["quantity"])
        _put(item, ("unit", "name"), i["unit"])
        _put(item, ("unit", "value"), _value(i["unit_value"], i["currency"]))
        return item

    def _org(self, parties, key: str, role: str) -> dict:
        return self._ref(parties, self.agency(key), key, role, _agency_fields)

    def _supplier_ref(self, parties, key: str, role: str, ref_name: str | None = None) -> dict:
        return self._ref(parties, self.supplier(key), key, role, _supplier_fields, ref_name)

    @staticmethod
    def _ref(parties, row, key: str, role: str, fields, ref_name: str | None = None) -> dict:
        """A reference to organisation ``key``; its party (with ``role``) joins ``parties``."""
        name = row and (row["name_th"] or row["name_en"])
        party = parties.get(key)
        if party is None:
            party = parties[key] = {"id": key}
            _put(party, ("name",), name)
            for path, value in fields(row) if row is not None else ():
                _put(party, path, value)
            party["roles"] = []
        if role not in party["roles"]:
            party["roles"].append(role)
        name = ref_name if ref_name is not None else name
        return {k: v for k, v in (("id", key), ("name", name)) if v is not None}


def _agency_fields(a):
    code = a["department_code"]
    return [(("identifier",), {"scheme": AGENCY_SCHEME, "id": code} if code else None),
            (("address", "region"), a["province"]), (("details", "ministry"), a["ministry"])]


def _supplier_fields(s):
    raw = s["tax_id_raw"]
    return [(("identifier",), {"scheme": TAX_ID_SCHEMES[0], "id": raw} if raw else None),
            (("address", "countryName"), s["country"])]




def releases(conn, *, prefix: str | None = None):
    """Every project of ``conn`` (a sqlite3 connection) as a compiled release, one at a time."""
    conn.row_factory = sqlite3.Row
    return _Exporter(conn, prefix, now()).releases()


def write(conn, out, *, fmt: str = "jsonl", prefix: str | None = None, uri: str | None = None,
          update=lambda n=1: None) -> int:
    """Stream every project to the text file ``out`` as JSON Lines or one release package."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    published = now()
    count = 0
    if fmt == "package":
        header = {"uri": uri or "urn:x-prongsai:ocds-export", "version": "1.1", "publishedDate": published,
                  "publisher": {"name": "Prongsai (โปร่งใส)"}}
        out.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "releases": [\n')
    for release in releases(conn, prefix=prefix):
        if fmt == "package" and count:
            out.write(",\n")
        out.write(json.dumps(release, ensure_ascii=False, separators=(",", ":")))
        if fmt == "jsonl":
            out.write("\n")
        count += 1
        update(1)
    if fmt == "package":
        out.write("\n]}\n")
    return count


def default_path(fmt: str = "jsonl"):
    """Where ``prongsai export ocds`` writes by default (what the portal and Datasette link to)."""
    return config.data_dir() / "exports" / ("ocds.jsonl" if fmt == "jsonl" else "ocds-package.json")


def export_file(db_path, dest, *, fmt: str = "jsonl", prefix: str | None = None, uri: str | None = None) -> int:
    """Write the export to ``dest`` atomically (a link never sees half a file); ``-`` = stdout."""
    if not pathlib.Path(db_path).exists():
        raise UserError(f"database not found: {db_path}")
    conn = sqlite3.connect(f"file:{pathlib.Path(db_path).resolve()}?mode=ro", uri=True)
    try:
        with progress("ocds export: projects") as update:
            if str(dest) == "-":
                return write(conn, sys.stdout, fmt=fmt, prefix=prefix, uri=uri, update=update)
            dest = pathlib.Path(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                count = write(conn, f, fmt=fmt, prefix=prefix, uri=uri, update=update)
            tmp.replace(dest)
            return count
    finally:
        conn.close()


@click.command("ocds")
@db_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True,
              help="jsonl: one compiled release per line; package: one OCDS release package.")
@click.option("--ocid-prefix", default=None,
              help="Prefix of the ocids of non-OCDS projects "
                   f"(default: $PRONGSAI_OCID_PREFIX or {DEFAULT_OCID_PREFIX}).")
@click.option("-o", "--output", default=None,
              help="Output file, or - for stdout (default: data/exports/ocds.jsonl or ocds-package.json).")
@click.option("--uri", default=None, help="The package's own URI (package format).")
def command(db_path, fmt, ocid_prefix, output, uri):
    """Write every project as OCDS 1.1 compiled releases (any OCDS tool, OCP's Cardinal included)."""
    dest = output or default_path(fmt)
    count = export_file(db_path, dest, fmt=fmt, prefix=ocid_prefix, uri=uri)
    if str(dest) != "-":
        click.echo(f"ocds: {count:,} projects written to {dest}", err=True)
