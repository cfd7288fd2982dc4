"""The floor plan (docs/architecture.md) holds: no module imports a floor above its own."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("prongsai", "scrapers", "portal", "datasette_plugins")

#: floor -> the floors it may import besides itself (the wiring may import everything).
FLOORS = {
    "core": set(),
    "sources": {"core"},
    "derive": {"core"},
    "publishing": {"core", "derive"},
    "wiring": {"core", "sources", "derive", "publishing"},
}


def floor_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    if parts[0] == "scrapers":
        return "sources"
    if parts[0] in ("portal", "datasette_plugins"):
        return "publishing"
    if parts[:2] == ["prongsai", "core"]:
        return "core"
    if parts[:2] == ["prongsai", "derive"]:
        return "derive"
    return "wiring"


def _module_name(path: pathlib.Path, root: pathlib.Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST, module: str, is_package: bool):
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield node.lineno, target
            for alias in node.names:  # ``from prongsai import thai`` imports prongsai.thai
                yield node.lineno, f"{target}.{alias.name}"


def upward_imports(root: pathlib.Path) -> list[str]:
    """Every import, in the packages under ``root``, of a floor the importer may not use."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = _module_name(path, root)
            own = floor_of(module)
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for line, target in _imported(tree, module, path.name == "__init__.py"):
                other = floor_of(target)
                if other and target != "prongsai" and other != own and other not in FLOORS[own]:
                    found.append(f"{path.relative_to(root)}:{line}: {own} imports {other} ({target})")
    return sorted(set(found))


def test_no_module_imports_a_floor_above_its_own():
    assert upward_imports(ROOT) == []


def test_an_upward_import_is_caught(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "prongsai" / "core").mkdir()
    (tmp_path / "prongsai" / "core" / "thai.py").write_text("from scrapers.http import Client\n")
    (tmp_path / "scrapers" / "egp.py").write_text("from prongsai.core import thai\nfrom ..portal import views\n")
    (tmp_path / "portal" / "views.py").write_text("from prongsai import cli\n")
    assert upward_imports(tmp_path) == [
        "portal/views.py:1: publishing imports wiring (prongsai.cli)",
        "prongsai/core/thai.py:1: core imports sources (scrapers.http)",
        "prongsai/core/thai.py:1: core imports sources (scrapers.http.Client)",
        "scrapers/egp.py:2: sources imports publishing (portal)",
        "scrapers/egp.py:2: sources imports publishing (portal.views)",
    ]


@pytest.mark.parametrize("floor", FLOORS)
def test_the_architecture_doc_names_every_floor(floor):
    assert f"**{floor}**" in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
