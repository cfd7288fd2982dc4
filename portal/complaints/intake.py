"""The maintained list of agencies' intake addresses (``intake.yml``), with the operator's overrides.

Read when a message is sent, not when it is queued, so fixing an address also fixes the packages
already waiting for it."""
from __future__ import annotations

import os
import pathlib
from email.headerregistry import Address
from email.errors import HeaderParseError

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


def address(agency: str) -> str:
    """The intake e-mail address of ``agency``; UserError saying how to set it when there is none."""
    override = os.environ.get(f"PRONGSAI_INTAKE_{agency.upper()}")
    value = override or (load().get(agency) or {}).get("email")
    if not value:
        raise UserError(f"no intake address for {agency}: set PRONGSAI_INTAKE_{agency.upper()} or its "
                        f"email in the intake list (PRONGSAI_INTAKE_FILE)")
    try:
        return check_address(value)
    except ValueError as exc:
        raise UserError(f"intake address for {agency}: {exc}") from None
