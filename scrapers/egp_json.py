"""e-GP process5 JSON: the project listing, every bidder (``getProcureResult``), signed contracts.

Traps (thai-data.md §5): the listing's ``totalPages`` is 0, so page until ``data.data`` is empty;
ids may carry a ``-XXXX`` suffix; amounts are numbers or strings with thousands separators;
``resultFlag`` P/N is pass/fail and the winner is the bidder with ``priceAgree``, which is not
always the lowest bid. process5 sits behind Cloudflare: live use is slow (one request per 3 s,
enforced by the shared client), single-threaded, and meets 403/429 walls.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import json

import click

from prongsai.core.cli_options import db_option
from prongsai.core.errors import UserError
from prongsai.core.thai import (
    agency_id,
    current_fiscal_year,
    method_group,
    normalize_name,
    parse_amount,
    parse_be_date,
    short_hash,
    supplier_id,
)
from scrapers import egp
from scrapers.command import at_most_one, file_or_live, first
from scrapers.records import Records, load
from scrapers.store import LayoutError, ScrapeError, SourceRun

SOURCE = "egp-json"
REFRESH = False  # behind an anti-bot wall: run by hand, slowly
BASE = "https://process5.gprocurement.go.th/egp-atpj27-service/pb/a-egp-allt-project/announcement"
RESULT_URL = BASE + "/getProcureResult"
CONTRACT_URL = BASE + "/getContractAvailable"
LISTING_FIELDS = ("projectId", "projectName", "deptName", "deptSubName", "methodId", "announceType",
                  "announceDate", "projectMoney", "priceBuild", "projectStatus")
BIDDER_FIELDS = ("receiveNameTh", "receiveTin", "priceProposal", "resultFlag")
CONTRACT_FIELDS = ("corporateName", "contractPrice", "contractDate")
RESULT_STATUS = {"P": "valid", "N": "disqualified"}
BLOCKED_HINT = ("process5 sits behind Cloudflare's anti-bot wall; wait and retry later, "
                "or save the responses from a browser and load them with --file")


# --- parsing (pure) --------------------------------------------------------------------------

def _data(content: bytes, url: str) -> dict:
    """The ``data`` of the ``{response: {responseCode: "0"}, data: {...}}`` envelope."""
    text = egp.decode(content, "utf-8", source=SOURCE, location=url)
    try:
        doc = json.loads(text)
    except ValueError:
        raise LayoutError(SOURCE, url, "a JSON document", repr(text.strip()[:60])) from None
    if not isinstance(doc, dict):
        raise LayoutError(SOURCE, url, "a JSON object {response, data}", type(doc).__name__)
    response = doc.get("response")
    if doc.get("validateCfTurnTile") is False or (
            isinstance(response, dict) and response.get("validateCfTurnTile") is False):
        raise ScrapeError(f"{SOURCE}: {url}: blocked (validateCfTurnTile: false). {BLOCKED_HINT}")
    if not isinstance(response, dict) or "responseCode" not in response:
        raise LayoutError(SOURCE, url, "response.responseCode", f"top-level keys {sorted(doc)}")
    if str(response["responseCode"]) != "0":
        raise ScrapeError(f"{SOURCE}: {url}: e-GP answered responseCode {response['responseCode']!r}"
                          f" ({response.get('responseMessage') or 'no message'})")
    data = doc.get("data")
    if not isinstance(data, dict):
        raise LayoutError(SOURCE, url, "data{...} object", f"data = {type(data).__name__}")
    return data


def _list(container: dict, key: str, url: str, where: str) -> list:
    value = container.get(key)
    if not isinstance(value, list):
        raise LayoutError(SOURCE, url, f"{where}{key}[] list", f"keys {sorted(container)}")
    return value


def _checked(rows: list, fields, url: str, where: str) -> list:
    """``rows`` after a layout check: a field absent from every row means it was renamed or
    dropped (the run fails); absent from some rows only, those rows are malformed (:func:`_absent`)."""
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise LayoutError(SOURCE, url, f"{where}[{n}] object", type(row).__name__)
    for field in fields:
        if rows and all(field not in row for row in rows):
            raise LayoutError(SOURCE, url, f"{where}[].{field}", f"keys {sorted(rows[0])}")
    return rows


def _absent(row: dict, fields) -> str | None:
    missing = [f for f in fields if f not in row]
    return f"no {', '.join(missing)}" if missing else None


def _whole_rows(records: Records, rows: list, fields, where: str):
    """``(location, row)`` of each row with every one of ``fields`` (location ``<where> <n>``);
    every row is counted, one lacking a field is quarantined naming it."""
    for n, row in enumerate(rows, start=1):
        records.rows_in += 1
        location = f"{where} {n}"
        if reason := _absent(row, fields):
            records.quarantine(location, row, reason)
            continue
        yield location, row


def _datetime(value) -> str | None:
    """process5 ISO date-time -> ISO in the common era, offset kept (B.E. years corrected)."""
    if value in (None, ""):
        return None
    stamp = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if stamp.year > 2400:
        stamp = stamp.replace(year=stamp.year - 543)
    return stamp.isoformat()


def _present(row: dict) -> dict:
    """Drop unknown (None) values so they never erase what another record said."""
    return {k: v for k, v in row.items() if v is not None}


#: The only methodIds every source agrees on; 15, 17 and 18 mean different methods in different
#: projects (shared/research/thai-data.md), so those stay raw only.
METHOD_IDS = {"16": "ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)", "19": "เฉพาะเจาะจง"}
#: The announcement whose date is the project's announce_date (ประกาศเชิญชวน), as data.go.th has it.
INVITATION = "D0"


def parse_listing(content: bytes, *, url: str, budget_year: int | None = None) -> Records:
    """One listing page -> projects, their agencies and the announcement each row shows."""
    records = Records()
    rows = _checked(_list(_data(content, url), "data", url, "data."), LISTING_FIELDS, url, "data.data")
    for location, row in _whole_rows(records, rows, LISTING_FIELDS, f"{url} row"):
        try:
            pid = egp.project_id(row["projectId"])
            published_at = _datetime(row["announceDate"])
            method = METHOD_IDS.get(str(row["methodId"]))
            project = {
                "project_id": pid,
                "title": row["projectName"],
                "buyer_id": agency_id(None, row["deptName"]),
                "procuring_entity_id": agency_id(None, row["deptSubName"]),
                "sub_agency": row["deptSubName"],
                "method_id_raw": None if row["methodId"] is None else str(row["methodId"]),
                "method": method, **dict(zip(("method_group", "ocds_method"), method_group(method))),
                "fiscal_year": budget_year,
                "announce_date": published_at[:10] if published_at and row["announceType"] == INVITATION else None,
                "tender_start": parse_be_date(row.get("offerStartDate")),
                "tender_end": parse_be_date(row.get("offerEndDate") or row.get("offerDate")),
                "budget": parse_amount(row["projectMoney"]),
                "reference_price": parse_amount(row["priceBuild"]),
                "currency": "THB",
                "status": row["projectStatus"],
                "province": row.get("rdbProvinceMoiName"),
            }
        except ValueError as exc:
            records.quarantine(location, row, str(exc))
            continue
        if row["projectStatus"] in ("R", "ยกเลิกโครงการ") or row["announceType"] == "D1":
            project["tender_status"] = "cancelled"
        records.upsert("projects", _present(project))
        records.stub("agencies", {"id": project["buyer_id"], "name_th": row["deptName"]})
        records.stub("agencies", _present({"id": project["procuring_entity_id"], "name_th": row["deptSubName"],
                                           "province": row.get("rdbProvinceMoiName")}))
        if row["announceType"] and published_at:
            kind = str(row["announceType"])
            label = row.get("flowName") or egp.TYPES.get(kind, "")
            records.stub("announcements", {
                "id": egp.announcement_id(pid, kind, published_at), "project_id": pid, "type": kind,
                "title": f"{label} {row['projectName']}".strip(), "published_at": published_at,
                "url": egp.PROJECT_PAGE.format(pid), "agency_id": project["procuring_entity_id"],
            })
    return records


def parse_result(content: bytes, *, url: str, project_id: str) -> Records:
    """``getProcureResult`` -> every bid (valid / disqualified), tenderers, suppliers, awards.

    The winner is the bidder with ``priceAgree`` (the agreed price), never "the lowest bid".
    One ``procureResultList`` entry per lot. Bids are ``<project>/<lot>/<supplier>``; the award
    of a lot is ``<project>/<lot>``, the id datagoth and egp-html give the same award, and it
    only fills what those sources left empty (one award, never one per source).
    """
    pid = egp.project_id(project_id)
    data = _data(content, url)
    award_date = parse_be_date(data.get("announceDate"))
    records = Records()
    tenderers = set()
    for lot, entry in enumerate(_list(data, "procureResultList", url, "data."), start=1):
        where = f"data.procureResultList[{lot - 1}]"
        if not isinstance(entry, dict):
            raise LayoutError(SOURCE, url, f"{where} object", type(entry).__name__)
        bidders = _checked(_list(entry, "procureResultDataResponse", url, where + "."), BIDDER_FIELDS, url,
                           f"{where}.procureResultDataResponse")
        for location, bidder in _whole_rows(records, bidders, BIDDER_FIELDS, f"{url} lot {lot} bidder"):
            flag = str(bidder["resultFlag"] or "").strip().upper()
            try:
                if flag not in RESULT_STATUS:
                    raise ValueError(f"unknown resultFlag {bidder['resultFlag']!r} (expected P or N)")
                amount = parse_amount(bidder["priceProposal"])
                agreed = parse_amount(bidder.get("priceAgree"))
                if agreed and flag == "N":
                    raise ValueError("a disqualified (N) bidder carries the agreed price")
            except ValueError as exc:
                records.quarantine(location, bidder, str(exc))
                continue
            name = bidder["receiveNameTh"]
            sid, tax_id, status = supplier_id(bidder["receiveTin"], name)
            tenderers.add(sid)
            records.stub("suppliers", _supplier(sid, tax_id, bidder["receiveTin"], status, name))
            bid = f"{pid}/{lot}/{sid}"
            records.upsert("bids", _present({
                "id": bid, "project_id": pid, "bid_id": f"{lot}/{sid}", "amount": amount,
                "currency": "THB", "status": RESULT_STATUS[flag], "is_winner": int(bool(agreed))}))
            records.link("bid_tenderers", {"bid_id": bid, "supplier_id": sid, "name": name})
            for partner in bidder.get("jointVentureAndConsortiumsResponseList") or []:
                partner_name = (partner or {}).get("receiveNameTh")
                if partner_name:
                    psid, ptax, pstatus = supplier_id(partner.get("receiveTin"), partner_name)
                    records.stub("suppliers", _supplier(psid, ptax, partner.get("receiveTin"), pstatus, partner_name))
                    records.link("bid_tenderers", {"bid_id": bid, "supplier_id": psid, "name": partner_name})
            if agreed:
                award = f"{pid}/{lot}"
                records.stub("awards", _present({
                    "id": award, "project_id": pid, "award_id": str(lot), "status": "active",
                    "amount": agreed, "currency": "THB", "date": award_date}))
                records.link("award_suppliers", {"award_id": award, "supplier_id": sid})
    records.upsert("projects", {"project_id": pid, "number_of_tenderers": len(tenderers)})
    return records


def _supplier(sid, tax_id, raw, status, name) -> dict:
    return _present({"id": sid, "tax_id": tax_id, "tax_id_raw": None if raw is None else str(raw),
                     "tax_id_status": status, "name_th": name, "name_normalized": normalize_name(name)})


def parse_contracts(content: bytes, *, url: str, project_id: str, parties: dict | None = None,
                    published: list[dict] | None = None) -> Records:
    """``getContractAvailable`` -> contracts.

    The response names the counterparty but gives no tax id: ``parties`` maps a normalised
    bidder name to its (supplier id, award id) so the contract links to the company that won.
    ``published`` are the contracts another source (data.go.th) already stored for this project:
    one paired with an e-GP contract (:func:`pair_contracts`) is filled, not duplicated.
    """
    pid = egp.project_id(project_id)
    parties = parties or {}
    records = Records()
    rows = _checked(_list(_data(content, url), "contractAvailableResponse", url, "data."), CONTRACT_FIELDS, url,
                    "data.contractAvailableResponse")
    contracts = []
    for location, row in _whole_rows(records, rows, CONTRACT_FIELDS, f"{url} contract"):
        try:
            signed = parse_be_date(row["contractDate"])
            amount = parse_amount(row["contractPrice"])
        except ValueError as exc:
            records.quarantine(location, row, str(exc))
            continue
        name = row["corporateName"]
        normalized = normalize_name(name)
        sid, award = parties.get(normalized, (None, None))
        contracts.append({
            "id": f"{pid}/egp:{short_hash(normalized, signed, length=10)}", "project_id": pid,
            "award_id": award, "supplier_id": sid, "supplier_name": name, "contract_amount": amount,
            "currency": "THB", "signed_date": signed})
    pairs = pair_contracts(contracts, published or [])
    for contract in contracts:
        published_id = pairs.get(contract["id"])  # filled, not duplicated
        add = records.stub if published_id else records.upsert
        add("contracts", _present({**contract, "id": published_id or contract["id"]}))
    records.stub("projects", {"project_id": pid})
    return records


# --- fetching and loading --------------------------------------------------------------------

def _known(db, project_id: str) -> dict:
    """What is stored about a project's parties, for :func:`parse_contracts`."""
    parties = {}
    for bid_name, name, sid, award in db.execute(
            "SELECT t.name, s.name_normalized, s.id, a.id FROM bids b "
            "JOIN bid_tenderers t ON t.bid_id = b.id JOIN suppliers s ON s.id = t.supplier_id "
            "LEFT JOIN award_suppliers x ON x.supplier_id = s.id "
            "LEFT JOIN awards a ON a.id = x.award_id AND a.project_id = b.project_id "
            "WHERE b.project_id = ? ORDER BY a.id IS NULL", (project_id,)):
        for key in (normalize_name(bid_name), name):  # the name e-GP gave, and the stored one
            parties.setdefault(key, (sid, award))
    return {"parties": parties, "published": _published(db, project_id)}


