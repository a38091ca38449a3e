"""The package boundaries of DESIGN.md: ``agent/`` never imports ``master/``; ``wire/`` imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_packages(path: Path) -> set[str]:
    """The top-level package of every absolute import in ``path`` (``import a.b``, ``from a.b import c``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def offenders(package: str, forbidden: set[str]) -> list[str]:
    """``file: package`` for each module of ``package`` that imports one of ``forbidden``."""
    return [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(imported_packages(path) & forbidden)
    ]


@pytest.mark.parametrize("package, forbidden", [("agent", {"master"}), ("wire", {"master", "agent"})])
def test_package_boundaries(package, forbidden):
    """No module of agent/ imports master; no module of wire/ imports master or agent."""
    assert list((ROOT / package).rglob("*.py")), f"{package}/ has no modules"
    assert offenders(package, forbidden) == []


def test_the_check_sees_both_import_forms(tmp_path):
    """``import master.x`` and ``from master.x import y`` are both found; a relative import is not a package."""
    module = tmp_path / "m.py"
    module.write_text("import master.db\nfrom master.queue import claim\nfrom . import sibling\nimport os\n")
    assert imported_packages(module) == {"master", "os"}
