"""The loaders keep exactly the rows they kept before they were made fast: digests of every
table (``tests/rowsums.py``) after fixed scenarios on the real OCDS samples, Cardinal's fixtures,
our OCDS fixtures and the data.go.th fixtures, compared with the digests the earlier loader
recorded in ``fixtures/import_rows.json`` (``python tests/test_import_rows.py`` prints them). A
changed digest is a changed row: find it with ``rowsums.table_digests``."""
from __future__ import annotations

import json
import os
import pathlib
import shutil

import pytest
from conftest import FIXTURES, SHARED, needs_shared
from rowsums import table_digests

from prongsai.core.errors import UserError
from scrapers import datagoth, ocds

OCDS_DATA = SHARED / "data" / "ocds"
CARDINAL = SHARED / "data" / "cardinal-fixtures"
MTIME = 1_700_000_000  # every input's mtime (it is the rows' fetched_at)


def _inputs(tmp_path, paths):
    """Copies named by their place, with one mtime, so rows do not depend on the checkout."""
    out = []
    for path, name in paths:
        copy = tmp_path / "in" / name.replace("/", "__")
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, copy)
        os.utime(copy, (MTIME, MTIME))
        out.append((copy, name))
    return out


def _ocds_files():
    files = sorted((p, f"ocds/{p.relative_to(OCDS_DATA)}") for p in OCDS_DATA.glob("*/*.json*")
                   if "schema" not in str(p))
    files += sorted((p, f"cardinal/{p.relative_to(CARDINAL)}") for p in CARDINAL.glob("*/*.jsonl"))
    files += sorted((p, f"fixtures/{p.name}") for p in (FIXTURES / "ocds").glob("*.json*"))
    return files


def _amended(path, tmp_path):
    """Prozorro's compiled releases with a value changed, an award dropped and a party renamed."""
    out = tmp_path / "in" / "amended.jsonl"
    with open(path) as src, open(out, "w") as dst:
        for i, line in enumerate(src):
            release = json.loads(line)
            if i % 2 == 0 and release.get("awards"):
                release["awards"] = release["awards"][:-1]
            if i % 3 == 0 and isinstance(release.get("tender", {}).get("value"), dict):
                release["tender"]["value"]["amount"] = (release["tender"]["value"].get("amount") or 0) + 1
            for party in release.get("parties", [])[:1]:
                party["name"] = f"{party.get('name')} (renamed)"
            dst.write(json.dumps(release, ensure_ascii=False) + "\n")
    os.utime(out, (MTIME + 1, MTIME + 1))
    return out


#: Not the loaders' rows: the schema's migrations, and ``run_touched`` (schema v4, added after the
#: digests were recorded; its own tests are in test_scrapers_store.py).
NOT_COMPARED = {"schema_version", "run_touched"}


def _digest(db):
    return {t: list(v) for t, v in table_digests(db).items() if v[0] and t not in NOT_COMPARED}


def _run(load, db, path, name) -> str:
    """Load one file; a refused one is part of the scenario (its failed run is a row too)."""
    try:
        load(db, path, source_url=f"test:{name}")
    except UserError as exc:
        return exc.message
    return "ok"


def _scenarios(tmp_path, load, files) -> tuple[dict, pathlib.Path]:
    """Each file loaded alone, then all together twice (the second pass must change nothing)."""
    out = {}
    for path, name in files:
        db = tmp_path / f"one-{path.name}.db"
        out[f"alone {name}"] = [_run(load, db, path, name), _digest(db)]
    together = tmp_path / "together.db"
    for round_ in ("first", "second"):
        results = [_run(load, together, path, name) for path, name in files]
        out[f"together, {round_} pass"] = [results, _digest(together)]
    return out, together


def ocds_scenarios(tmp_path) -> dict:
    files = _inputs(tmp_path, _ocds_files())
    out, together = _scenarios(tmp_path, ocds.import_file, files)
    prozorro = next(p for p, n in files if n == "ocds/prozorro-ua/compiled-releases-10.jsonl")
    ocds.import_file(together, _amended(prozorro, tmp_path), source_url="test:amended")
    out["together, amended"] = _digest(together)
    return out


def datagoth_scenarios(tmp_path) -> dict:
    files = _inputs(tmp_path, [(p, f"datagoth/{p.name}") for p in sorted((FIXTURES / "datagoth").glob("*.csv"))])
    return _scenarios(tmp_path, datagoth.load_file, files)[0]


def _compared(recorded):
    """A recorded scenario (``[results, tables]``, or tables alone) without :data:`NOT_COMPARED`."""
    if isinstance(recorded, dict):
        return {t: d for t, d in recorded.items() if t not in NOT_COMPARED}
    return [recorded[0], _compared(recorded[1])]


RECORDED = {kind: {name: _compared(value) for name, value in scenarios.items()}
            for kind, scenarios in json.loads((FIXTURES / "import_rows.json").read_text(encoding="utf-8")).items()}


@needs_shared
@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker processes"])
def test_ocds_rows_are_the_recorded_ones(tmp_path, monkeypatch, parallel):
    """Every JSON Lines file goes through the worker processes when ``parallel``."""
    monkeypatch.setenv("PRONGSAI_OCDS_SCHEMA_DIR", str(OCDS_DATA / "schema-1.1.5"))
    if parallel:
        monkeypatch.setattr(ocds, "PARALLEL_FROM", 0)
        monkeypatch.setattr(ocds, "CHUNK_LINES", 2)
    assert ocds_scenarios(tmp_path) == RECORDED["ocds"]


def test_datagoth_rows_are_the_recorded_ones(tmp_path):
    assert datagoth_scenarios(tmp_path) == RECORDED["datagoth"]


if __name__ == "__main__":  # print the digests to record: python tests/test_import_rows.py
    import pathlib
    import tempfile  # noqa: E401

    with tempfile.TemporaryDirectory() as d:
        os.environ["PRONGSAI_OCDS_SCHEMA_DIR"] = str(OCDS_DATA / "schema-1.1.5")
        os.environ["PRONGSAI_DATA_DIR"] = str(pathlib.Path(d) / "data")
        (pathlib.Path(d) / "o").mkdir()
        (pathlib.Path(d) / "g").mkdir()
        print(json.dumps({"ocds": ocds_scenarios(pathlib.Path(d) / "o"),
                          "datagoth": datagoth_scenarios(pathlib.Path(d) / "g")}, indent=1, sort_keys=True))