def _published(db, project_id: str) -> list[dict]:
    """The contracts other sources stored for a project."""
    return _contracts(db, "WHERE project_id = ? AND id NOT LIKE ?", (project_id, f"{project_id}/egp:%"))


def _contracts(db, where: str, args=()) -> list[dict]:
    cursor = db.execute(f"SELECT id, project_id, {', '.join(_CONTRACT_FILLS)} FROM contracts {where} ORDER BY id",
                        args)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def contract_keys(supplier_id, supplier_name) -> set[str]:
    """What makes two sources' contracts of one project the same contract: the supplier id or
    the normalised supplier name (e-GP's contract response names the company, with no tax id)."""
    return {key for key in (supplier_id, normalize_name(supplier_name)) if key}


def pair_contracts(egp_contracts: list[dict], published: list[dict]) -> dict[str, str]:
    """{e-GP contract id: published contract id}, one to one, within one project: the same
    supplier and the same amount or signing date first, then a supplier's one e-GP contract
    left with its one published contract left. Any other e-GP contract stays apart."""
    keys = {c["id"]: contract_keys(c["supplier_id"], c["supplier_name"]) for c in egp_contracts + published}
    pairs: dict[str, str] = {}

    def free(contract):
        return [p for p in published if p["id"] not in pairs.values() and keys[p["id"]] & keys[contract["id"]]]

    for contract in egp_contracts:
        for candidate in free(contract):
            if any(contract[f] is not None and contract[f] == candidate[f] for f in ("contract_amount", "signed_date")):
                pairs[contract["id"]] = candidate["id"]
                break
    for contract in egp_contracts:
        left = [] if contract["id"] in pairs else free(contract)
        rivals = [c for c in egp_contracts if c["id"] not in pairs and any(keys[c["id"]] & keys[p["id"]] for p in left)]
        if len(left) == 1 and rivals == [contract]:
            pairs[contract["id"]] = left[0]["id"]
    return pairs


