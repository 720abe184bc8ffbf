"""Issuing a passport from a pack's provenance: figures from the roll-ups, commitments to the
partitions and the checkpoint, verification against the ledger, refusal listing every problem,
and the append-time rules (nothing written on a rejection)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from passport.document.regulation import PLACEHOLDER_CLASS_TABLE
from passport.document.signed_partitions import partition_hash, sign_partition, staged
from passport.errors import (
    NotFoundError,
    PartitionMissingError,
    PassportInvalidError,
    RoleNotAllowedError,
    RuleViolationError,
)
from passport.ledger import log as translog
from passport.ledger.pipeline import Ledger
from passport.service.issue import IssuedPassport, issue_passport, prepare_passport, sign_chain
from passport.service.verification import verify_passport
from passport.service.views import full_document
from passport.trace.rollup import compute_rollup
from signing.jcs import parse_json
from signing.keys import SigningKey
from signing.note import open_checkpoint
from tests.helpers.passport import BASE, issue_sample, snapshot
from tests.helpers.sample_passports import build_sample_chain, sample_model


@pytest.fixture
def chain(ledger: Ledger, operator_key: SigningKey) -> Any:
    return build_sample_chain(ledger, operator_key)


def _issue(
    ledger: Ledger, chain: Any, serial: str, *, who: str = "oem", model: Any = None
) -> IssuedPassport:
    """Issue the chain's pack passport as ``who`` (the sample EV model unless given)."""
    return issue_passport(
        ledger,
        chain.keys[who],
        pack_lot=chain.pack_lot,
        model=sample_model("ev") if model is None else model,
        base_url=BASE,
        serial=serial,
    )


