"""Verification in tiers (issue #21 point 4): a passport commits to its provenance set; the
public bundle carries the confidential records redacted and is checked for integrity and
completeness, its figures not replayed; the authority bundle adds the Disclosures and is
replayed. Each attack first: a record left out or added, the commitment changed, a Disclosure
tampered, moved, guessed or removed."""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from passport.records.envelope import record_hash
from passport.service.bundle import build_bundle
from passport.verify.bundle import COMPLETENESS_LIMIT, NOT_REPLAYED, BundleReport, verify_bundle
from passport.verify.provenance_set import KEY_KINDS, provenance_commitment
from signing.disclosures import parse_disclosure
from signing.jcs import canonicalize, parse_json
from tests.helpers.confidential_bundle import (
    ConfidentialWorld,
    bundle_entry,
    confidential_world,
    kept_disclosures,
)

NOT_REPLAYED_3 = NOT_REPLAYED.format(n=4)  # three provenance records, one FacilityUpdate


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConfidentialWorld]:
    with confidential_world(tmp_path_factory.mktemp("tiers")) as w:
        yield w


@pytest.fixture(scope="module")
def public(world: ConfidentialWorld) -> dict[str, Any]:
    return build_bundle(world.ledger, world.passport_id, access_role="public")


@pytest.fixture(scope="module")
def authority(world: ConfidentialWorld) -> dict[str, Any]:
    return build_bundle(world.ledger, world.passport_id, access_role="authority")


def verify(bundle: dict[str, Any]) -> BundleReport:
    return verify_bundle(json.loads(json.dumps(bundle)), workers=0)


def failure(bundle: dict[str, Any]) -> tuple[str, str]:
    report = verify(bundle)
    failed = report.first_failure
    assert failed is not None, report.to_dict()
    assert not report.replayed or failed.name == "roll-ups", report.to_dict()
    return failed.name, failed.detail


def hash_of(entry: dict[str, Any]) -> str:
    return record_hash(canonicalize(entry["record"]))


def kind(entry: dict[str, Any]) -> str:
    return str(entry["record"]["type"][1])


def index_of(bundle: dict[str, Any], h: str) -> int:
    return next(i for i, e in enumerate(bundle["records"]) if hash_of(e) == h)


def detail(report: BundleReport, check: str) -> str:
    return next(c.detail for c in report.checks if c.name == check)


# -- the two tiers ---------------------------------------------------------------------------------
def test_the_passport_commits_to_its_provenance_set(
    world: ConfidentialWorld, public: dict[str, Any]
) -> None:
    subject = public["view"]["evidence"]["passportRecord"]["credentialSubject"]
    listed = public["provenanceSet"]
    assert subject["provenance"] == provenance_commitment(listed)
    assert subject["provenance"]["count"] == len(listed) == 7
    assert set(world.confidential) <= set(listed)
    assert world.stray not in listed  # accepted before the passport, in no pack's provenance


def test_a_public_bundle_verifies_without_claiming_the_replay(public: dict[str, Any]) -> None:
    report = verify(public)
    assert report.ok, report.to_dict()
    assert (report.tier, report.complete, report.replayed) == ("public", True, False)
    assert (
        report.summary == "public bundle: integrity and completeness checked; figures not replayed"
    )
    assert report.limits == [NOT_REPLAYED_3]
    assert COMPLETENESS_LIMIT not in report.limits
    assert detail(report, "provenance").startswith(NOT_REPLAYED_3)
    assert detail(report, "roll-ups") == NOT_REPLAYED_3
    assert "records replayed" not in detail(report, "provenance")
    assert "equal the roll-ups" not in json.dumps(report.to_dict())
    # No check claims a replay this verifier did not make: "replay" appears only as "not
    # replayed" or as an assurer's own ("their replay, not this verifier's").
    shown = report.to_dict()
    said = " | ".join([report.summary, *(c["detail"] for c in shown["checks"]), *report.limits])
    for allowed in ("not replayed", "their replay, not this verifier's"):
        said = said.replace(allowed, "")
    assert "replay" not in said, said


def test_the_public_bundle_holds_no_disclosure_and_no_confidential_value(
    world: ConfidentialWorld, public: dict[str, Any]
) -> None:
    assert "disclosures" not in public
    every = [*world.confidential, world.facility_update]
    kept = [d for h in every for d in kept_disclosures(world.ledger, h)]
    hidden = set()
    for encoded in kept:
        d = parse_disclosure(encoded)
        hidden.add((d.name, canonicalize(d.value)))
    assert len(kept) >= 10 and len(hidden) >= 10

    members: set[tuple[str | None, bytes]] = set()
    strings: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for name, v in value.items():
                members.add((name, canonicalize(v)))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            strings.add(value)

    # Searched: every record but the actor registrations and key history, public by their
    # kind's declaration (a facility's country is in its registration), and every other member
    # of the bundle but the passport's own data (the view), whose point 1 publishes figures
    # rolled up from the provenance, such as the origin by country.
    rest = {k: v for k, v in public.items() if k not in ("records", "view")}
    walk({**rest, "records": [e for e in public["records"] if kind(e) not in KEY_KINDS]})
    assert not members & hidden, members & hidden
    walk(public)
    assert not strings & set(kept)
    # the authority bundle does carry them (the search finds them there)
    walk(build_bundle(world.ledger, world.passport_id, access_role="authority"))
    assert set(kept) <= strings