#: what an e-GP contract can tell about a contract another source published
_CONTRACT_FILLS = ("award_id", "supplier_id", "supplier_name", "contract_amount", "currency", "signed_date")


def merge_into_published(run) -> None:
    """e-GP contracts (``<project>/egp:<hash>``) that another source has since published under
    its own id (:func:`pair_contracts`): as if the e-GP response had come second
    (:func:`parse_contracts`), the e-GP row fills what the published row lacks (not an amendment:
    not logged) and is removed, logged in ``changes`` as field ``(merged)``, old id to new id."""
    conn = run.db.conn
    by_project: dict[str, list[dict]] = {}
    for contract in _contracts(conn, "e WHERE id LIKE '%/egp:%' AND EXISTS (SELECT 1 FROM contracts p "
                                     "WHERE p.project_id = e.project_id AND p.id NOT LIKE '%/egp:%')"):
        by_project.setdefault(contract["project_id"], []).append(contract)
    for pid, egp_contracts in by_project.items():
        published = {c["id"]: c for c in _published(conn, pid)}
        egp_by_id = {c["id"]: c for c in egp_contracts}
        for egp_id, published_id in pair_contracts(egp_contracts, list(published.values())).items():
            fills = {c: v for c in _CONTRACT_FILLS
                     if (v := egp_by_id[egp_id][c]) is not None and published[published_id][c] is None}
            if fills:
                conn.execute(f"UPDATE contracts SET {', '.join(f'{c} = ?' for c in fills)} WHERE id = ?",
                             (*fills.values(), published_id))
            conn.execute("DELETE FROM contracts WHERE id = ?", (egp_id,))
            run.log_changes([("contracts", egp_id, pid, "(merged)", egp_id, published_id)])
            run.rows_changed += 2 if fills else 1


