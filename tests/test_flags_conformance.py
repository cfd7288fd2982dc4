"""Conformance with OCP's Cardinal: every fixture of cardinal-rs gives Cardinal's expected output.

Each case loads Cardinal's OCDS input with our OCDS importer, runs our flags build with the case's
settings (encoded in the file name, as cardinal-rs ``build.rs`` does) and compares our
``export flags --format cardinal`` output with Cardinal's, as JSON.
"""
from __future__ import annotations

import json

import pytest
from conftest import SHARED, needs_shared

from prongsai.derive.flags.build import build
from prongsai.derive.flags.export import cardinal_results
from scrapers.ocds import import_file

FIXTURES = SHARED / "data" / "cardinal-fixtures"
INDICATOR_CASES = sorted(p.stem for p in (FIXTURES / "indicators").glob("*.jsonl"))
DOC_CASES = json.loads((FIXTURES / "docs-examples" / "expected.json").read_text()) if FIXTURES.exists() else {}
ALL_THAI_OFF = "; no Thai flags in conformance runs\n"


def settings_from_name(name: str) -> str:
    """cardinal-rs build.rs: ``CODE[-field-value]`` or ``CODE-field-k1-v1-k2-v2`` (``+`` = ``|``)."""
    parts = name.split("-")
    code, rest = parts[0], parts[1:]
    lines = ["no_price_comparison_procurement_methods = NPC", "[exclusions]",
             "procurement_method_details = EXC", f"[{code}]"]
    if len(rest) == 2:
        lines.append(f"{rest[0]} = {rest[1].replace('+', '|')}")
    elif len(rest) > 2:
        lines.append(f"[{code}.{rest[0]}]")
        pairs = rest[1:]
        lines += [f"{k} = {v}" for k, v in zip(pairs[::2], pairs[1::2])]
    return "\n".join(lines) + "\n"


def run_case(tmp_db, tmp_path, jsonl, settings_text: str) -> dict:
    import_file(tmp_db, jsonl)
    settings = tmp_path / "settings.ini"
    settings.write_text(settings_text)
    thai = tmp_path / "thai.ini"
    thai.write_text(ALL_THAI_OFF)
    build(tmp_db, settings_path=settings, thai_settings_path=thai)
    return cardinal_results(tmp_db.conn)


def test_settings_from_name():
    assert settings_from_name("R003-procurement_method_details-x-5-y-10").endswith(
        "[R003]\n[R003.procurement_method_details]\nx = 5\ny = 10\n")
    assert settings_from_name("R003-procurement_methods-open+selective").endswith(
        "[R003]\nprocurement_methods = open|selective\n")
    assert settings_from_name("R038-tenderer").endswith("[R038]\n")


@needs_shared
@pytest.mark.parametrize("name", INDICATOR_CASES or ["(absent)"])
def test_indicator_fixture(name, tmp_db, tmp_path):
    expected = json.loads((FIXTURES / "indicators" / f"{name}.expected").read_text())
    got = run_case(tmp_db, tmp_path, FIXTURES / "indicators" / f"{name}.jsonl", settings_from_name(name))
    assert got == expected


@needs_shared
@pytest.mark.parametrize("code", sorted(DOC_CASES) or ["(absent)"])
def test_documentation_example(code, tmp_db, tmp_path):
    case = DOC_CASES[code]
    folder = FIXTURES / "docs-examples"
    got = run_case(tmp_db, tmp_path, folder / case["input"], (folder / case["settings"]).read_text())
    assert got == case["expected"]


@needs_shared
def test_all_fixtures_are_found():
    assert len(INDICATOR_CASES) == 15 and len(DOC_CASES) == 11
