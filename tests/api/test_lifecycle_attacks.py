"""Attacks on a passport's lifecycle through the HTTP API (issue #20), each refused with a typed
error and nothing written:

1. point 4 rewritten by a status change whose issuer holds no mandate (Art. 77);
2. a record dated in the future, which would freeze the passport (append step 2d);
3. a status change by an actor with no basis on the ledger: not the economic operator, not
   mandated by it, never handed the battery (Art. 77(6)-(8), Art. 73 and 74).

Each test works on its own pack of one module-wide sample ledger (any order, any worker).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from passport.document.body import deep_merge
from passport.document.ids import new_salt
from passport.document.signed_partitions import partition_hash, sign_partition
from passport.errors import RecordFromFutureError
from passport.ledger.accept import check_not_future
from passport.records.envelope import build_record, dumps, record_hash, sign_record
from passport.service.issue import prepare_passport, sign_chain
from passport.service.lifecycle import successor_model
from passport.service.views import full_document, load_state
from passport.settings import Settings
from passport.store.passport_rows import PassportState
from passport.timefmt import format_ts, now
from samples.designs import DESIGNS, model_for
from tests.helpers.api import BASE_URL, assert_problem, make_client, post_record
from tests.helpers.api_passport import (
    Sample,
    hand_vehicle,
    mandate_over_http,
    open_sample,
    signed_status,
    signed_update,
    stamp,
)

FAR_FUTURE = "2999-12-31T23:59:59Z"
LOW_HEALTH = {"stateOfHealth": {"stateOfCertifiedEnergyPercent": "9", "remainingCapacityAh": "20"}}
"""What a forger would like the passport to show: a battery worth nothing."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    """Five sample packs without passports, one per test that changes a passport (0 and 3:
    point 4, 1: future dates, 2 and 4: who may change the status); the OEM issues each test's
    passport over HTTP, mandating nobody."""
    ledger, summary, drop = open_sample(tmp_path_factory.mktemp("attacks"), packs=5, issue=False)
    with make_client(ledger) as client:
        yield Sample(ledger, summary, client, {})
    ledger.close()
    drop()


# -- helpers ---------------------------------------------------------------------------------------
def _issue(s: Sample, index: int) -> str:
    pack = s.summary.packs[index]
    prepared = prepare_passport(
        s.ledger,
        s.key("elbe"),
        pack_lot=pack.lot,
        model=model_for(DESIGNS[s.summary.chemistry], pack),
        base_url=BASE_URL,
        serial=pack.serial,
    )
    body = {"record": prepared.record, "partitions": list(prepared.partitions.values())}
    response = s.client.post("/passports", json=body)
    assert response.status_code == 201, response.text
    return prepared.passport_id


def _status_with_point4(
    s: Sample, slug: str, passport_id: str, to: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """A PassportStatusChange by ``slug`` carrying a new point-4 partition it signed."""
    key = s.key(slug)
    did = s.ledger.issuer_for_key(key)
    state = load_state(s.ledger, passport_id)
    when = stamp()
    point4 = deep_merge(full_document(s.ledger, passport_id)["point4"], changes)
    point4["stateOfHealth"]["measuredAt"] = when
    point4["salt"] = new_salt()
    partition = sign_partition(
        passport_id=passport_id, number=4, data=point4, issuer=did, key=key, valid_from=when
    )
    subject = {
        "passportId": passport_id,
        "passport": state.record_hash,
        "from": state.status,
        "to": to,
        "partitions": {"4": partition_hash(partition)},
        "supersedes": state.point4_hash,
    }
    (record,) = sign_chain(s.ledger, key, [("PassportStatusChange", subject)], valid_from=when)
    return {"record": record, "partitions": [partition]}


def _point4(s: Sample, passport_id: str) -> dict[str, Any]:
    """Point 4 as its economic operator reads it (entitled to every passport it issued)."""
    view = s.client.get(
        f"/passports/{passport_id}?role=legitimate-interest", headers=s.headers("elbe")
    )
    assert view.status_code == 200, view.text
    point4: dict[str, Any] = view.json()["passport"]["point4"]
    return point4


def _unchanged(s: Sample, size: int, passport_id: str, state: PassportState) -> None:
    """Nothing was written: the log's size and the passport's state are as before."""
    assert s.ledger.info().size == size
    assert load_state(s.ledger, passport_id) == state


# -- 1. point 4 rewritten without a mandate --------------------------------------------------------
def test_point4_rewritten_by_a_status_change_without_a_mandate_is_refused(world: Sample) -> None:
    pid = _issue(world, 0)
    # the recycler holds the battery (so it may mark it waste), but no mandate for point 4
    hand_vehicle(world, 0, "rbr")
    health = _point4(world, pid)["stateOfHealth"]
    size, state = world.ledger.info().size, load_state(world.ledger, pid)
    for slug, to in (("rbr", "waste"), ("saale", "re-used")):
        body = _status_with_point4(world, slug, pid, to, LOW_HEALTH)
        assert_problem(
            world.client.post(f"/passports/{pid}/status", json=body), 403, "point4_not_mandated"
        )
        _unchanged(world, size, pid, state)
    assert _point4(world, pid)["stateOfHealth"] == health
    # the same change without a point-4 partition is the recycler's to make
    body = signed_status(world.ledger, world.key("rbr"), pid, "waste")
    response = world.client.post(f"/passports/{pid}/status", json=body)
    assert response.status_code == 201, response.text
    assert _point4(world, pid)["stateOfHealth"] == health


def test_a_mandated_repairer_records_point4_with_a_status_change(world: Sample) -> None:
    pid = _issue(world, 3)
    mandate_over_http(world, pid, "saale")
    body = _status_with_point4(world, "saale", pid, "re-used", LOW_HEALTH)
    response = world.client.post(f"/passports/{pid}/status", json=body)
    assert response.status_code == 201, response.text
    health = _point4(world, pid)["stateOfHealth"]
    assert (health["stateOfCertifiedEnergyPercent"], health["remainingCapacityAh"]) == ("9", "20")


# -- 2. a date in the future freezes a passport ----------------------------------------------------
def _ahead(seconds: int) -> str:
    return format_ts(now() + timedelta(seconds=seconds), micro=False)


def _redated(record: dict[str, Any], slug: str, s: Sample, *, valid_from: str, created: str) -> Any:
    unsigned = {k: v for k, v in record.items() if k != "proof"}
    unsigned["validFrom"] = valid_from
    return sign_record(unsigned, s.key(slug), created=created)


def test_a_record_dated_in_the_future_is_refused(world: Sample) -> None:
    pid = _issue(world, 1)
    mandate_over_http(world, pid, "saale")
    size, state = world.ledger.info().size, load_state(world.ledger, pid)
    # validFrom far ahead, then proof created far ahead: either would freeze the passport
    for valid_from, created in ((FAR_FUTURE, FAR_FUTURE), (stamp(), FAR_FUTURE)):
        body = signed_update(
            world.ledger, world.key("saale"), pid, {"puttingIntoService": "2026-11-02T08:00:00Z"}
        )
        body["record"] = _redated(
            body["record"], "saale", world, valid_from=valid_from, created=created
        )
        assert_problem(
            world.client.post(f"/passports/{pid}/updates", json=body), 422, "record_from_future"
        )
        _unchanged(world, size, pid, state)
    # so the genuine update that follows is accepted, and so is a status change
    body = signed_update(world.ledger, world.key("saale"), pid, {})
    response = world.client.post(f"/passports/{pid}/updates", json=body)
    assert response.status_code == 201, response.text
    body = signed_status(world.ledger, world.key("elbe"), pid, "re-used")
    response = world.client.post(f"/passports/{pid}/status", json=body)
    assert response.status_code == 201, response.text


def _due_diligence(s: Sample) -> dict[str, Any]:
    """A DueDiligence subject of the recycler about itself (a record of a traceability kind)."""
    return {
        "subject": {"type": "actor", "actor": s.ledger.issuer_for_key(s.key("rbr"))},
        "framework": "OECD-DDG",
        "reportRef": "https://rbr.example/due-diligence-2027.pdf",
        "reportHash": "sha256:" + "cd" * 32,
        "stepsCovered": [1, 2, 3, 4, 5],
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2028-12-31T00:00:00Z",
        "riskFindings": [],
    }


def test_a_record_of_any_kind_dated_beyond_the_clock_skew_is_refused(world: Sample) -> None:
    subject = _due_diligence(world)
    size = world.ledger.info().size
    late = world.ledger.sign_new(world.key("rbr"), "DueDiligence", subject, valid_from=_ahead(3600))
    assert_problem(post_record(world.client, late), 422, "record_from_future")
    assert world.ledger.info().size == size
    # within the default skew (300 s) a signer's clock may run ahead
    early = world.ledger.sign_new(world.key("rbr"), "DueDiligence", subject, valid_from=_ahead(60))
    response = post_record(world.client, early)
    assert response.status_code == 201, response.text
    assert world.ledger.info().size == size + 1


def test_the_time_check_judges_a_record_by_its_own_acceptance_time(world: Sample) -> None:
    """A bundle's replay passes each record's acceptance time from the log: the check compares
    with that, never with the verifier's clock (so old bundles still verify, and a record dated
    after the time its ledger accepted it does not)."""
    signed_at = "2026-03-01T12:00:00Z"
    record = world.ledger.parse(
        world.ledger.sign_new(
            world.key("rbr"), "DueDiligence", _due_diligence(world), valid_from=signed_at
        )
    )
    check_not_future(record, "2026-03-01T11:55:00.000000Z", 300)  # exactly the skew ahead
    with pytest.raises(RecordFromFutureError):
        check_not_future(record, "2026-03-01T11:54:59.999999Z", 300)
    with pytest.raises(RecordFromFutureError):
        check_not_future(record, "2026-03-01T11:59:59.000000Z", 0)


def test_the_clock_skew_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().clock_skew_seconds == 300
    monkeypatch.setenv("BPASS_CLOCK_SKEW_SECONDS", "30")
    assert Settings().clock_skew_seconds == 30


# -- 3. status changes need a basis the ledger can check ---------------------------------------
def test_a_status_change_needs_a_basis_on_the_ledger(world: Sample) -> None:
    pid = _issue(world, 2)

    def refused(slug: str, to: str, status: int, code: str) -> None:
        size, state = world.ledger.info().size, load_state(world.ledger, pid)
        body = signed_status(world.ledger, world.key(slug), pid, to)
        assert_problem(world.client.post(f"/passports/{pid}/status", json=body), status, code)
        _unchanged(world, size, pid, state)

    def accepted(slug: str, to: str) -> None:
        body = signed_status(world.ledger, world.key(slug), pid, to)
        response = world.client.post(f"/passports/{pid}/status", json=body)
        assert response.status_code == 201, response.text
        assert load_state(world.ledger, pid).status == to

    refused("rbr", "waste", 403, "status_change_no_basis")  # a recycler not holding it
    refused("saale", "re-used", 403, "status_change_no_basis")  # a repairer without mandate
    refused("saale", "waste", 403, "status_change_no_basis")
    refused("msa", "waste", 403, "role_forbidden")  # an authority only reads
    accepted("elbe", "re-used")  # the economic operator
    mandate_over_http(world, pid, "saale")
    accepted("saale", "waste")  # the repairer it mandated
    refused("rbr", "recycled", 403, "status_change_no_basis")
    hand_vehicle(world, 2, "rbr")
    accepted("rbr", "recycled")  # the recycler the vehicle was handed to


def test_a_successor_passport_needs_a_basis_too(world: Sample) -> None:
    """A repairer without a mandate cannot start a second life (repurposing issues a successor
    passport naming it economic operator, Art. 77(6)) for a battery it never held."""
    pid = _issue(world, 4)
    state = load_state(world.ledger, pid)
    repairer = world.key("saale")
    prepared = prepare_passport(
        world.ledger,
        repairer,
        pack_lot=world.summary.packs[4].lot,
        model=successor_model(full_document(world.ledger, pid)),
        base_url=BASE_URL,
        battery_id=state.battery_id,
        status="repurposed",
        predecessor=state,
    )
    chain = prepared.record["chain"]
    change = sign_record(
        build_record(
            "PassportStatusChange",
            issuer=prepared.record["issuer"],
            subject={
                "passportId": pid,
                "passport": state.record_hash,
                "from": state.status,
                "to": "repurposed",
                "successor": {"passportId": prepared.passport_id, "record": prepared.record_hash},
            },
            sequence=chain["sequence"] + 1,
            previous=record_hash(dumps(prepared.record)),
            valid_from=prepared.record["validFrom"],
        ),
        repairer,
        created=prepared.record["validFrom"],
    )
    successor = {"record": prepared.record, "partitions": list(prepared.partitions.values())}
    size = world.ledger.info().size
    assert_problem(
        world.client.post(
            f"/passports/{pid}/status", json={"record": change, "successor": successor}
        ),
        403,
        "status_change_no_basis",
    )
    assert world.ledger.info().size == size
    assert load_state(world.ledger, pid) == state
