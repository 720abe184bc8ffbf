"""Writing passports over HTTP: issuance by the OEM's signed record and partitions, point-4
updates, status changes (with the successor passport of a repurposed battery, atomically), and the
economic operator's export. Every write is signed by its actor; the API adds nothing unsigned."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from passport.records.envelope import build_record, dumps, record_hash, sign_record
from passport.service.issue import PreparedPassport, prepare_passport, sign_chain
from passport.service.lifecycle import successor_model
from passport.service.views import full_document, load_state
from samples.designs import DESIGNS, model_for
from signing.jcs import canonicalize
from tests.helpers.api import BASE_URL, assert_problem, make_client
from tests.helpers.api_passport import (
    Sample,
    hand_vehicle,
    mandate_over_http,
    open_sample,
    passport_rows,
    signed_status,
    signed_update,
    stamp,
)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    """Three sample packs without passports; each test works on its own pack (so that tests can
    run in any order, on any worker): 0 issuance, 1 updates and export, 2 status changes."""
    ledger, summary, drop = open_sample(tmp_path_factory.mktemp("writes"), packs=3, issue=False)
    with make_client(ledger) as client:
        yield Sample(ledger, summary, client, {})
    ledger.close()
    drop()


def _prepared(s: Sample, index: int) -> PreparedPassport:
    pack = s.summary.packs[index]
    return prepare_passport(
        s.ledger,
        s.key("elbe"),
        pack_lot=pack.lot,
        model=model_for(DESIGNS[s.summary.chemistry], pack),
        base_url=BASE_URL,
        serial=pack.serial,
    )


def _body(record: dict[str, Any], partitions: Any) -> dict[str, Any]:
    return {"record": record, "partitions": list(partitions)}


def _issued(s: Sample, index: int) -> str:
    """The passport of pack ``index``, issued over HTTP."""
    prepared = _prepared(s, index)
    response = s.client.post(
        "/passports", json=_body(prepared.record, prepared.partitions.values())
    )
    assert response.status_code == 201, response.text
    return prepared.passport_id


def test_issue_needs_the_signed_record_and_all_its_partitions(fresh: Sample) -> None:
    prepared = _prepared(fresh, 0)
    body = _body(prepared.record, prepared.partitions.values())
    # an unsigned shortcut is refused: the API takes only what the OEM signed
    assert_problem(
        fresh.client.post("/passports", json={"pack": "urn:lot:x", "model": {}}),
        422,
        "request_invalid",
    )
    missing = _body(prepared.record, [prepared.partitions[n] for n in (1, 2, 3)])
    assert_problem(fresh.client.post("/passports", json=missing), 422, "partition_missing")
    tampered = copy.deepcopy(body)
    tampered["partitions"][1]["credentialSubject"]["data"]["salt"] = "0" * 32
    assert_problem(fresh.client.post("/passports", json=tampered), 422, "partition_missing")
    assert_problem(
        fresh.client.post("/passports", json={"record": {"type": ["X"]}}), 422, "submission_invalid"
    )
    duplicate_keys = b'{"record": {}, "record": {}}'
    assert_problem(
        fresh.client.post(
            "/passports", content=duplicate_keys, headers={"Content-Type": "application/json"}
        ),
        400,
        "json_malformed",
    )
    assert all(row.pack_lot != fresh.summary.packs[0].lot for row in passport_rows(fresh.ledger))

    response = fresh.client.post(
        "/passports", content=canonicalize(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    written = response.json()
    assert written["passportId"] == prepared.passport_id
    assert written["record"] == prepared.record_hash
    assert response.headers["location"] == f"/passports/{prepared.passport_id}"
    assert written["receipt"]["recordHash"] == prepared.record_hash
    again = fresh.client.post("/passports", json=body)
    assert again.status_code == 200 and again.json()["receipt"]["existing"] is True
    view = fresh.client.get(f"/passports/{prepared.passport_id}").json()
    assert view["passport"]["batteryId"] == fresh.summary.packs[0].battery_id


def test_a_passport_signed_by_a_non_oem_is_refused(fresh: Sample) -> None:
    pack = fresh.summary.packs[2]
    with pytest.raises(Exception):  # noqa: B017, PT011 (the domain refuses to even prepare it)
        prepare_passport(
            fresh.ledger,
            fresh.key("saale"),
            pack_lot=pack.lot,
            model=model_for(DESIGNS[fresh.summary.chemistry], pack),
            base_url=BASE_URL,
        )
    prepared = _prepared(fresh, 2)
    forged = copy.deepcopy(prepared.record)
    forged["credentialSubject"]["economicOperator"]["name"] = "Forged GmbH"  # after signing
    assert_problem(
        fresh.client.post("/passports", json=_body(forged, prepared.partitions.values())),
        422,
        "proof_invalid",
    )


def test_point4_updates_by_the_repairer_then_the_export(fresh: Sample) -> None:
    pid = _issued(fresh, 1)
    # the repairer needs the economic operator's mandate (appended like any record)
    body = signed_update(fresh.ledger, fresh.key("saale"), pid, {"fullCycles": 1})
    assert_problem(
        fresh.client.post(f"/passports/{pid}/updates", json=body), 403, "point4_not_mandated"
    )
    state = load_state(fresh.ledger, pid)
    subject = {
        "passportId": pid,
        "passport": state.record_hash,
        "mandatary": fresh.ledger.issuer_for_key(fresh.key("saale")),
        "action": "grant",
    }
    (grant,) = sign_chain(
        fresh.ledger, fresh.key("elbe"), [("PassportMandate", subject)], valid_from=stamp()
    )
    # the mandates route takes only a PassportMandate for this passport, without partitions
    other = "urn:bpass:" + "1" * 32
    assert_problem(
        fresh.client.post(f"/passports/{other}/mandates", json={"record": grant}),
        422,
        "submission_invalid",
    )
    assert_problem(
        fresh.client.post(f"/passports/{pid}/mandates", json={"record": body["record"]}),
        422,
        "submission_invalid",
    )
    assert_problem(
        fresh.client.post(
            f"/passports/{pid}/mandates", json={"record": grant, "partitions": body["partitions"]}
        ),
        422,
        "submission_invalid",
    )
    # signed by the repairer itself, it is refused: only the economic operator mandates
    (self_grant,) = sign_chain(
        fresh.ledger, fresh.key("saale"), [("PassportMandate", subject)], valid_from=stamp()
    )
    assert_problem(
        fresh.client.post(f"/passports/{pid}/mandates", json={"record": self_grant}),
        403,
        "role_forbidden",
    )
    granted = fresh.client.post(f"/passports/{pid}/mandates", json={"record": grant})
    assert granted.status_code == 201, granted.text
    again = fresh.client.post(f"/passports/{pid}/mandates", json={"record": grant})
    assert again.status_code == 200 and again.json()["receipt"]["existing"] is True
    body = signed_update(
        fresh.ledger,
        fresh.key("saale"),
        pid,
        {"puttingIntoService": "2026-11-02T08:00:00Z"},
    )
    other = "urn:bpass:" + "1" * 32
    assert_problem(
        fresh.client.post(f"/passports/{other}/updates", json=body), 422, "submission_invalid"
    )
    assert_problem(
        fresh.client.post(f"/passports/{pid}/updates", json={"record": body["record"]}),
        422,
        "partition_missing",
    )
    response = fresh.client.post(f"/passports/{pid}/updates", json=body)
    assert response.status_code == 201, response.text
    body_of_update = body["record"]
    stale = signed_update(fresh.ledger, fresh.key("saale"), pid, {})
    stale["record"]["credentialSubject"]["supersedes"] = body["record"]["credentialSubject"][
        "supersedes"
    ]
    # re-signed over the stale subject: a valid signature, an outdated base
    unsigned = {k: v for k, v in stale["record"].items() if k != "proof"}
    stale["record"] = sign_record(unsigned, fresh.key("saale"), created=unsigned["validFrom"])
    assert_problem(
        fresh.client.post(f"/passports/{pid}/updates", json=stale), 409, "passport_stale"
    )
    view = fresh.client.get(f"/passports/{pid}", headers=fresh.headers("legitimate-interest"))
    assert view.json()["passport"]["point4"]["puttingIntoService"] == "2026-11-02T08:00:00Z"
    public = fresh.client.get(f"/passports/{pid}").json()
    assert "point4" not in public["passport"]
    # the economic operator exports the whole passport (now that point 4 says when it went
    # into service); nobody else may
    for who in ("public", "legitimate-interest", "authority", "ebs"):
        assert_problem(
            fresh.client.get(f"/passports/{pid}/export", headers=fresh.headers(who)),
            403,
            "export_forbidden",
        )
    response = fresh.client.get(
        f"/passports/{pid}/export",
        params={"performanceVersion": "1.2.0"},
        headers=fresh.headers("elbe"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["format"] == "batterypass" and body["performanceVersion"] == "1.2.0"
    assert len(body["aspects"]) == 7
    assert response.headers["cache-control"] == "private, no-store"
    # the export and the view name the same version by its canonical hash: the update's record
    updated = view.json()
    assert updated["version"]["kind"] == "PassportUpdate"
    assert body["passportVersion"] == updated["version"] == updated["versions"][-1]
    assert body["passportVersion"]["hash"] == record_hash(canonicalize(body_of_update))


def test_repurposing_then_waste_then_recycled(fresh: Sample) -> None:
    pid = _issued(fresh, 2)
    key = fresh.key("saale")
    # the repairer acts for the economic operator, which mandates it (Art. 77(6))
    mandate_over_http(fresh, pid, "saale")
    state = load_state(fresh.ledger, pid)
    document = full_document(fresh.ledger, pid)
    prepared = prepare_passport(
        fresh.ledger,
        key,
        pack_lot=fresh.summary.packs[2].lot,
        model=successor_model(document),
        base_url=BASE_URL,
        battery_id=state.battery_id,
        status="repurposed",
        predecessor=state,
    )
    subject = {
        "passportId": pid,
        "passport": state.record_hash,
        "from": state.status,
        "to": "repurposed",
        "successor": {"passportId": prepared.passport_id, "record": prepared.record_hash},
    }
    chain = prepared.record["chain"]
    change = sign_record(
        build_record(
            "PassportStatusChange",
            issuer=prepared.record["issuer"],
            subject=subject,
            sequence=chain["sequence"] + 1,
            previous=record_hash(dumps(prepared.record)),
            valid_from=prepared.record["validFrom"],
        ),
        key,
        created=prepared.record["validFrom"],
    )
    successor = _body(prepared.record, prepared.partitions.values())
    # without its successor (which comes first in the repairer's chain) it is refused
    before = fresh.ledger.info().size
    assert_problem(
        fresh.client.post(f"/passports/{pid}/status", json={"record": change}), 409, "chain_gap"
    )
    assert fresh.ledger.info().size == before
    response = fresh.client.post(
        f"/passports/{pid}/status", json={"record": change, "successor": successor}
    )
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["status"] == "repurposed"
    assert out["successor"]["passportId"] == prepared.passport_id
    assert out["successor"]["receipt"]["leafIndex"] + 1 == out["receipt"]["leafIndex"]
    # the battery's link now resolves to the successor passport
    path = fresh.summary.packs[2].battery_id.removeprefix(BASE_URL)
    resolved = fresh.client.get(path, headers={"Accept": "application/json"}).json()
    assert resolved["passport"]["passportId"] == prepared.passport_id
    assert resolved["passport"]["status"] == "repurposed"
    old = fresh.client.get(f"/passports/{pid}").json()["passport"]
    assert old["status"] == "repurposed" and old["successor"] == prepared.passport_id
    # the successor goes to waste and is recycled, by the roles allowed to say so
    pid = prepared.passport_id
    miner = signed_status(fresh.ledger, fresh.key("lcc"), pid, "waste")
    assert_problem(fresh.client.post(f"/passports/{pid}/status", json=miner), 403, "role_forbidden")
    wrong = signed_status(fresh.ledger, fresh.key("saale"), pid, "waste")
    assert_problem(
        fresh.client.post(f"/passports/{pid}/updates", json=wrong), 422, "submission_invalid"
    )
    # the recycler records recycling once the OEM has handed it the vehicle (Art. 74, 77(8))
    hand_vehicle(fresh, 2, "rbr")
    for slug, to in (("saale", "waste"), ("rbr", "recycled")):
        body = signed_status(fresh.ledger, fresh.key(slug), pid, to)
        response = fresh.client.post(f"/passports/{pid}/status", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == to
    late = signed_status(fresh.ledger, fresh.key("rbr"), pid, "recycled")
    late["record"]["credentialSubject"]["from"] = "waste"
    unsigned = {k: v for k, v in late["record"].items() if k != "proof"}
    late["record"] = sign_record(unsigned, fresh.key("rbr"), created=unsigned["validFrom"])
    assert_problem(fresh.client.post(f"/passports/{pid}/status", json=late), 409, "passport_closed")
    view = fresh.client.get(f"/passports/{pid}").json()["passport"]
    assert view["status"] == "recycled" and view["ceasedAt"]


def test_passport_bodies_are_size_capped(tmp_path: Path, fresh: Sample) -> None:
    with make_client(fresh.ledger, max_passport_bytes=2048) as small:
        big = {"record": {"x": "y" * 4096}}
        assert_problem(small.post("/passports", json=big), 413, "request_too_large")
