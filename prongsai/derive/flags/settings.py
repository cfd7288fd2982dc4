"""Flag settings: Cardinal's own ``settings.ini`` for R-indicators, our INI for TH flags.

Both follow Cardinal's rules: an indicator runs only when its section is present, a missing key
takes the documented default, and an unknown section or key is an error naming it (Cardinal's
``deny_unknown_fields``), so a typo never silently falls back to a default.
"""
from __future__ import annotations

import configparser
import os
import pathlib

from prongsai.core.errors import UserError
from prongsai.derive.flags.definitions import FLAGS, THAI_CODES

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_CARDINAL = HERE / "settings.ini"
DEFAULT_THAI = HERE / "thai-flags.ini"
#: Environment variable naming a replacement for ``thai-flags.ini``.
THAI_ENV = "PRONGSAI_THAI_FLAG_SETTINGS"

_TOP = "__top__"
#: Cardinal's settings schema (``src/indicators/mod.rs``): section -> key -> type.
CARDINAL_SCHEMA: dict[str, dict[str, type]] = {
    _TOP: {"currency": str, "no_price_comparison_procurement_methods": str,
           "price_comparison_procurement_methods": str},
    "output": {"info_currency_mismatches": bool},
    "defaults": {"currency": str, "item_classification_scheme": str, "bid_status": str,
                 "award_status": str, "party_roles": bool},
    "redactions": {"amount": str, "organization_id": str},
    "corrections": {"award_status_by_contract_status": bool},
    "modifications": {"move_auctions": bool, "prefix_buyer_or_procuring_entity_id": str,
                      "prefix_tenderer_or_supplier_id": str, "split_procurement_method_details": str},
    "codelists.bid_status": {},   # free keys (prepare command only)
    "codelists.award_status": {},
    "exclusions": {"procurement_method_details": str},
    "R003": {"threshold": int, "procurement_methods": str},
    "R003.procurement_method_details": {},  # <procurementMethodDetails> = <days>
    "R018": {"procurement_methods": str},
    "R024": {"threshold": float},
    "R025": {"percentile": int, "threshold": float},
    "R028": {},
    "R030": {},
    "R035": {"threshold": int},
    "R036": {},
    "R038": {"threshold": float, "minimum_submitted_bids": int, "minimum_contracting_processes": int},
    "R048": {"digits": int, "threshold": int, "minimum_contracting_processes": int},
    "R058": {"threshold": float},
}
_FREE_KEYS = {"codelists.bid_status": str, "codelists.award_status": str, "R003.procurement_method_details": int}

#: Our TH thresholds: section -> key -> default, from the flags' definitions.
THAI_DEFAULTS: dict[str, dict[str, object]] = {code: dict(FLAGS[code].defaults) for code in THAI_CODES}
#: ``[calibration]`` of ``thai-flags.ini``: a flag firing on more than this share of the projects (or
#: organisations) it could be tested on is reported as probably mis-calibrated for the data.
CALIBRATION = "calibration"
CALIBRATION_DEFAULTS: dict[str, object] = {"max_fired_pct": 20.0}


def pipe_set(value: str | None) -> list[str]:
    """Cardinal's pipe-separated lists (``split_terminator('|')``): ``'a|b'`` -> ``['a', 'b']``."""
    if not value:
        return []
    parts = value.split("|")
    if parts and parts[-1] == "":
        parts.pop()
    return sorted(set(parts))


def _parser(text: str, origin: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(delimiters=("=",), comment_prefixes=(";", "#"),
                                       inline_comment_prefixes=None, interpolation=None, strict=True,
                                       default_section="__no_defaults__")
    parser.optionxform = str  # keys are case-sensitive (method names in per-method sections)
    try:
        parser.read_string(f"[{_TOP}]\n" + text, source=origin)
    except configparser.Error as e:
        raise UserError(f"{origin}: not a valid settings file: {e}") from None
    return parser


def _cast(value: str, kind: type, where: str):
    try:
        if kind is bool:
            if value.strip().lower() not in ("true", "false"):
                raise ValueError
            return value.strip().lower() == "true"
        if kind is int:
            return int(value.strip())
        if kind is float:
            return float(value.strip())
    except ValueError:
        raise UserError(f"{where}: {value!r} is not a valid {kind.__name__}") from None
    return value.strip()


def _read(path, schema: dict[str, dict[str, type]], free: dict[str, type]) -> dict[str, dict]:
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot read flag settings {path}: {e.strerror}") from None
    parser = _parser(text, str(path))
    out: dict[str, dict] = {}
    for section in parser.sections():
        if section not in schema:
            raise UserError(f"{path}: unknown section [{section}]")
        values = {}
        for key, raw in parser.items(section):
            kind = free.get(section) or schema[section].get(key)
            if kind is None:
                where = "top level" if section == _TOP else f"[{section}]"
                raise UserError(f"{path}: unknown key {key!r} in {where}")
            values[key] = _cast(raw, kind, f"{path} [{section}] {key}")
        out[section] = values
    return out


def load_cardinal(path=None) -> dict[str, dict]:
    """Cardinal settings: ``{section: {key: value}}``; top-level keys under ``""``."""
    raw = _read(path or DEFAULT_CARDINAL, CARDINAL_SCHEMA, _FREE_KEYS)
    raw[""] = raw.pop(_TOP, {})
    return raw


def _read_thai(path) -> dict[str, dict]:
    path = path or os.environ.get(THAI_ENV) or DEFAULT_THAI
    sections = THAI_DEFAULTS | {CALIBRATION: CALIBRATION_DEFAULTS}
    schema = {_TOP: {}} | {name: {k: type(v) for k, v in keys.items()} for name, keys in sections.items()}
    raw = _read(path, schema, {})
    raw.pop(_TOP, None)
    return {name: sections[name] | values for name, values in raw.items()}


def load_thai(path=None) -> dict[str, dict]:
    """TH settings with defaults filled in, for the sections present (absent = flag off)."""
    raw = _read_thai(path)
    raw.pop(CALIBRATION, None)
    return raw


def load_calibration(path=None) -> dict[str, object]:
    """``[calibration]`` of the TH settings file, defaults filled in (a missing section = defaults)."""
    return _read_thai(path).get(CALIBRATION, CALIBRATION_DEFAULTS)
