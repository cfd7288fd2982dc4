"""The maintained list of agencies' intake addresses (``intake.yml``), with the operator's overrides.

Read when a message is sent, not when it is queued, so fixing an address also fixes the packages
already waiting for it."""
from __future__ import annotations

import os
import pathlib
from email.errors import HeaderParseError
from email.headerregistry import Address

import yaml

from prongsai.core.errors import UserError

SHIPPED = pathlib.Path(__file__).with_name("intake.yml")


def check_address(text: str) -> str:
    """The address if it is one mailbox (``name@domain``); a ValueError naming it otherwise."""
    text = (text or "").strip()
    try:
        address = Address(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError):
        raise ValueError(f"not an e-mail address: {text!r}") from None
    if not address.username or "." not in address.domain or address.addr_spec != text:
        raise ValueError(f"not an e-mail address: {text!r}")
    return text


def load() -> dict:
    path = pathlib.Path(os.environ.get("PRONGSAI_INTAKE_FILE") or SHIPPED)
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"intake list {path}: {exc}") from None
    if not isinstance(entries, dict):
        raise UserError(f"intake list {path}: expected one entry per agency key")
    return entries


#: The key prefix of a buying agency's own complaint unit: ``unit:<agencies.id>``.
UNIT = "unit:"


def units() -> dict:
    """The buying agencies' own complaint units, by agency id (the list's ``units`` section)."""
    entries = load().get("units") or {}
    if not isinstance(entries, dict):
        raise UserError("intake list: `units` must map agency ids to their complaint units")
    return {str(k): v for k, v in entries.items()}


def unit(agency_id: str) -> dict | None:
    entry = units().get(str(agency_id))
    return entry if isinstance(entry, dict) else None


def address(agency: str) -> str:
    """The intake e-mail address of ``agency`` (a receiving agency's key, or ``unit:<agency id>``);
    UserError saying how to set it when there is none."""
    if agency.startswith(UNIT):
        value = (unit(agency[len(UNIT):]) or {}).get("email")
        if not value:
            raise UserError(f"no intake address for the complaint unit of agency {agency[len(UNIT):]}: add its "
                            f"email under `units` in the intake list (PRONGSAI_INTAKE_FILE)")
    else:
        override = os.environ.get(f"PRONGSAI_INTAKE_{agency.upper()}")
        value = override or (load().get(agency) or {}).get("email")
        if not value:
            raise UserError(f"no intake address for {agency}: set PRONGSAI_INTAKE_{agency.upper()} or its "
                            f"email in the intake list (PRONGSAI_INTAKE_FILE)")
    try:
        return check_address(value)
    except ValueError as exc:
        raise UserError(f"intake address for {agency}: {exc}") from None
