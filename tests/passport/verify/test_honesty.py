"""A verifier never says more than it checked (issue #20, items 8 and 9), through `bpass verify`.

- Every value of the served view equals signed data or what the verifier computes from it: an
  edited or added member of ``view.passport`` is refused, naming the field and both values.
- The chains line says what it checked: records present in order, and the gaps where records
  outside the bundle sit. A record of the passport's committed provenance set that the bundle
  lacks (one a present record references, or one that references *into* the set, such as an
  acceptance of a transfer) is a failure naming it.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from passport.ledger.pipeline import Ledger
from passport.service.bundle import build_bundle
from passport.store.sql.repository import Repository
from samples.generate import SampleSummary, build_sample_ledger
from signing.keys import SigningKey
from tests.conftest import _new_db_url
from tests.helpers.browser import chromium, free_port, served_app
from tests.helpers.passport import sample_world


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, SampleSummary]]:
    with sample_world(tmp_path_factory.mktemp("honesty"), packs=1) as world:
        yield world


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


# -- item 8 in the browser: the page shows only what its verifier verified ----------------------------
@dataclass
class Site:
    base: str
    battery_url: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A one-pack sample ledger served by uvicorn on loopback (as tests/test_page.py does)."""
    from api.app import create_app
    from api.config import ApiConfig
    from passport.settings import Settings

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url, drop = _new_db_url(tmp_path_factory.mktemp("honest-page"))
    ledger = Ledger(Repository(url), log_key=SigningKey.from_seed(b"\x02" * 32), workers=1)
    operator = SigningKey.from_seed(b"\x01" * 32)
    ledger.initialise(operator, "page.test/log", "Page test operator")
    summary = build_sample_ledger(ledger, packs=1, operator_key=operator, base_url=base)
    app = create_app(
        Settings(public_base_url=base), ledger, config=ApiConfig(checkpoint_cache_seconds=0)
    )
    try:
        with served_app(app, port):
            yield Site(base, summary.packs[0].battery_id)
    finally:
        ledger.close()
        drop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _page_verdict(browser: Any, site: Site, edit: Callable[[str], str]) -> dict[str, Any]:
    """Open the passport page with its HTML edited by ``edit`` (the server renders it; the
    browser's verifier must check it) and return the verdict it shows."""
    context = browser.new_context()
    try:
        page = context.new_page()

        def handle(route: Any) -> None:
            response = route.fetch()
            route.fulfill(response=response, body=edit(response.text()))

        page.route(site.battery_url, handle)
        page.goto(site.battery_url)
        page.wait_for_selector("#verdict[data-result]", timeout=60_000)
        verdict: dict[str, Any] = page.evaluate(
            """() => {
              const v = document.getElementById('verdict');
              const shown = document.querySelector('#checks li[data-check="shown data"]');
              return {result: v.dataset.result, failed: v.dataset.failed,
                      detail: shown ? shown.textContent : ''};
            }"""
        )
        return verdict
    finally:
        context.close()


def _replace_value(pointer: str, value: str) -> Callable[[str], str]:
    def edit(html: str) -> str:
        found = re.search(f'data-ptr="{re.escape(pointer)}">([^<]*)<', html)
        assert found is not None, f"the page shows no {pointer}"
        return html[: found.start(1)] + value + html[found.end(1) :]

    return edit


def _add_row(html: str) -> str:
    row = '<div><dt>Recall</dt><dd><span data-ptr="/recall">none</span></dd></div>'
    return html.replace('<dl class="facts">', '<dl class="facts">' + row, 1)


PAGE_EDITS: dict[str, tuple[Callable[[str], str], str]] = {
    "operator name": (_replace_value("/economicOperator/name", "Evil Motors AG"), "Evil Motors"),
    "issuedAt": (_replace_value("/issuedAt", "2020-01-01T00:00:00Z"), "/issuedAt"),
    "lastUpdated": (_replace_value("/lastUpdated", "2030-01-01T00:00:00Z"), "/lastUpdated"),
    "added member": (_add_row, "/recall"),
}