def _fetch(client, url, parse, params):
    from scrapers.http import FetchError

    try:
        return egp.fetch(client, url, parse, params=params)
    except FetchError as exc:
        if any(f"HTTP {code}" in str(exc) for code in (403, 429)):
            raise FetchError(f"{exc}. {BLOCKED_HINT}") from None
        raise


def crawl_listing(run, client, *, budget_year: int, method_id=None, keyword=None, max_pages=None) -> None:
    """Page through the listing (1-based) until a page comes back empty."""
    for page in itertools.count(1):
        if max_pages and page > max_pages:
            break
        params = {"budgetYear": budget_year, "announcementTodayFlag": "false", "page": page}
        if keyword:
            params["keywordSearch"] = keyword
        if method_id:
            params["methodId"] = method_id
        url, _, records = _fetch(client, BASE, lambda c, u: parse_listing(c, url=u, budget_year=budget_year),
                                 params)
        if not records.rows_in:
            break
        load(run, records, source_url=url)


def fetch_project(run, client, project_id: str) -> None:
    """Bidders and awards, then the contract (linked to the bidders just loaded)."""
    pid = egp.project_id(project_id)
    url, _, records = _fetch(client, RESULT_URL, lambda c, u: parse_result(c, url=u, project_id=pid),
                             {"projectId": pid})
    load(run, records, source_url=url)
    run.flush()
    known = _known(run.db, pid)
    url, _, records = _fetch(client, CONTRACT_URL,
                             lambda c, u: parse_contracts(c, url=u, project_id=pid, **known),
                             {"projectId": pid})
    load(run, records, source_url=url)


