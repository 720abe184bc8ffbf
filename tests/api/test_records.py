"""``/records`` over HTTP: append, retry, read back, list; every rejection a problem+json with its
stable code, and nothing written."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from passport.ledger.pipeline import Ledger
from passport.records.envelope import build_record, sign_record
from signing.jcs import canonicalize
from signing.keys import SigningKey
from tests.conftest import Actors, rotation_chain
from tests.helpers.api import assert_problem, client, make_client, post_record

__all__ = ["client"]  # the fixture, re-exported for pytest


def registration(ledger: Ledger, operator: SigningKey, role: str = "miner") -> dict[str, Any]:
    key = SigningKey.generate()
    return ledger.sign_new(
        operator, "ActorRegistration", {"id": key.did, "name": "X", "roles": [role]}
    )


def log_state(ledger: Ledger) -> tuple[int, int]:
    with ledger.repo.read() as tx:
        return tx.log_size()[0], tx.count_records()


def test_append_returns_201_and_receipt_then_200_on_retry(
    client: TestClient, ledger: Ledger, operator_key: SigningKey
) -> None:
    record = registration(ledger, operator_key)
    first = post_record(client, record)
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["leafIndex"] == 1 and receipt["existing"] is False
    assert first.headers["location"] == f"/records/{receipt['recordHash']}"
    again = post_record(client, record)
    assert again.status_code == 200
    assert again.json() == {**receipt, "existing": True}
    assert log_state(ledger) == (2, 2)


def test_get_record_serves_the_stored_canonical_bytes(
    client: TestClient, ledger: Ledger, operator_key: SigningKey
) -> None:
    record = registration(ledger, operator_key)
    pretty = json.dumps(record, indent=3).encode()  # any spelling in, canonical bytes out
    receipt = client.post("/records", content=pretty).json()
    for _ in range(2):  # the second read comes from the cache
        got = client.get(f"/records/{receipt['recordHash']}")
        assert got.status_code == 200
        assert got.headers["content-type"] == "application/json"
        assert got.content == canonicalize(record)
        assert "sha256:" + hashlib.sha256(got.content).hexdigest() == receipt["recordHash"]
        assert got.headers["etag"] == f'"{receipt["recordHash"]}"'


def test_get_unknown_or_malformed_hash(client: TestClient) -> None:
    assert_problem(client.get("/records/sha256:" + "0" * 64), 404, "not_found")
    body = assert_problem(client.get("/records/sha256:XYZ"), 422, "request_invalid")
    assert body["problems"][0]["in"] == "path"


def test_list_by_issuer_pages_in_chain_order(
    client: TestClient, ledger: Ledger, operator_key: SigningKey
) -> None:
    for _ in range(4):
        assert post_record(client, registration(ledger, operator_key)).status_code == 201
    page = client.get("/records", params={"issuer": operator_key.did, "limit": 3}).json()
    assert [r["sequence"] for r in page["items"]] == [1, 2, 3]
    assert page["nextAfter"] == 3
    rest = client.get(
        "/records", params={"issuer": operator_key.did, "after": page["nextAfter"]}
    ).json()
    assert [r["sequence"] for r in rest["items"]] == [4, 5] and rest["nextAfter"] is None
    assert rest["items"][0]["kind"] == "ActorRegistration"
    none = client.get("/records", params={"issuer": SigningKey.generate().did}).json()
    assert none == {"items": [], "nextAfter": None}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"issuer": "not-a-did"},
        {"issuer": "did:key:z6Mk", "limit": 0},
        {"issuer": "did:key:z", "after": -1},
    ],
)
def test_list_with_bad_parameters_is_422(client: TestClient, params: dict[str, Any]) -> None:
    body = assert_problem(client.get("/records", params=params), 422, "request_invalid")
    assert all(p["in"] == "query" and p["pointer"].startswith("/") for p in body["problems"])


def test_fork_is_409_chain_fork(
    client: TestClient, ledger: Ledger, operator_key: SigningKey
) -> None:
    a = registration(ledger, operator_key)
    b = registration(ledger, operator_key)  # same head: same sequence as a
    assert post_record(client, a).status_code == 201
    before = log_state(ledger)
    body = assert_problem(post_record(client, b), 409, "chain_fork")
    assert body["sequence"] == a["chain"]["sequence"]
    assert log_state(ledger) == before


def test_gap_is_409_chain_gap(client: TestClient, ledger: Ledger, operator_key: SigningKey) -> None:
    head, previous = ledger.chain_head(operator_key.did)
    unsigned = build_record(
        "ActorRegistration",
        issuer=operator_key.did,
        subject={"id": SigningKey.generate().did, "name": "G", "roles": ["miner"]},
        sequence=head + 2,
        previous=previous,
        valid_from="2026-01-01T00:00:00Z",
    )
    body = assert_problem(
        post_record(client, sign_record(unsigned, operator_key)), 409, "chain_gap"
    )
    assert body["expected"] == head + 1


def test_forged_signature_is_422_proof_invalid(
    client: TestClient, ledger: Ledger, operator_key: SigningKey
) -> None:
    record = registration(ledger, operator_key)
    forged = copy.deepcopy(record)
    forged["credentialSubject"]["name"] = "Someone else"
    before = log_state(ledger)
    assert_problem(post_record(client, forged), 422, "proof_invalid")
    assert log_state(ledger) == before


def test_wrong_role_is_403_role_forbidden(
    client: TestClient, ledger: Ledger, actors: Actors
) -> None:
    miner = actors.add("miner")
    record = ledger.sign_new(
        miner,
        "ActorRegistration",
        {"id": SigningKey.generate().did, "name": "Y", "roles": ["miner"]},
    )
    body = assert_problem(post_record(client, record), 403, "role_forbidden")
    assert body["kind"] == "ActorRegistration"


def test_unknown_issuer_is_403(client: TestClient, ledger: Ledger) -> None:
    stranger = SigningKey.generate()
    record = ledger.sign_new(stranger, "KeyRotation", {"nextKey": SigningKey.generate().multikey})
    assert_problem(post_record(client, record), 403, "unknown_issuer")


def test_rotated_key_is_403(client: TestClient, ledger: Ledger, actors: Actors) -> None:
    miner = actors.add("miner")
    nxt = SigningKey.generate()
    stale = ledger.sign_new(miner, "KeyRotation", {"nextKey": SigningKey.generate().multikey})
    assert (
        post_record(
            client, ledger.sign_new(miner, "KeyRotation", {"nextKey": nxt.multikey})
        ).status_code
        == 201
    )
    # the stale record also collides with the chain, but the key check comes first
    assert_problem(post_record(client, stale), 403, "key_rotated")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{", "record_malformed"),
        (b'{"a": 1, "a": 2}', "record_malformed"),
        (b"[1, 2]", "record_malformed"),
        (b"\xff\xfe{}", "record_malformed"),
        (b"", "record_malformed"),
        (b'{"x": NaN}', "record_malformed"),
    ],
)
def test_malformed_json_is_400(client: TestClient, body: bytes, code: str) -> None:
    assert_problem(client.post("/records", content=body), 400, code)


def test_wrong_types_and_unknown_fields_are_422_with_pointers(
    client: TestClient, ledger: Ledger, operator_key: SigningKey
) -> None:
    record = registration(ledger, operator_key)
    wrong = {**record, "issuer": 5, "extra": True}
    body = assert_problem(post_record(client, wrong), 422, "schema_invalid")
    pointers = {p["pointer"] for p in body["problems"]}
    assert "/issuer" in pointers and "/" in pointers  # additionalProperties is reported at the root
    subject = copy.deepcopy(record)
    subject["credentialSubject"]["roles"] = "miner"
    body = assert_problem(post_record(client, subject), 422, "schema_invalid")
    assert body["problems"][0]["pointer"] == "/credentialSubject/roles"


def test_unknown_kind_is_422(client: TestClient, ledger: Ledger, operator_key: SigningKey) -> None:
    record = ledger.sign_new(operator_key, "NoSuchThing", {"x": 1})
    assert_problem(post_record(client, record), 422, "unknown_kind")


def test_oversized_record_is_413_by_content_length(client: TestClient) -> None:
    body = b'{"x": "' + b"a" * (256 * 1024) + b'"}'
    assert_problem(client.post("/records", content=body), 413, "record_too_large")


def test_oversized_record_is_413_when_streamed_without_length(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"x": "'
        for _ in range(300):
            yield b"a" * 1024
        yield b'"}'

    response = client.post("/records", content=chunks())
    assert_problem(response, 413, "record_too_large")


def test_other_endpoints_have_a_small_body_cap(client: TestClient) -> None:
    big = b'{"did": "' + b"a" * (70 * 1024) + b'"}'
    assert_problem(client.post("/auth/challenge", content=big), 413, "request_too_large")


# -- batches -----------------------------------------------------------------------------------
def test_batch_appends_all_then_retry_is_200(
    client: TestClient, ledger: Ledger, operator_key: SigningKey, actors: Actors
) -> None:
    miner = actors.add("miner")
    did = miner.did
    assert ledger.chain_head(did) == (0, None)
    records = rotation_chain(did, miner, 3)
    response = client.post("/records/batch", content=json.dumps(records))
    assert response.status_code == 201, response.text
    receipts = response.json()
    assert [r["existing"] for r in receipts] == [False] * 3
    assert len({r["leafIndex"] for r in receipts}) == 3
    again = client.post("/records/batch", content=json.dumps(records))
    assert again.status_code == 200 and all(r["existing"] for r in again.json())


def test_batch_is_all_or_nothing_and_names_the_bad_item(
    client: TestClient, ledger: Ledger, operator_key: SigningKey
) -> None:
    good = registration(ledger, operator_key)
    stranger = SigningKey.generate()
    bad = ledger.sign_new(stranger, "KeyRotation", {"nextKey": SigningKey.generate().multikey})
    before = log_state(ledger)
    response = client.post("/records/batch", content=json.dumps([good, bad]))
    body = assert_problem(response, 403, "unknown_issuer")
    assert body["index"] == 1
    assert log_state(ledger) == before
    forged = copy.deepcopy(good)
    forged["credentialSubject"]["name"] = "Z"
    body = assert_problem(
        client.post("/records/batch", content=json.dumps([good, forged])), 422, "proof_invalid"
    )
    assert body["index"] == 1
    assert log_state(ledger) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"[", 400, "json_malformed"),
        (b'[{"a": 1, "a": 1}]', 400, "json_malformed"),
        (b"{}", 422, "batch_invalid"),
        (b"[]", 422, "batch_invalid"),
        (b"[1]", 400, "record_malformed"),
        (b'[{"x": 1}]', 422, "schema_invalid"),
    ],
)
def test_bad_batches(client: TestClient, body: bytes, status: int, code: str) -> None:
    assert_problem(client.post("/records/batch", content=body), status, code)


def test_batch_limits(ledger: Ledger, operator_key: SigningKey) -> None:
    with make_client(ledger, max_batch_records=2, max_batch_bytes=4096) as small:
        records = [registration(ledger, operator_key) for _ in range(3)]
        body = assert_problem(
            small.post("/records/batch", content=b"[{},{},{}]"), 413, "batch_too_large"
        )
        assert body["limit"] == 2
        assert_problem(
            small.post("/records/batch", content=json.dumps(records) + " " * 4096),
            413,
            "batch_too_large",
        )


# -- HTTP-level errors -------------------------------------------------------------------------
def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/no/such/thing"), 404, "route_not_found")
    response = client.put("/records", content=b"{}")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


def test_unexpected_failure_is_a_bare_500_and_is_logged(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    with make_client(ledger) as c:

        def boom() -> None:
            raise RuntimeError("secret internal state")

        c.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
        response = c.get("/boom")
    body = assert_problem(response, 500, "internal_error")
    assert "secret" not in response.text and "Traceback" not in response.text
    assert set(body) == {"type", "title", "status", "detail", "code"}
    assert "secret internal state" in caplog.text  # logged server-side


def test_every_category_has_a_status() -> None:
    from api.problems import STATUS_BY_CATEGORY, problem_body
    from passport.errors import StorageUnavailableError
    from signing.errors import Category

    assert set(STATUS_BY_CATEGORY) == set(Category.__args__)  # type: ignore[attr-defined]
    body = problem_body(StorageUnavailableError("database down"))
    assert (body["status"], body["code"]) == (503, "storage_unavailable")


def test_after_beyond_the_sequence_column_is_422(client: TestClient) -> None:
    params = {"issuer": "did:key:z6Mk", "after": 2**31}
    assert_problem(client.get("/records", params=params), 422, "request_invalid")


def test_confidential_records_with_their_disclosures(
    client: TestClient, ledger: Ledger, operator_key: SigningKey
) -> None:
    from passport.records.confidential import new_lot_id
    from tests.helpers.chain import Chain

    chain = Chain(ledger, operator_key)
    Chain.created.remove(chain)  # its memory mirror replays stored bytes, without Disclosures
    miner = chain.party("miner", country="CA")
    lot = new_lot_id()
    signed = ledger.sign_new(
        miner.key,
        "Extraction",
        chain.extraction_subject(miner, lot, 7_654_321, {"Ni": 20_000}),
        confidential=True,
    )
    wrapped = {"record": signed.record, "disclosures": list(signed.disclosures)}
    before = log_state(ledger)
    missing = {**wrapped, "disclosures": list(signed.disclosures[1:])}
    assert_problem(client.post("/records", content=json.dumps(missing)), 422, "disclosure_missing")
    bad = {**wrapped, "disclosures": "not a list"}
    assert_problem(client.post("/records", content=json.dumps(bad)), 400, "record_malformed")
    assert log_state(ledger) == before
    response = client.post("/records", content=json.dumps(wrapped))
    assert response.status_code == 201, response.text
    h = response.json()["recordHash"]
    served = client.get(f"/records/{h}").content
    assert served == canonicalize(signed.record) and b"7654321" not in served

    transfer = ledger.sign_new(
        miner.key,
        "Transfer",
        {"lot": lot, "record": h, "massGrams": 5, "buyer": chain.party("refiner").did},
        confidential=True,
    )
    batch = [{"record": transfer.record, "disclosures": list(transfer.disclosures)}]
    response = client.post("/records/batch", content=json.dumps(batch))
    assert response.status_code == 201, response.text
    with ledger.repo.read() as tx:
        assert sorted(tx.disclosures_of(response.json()[0]["recordHash"])) == sorted(
            transfer.disclosures
        )
