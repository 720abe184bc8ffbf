"""The offline verification bundle: built from a sample ledger, verified with no database, and
refused when anything in it changes or anything is left out."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import _new_db_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passport.bundle import build_bundle, verify_bundle
from passport.ledger import Ledger
from passport.store.repository import Repository
from samples.generate import SampleSummary, build_sample_ledger
from signing.errors import CanonicalizationError
from signing.jcs import canonicalize, parse_json
from signing.keys import SigningKey
from signing.note import verifier_key


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, SampleSummary]]:
    url, drop = _new_db_url(tmp_path_factory.mktemp("bundle"))
    ledger = Ledger(Repository(url), log_key=SigningKey.from_seed(b"\x02" * 32), workers=1)
    operator = SigningKey.from_seed(b"\x01" * 32)
    ledger.initialise(operator, "test.example/log", "Operator")
    summary = build_sample_ledger(
        ledger, packs=2, operator_key=operator, base_url="https://id.example"
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


def kinds(bundle: dict[str, Any]) -> list[str]:
    return [e["record"]["type"][1] for e in bundle["records"]]


def first_failure(bundle: dict[str, Any], **kw: Any) -> str | None:
    report = verify_bundle(bundle, **kw)
    failure = report.first_failure
    return failure.name if failure else None


def test_bundle_verifies_offline_for_every_role(
    sample: tuple[Ledger, SampleSummary], bundle: dict[str, Any]
) -> None:
    ledger, summary = sample
    report = verify_bundle(json.loads(json.dumps(bundle)), log_vkey=ledger.info().log_vkey)
    assert report.ok, report.to_dict()
    assert [c.name for c in report.checks] == [
        "format",
        "checkpoint",
        "records",
        "chains",
        "keys",
        "passport-checkpoint",
        "passport",
        "provenance",
        "roll-ups",
    ]
    # the provenance reaches back to extraction: every material's mine is in the bundle
    assert kinds(bundle).count("Extraction") >= 6
    assert {"Transformation", "Certification", "CarbonFootprint", "BatteryPassport"} <= set(
        kinds(bundle)
    )
    for role, shown in (("legitimate-interest", ["1", "2", "4"]), ("authority", ["1", "2", "3"])):
        restricted = build_bundle(ledger, str(summary.packs[1].passport_id), access_role=role)
        assert sorted(restricted["view"]["evidence"]["partitions"]) == shown
        assert verify_bundle(restricted).ok


def test_a_pinned_log_key_must_match(bundle: dict[str, Any]) -> None:
    other = verifier_key("test.example/log", SigningKey.generate().public_key_bytes)
    assert first_failure(bundle, log_vkey=other) == "checkpoint"


@pytest.mark.parametrize("kind", ["Retraction", "Certification", "CarbonFootprint", "DueDiligence"])
def test_an_omitted_attestation_that_counts_changes_the_roll_ups(
    bundle: dict[str, Any], kind: str
) -> None:
    """Leaving out an attestation (or a retraction) the figures rest on leaves every signature
    valid, but the figures recomputed from what remains no longer equal the passport's. (An
    attestation the figures do not rest on, e.g. an upstream footprint shadowed by an attested
    cradle-to-gate one downstream, can be left out without changing anything it proves.)"""
    failures = []
    for i in [i for i, k in enumerate(kinds(bundle)) if k == kind][:6]:
        b = copy.deepcopy(bundle)
        del b["records"][i]
        failures.append(first_failure(b))
        if failures[-1] is not None:
            break
    assert failures[-1] in ("roll-ups", "provenance"), failures


def test_an_omitted_upstream_step_breaks_the_replay(bundle: dict[str, Any]) -> None:
    b = copy.deepcopy(bundle)
    victim = next(i for i, k in enumerate(kinds(b)) if k == "Extraction")
    del b["records"][victim]
    assert first_failure(b) == "provenance"


def test_an_omitted_key_history_record_is_caught(bundle: dict[str, Any]) -> None:
    b = copy.deepcopy(bundle)
    regs = [i for i, k in enumerate(kinds(b)) if k == "ActorRegistration"]
    del b["records"][regs[1]]
    assert first_failure(b) == "keys"


def test_a_role_label_cannot_be_changed(bundle: dict[str, Any]) -> None:
    b = copy.deepcopy(bundle)
    b["view"]["role"] = b["passport"]["role"] = "authority"
    assert first_failure(b) == "passport"


def _sections(bundle: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Every part of the bundle, so the property test flips bytes in each, not only in records."""
    parts = [(k, canonicalize(v)) for k, v in bundle.items() if k != "records"]
    parts += [
        ("records", canonicalize(bundle["records"][i]))
        for i in (0, 1, len(bundle["records"]) // 2, -1)
    ]
    return parts


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_changed_byte_makes_the_bundle_fail(
    bundle: dict[str, Any], data: st.DataObject
) -> None:
    raw = canonicalize(bundle)
    sections = _sections(bundle)
    name, part = data.draw(st.sampled_from(sections), label="section")
    start = raw.find(part)
    assert start >= 0, name
    offset = start + data.draw(st.integers(0, len(part) - 1), label="offset")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[offset]), label="byte")
    mutated = raw[:offset] + bytes([new]) + raw[offset + 1 :]
    try:
        doc = parse_json(mutated)
    except CanonicalizationError:
        return  # no longer JSON: refused before any check
    assert not verify_bundle(doc).ok, f"a changed byte at {offset} in {name} went unnoticed"


def test_cli_bundle_and_verify(sample: tuple[Ledger, SampleSummary], tmp_path: Path) -> None:
    ledger, summary = sample
    url = ledger.repo.url
    cmd = [sys.executable, "-m", "passport.cli"]
    pid = str(summary.packs[0].passport_id)
    out = tmp_path / "b.json"
    subprocess.run(
        [*cmd, "passport", "bundle", pid, "--out", str(out), "--db", url],
        check=True,
        capture_output=True,
    )
    vkey = ledger.info().log_vkey
    ok = subprocess.run(
        [*cmd, "verify", str(out), "--log-key", vkey], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "verified: passport" in ok.stdout
    doc = json.loads(out.read_text())
    doc["records"][3]["acceptedAt"] = "2020-01-01T00:00:00.000000Z"
    out.write_text(json.dumps(doc))
    bad = subprocess.run([*cmd, "verify", str(out)], capture_output=True, text=True)
    assert bad.returncode == 1 and "FAILED records" in bad.stdout
    out.write_text("{ not json")
    assert subprocess.run([*cmd, "verify", str(out)], capture_output=True).returncode == 2
