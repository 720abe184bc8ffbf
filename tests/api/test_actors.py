"""``/actors`` and ``/keys`` over HTTP; registration only by signed record, no unsigned write."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.testclient import TestClient

from passport.ledger.pipeline import Ledger
from signing.keys import SigningKey
from tests.conftest import Actors
from tests.helpers.api import assert_problem, bearer, client, login, post_record

__all__ = ["client"]


def test_list_actors(client: TestClient, actors: Actors, operator_key: SigningKey) -> None:
    miner = actors.add("miner", name="Mine Co", country="CL")
    listed = {a["did"]: a for a in client.get("/actors").json()}
    assert listed[operator_key.did]["roles"] == ["operator"]
    assert listed[operator_key.did]["records"] == 2
    assert listed[miner.did] == {
        "did": miner.did,
        "name": "Mine Co",
        "country": "CL",
        "roles": ["miner"],
        "records": 0,
    }


def test_actor_detail_has_keys_and_chain_head(
    client: TestClient, ledger: Ledger, operator_key: SigningKey
) -> None:
    key = SigningKey.generate()
    facility = {"id": "F1", "name": "Plant", "country": "DE"}
    record = ledger.sign_new(
        operator_key,
        "ActorRegistration",
        {"id": key.did, "name": "Cell Co", "roles": ["cell-maker"], "facilities": [facility]},
    )
    registered = post_record(client, record).json()
    rotation = ledger.sign_new(key, "KeyRotation", {"nextKey": SigningKey.generate().multikey})
    rotated = post_record(client, rotation).json()
    detail = client.get(f"/actors/{quote(key.did, safe=':')}").json()
    assert detail["facilities"] is None  # the actor's, the operator's and authorities' only
    operator = bearer(login(client, operator_key.did, operator_key))
    detail = client.get(f"/actors/{quote(key.did, safe=':')}", headers=operator).json()
    assert detail["registration"] == registered["recordHash"]
    history = detail["facilities"][0].pop("history")  # the records that shaped it (FacilityUpdate)
    assert detail["facilities"] == [facility]
    assert [h["record"] for h in history] == [registered["recordHash"]]
    assert detail["chainHead"] == {"sequence": 1, "hash": rotated["recordHash"]}
    assert [k["state"] for k in detail["keys"]] == ["rotated", "active"]
    assert detail["keys"][0]["multikey"] == key.multikey
    assert detail["keys"][0]["retiredBy"] == rotated["recordHash"]


def test_key_lookup_names_its_actor(client: TestClient, actors: Actors) -> None:
    key = actors.add("recycler")
    info = client.get(f"/keys/{key.multikey}").json()
    assert info["actorDid"] == key.did and info["state"] == "active"
    assert_problem(client.get(f"/keys/{SigningKey.generate().multikey}"), 404, "not_found")
    assert_problem(client.get("/keys/not-a-key"), 422, "request_invalid")


def test_unknown_or_malformed_actor(client: TestClient) -> None:
    assert_problem(client.get(f"/actors/{SigningKey.generate().did}"), 404, "not_found")
    assert_problem(client.get("/actors/did:example:123"), 422, "request_invalid")


def test_there_is_no_unsigned_write(client: TestClient) -> None:
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)("/actors")
        assert_problem(response, 405, "method_not_allowed")
