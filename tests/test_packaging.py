"""Packaging: every third-party module the shipped packages import is a declared dependency, so
``pip install .`` without extras gives a working ``bpass`` (CI also installs it into a fresh
virtual environment and runs it: ``scripts/check-install``)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("signing", "passport", "api", "cli", "schemas", "samples")


def _imported_top_modules() -> dict[str, str]:
    """Top-level module name -> one file importing it, over the shipped packages."""
    found: dict[str, str] = {}
    for package in SHIPPED:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    names = (re.match(r"[A-Za-z0-9_.-]+", d) for d in project["dependencies"])
    return {m.group(0).lower().replace("_", "-") for m in names if m}


def test_every_runtime_import_is_a_declared_dependency() -> None:
    distributions = packages_distributions()
    declared = _declared()
    undeclared = {}
    for module, where in _imported_top_modules().items():
        if module in sys.stdlib_module_names or module in SHIPPED or module == "__future__":
            continue
        dists = {d.lower().replace("_", "-") for d in distributions.get(module, [])}
        if not dists & declared:
            undeclared[module] = (where, sorted(dists))
    assert undeclared == {}


def test_the_check_sees_an_undeclared_import() -> None:
    """It can fail: a module only the dev extra installs is not declared."""
    distributions = packages_distributions()
    assert "hypothesis" in distributions
    assert not {d.lower() for d in distributions["hypothesis"]} & _declared()