def test_the_untouched_page_verifies(browser: Any, site: Site) -> None:
    verdict = _page_verdict(browser, site, lambda html: html)
    assert verdict["result"] == "verified", verdict


@pytest.mark.parametrize("name", sorted(PAGE_EDITS))
def test_a_page_showing_an_unverified_value_fails(browser: Any, site: Site, name: str) -> None:
    edit, named = PAGE_EDITS[name]
    verdict = _page_verdict(browser, site, edit)
    assert verdict["result"] == "failed" and verdict["failed"] == "shown data", verdict
    assert named in verdict["detail"], verdict


# -- item 9: say exactly what was checked ------------------------------------------------------------
def _hash(record: dict[str, Any]) -> str:
    from passport.records.envelope import dumps, record_hash

    return record_hash(dumps(record))  # a confidential record's hash: of its redacted bytes


def _line(stdout: str, check: str) -> str:
    return next(line for line in stdout.splitlines() if line.split(":")[0].endswith(check))


def _missing_records(chains_line: str) -> int:
    found = re.search(r"gaps where (\d+) records outside this bundle sit", chains_line)
    return int(found.group(1)) if found else 0


def test_the_chains_line_counts_what_it_could_not_check(
    tmp_path: Path, bundle: dict[str, Any]
) -> None:
    """The OEM's acceptance of the pack: no figure rests on it and no record of the bundle
    references it. The verifier does not claim the chains whole: it counts the records outside
    the bundle (one more now); and the passport commits to its provenance set, so the
    completeness check names the acceptance left out."""
    pack_lot = bundle["view"]["evidence"]["passportRecord"]["credentialSubject"]["pack"]["lot"]
    records = [e["record"] for e in bundle["records"]]
    transfer = next(
        _hash(r)
        for r in records
        if r["type"][1] == "Transfer" and r["credentialSubject"]["lot"] == pack_lot
    )
    acceptance = next(
        i
        for i, r in enumerate(records)
        if r["type"][1] == "TransferAcceptance" and r["credentialSubject"]["transfer"] == transfer
    )
    whole = bpass_verify(tmp_path, bundle)
    b = copy.deepcopy(bundle)
    del b["records"][acceptance]
    dropped = bpass_verify(tmp_path, b)
    for done in (whole, dropped):
        chains = _line(done.stdout, "chains")
        assert "chains in order" not in chains, chains
        assert "the records present are in order" in chains, chains
        assert "not checked: that no record referencing into this bundle" not in done.stdout
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert "verified: passport" in whole.stdout and "not the limits" in whole.stdout
    assert dropped.returncode == 1, dropped.stdout + dropped.stderr
    failed = next(line for line in dropped.stdout.splitlines() if line.startswith("FAILED"))
    dropped_hash = _hash(records[acceptance])
    assert failed == (
        f"FAILED completeness: record {dropped_hash}, in the passport's provenance set, "
        "is not in this bundle"
    ), failed
    before = _missing_records(_line(whole.stdout, "chains"))
    assert _missing_records(_line(dropped.stdout, "chains")) == before + 1


@pytest.mark.parametrize("kind", ["Transfer", "Extraction", "Transformation"])
def test_a_referenced_record_left_out_is_named(
    tmp_path: Path, bundle: dict[str, Any], kind: str
) -> None:
    """A record that a record of the bundle references by hash (a transfer its acceptance
    settles, the step that made an input or a transferred lot) belongs to the provenance set
    the passport commits to: leaving it out fails, naming it (for a passport without the
    commitment, the provenance check names it: tests/passport/verify/test_tiers.py)."""
    b = copy.deepcopy(bundle)
    victim = next(i for i, k in enumerate(kinds(b)) if k == kind)
    missing = _hash(b["records"][victim]["record"])
    del b["records"][victim]
    done = bpass_verify(tmp_path, b)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = next(line for line in done.stdout.splitlines() if line.startswith("FAILED"))
    assert failed == (
        f"FAILED completeness: record {missing}, in the passport's provenance set, "
        "is not in this bundle"
    ), failed
