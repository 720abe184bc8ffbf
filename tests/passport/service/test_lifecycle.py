"""Lifecycle: point-4 updates by authorised actors, the status machine (illegal changes and wrong
roles rejected with nothing written), repurposing with a linked successor passport, cessation
after recycling with the history still verifiable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from passport.document.partitions import LEGITIMATE_INTEREST, PUBLIC
from passport.document.rules import TRANSITIONS
from passport.document.signed_partitions import partition_hash, sign_partition, staged
from passport.errors import (
    IllegalTransitionError,
    PartitionUnverifiedError,
    PassportCeasedError,
    PassportInvalidError,
    PassportStaleError,
    RoleNotAllowedError,
    RuleViolationError,
)
from passport.ledger.pipeline import Ledger
from passport.service.issue import sign_chain
from passport.service.lifecycle import change_status, mandate, update_passport
from passport.service.verification import verify_passport
from passport.service.views import (
    full_document,
    load_state,
    show_passport,
)
from passport.verify.view import verify_view
from signing.keys import SigningKey
from tests.helpers.passport import BASE, issue_sample, snapshot


@pytest.fixture
def issued(ledger: Ledger, operator_key: SigningKey) -> Any:
    return issue_sample(ledger, operator_key)


def _raw(
    ledger: Ledger,
    key: SigningKey,
    kind: str,
    passport_id: str,
    fields: dict[str, Any],
    valid_from: str | None = None,
) -> dict[str, Any]:
    """A passport record of ``kind`` signed by ``key`` without the lifecycle module's checks."""
    state = load_state(ledger, passport_id)
    subject = {"passportId": passport_id, "passport": state.record_hash, **fields}
    (record,) = sign_chain(
        ledger, key, [(kind, subject)], valid_from=valid_from or state.last_updated
    )
    return record


def _raw_status(
    ledger: Ledger, key: SigningKey, passport_id: str, source: str, to: str, **extra: Any
) -> dict[str, Any]:
    return _raw(
        ledger, key, "PassportStatusChange", passport_id, {"from": source, "to": to, **extra}
    )


