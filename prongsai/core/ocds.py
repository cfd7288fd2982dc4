"""What OCDS import (``scrapers/ocds.py``) and export (``prongsai/derive/ocds_export.py``) share, so the
two cannot drift apart: the ocid of a project, and where each ``projects`` column lives in a release."""
from __future__ import annotations

import os

#: ``projects.source`` of rows loaded from OCDS: their ocid IS their project_id.
OCDS_SOURCE = "ocds"
#: Prefix of the ocids we mint for projects of other sources (override: ``PRONGSAI_OCID_PREFIX``).
DEFAULT_OCID_PREFIX = "ocds-prongsai"


def ocid_prefix() -> str:
    return os.environ.get("PRONGSAI_OCID_PREFIX") or DEFAULT_OCID_PREFIX


def ocid_for(project_id: str, source: str | None, prefix: str | None = None) -> str:
    """The ocid a project is published under (OCDS and Cardinal exports use the same ids)."""
    if source == OCDS_SOURCE:
        return project_id
    return f"{prefix or ocid_prefix()}-{project_id}"


def project_id_for(ocid: str, prefixes=()) -> str:
    """The project_id of an imported ocid: a prefix we mint (or one given) is stripped again."""
    for prefix in (*prefixes, ocid_prefix(), DEFAULT_OCID_PREFIX):
        if prefix and ocid.startswith(prefix + "-") and len(ocid) > len(prefix) + 1:
            return ocid[len(prefix) + 1:]
    return ocid


#: projects column -> path in a compiled release (import reads, export writes the same place).
PROJECT_PATHS: dict[str, tuple[str, ...]] = {
    "title": ("tender", "title"),
    "project_type": ("tender", "projectType"),
    "main_procurement_category": ("tender", "mainProcurementCategory"),
    "buyer_id": ("buyer", "id"),
    "procuring_entity_id": ("tender", "procuringEntity", "id"),
    "sub_agency": ("tender", "procuringEntityUnit"),
    "method": ("tender", "procurementMethodDetails"),
    "method_group": ("tender", "procurementMethodGroup"),
    "method_id_raw": ("tender", "procurementMethodCode"),
    "ocds_method": ("tender", "procurementMethod"),
    "fiscal_year": ("tender", "fiscalYear"),
    "announce_date": ("tender", "datePublished"),
    "tender_start": ("tender", "tenderPeriod", "startDate"),
    "tender_end": ("tender", "tenderPeriod", "endDate"),
    "tender_status": ("tender", "status"),
    "number_of_tenderers": ("tender", "numberOfTenderers"),
    "budget": ("tender", "value", "amount"),
    "reference_price": ("tender", "referencePrice", "amount"),
    "currency": ("tender", "value", "currency"),
    "status": ("tender", "statusDetails"),
    "province": ("tender", "deliveryAddress", "region"),
    "district": ("tender", "deliveryAddress", "locality"),
    "subdistrict": ("tender", "deliveryAddress", "subdistrict"),
    "location_wkt": ("tender", "deliveryLocation", "wkt"),
}

#: Identifier schemes whose ids are Thai 13-digit tax ids (the first is the one we write).
TAX_ID_SCHEMES = ("TH-RD", "TH-TIN", "TH-DBD")
#: Identifier scheme of e-GP department codes (agencies).
AGENCY_SCHEME = "TH-EGP"


def dig(obj, path):
    """``obj[path[0]][path[1]]...`` or None when any step is missing or not an object."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj

#: Thai time, the offset of every date-time we publish.
THAI_OFFSET = "+07:00"