def test_an_authority_bundle_verifies_and_replays(authority: dict[str, Any]) -> None:
    assert sorted(authority["disclosures"]) == sorted(
        h for h in authority["disclosures"] if authority["disclosures"][h]
    )
    report = verify(authority)
    assert report.ok, report.to_dict()
    assert (report.tier, report.complete, report.replayed) == ("authority", True, True)
    assert (
        report.summary
        == "authority bundle: integrity and completeness checked; everything replayed"
    )
    assert report.limits == []
    assert "4 of them revealed by their disclosures" in detail(report, "provenance")
    assert "rest on this verifier's own replay" in detail(report, "assurance")
    assert detail(report, "roll-ups").endswith(
        "figures equal the roll-ups recomputed from the provenance"
    )


def test_a_legitimate_interest_bundle_is_a_public_tier(world: ConfidentialWorld) -> None:
    b = build_bundle(world.ledger, world.passport_id, access_role="legitimate-interest")
    assert "disclosures" not in b
    report = verify(b)
    assert report.ok and (report.tier, report.replayed) == ("public", False)


# -- completeness ----------------------------------------------------------------------------------
@pytest.mark.parametrize("tier", ["public", "authority"])
def test_a_record_removed_from_the_set_is_named(
    world: ConfidentialWorld, public: dict[str, Any], authority: dict[str, Any], tier: str
) -> None:
    b = copy.deepcopy(public if tier == "public" else authority)
    for victim in world.confidential:
        mutant = copy.deepcopy(b)
        del mutant["records"][index_of(mutant, victim)]
        mutant.get("disclosures", {}).pop(victim, None)
        assert failure(mutant) == (
            "completeness",
            f"record {victim}, in the passport's provenance set, is not in this bundle",
        )


def test_a_record_added_under_the_checkpoint_is_named(
    world: ConfidentialWorld, public: dict[str, Any]
) -> None:
    b = copy.deepcopy(public)
    size = int(b["checkpoint"].splitlines()[1])
    entry = bundle_entry(world.ledger, world.stray, size)
    b["records"].append(entry)
    b["records"].sort(key=lambda e: e["leafIndex"])
    name, text = failure(b)
    assert name == "completeness"
    assert text == (
        f"record {world.stray} (Extraction, leaf {entry['leafIndex']}) is under the passport's "
        "checkpoint but not in the provenance set the passport commits to"
    )
    # listing it in the set too: the set is no longer the committed one
    b["provenanceSet"] = sorted([*b["provenanceSet"], world.stray])
    name, text = failure(b)
    assert name == "completeness" and "is not the set the passport commits to" in text


def test_a_listed_set_other_than_the_committed_one_fails(public: dict[str, Any]) -> None:
    b = copy.deepcopy(public)
    b["provenanceSet"] = b["provenanceSet"][1:]
    assert failure(b)[0] == "completeness"
    del b["provenanceSet"]
    assert failure(b) == (
        "completeness",
        "the passport commits to a provenance set and the bundle lists none (provenanceSet)",
    )


def test_a_changed_commitment_breaks_the_passport_signature(public: dict[str, Any]) -> None:
    passport = public["passport"]["record"]
    for change in ("count", "root"):
        b = copy.deepcopy(public)
        i = index_of(b, passport)
        commitment = b["records"][i]["record"]["credentialSubject"]["provenance"]
        if change == "count":
            commitment["count"] += 1
        else:
            commitment["root"] = provenance_commitment(b["provenanceSet"][1:])["root"]
        name, _ = failure(b)
        assert name == "records"