def test_issued_passport_validates_and_verifies_against_the_ledger(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    chain, issued = issue_sample(ledger, operator_key)
    report = verify_passport(ledger, issued.passport_id)
    assert report.ok, report.to_dict()
    assert [c.name for c in report.checks] == [
        "records",
        "checkpoint",
        "partitions",
        "lifecycle",
        "schema",
        "roll-ups",
        "provenance",
    ]
    doc = full_document(ledger, issued.passport_id)
    assert doc == {**issued.document}
    assert doc["batteryId"] == f"{BASE}/01/09506000134352/21/P75-000001"
    assert doc["passportId"] != doc["batteryId"] and doc["passportId"].startswith("urn:bpass:")
    assert doc["economicOperator"] == {
        "id": chain.did("oem"),
        "name": "Elbe Motors AG",
        "tradeName": "Elbe Motors",
        "address": sample_model("ev")["economicOperator"]["address"],
    }
    assert doc["status"] == "original" and doc["issuedAt"] == doc["lastUpdated"]


def test_the_record_commits_to_partitions_and_checkpoint(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    chain, issued = issue_sample(ledger, operator_key)
    record = ledger.record(issued.record_hash)
    assert record.kind == "BatteryPassport" and record.issuer == chain.did("oem")
    s = parse_json(record.body)["credentialSubject"]
    assert s["partitions"] == {str(n): partition_hash(p) for n, p in issued.partitions.items()}
    assert s["pack"] == {"lot": chain.pack_lot, "record": chain.pack_record}
    cp = open_checkpoint(ledger.checkpoint(s["checkpoint"]["size"]), [ledger.info().log_vkey])
    assert translog.b64(cp.root_hash) == s["checkpoint"]["rootHash"]
    assert cp.size == record.leaf_index  # the roll-ups saw the log just before the passport


def test_figures_come_from_the_roll_ups(ledger: Ledger, operator_key: SigningKey) -> None:
    chain, issued = issue_sample(ledger, operator_key)
    rollup = compute_rollup(ledger.repo, chain.pack_lot)
    doc = issued.document
    cf = doc["point1"]["carbonFootprint"]
    absolute = Decimal(rollup.carbon.total.kg_co2e)
    assert Decimal(cf["absoluteKg"]["total"]) == absolute
    energy = Decimal(cf["serviceLifeEnergyKWh"])
    for stage, ours in (
        ("raw-material-acquisition", "rawMaterialAcquisition"),
        ("main-production", "mainProduction"),
    ):
        per = Decimal(rollup.carbon.stages[stage].kg_co2e) / energy
        assert abs(Decimal(cf["perKWh"][ours]) - per) <= Decimal("0.00005")
    assert cf["performanceClass"] == PLACEHOLDER_CLASS_TABLE.classify(
        Decimal(cf["perKWh"]["total"])
    )
    assert cf["classTable"] == "placeholder-unsettled"
    recycled = doc["point1"]["recycledContent"]
    assert recycled["cobalt"] == {
        "preConsumerPercent": "0.00",
        "postConsumerPercent": rollup.elements["Co"].recycled_post_consumer.percent,
    }
    assert set(recycled) == {
        "lithium",
        "nickel",
        "cobalt",
        "manganese",
        "graphite",
    }  # graphite and Mn kept
    rs = doc["point1"]["responsibleSourcing"]
    assert rs["dueDiligence"]["cobalt"]["coveragePercent"] == "100.00"
    assert rollup.graphite is not None
    assert rs["graphite"]["naturalPercent"] == rollup.graphite.natural.percent
    assert {f["flag"] for f in rs["riskFlags"]} >= {"cahra-origin", "lateritic-nickel"}
    countries = {o["country"] for o in rs["materials"]["cobalt"]["originByCountry"]}
    assert countries == {"CD", "DE"}
    facilities = doc["point3"]["supplyChainEvidence"]["originByFacility"]
    assert {f["facility"] for f in facilities} >= {"lcc-kolwezi", "pilbara-mine", "rbr-dormagen"}
    assert Decimal(doc["point2"]["elementMassesKg"]["nickel"]) == Decimal("45.200")


def test_an_invalid_passport_is_refused_listing_every_problem_and_nothing_is_written(
    ledger: Ledger, chain: Any
) -> None:
    before = snapshot(ledger)
    model = sample_model("ev")
    model["point1"]["massKg"] = "-1"
    del model["point1"]["performance"]["capacityThresholdForExhaustionPercent"]
    model["point1"]["recycledContent"] = {
        "cobalt": {"preConsumerPercent": "50", "postConsumerPercent": "60"}
    }
    model["point2"]["partNumbers"] = []
    with pytest.raises(PassportInvalidError) as err:
        _issue(ledger, chain, "S1", model=model)
    pointers = {p["pointer"] for p in err.value.details["problems"]}
    assert {
        "/point1/massKg",
        "/point1/performance/capacityThresholdForExhaustionPercent",
        "/point1/recycledContent/cobalt",  # > 100 %
        "/point1/recycledContent/cobalt/preConsumerPercent",  # differs from the roll-up
        "/point1/recycledContent/lithium",  # missing although the roll-up has it
        "/point2/partNumbers",
    } <= pointers
    assert err.value.message.startswith("refusing to issue")
    assert snapshot(ledger) == before


def test_unusable_model_data_and_identifiers_are_refused(ledger: Ledger, chain: Any) -> None:
    with pytest.raises(PassportInvalidError) as err:
        issue_passport(
            ledger, chain.keys["oem"], pack_lot=chain.pack_lot, model={"point9": {}}, base_url=BASE
        )
    assert {p["pointer"] for p in err.value.details["problems"]} == {
        "/point9",
        "/point1",
        "/point2",
        "/point3",
    }
    model = sample_model("ev")
    model["point1"]["identification"]["gtin"] = "09506000134353"
    with pytest.raises(PassportInvalidError) as err:
        issue_passport(
            ledger, chain.keys["oem"], pack_lot=chain.pack_lot, model=model, base_url=BASE
        )
    assert {p["pointer"] for p in err.value.details["problems"]} == {
        "/point1/identification/gtin",
        "/point1/identification/serialNumber",
    }
    model = sample_model("ev")
    del model["point1"]["carbonFootprint"]["serviceLifeEnergyKWh"]
    with pytest.raises(PassportInvalidError, match="serviceLifeEnergyKWh"):
        _issue(ledger, chain, "S", model=model)
    with pytest.raises(NotFoundError):
        issue_passport(
            ledger,
            chain.keys["oem"],
            pack_lot="urn:lot:nope",
            model=sample_model("ev"),
            base_url=BASE,
            serial="S",
        )


def test_only_an_oem_issues_an_original_passport(ledger: Ledger, chain: Any) -> None:
    before = snapshot(ledger)
    with pytest.raises(RoleNotAllowedError):
        _issue(ledger, chain, "S", who="repairer")
    with pytest.raises(RoleNotAllowedError):
        _issue(ledger, chain, "S", who="maker")
    assert snapshot(ledger) == before


def test_a_record_without_its_partitions_is_rejected(ledger: Ledger, chain: Any) -> None:
    prepared = prepare_passport(
        ledger,
        chain.keys["oem"],
        pack_lot=chain.pack_lot,
        model=sample_model("ev"),
        base_url=BASE,
        serial="S",
    )
    before = snapshot(ledger)
    with pytest.raises(PartitionMissingError):
        ledger.append(prepared.record)
    with (
        staged([prepared.partitions[1], prepared.partitions[2], prepared.partitions[3]]),
        pytest.raises(PartitionMissingError),
    ):
        ledger.append(prepared.record)
    assert snapshot(ledger) == before
    with staged(prepared.partitions.values()):
        ledger.append(prepared.record)
    assert snapshot(ledger) != before


def test_a_battery_has_one_live_passport(ledger: Ledger, operator_key: SigningKey) -> None:
    chain, _ = issue_sample(ledger, operator_key)
    before = snapshot(ledger)
    with pytest.raises(RuleViolationError, match="already has a live passport"):
        _issue(ledger, chain, "P75-000001")
    assert snapshot(ledger) == before
    other = _issue(ledger, chain, "P75-000002")
    assert verify_passport(ledger, other.passport_id).ok


def _resign(
    ledger: Ledger, key: SigningKey, prepared: Any, **changes: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The prepared record with its subject changed (and partitions replaced), signed anew."""
    subject = copy.deepcopy(prepared.record["credentialSubject"])
    partitions = dict(prepared.partitions)
    for number, data in changes.pop("data", {}).items():
        partitions[number] = sign_partition(
            passport_id=subject["passportId"],
            number=number,
            data=data,
            issuer=prepared.record["issuer"],
            key=key,
            valid_from=prepared.record["validFrom"],
        )
        subject["partitions"][str(number)] = partition_hash(partitions[number])
    subject.update(changes)
    (record,) = sign_chain(
        ledger, key, [("BatteryPassport", subject)], valid_from=prepared.record["validFrom"]
    )
    return record, list(partitions.values())


def test_append_time_rules_hold_for_records_built_by_hand(ledger: Ledger, chain: Any) -> None:
    key = chain.keys["oem"]
    prepared = prepare_passport(
        ledger, key, pack_lot=chain.pack_lot, model=sample_model("ev"), base_url=BASE, serial="S"
    )
    before = snapshot(ledger)
    # an invalid passport: every problem listed by the ledger's own check
    bad_point1 = copy.deepcopy(prepared.document["point1"])
    bad_point1["massKg"] = "-1"
    bad_point1["recycledContent"]["cobalt"]["preConsumerPercent"] = "99"
    record, parts = _resign(ledger, key, prepared, data={1: bad_point1})
    with staged(parts), pytest.raises(PassportInvalidError) as err:
        ledger.append(record)
    assert {p["pointer"] for p in err.value.details["problems"]} == {
        "/point1/massKg",
        "/point1/recycledContent/cobalt",
    }
    # a checkpoint this log never signed
    record, parts = _resign(
        ledger, key, prepared, checkpoint={"size": 3, "rootHash": "A" * 43 + "="}
    )
    with staged(parts), pytest.raises(RuleViolationError, match="did not sign"):
        ledger.append(record)
    # a pack lot named with the wrong creating record
    record, parts = _resign(
        ledger, key, prepared, pack={"lot": chain.pack_lot, "record": "sha256:" + "0" * 64}
    )
    with staged(parts), pytest.raises(RuleViolationError, match="pack lot"):
        ledger.append(record)
    # someone else named as economic operator
    record, parts = _resign(
        ledger, key, prepared, economicOperator={"id": chain.did("maker"), "name": "X"}
    )
    with staged(parts), pytest.raises(RuleViolationError, match="economic operator"):
        ledger.append(record)
    # a category that differs from partition 1's
    record, parts = _resign(ledger, key, prepared, category="lmt")
    with staged(parts), pytest.raises(RuleViolationError, match="category"):
        ledger.append(record)
    assert snapshot(ledger) == before


def test_issue_summary_hides_the_partitions(ledger: Ledger, operator_key: SigningKey) -> None:
    _, issued = issue_sample(ledger, operator_key)
    summary = issued.to_dict()
    assert set(summary) == {"passportId", "batteryId", "record", "partitions", "receipt"}
    assert all(v.startswith("sha256:") for v in summary["partitions"].values())
    translog.verify_receipt(summary["receipt"], ledger.info().log_vkey)