def run_live(db_path, *, year=None, method_id=None, keyword=None, max_pages=None, projects=(),
             client=None) -> SourceRun:
    from scrapers.http import Client

    client = client or Client()
    if not projects and year is None:
        year = current_fiscal_year()
    target = f"{BASE} " + (f"projects {','.join(projects)}" if projects else f"budgetYear={year}")
    with SourceRun(db_path, SOURCE, target=target) as run:
        if year is not None:
            crawl_listing(run, client, budget_year=year, method_id=method_id, keyword=keyword,
                          max_pages=max_pages)
        for pid in projects:
            fetch_project(run, client, pid)
    return run


def run_file(db_path, path, *, kind: str, project_id=None, year=None, url=None) -> SourceRun:
    with open(path, "rb") as f:
        content = f.read()
    location = url or str(path)
    if kind != "listing" and not project_id:
        raise UserError(f"--kind {kind} needs --project (the response does not name its project)")
    with SourceRun(db_path, SOURCE, target=path) as run:
        if kind == "listing":
            records = parse_listing(content, url=location, budget_year=year)
        elif kind == "result":
            records = parse_result(content, url=location, project_id=project_id)
        else:
            records = parse_contracts(content, url=location, project_id=project_id,
                                      **_known(run.db, egp.project_id(project_id)))
        load(run, records, source_url=location)
    return run


@click.command(SOURCE)
@db_option
@click.option("--year", type=int, default=None, help="Budget year (B.E.) of the listing to page through "
              "(default: the current fiscal year when no --project is given); with --file, the fiscal year "
              "of the saved listing's projects (the listing does not say it).")
@click.option("--method", "method_id", default=None, help="Only this methodId (e.g. 16 e-bidding, 19 เฉพาะเจาะจง).")
@click.option("--keyword", default=None, help="keywordSearch of the listing (e.g. a project id).")
@click.option("--max-pages", type=click.IntRange(1), default=None, help="Stop after this many listing pages.")
@click.option("--project", "projects", multiple=True, metavar="ID", callback=egp.project_ids,
              help="Fetch this project's bidders (getProcureResult) and contract; repeatable. With --file "
                   "--kind result|contract: the project the saved response is about (it does not say).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="Read a saved response.")
@click.option("--kind", type=click.Choice(["listing", "result", "contract"]), default="listing",
              show_default=True, help="With --file: which call the saved response came from.")
@click.option("--url", default=None, help="With --file: the URL it was saved from (provenance).")
def command(db_path, year, method_id, keyword, max_pages, projects, path, kind, url):
    """e-GP process5 JSON: listing, every bidder with tax id and price, awards, contracts.

    \b
    WARNING: process5 sits behind Cloudflare's anti-bot wall. Live use is deliberately
    slow (at most one request every 3 seconds, single-threaded) and often answers
    403 or 429; prefer saved responses (--file) for bulk work.
    """
    if path:
        at_most_one("--file reads one response", project=projects)
    file_or_live(SOURCE, (path,) if path else (),
                 lambda file: run_file(db_path, file, kind=kind, project_id=first(projects), year=year, url=url),
                 lambda: run_live(db_path, year=year, method_id=method_id, keyword=keyword, max_pages=max_pages,
                                  projects=projects))
