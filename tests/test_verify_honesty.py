"""A verifier never says more than it checked (issue #20, items 8 and 9), through `bpass verify`.

- Every value of the served view equals signed data or what the verifier computes from it: an
  edited or added member of ``view.passport`` is refused, naming the field and both values.
- The chains line says what it checked: records present in order, and the gaps where records
  outside the bundle sit. A record a present record references (by hash) but the bundle lacks is
  a failure naming it; what the verifier cannot find (a record that references *into* the set,
  such as an acceptance of a transfer) is stated as a limit, never claimed.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import _new_db_url

from passport.ledger.pipeline import Ledger
from passport.service.bundle import build_bundle
from passport.store.sql.repository import Repository
from samples.generate import SampleSummary, build_sample_ledger
from signing.keys import SigningKey


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, SampleSummary]]:
    url, drop = _new_db_url(tmp_path_factory.mktemp("honesty"))
    ledger = Ledger(Repository(url), log_key=SigningKey.from_seed(b"\x02" * 32), workers=1)
    operator = SigningKey.from_seed(b"\x01" * 32)
    ledger.initialise(operator, "test.example/log", "Operator")
    summary = build_sample_ledger(
        ledger, packs=1, operator_key=operator, base_url="https://id.example"
    )
    yield ledger, summary
    ledger.close()
    drop()


@pytest.fixture(scope="module")
def bundle(sample: tuple[Ledger, SampleSummary]) -> dict[str, Any]:
    ledger, summary = sample
    passport_id = summary.packs[0].passport_id
    assert passport_id is not None
    return build_bundle(ledger, passport_id)


def bpass_verify(tmp_path: Path, bundle: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "cli", "verify", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def kinds(bundle: dict[str, Any]) -> list[str]:
    return [e["record"]["type"][1] for e in bundle["records"]]


# -- item 8: the view shown is the view signed -----------------------------------------------------
def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(view: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = view
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


EDITS: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    "operator name": (
        _set("economicOperator/name", "Evil Motors AG"),
        "/economicOperator/name",
        "'Evil Motors AG'",
    ),
    "operator city": (
        _set("economicOperator/address/city", "Nowhere"),
        "/economicOperator/address/city",
        "'Nowhere'",
    ),
    "issuedAt": (_set("issuedAt", "2020-01-01T00:00:00Z"), "/issuedAt", "2020-01-01"),
    "lastUpdated": (_set("lastUpdated", "2030-01-01T00:00:00Z"), "/lastUpdated", "2030-01-01"),
    "added member": (_set("recall", {"recalled": False}), "/recall", "'recalled'"),
    "added point": (_set("point3", {"results": []}), "/point3", "'results'"),
}


def test_the_untouched_bundle_verifies(tmp_path: Path, bundle: dict[str, Any]) -> None:
    done = bpass_verify(tmp_path, bundle)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified: passport" in done.stdout
    assert "equal the view rebuilt from the signed records" in done.stdout


@pytest.mark.parametrize("name", sorted(EDITS))
def test_an_edited_view_is_refused(tmp_path: Path, bundle: dict[str, Any], name: str) -> None:
    edit, pointer, shown = EDITS[name]
    b = copy.deepcopy(bundle)
    edit(b["view"]["passport"])
    done = bpass_verify(tmp_path, b)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    assert failed and failed[0].startswith("FAILED passport:"), done.stdout
    assert pointer in failed[0] and shown in failed[0], failed[0]
    assert "verified: passport" not in done.stdout
