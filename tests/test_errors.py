"""One error module per layer (signing, domain, HTTP), every code unique, and a client that knows
every code whatever was imported before it."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections import Counter

import api
import cli
import passport
import samples
import signing
from api.errors import ERROR_MODULES, error_classes, errors_by_code
from signing.errors import BpassError


def _every_error_class() -> list[type[BpassError]]:
    """Import every module of the project's packages, then walk BpassError's subclasses."""
    for pkg in (signing, passport, api, cli, samples):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if ".migrations" in info.name or info.name.endswith("__main__"):
                continue  # migrations need Alembic's context; __main__ runs the CLI
            importlib.import_module(info.name)
    found: list[type[BpassError]] = []
    todo = [BpassError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.split(".")[0] in {"signing", "passport", "api", "cli", "samples"}:
                found.append(sub)
            todo.append(sub)
    return found


def test_every_error_class_lives_in_its_layers_error_module() -> None:
    modules = {m.__name__ for m in ERROR_MODULES}
    stray = [f"{c.__module__}.{c.__qualname__}" for c in _every_error_class()]
    stray = [name for name in stray if name.rsplit(".", 1)[0] not in modules]
    assert stray == []
    assert {*_every_error_class(), BpassError} == set(error_classes())


def test_error_codes_are_unique() -> None:
    counts = Counter(cls.code for cls in error_classes())
    assert len(error_classes()) > 60
    assert [code for code, n in counts.items() if n > 1] == []
    assert len(errors_by_code()) == len(error_classes())


def test_a_duplicate_code_would_be_caught() -> None:
    """The check above can fail: a class that reuses a code shows up in the count."""

    taken = error_classes()[3].code

    class TwinError(BpassError):
        code = taken

    classes: list[type[BpassError]] = [*error_classes(), TwinError]
    counts = Counter(cls.code for cls in classes)
    assert counts[TwinError.code] == 2


_FRESH = """
import api.client as c
from api.errors import error_classes
known = {cls.code for cls in error_classes()}
missing = sorted(code for code in known if type(c.error_from_problem(400, {"code": code})).code != code
                 and code != "batch_rejected")
print(len(known), missing)
"""


def test_the_client_knows_every_code_in_a_fresh_interpreter() -> None:
    """Importing only the client is enough: it maps every code to its class (BatchItemError is
    rebuilt from the problem's ``index``)."""
    run = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True, check=True)
    count, missing = run.stdout.split(" ", 1)
    assert int(count) > 60
    assert missing.strip() == "[]"