def _hand_made_update(
    ledger: Ledger, chain: Any, passport_id: str, salt: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The repairer's new point-4 partition and the PassportUpdate subject committing to it,
    built by hand (not through update_passport and its checks)."""
    state = load_state(ledger, passport_id)
    data = {**full_document(ledger, passport_id)["point4"], "salt": salt * 32}
    partition = sign_partition(
        passport_id=passport_id,
        number=4,
        data=data,
        issuer=chain.did("repairer"),
        key=chain.keys["repairer"],
        valid_from=state.last_updated,
    )
    subject = {
        "passportId": passport_id,
        "passport": state.record_hash,
        "partitions": {"4": partition_hash(partition)},
        "supersedes": state.point4_hash,
    }
    return partition, subject


def test_the_status_machine() -> None:
    assert TRANSITIONS["original"] == {"repurposed", "re-used", "remanufactured", "waste"}
    assert TRANSITIONS["waste"] == {"recycled"}
    assert TRANSITIONS["recycled"] == frozenset()


def test_point4_update_by_a_repairer(ledger: Ledger, issued: Any) -> None:
    chain, passport = issued
    before = show_passport(ledger, passport.passport_id, LEGITIMATE_INTEREST)
    result = update_passport(
        ledger,
        chain.keys["repairer"],
        passport.passport_id,
        {
            "stateOfHealth": {
                "stateOfCertifiedEnergyPercent": "97.5",
                "capacityFadePercent": "2.5",
            },
            "usage": {"fullCycles": 120},
        },
        add_events=[
            {
                "event": "accident",
                "occurredAt": "2026-11-20T10:00:00Z",
                "description": "rear collision",
            }
        ],
        reason="annual check",
    )
    after = show_passport(ledger, passport.passport_id, LEGITIMATE_INTEREST)
    p4 = after.document["point4"]
    assert p4["stateOfHealth"]["stateOfCertifiedEnergyPercent"] == "97.5"
    assert (
        p4["usage"]["fullCycles"] == 120 and p4["usage"]["negativeEvents"][0]["event"] == "accident"
    )
    assert (
        p4["stateOfHealth"]["measuredAt"]
        == p4["usage"]["recordedAt"]
        == after.document["lastUpdated"]
    )
    assert p4["salt"] != before.document["point4"]["salt"]
    # the new point 4 is committed by the update record and signed by the repairer
    assert after.committed_by[4] == result.record_hash
    assert after.partitions[4]["issuer"] == chain.did("repairer")
    assert after.committed_by[2] == passport.record_hash
    assert verify_passport(ledger, passport.passport_id).ok


def test_point4_updates_by_others_are_refused_and_nothing_written(
    ledger: Ledger, operator_key: SigningKey, issued: Any
) -> None:
    chain, passport = issued
    before = snapshot(ledger)
    change = {"usage": {"fullCycles": 5}}
    for who in ("authority", "recycler", "maker", "certifier"):
        with pytest.raises(RoleNotAllowedError):
            update_passport(ledger, chain.keys[who], passport.passport_id, change)
    assert snapshot(ledger) == before
    state = load_state(ledger, passport.passport_id)
    other_chain, _ = issue_sample(ledger, operator_key, serial="P75-000002", tag="s2")
    mid = snapshot(ledger)
    with pytest.raises(RoleNotAllowedError, match="only its economic operator"):
        update_passport(ledger, other_chain.keys["oem"], passport.passport_id, change)
    assert snapshot(ledger) == mid
    assert load_state(ledger, passport.passport_id) == state
    # the passport's own OEM may
    update_passport(ledger, chain.keys["oem"], passport.passport_id, change)


def test_an_invalid_update_is_refused_listing_every_problem(ledger: Ledger, issued: Any) -> None:
    chain, passport = issued
    before = snapshot(ledger)
    with pytest.raises(PassportInvalidError) as err:
        update_passport(
            ledger,
            chain.keys["repairer"],
            passport.passport_id,
            {
                "stateOfHealth": {"stateOfCertifiedEnergyPercent": "120"},
                "usage": {"fullCycles": -1, "stateOfChargePercent": "-5"},
            },
        )
    assert {p["pointer"] for p in err.value.details["problems"]} == {
        "/point4/stateOfHealth/stateOfCertifiedEnergyPercent",
        "/point4/usage/fullCycles",
        "/point4/usage/stateOfChargePercent",
    }
    assert snapshot(ledger) == before


def test_a_stale_update_is_rejected(ledger: Ledger, issued: Any) -> None:
    chain, passport = issued
    key = chain.keys["repairer"]
    partition, subject = _hand_made_update(ledger, chain, passport.passport_id, "a")
    update_passport(ledger, key, passport.passport_id, {"usage": {"fullCycles": 1}})
    before = snapshot(ledger)
    (record,) = sign_chain(
        ledger,
        key,
        [("PassportUpdate", subject)],
        valid_from=load_state(ledger, passport.passport_id).last_updated,
    )
    with staged([partition]), pytest.raises(PassportStaleError):
        ledger.append(record)
    assert snapshot(ledger) == before


@pytest.mark.parametrize(
    ("to", "why"), [("recycled", "cannot become recycled"), ("original", "cannot become original")]
)
def test_illegal_transitions_are_rejected_with_nothing_written(
    ledger: Ledger, issued: Any, to: str, why: str
) -> None:
    chain, passport = issued
    before = snapshot(ledger)
    if to == "recycled":
        with pytest.raises(IllegalTransitionError, match=why):
            change_status(ledger, chain.keys["recycler"], passport.passport_id, to, base_url=BASE)
        # the same record submitted by hand is rejected by the ledger itself
        with pytest.raises(IllegalTransitionError, match=why):
            ledger.append(
                _raw_status(ledger, chain.keys["recycler"], passport.passport_id, "original", to)
            )
    else:
        with pytest.raises(IllegalTransitionError):
            change_status(ledger, chain.keys["oem"], passport.passport_id, to, base_url=BASE)
    assert snapshot(ledger) == before


def test_wrong_roles_cannot_change_the_status(ledger: Ledger, issued: Any) -> None:
    chain, passport = issued
    before = snapshot(ledger)
    with pytest.raises(RoleNotAllowedError):
        change_status(
            ledger, chain.keys["recycler"], passport.passport_id, "repurposed", base_url=BASE
        )
    with pytest.raises(RoleNotAllowedError):
        change_status(ledger, chain.keys["authority"], passport.passport_id, "waste", base_url=BASE)
    with pytest.raises(RoleNotAllowedError):  # the ledger's own check, for a hand-made record
        ledger.append(
            _raw_status(ledger, chain.keys["authority"], passport.passport_id, "original", "waste")
        )
    with pytest.raises(PassportStaleError):  # 'from' must be the current status
        ledger.append(
            _raw_status(ledger, chain.keys["oem"], passport.passport_id, "waste", "recycled")
        )
    assert snapshot(ledger) == before


def test_repurposing_issues_a_successor_linked_to_the_original(ledger: Ledger, issued: Any) -> None:
    chain, original = issued
    update_passport(
        ledger,
        chain.keys["repairer"],
        original.passport_id,
        {"stateOfHealth": {"stateOfCertifiedEnergyPercent": "78"}},
    )
    result = change_status(
        ledger,
        chain.keys["repairer"],
        original.passport_id,
        "repurposed",
        base_url=BASE,
        reason="home storage",
    )
    assert result.successor is not None
    successor = result.successor.passport_id
    old = show_passport(ledger, original.passport_id, PUBLIC).document
    new = show_passport(ledger, successor, PUBLIC).document
    assert (old["status"], old["successor"]) == ("repurposed", successor)
    assert (new["status"], new["predecessor"]) == ("repurposed", original.passport_id)
    assert new["batteryId"] == old["batteryId"] and new["passportId"] != old["passportId"]
    assert new["economicOperator"]["id"] == chain.did("repairer")
    # point 4 carries over the state at the change; figures are recomputed from the roll-ups
    li = show_passport(ledger, successor, LEGITIMATE_INTEREST).document
    assert li["point4"]["stateOfHealth"]["stateOfCertifiedEnergyPercent"] == "78"
    assert verify_passport(ledger, original.passport_id).ok
    assert verify_passport(ledger, successor).ok
    for pid in (original.passport_id, successor):
        served = json.loads(json.dumps(show_passport(ledger, pid, LEGITIMATE_INTEREST).to_dict()))
        verify_view(served, log_vkey=ledger.info().log_vkey)
    served["passport"]["successor"] = "urn:bpass:" + "9" * 32
    with pytest.raises(PartitionUnverifiedError, match="successor"):
        verify_view(served)
    # the battery identifier now resolves to the live successor
    assert show_passport(ledger, original.battery_id, PUBLIC).document["passportId"] == successor
    # the original is superseded: no further changes; the successor takes them
    before = snapshot(ledger)
    with pytest.raises(PassportCeasedError, match="superseded"):
        update_passport(
            ledger, chain.keys["repairer"], original.passport_id, {"usage": {"fullCycles": 1}}
        )
    with pytest.raises(PassportCeasedError):
        change_status(ledger, chain.keys["recycler"], original.passport_id, "waste", base_url=BASE)
    assert snapshot(ledger) == before
    update_passport(ledger, chain.keys["repairer"], successor, {"usage": {"fullCycles": 1}})


def test_repurposing_with_a_new_model_and_serial(ledger: Ledger, issued: Any) -> None:
    from samples.models import sample_model

    chain, original = issued
    model = sample_model("stationary")
    del model["point4"]
    result = change_status(
        ledger,
        chain.keys["repairer"],
        original.passport_id,
        "repurposed",
        base_url=BASE,
        model=model,
        serial="SL-0001",
    )
    assert result.successor is not None
    doc = full_document(ledger, result.successor.passport_id)
    assert doc["point1"]["category"] == "stationary"
    assert doc["batteryId"].endswith("/01/09506000134383/21/SL-0001")
    assert verify_passport(ledger, result.successor.passport_id).ok


def test_repurposing_needs_a_successor(ledger: Ledger, issued: Any) -> None:
    chain, passport = issued
    before = snapshot(ledger)
    with pytest.raises(IllegalTransitionError, match="new passport"):
        ledger.append(
            _raw_status(
                ledger, chain.keys["repairer"], passport.passport_id, "original", "repurposed"
            )
        )
    with pytest.raises(IllegalTransitionError, match="new passport"):
        change_status(
            ledger,
            chain.keys["repairer"],
            passport.passport_id,
            "remanufactured",
            base_url=BASE,
            new_passport=False,
        )
    with pytest.raises(IllegalTransitionError, match="no new passport"):
        change_status(
            ledger,
            chain.keys["repairer"],
            passport.passport_id,
            "waste",
            base_url=BASE,
            new_passport=True,
        )
    assert snapshot(ledger) == before


def test_re_use_keeps_the_passport_or_issues_a_new_one(
    ledger: Ledger, operator_key: SigningKey, issued: Any
) -> None:
    chain, passport = issued
    kept = change_status(ledger, chain.keys["oem"], passport.passport_id, "re-used", base_url=BASE)
    assert kept.successor is None and load_state(ledger, passport.passport_id).status == "re-used"
    assert verify_passport(ledger, passport.passport_id).ok
    other_chain, other = issue_sample(ledger, operator_key, serial="P75-000002", tag="s2")
    moved = change_status(
        ledger,
        other_chain.keys["repairer"],
        other.passport_id,
        "re-used",
        base_url=BASE,
        new_passport=True,
    )
    assert moved.successor is not None


def test_waste_then_recycled_ceases_the_passport_with_history_verifiable(
    ledger: Ledger, issued: Any
) -> None:
    chain, passport = issued
    update_passport(
        ledger, chain.keys["repairer"], passport.passport_id, {"usage": {"fullCycles": 900}}
    )
    # the battery's performance at the change is point 4: the mandated repairer records it
    waste = change_status(
        ledger,
        chain.keys["repairer"],
        passport.passport_id,
        "waste",
        base_url=BASE,
        point4={"stateOfHealth": {"stateOfCertifiedEnergyPercent": "61"}},
    )
    assert (
        show_passport(ledger, passport.passport_id, LEGITIMATE_INTEREST).committed_by[4]
        == waste.record_hash
    )
    with pytest.raises(RoleNotAllowedError):  # only a recycler records recycling
        change_status(
            ledger, chain.keys["repairer"], passport.passport_id, "recycled", base_url=BASE
        )
    # the recycler records recycling once the OEM has handed it the pack (Art. 74, 77(8))
    _hand_pack(ledger, chain, "recycler2")
    change_status(ledger, chain.keys["recycler2"], passport.passport_id, "recycled", base_url=BASE)
    state = load_state(ledger, passport.passport_id)
    assert state.ceased and state.status == "recycled"
    shown = show_passport(ledger, passport.passport_id, PUBLIC)
    doc = shown.document
    assert doc["status"] == "recycled" and doc["ceasedAt"] == state.ceased_at
    verify_view(json.loads(json.dumps(shown.to_dict())), log_vkey=ledger.info().log_vkey)
    before = snapshot(ledger)
    for action in (
        lambda: update_passport(
            ledger, chain.keys["repairer"], passport.passport_id, {"usage": {"fullCycles": 1}}
        ),
        lambda: change_status(
            ledger, chain.keys["recycler"], passport.passport_id, "waste", base_url=BASE
        ),
        lambda: ledger.append(
            _raw_status(ledger, chain.keys["recycler"], passport.passport_id, "waste", "recycled")
        ),
    ):
        with pytest.raises((PassportCeasedError, IllegalTransitionError)):
            action()
    assert snapshot(ledger) == before
    report = verify_passport(ledger, passport.passport_id)
    assert report.ok, report.to_dict()
    lifecycle = next(c for c in report.checks if c.name == "lifecycle")
    assert lifecycle.message == "status original → waste → recycled (ceased)"
    partitions = next(c for c in report.checks if c.name == "partitions")
    assert partitions.message == "6 partitions match their commitments"  # 4 + two later point 4s


def _hand_pack(ledger: Ledger, chain: Any, buyer: str) -> None:
    """The OEM transfers the whole pack lot to ``buyer``, who accepts it."""
    with ledger.repo.read() as tx:
        lot = tx.trace().lot(chain.pack_lot)
    assert lot is not None
    subject = {
        "lot": chain.pack_lot,
        "record": chain.pack_record,
        "massGrams": lot.mass_grams,
        "buyer": chain.did(buyer),
    }
    transfer = ledger.append(ledger.sign_new(chain.keys["oem"], "Transfer", subject))
    accept = {"transfer": transfer.record_hash, "decision": "accepted"}
    ledger.append(ledger.sign_new(chain.keys[buyer], "TransferAcceptance", accept))


# -- mandates: who may update point 4 ---------------------------------------------------------------
def _raw_mandate(
    ledger: Ledger, key: SigningKey, passport_id: str, mandatary: str, **extra: Any
) -> dict[str, Any]:
    fields = {"mandatary": mandatary, "action": "grant", **extra}
    return _raw(ledger, key, "PassportMandate", passport_id, fields, _now())


def _now() -> str:
    from passport.timefmt import format_ts, now

    return format_ts(now(), micro=False)


def test_a_repairer_without_a_mandate_may_not_update(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    chain, passport = issue_sample(ledger, operator_key, mandate_repairer=False)
    change = {"usage": {"fullCycles": 3}}
    before = snapshot(ledger)
    with pytest.raises(RoleNotAllowedError, match="mandated"):
        update_passport(ledger, chain.keys["repairer"], passport.passport_id, change)
    assert snapshot(ledger) == before
    # a record signed by other means is refused inside the append transaction too
    partition, subject = _hand_made_update(ledger, chain, passport.passport_id, "b")
    (record,) = sign_chain(
        ledger, chain.keys["repairer"], [("PassportUpdate", subject)], valid_from=_now()
    )
    with staged([partition]), pytest.raises(RoleNotAllowedError, match="mandated"):
        ledger.append(record)
    assert snapshot(ledger) == before
    # granted, it may; withdrawn, it may no longer
    mandate(ledger, chain.keys["oem"], passport.passport_id, chain.did("repairer"))
    update_passport(ledger, chain.keys["repairer"], passport.passport_id, change)
    mandate(ledger, chain.keys["oem"], passport.passport_id, chain.did("repairer"), withdraw=True)
    with pytest.raises(RoleNotAllowedError, match="mandated"):
        update_passport(ledger, chain.keys["repairer"], passport.passport_id, change)


def test_only_the_economic_operator_mandates_and_only_update_roles(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    chain, passport = issue_sample(ledger, operator_key, mandate_repairer=False)
    other_chain, _ = issue_sample(ledger, operator_key, serial="P75-000002", tag="s2")
    repairer = chain.did("repairer")
    before = snapshot(ledger)
    # another OEM, or the repairer itself, cannot grant a mandate for this passport
    for key in (other_chain.keys["oem"], chain.keys["repairer"]):
        with pytest.raises(RoleNotAllowedError, match="economic operator"):
            mandate(ledger, key, passport.passport_id, repairer)
        with pytest.raises(RoleNotAllowedError, match="economic operator"):
            ledger.append(_raw_mandate(ledger, key, passport.passport_id, repairer))
    # a mandate goes to a repairer or oem, registered; not to the operator itself
    with pytest.raises(RuleViolationError, match="roles"):
        mandate(ledger, chain.keys["oem"], passport.passport_id, chain.did("recycler"))
    with pytest.raises(RuleViolationError, match="not a registered actor"):
        mandate(ledger, chain.keys["oem"], passport.passport_id, "did:web:nobody.example")
    with pytest.raises(RuleViolationError, match="needs no mandate"):
        mandate(ledger, chain.keys["oem"], passport.passport_id, chain.did("oem"))
    # nothing to withdraw; an end time in the past
    with pytest.raises(RuleViolationError, match="no mandate"):
        mandate(ledger, chain.keys["oem"], passport.passport_id, repairer, withdraw=True)
    with pytest.raises(RuleViolationError, match="already passed"):
        mandate(
            ledger,
            chain.keys["oem"],
            passport.passport_id,
            repairer,
            valid_until="2020-01-01T00:00:00Z",
        )
    assert snapshot(ledger) == before


def test_a_mandate_ends_at_its_end_time(ledger: Ledger, operator_key: SigningKey) -> None:
    from passport.document.rules import mandataries

    chain, passport = issue_sample(ledger, operator_key, mandate_repairer=False)
    repairer = chain.did("repairer")
    mandate(
        ledger,
        chain.keys["oem"],
        passport.passport_id,
        repairer,
        valid_until="2099-01-01T00:00:00Z",
    )
    with ledger.repo.read() as tx:
        assert repairer in mandataries(tx, passport.passport_id, "2098-12-31T23:59:59Z")
        assert repairer not in mandataries(tx, passport.passport_id, "2099-01-01T00:00:00Z")
    update_passport(
        ledger, chain.keys["repairer"], passport.passport_id, {"usage": {"fullCycles": 1}}
    )


def test_a_mandate_and_the_update_it_allows_in_one_batch(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    # The update's rule reads the mandate record appended earlier in the same transaction.
    chain, passport = issue_sample(ledger, operator_key, mandate_repairer=False)
    grant = _raw_mandate(ledger, chain.keys["oem"], passport.passport_id, chain.did("repairer"))
    partition, subject = _hand_made_update(ledger, chain, passport.passport_id, "c")
    (update,) = sign_chain(
        ledger, chain.keys["repairer"], [("PassportUpdate", subject)], valid_from=_now()
    )
    with staged([partition]):
        receipts = ledger.append_batch([grant, update])
    after = load_state(ledger, passport.passport_id)
    assert after.point4_hash == subject["partitions"]["4"]
    assert [r.existing for r in receipts] == [False, False]