# -- the Disclosures -----------------------------------------------------------------------------
def _reencoded(encoded: str, value: Any, salt: str | None = None) -> str:
    raw = parse_json(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    raw[0] = salt or raw[0]
    raw[-1] = value
    text = json.dumps(raw, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def test_a_tampered_disclosure_fails_naming_its_record(
    world: ConfidentialWorld, authority: dict[str, Any]
) -> None:
    for victim in world.confidential:
        b = copy.deepcopy(authority)
        ds = b["disclosures"][victim]
        name = parse_disclosure(ds[0]).name
        ds[0] = _reencoded(ds[0], "tampered")
        failed, text = failure(b)
        assert failed == "provenance" and text.startswith(f"record {victim} ("), text
        assert "disclosure_mismatch" in text, (name, text)


def test_a_disclosure_moved_from_another_record_fails(
    world: ConfidentialWorld, authority: dict[str, Any]
) -> None:
    source, target = world.confidential[0], world.confidential[1]
    b = copy.deepcopy(authority)
    b["disclosures"][target].append(b["disclosures"][source].pop())
    failed, text = failure(b)
    assert failed == "provenance"
    assert text.startswith(f"record {source} (") and "disclosure_missing" in text, text
    b = copy.deepcopy(authority)
    b["disclosures"][target].append(b["disclosures"][source][0])  # copied, not moved
    failed, text = failure(b)
    assert failed == "provenance"
    assert text.startswith(f"record {target} (") and "disclosure_mismatch" in text, text


def test_a_guessed_disclosure_fails(world: ConfidentialWorld, authority: dict[str, Any]) -> None:
    """The right member and value with a guessed salt: its digest is none of the record's."""
    victim = world.confidential[0]
    b = copy.deepcopy(authority)
    ds = b["disclosures"][victim]
    value = parse_disclosure(ds[0]).value
    ds[0] = _reencoded(ds[0], value, salt=secrets.token_urlsafe(16))
    failed, text = failure(b)
    assert failed == "provenance" and text.startswith(f"record {victim} ("), text


def test_a_disclosure_removed_leaves_its_record_unrevealed_and_fails(
    world: ConfidentialWorld, authority: dict[str, Any]
) -> None:
    victim = world.confidential[1]
    b = copy.deepcopy(authority)
    del b["disclosures"][victim]
    report = verify(b)
    failed = report.first_failure
    assert failed is not None and failed.name == "provenance"
    assert failed.detail.startswith(f"record {victim} (Transfer) is confidential"), failed
    assert "stays unrevealed, and the figures are not replayed" in failed.detail
    assert not report.replayed and "roll-ups" not in [c.name for c in report.checks]
    # one Disclosure of several removed: the record cannot be revealed either
    b = copy.deepcopy(authority)
    b["disclosures"][victim].pop()
    failed_name, text = failure(b)
    assert failed_name == "provenance" and "disclosure_missing" in text


def test_disclosures_for_a_record_outside_the_bundle_or_concealing_nothing_fail(
    world: ConfidentialWorld, authority: dict[str, Any]
) -> None:
    b = copy.deepcopy(authority)
    b["disclosures"][world.stray] = b["disclosures"][world.confidential[0]]
    failed, text = failure(b)
    assert failed == "provenance" and world.stray in text
    b = copy.deepcopy(authority)
    plain = b["passport"]["record"]
    b["disclosures"][plain] = b["disclosures"][world.confidential[0]]
    failed, text = failure(b)
    assert failed == "provenance" and text.startswith(f"record {plain} (BatteryPassport)")


def test_disclosures_added_to_a_public_bundle_make_it_an_authority_bundle(
    world: ConfidentialWorld, public: dict[str, Any], authority: dict[str, Any]
) -> None:
    """The tier is what the bundle holds, not what it is labelled: the public bundle with the
    Disclosures beside it replays (nothing signed differs)."""
    b = copy.deepcopy(public)
    b["disclosures"] = authority["disclosures"]
    report = verify(b)
    assert report.ok and report.replayed, report.to_dict()


# -- passports issued before the commitment ---------------------------------------------------
def test_an_old_style_passport_bundle_verifies_with_the_limit(world: ConfidentialWorld) -> None:
    for role in ("public", "authority"):
        b = build_bundle(world.ledger, world.old_passport_id, access_role=role)
        subject = b["view"]["evidence"]["passportRecord"]["credentialSubject"]
        assert "provenance" not in subject and "provenanceSet" not in b
        report = verify(b)
        assert report.ok, report.to_dict()
        assert not report.complete and COMPLETENESS_LIMIT in report.limits
        assert detail(report, "completeness").startswith("not checked:")
        assert report.replayed == (role == "authority")
        assert report.summary == (
            f"{role} bundle: integrity checked; "
            + ("everything replayed" if role == "authority" else "figures not replayed")
        )


def test_an_old_style_bundle_still_names_a_referenced_record_left_out(
    world: ConfidentialWorld,
) -> None:
    b = build_bundle(world.ledger, world.old_passport_id, access_role="authority")
    victim = next(i for i, e in enumerate(b["records"]) if e["record"]["type"][1] == "Extraction")
    missing = hash_of(b["records"][victim])
    del b["records"][victim]
    b["disclosures"].pop(missing)
    failed, text = failure(b)
    assert failed == "provenance" and f"references {missing}, which is not in this bundle" in text


def test_a_figure_the_replay_does_not_give_is_named_with_both_values(
    world: ConfidentialWorld,
) -> None:
    """Without the commitment (an old-style passport), an attestation left out of the bundle is
    found where a figure rests on it: the roll-ups check names the figure, what the passport
    shows and what the replayed provenance gives."""
    b = build_bundle(world.ledger, world.old_passport_id, access_role="authority")
    victim = next(i for i, e in enumerate(b["records"]) if e["record"]["type"][1] == "DueDiligence")
    del b["records"][victim]
    failed, text = failure(b)
    assert failed == "roll-ups", text
    assert re.search(
        r"^/point[1-4]/\S+ differs from the provenance's roll-up: the passport shows ", text
    )
    assert ", the replayed provenance gives " in text
