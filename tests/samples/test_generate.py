"""The sample supply chain (``samples/``): the generated ledger audits clean, every passport
validates, verifies against the ledger and offline, and passes or fails Art. 8 as the sample
intends; the sample has what the brief asks for; same seed, same records. Runs on both backends."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from passport.document.compliance import compliance_report
from passport.document.validation import validate
from passport.ledger.audit import audit
from passport.ledger.pipeline import Ledger
from passport.service.verification import verify_passport
from passport.service.views import full_document, show_passport
from passport.store.sql.repository import Repository
from passport.trace.rollup import compute_rollup
from passport.verify.view import verify_view
from samples.catalogue import ACTORS
from samples.chain import SampleLoadError
from samples.generate import RECYCLED, STANDARD, SampleSummary, build_sample_ledger
from signing.errors import BpassError
from signing.keys import SigningKey
from tests.conftest import _new_db_url

OPERATOR = SigningKey.from_seed(b"\x01" * 32)
LOG = SigningKey.from_seed(b"\x02" * 32)
ART8_2031 = ("cobalt", "lithium", "nickel")


def _ledger(url: str) -> Ledger:
    led = Ledger(Repository(url), log_key=LOG, workers=1)
    led.initialise(OPERATOR, "samples.test/log", "Sample test operator")
    return led


@pytest.fixture(scope="module")
def nmc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, SampleSummary]]:
    """Three NMC811 packs with passports (packs 1 and 3 standard grade, pack 2 recycled)."""
    url, drop = _new_db_url(tmp_path_factory.mktemp("nmc"))
    led = _ledger(url)
    seen: list[tuple[int, int]] = []
    summary = build_sample_ledger(
        led,
        packs=3,
        operator_key=OPERATOR,
        key_dir=tmp_path_factory.mktemp("keys"),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen and seen[-1][0] == seen[-1][1]
    yield led, summary
    led.close()
    drop()


def _art8_2031(document: dict[str, Any]) -> dict[str, str]:
    rows = compliance_report(document)["recycledContent"]
    return {r["element"]: r["status"] for r in rows if r["year"] == "2031"}


def test_generated_ledger_passes_the_audit(nmc: tuple[Ledger, SampleSummary]) -> None:
    led, summary = nmc
    info = led.info()
    report = audit(led.repo, info.origin, info.log_vkey, workers=1)
    assert report.ok, [f.to_dict() for f in report.findings]
    assert report.records == info.size == summary.total_records + 1  # + the operator's own
    assert not report.suspect


def test_every_passport_validates_and_verifies_against_the_ledger(
    nmc: tuple[Ledger, SampleSummary],
) -> None:
    led, summary = nmc
    assert len(summary.packs) == 3
    for pack in summary.packs:
        assert pack.passport_id is not None
        document = full_document(led, pack.passport_id)
        assert validate(document) == []
        assert document["batteryId"] == pack.battery_id
        report = verify_passport(led, pack.passport_id)
        assert report.ok, report.problems()


def test_every_passport_verifies_offline_for_every_role(nmc: tuple[Ledger, SampleSummary]) -> None:
    led, summary = nmc
    vkey = led.info().log_vkey
    for pack in summary.packs:
        assert pack.passport_id is not None
        for role in ("public", "legitimate-interest", "authority"):
            served = show_passport(led, pack.passport_id, role).to_dict()
            verify_view(served, log_vkey=vkey)
        tampered = show_passport(led, pack.passport_id, "public").to_dict()
        tampered["passport"]["point1"]["recycledContent"]["cobalt"]["postConsumerPercent"] = "99.00"
        with pytest.raises(BpassError):
            verify_view(tampered, log_vkey=vkey)


def test_passports_pass_or_fail_art8_as_the_sample_intends(
    nmc: tuple[Ledger, SampleSummary],
) -> None:
    led, summary = nmc
    assert [p.grade for p in summary.packs] == [STANDARD, RECYCLED, STANDARD]
    for pack in summary.packs:
        assert pack.passport_id is not None
        verdicts = _art8_2031(full_document(led, pack.passport_id))
        expected = "pass" if pack.expected_art8_2031 else "fail"
        assert {e: verdicts[e] for e in ART8_2031} == dict.fromkeys(ART8_2031, expected), pack
    assert summary.to_dict()["packs"][1]["expectedArt8_2031"] == "pass"
    assert summary.to_dict()["packs"][0]["expectedArt8_2031"] == "fail"


def test_the_sample_has_what_the_brief_asks_for(nmc: tuple[Ledger, SampleSummary]) -> None:
    led, summary = nmc
    standard = compute_rollup(led.repo, summary.packs[0].lot)
    recycled = compute_rollup(led.repo, summary.packs[1].lot)
    co, ni, li = (standard.elements[e] for e in ("Co", "Ni", "Li"))
    assert "CD" in co.by_country and co.by_mining_method["artisanal-small-scale"].micrograms > 0
    assert {"ID", "CA"} <= set(ni.by_country)
    assert set(ni.by_deposit_type) == {"lateritic", "sulfidic"}
    assert {"AU", "CL"} <= set(li.by_country)
    assert set(li.by_deposit_type) == {"spodumene", "brine"}
    assert set(standard.elements["Mn"].by_country) == {"ZA"}
    assert standard.graphite is not None
    assert set(standard.graphite.natural_by_country) == {"MZ"}
    assert set(standard.graphite.synthetic_by_country) == {"CN"}
    flags = {f.code for f in standard.flags}
    assert {
        "artisanal-cobalt",
        "cahra-origin",
        "lateritic-nickel",
        "expired-attestation",
        "revoked-certificate",
    } <= flags
    # Element contents add up: an NMC811 pack of 452 kg holds ~101 kg of cathode material.
    assert standard.mass_grams == 452_000
    kg = {e: f.micrograms // 10**9 for e, f in standard.elements.items()}
    assert 45 <= kg["Ni"] <= 52 and 5 <= kg["Co"] <= 7 and 5 <= kg["Mn"] <= 7
    assert 6 <= kg["Li"] <= 8 and 55 <= kg["C"] <= 65
    # Pre- and post-consumer recycled content reached the recycled grade through the recycler.
    for e in ("Co", "Ni", "Li"):
        fig = recycled.elements[e]
        assert fig.recycled_pre_consumer.micrograms > 0
        assert fig.recycled_post_consumer.micrograms > 0
        assert "DE" in fig.by_country  # the recycler's country
    assert standard.elements["Co"].recycled_post_consumer.micrograms == 0
    # Plausible cradle-to-gate carbon: 30 to 120 kg CO2e per kWh of pack capacity.
    assert 30 * 75 <= int(standard.carbon.total.milligrams) // 10**6 <= 120 * 75
    assert recycled.carbon.total.milligrams < standard.carbon.total.milligrams
    counts = summary.record_counts
    for kind in (
        "ActorRegistration",
        "Extraction",
        "Transformation",
        "Transfer",
        "TransferAcceptance",
        "CarbonFootprint",
        "Certification",
        "DueDiligence",
        "Retraction",
        "BatteryPassport",
    ):
        assert counts.get(kind, 0) > 0, kind
    roles = {r for a in summary.actors.values() for r in a.roles}
    assert {"certifier", "repairer", "authority", "recycler", "oem", "miner"} <= roles
    for actor in summary.actors.values():
        assert actor.did.startswith("did:key:")
        assert actor.key_file is not None and actor.key_file.exists()
        assert actor.key_file.stat().st_mode & 0o077 == 0


def _sample_hashes(url: str, seed: int) -> list[str]:
    """Hashes of the sample's records, in log order, except the operator's registrations (its
    chain starts from its self-registration, stamped when the ledger was initialised)."""
    led = _ledger(url)
    build_sample_ledger(led, packs=2, seed=seed, operator_key=OPERATOR, issue_passports=False)
    with led.repo.read() as tx:
        rows = tx.records_range(0, tx.log_size()[0])
    led.close()
    return [r.hash for r in rows if r.issuer != OPERATOR.did]


def test_same_seed_same_records(tmp_path: Path) -> None:
    first = _sample_hashes(f"sqlite:///{tmp_path / 'a'}.sqlite", 7)
    assert len(first) > 100
    assert _sample_hashes(f"sqlite:///{tmp_path / 'b'}.sqlite", 7) == first
    assert set(_sample_hashes(f"sqlite:///{tmp_path / 'c'}.sqlite", 8)).isdisjoint(first)


def test_lfp_variant(db_url: str) -> None:
    led = _ledger(db_url)
    summary = build_sample_ledger(led, packs=2, chemistry="LFP", operator_key=OPERATOR)
    info = led.info()
    assert audit(led.repo, info.origin, info.log_vkey, workers=1).ok
    for pack in summary.packs:
        assert pack.passport_id is not None
        document = full_document(led, pack.passport_id)
        assert document["point1"]["chemistry"]["shortName"] == "LFP"
        verdicts = _art8_2031(document)
        assert verdicts["lithium"] == ("pass" if pack.expected_art8_2031 else "fail")
        assert verdicts["cobalt"] == verdicts["nickel"] == "not-applicable"
        rollup = compute_rollup(led.repo, pack.lot)
        assert set(rollup.elements) == {"Li", "C"}
    with led.repo.read() as tx:
        assert len(tx.passports().all_passports()) == 2
    led.close()


def test_a_rejected_sample_record_is_named(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A generator bug the ledger catches surfaces as a SampleLoadError naming the record, and
    the rejected batch writes nothing."""
    from samples import generate

    broken = tuple(
        dataclasses.replace(a, roles=("refiner",)) if a.slug == "pilbara" else a for a in ACTORS
    )
    monkeypatch.setattr(generate, "ACTORS", broken)
    led = _ledger(db_url)
    with pytest.raises(SampleLoadError, match=r"Extraction .*\[role_forbidden\]"):
        build_sample_ledger(led, packs=1, operator_key=OPERATOR, issue_passports=False)
    with led.repo.read() as tx:
        assert tx.log_size()[0] == 1  # only the operator's own registration
    led.close()


def test_catalogue_is_consistent() -> None:
    slugs = [a.slug for a in ACTORS]
    assert len(slugs) == len(set(slugs))
    for actor in ACTORS:
        for facility in actor.facilities:
            assert facility.country == actor.country
