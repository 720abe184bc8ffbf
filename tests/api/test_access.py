"""Each access role sees exactly what it may through every endpoint.

``VISIBILITY`` lists every GET operation of the OpenAPI document with the audiences allowed to see
its content. The ledger's records, actors and log are public by design (anyone verifies), so
every role sees the same; the routes about a passport and its pack are classified by partition
in ``test_api_passport_access.PARTITION_VISIBILITY`` (each role: exactly its Annex XIII
partitions). A new GET route fails ``test_every_get_route_is_classified`` until it declares its
audience in one of the two tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from passport.document.access import AccessRole
from passport.ledger.pipeline import Ledger
from signing.keys import SigningKey
from tests.api.test_passport_access import PARTITION_VISIBILITY
from tests.conftest import Actors
from tests.helpers.api import bearer, client, login

__all__ = ["client"]

ALL = frozenset(AccessRole)

VISIBILITY: dict[str, frozenset[AccessRole]] = {
    "/records": ALL,
    "/records/{record_hash}": ALL,
    # a record's Disclosures: its issuer, a Transfer's buyer and authorities
    # (tests/api/test_disclosure_reads.py); of the readers here (none of them the issuer), the
    # authority only
    "/records/{record_hash}/disclosures": frozenset({AccessRole.AUTHORITY}),
    "/actors": ALL,
    "/actors/{did}": ALL,
    "/keys/{multikey}": ALL,
    "/log": ALL,
    "/log/checkpoint": ALL,
    "/log/inclusion/{record_hash}": ALL,
    "/log/consistency": ALL,
    "/auth/keys": ALL,
    "/auth/whoami": ALL,  # each caller sees itself
    "/.well-known/gs1resolver": ALL,
}
"""Every GET route and the audiences that may read its content."""

POLICY_ROUTES = frozenset({"/lots/{lot}/rollup", "/lots/{lot}/rollup/explain/{figure}"})
"""Routes whose content depends on the reader's relation to a lot (creator, holder, downstream,
authority), not on its audience: enumerated per reader in tests/api/test_access_policy.py."""

READER_DEPENDENT = frozenset({"/actors/{did}"})
"""Routes whose body differs by reader within what the audience may see: an actor's facilities
go to the actor, the operator and authorities (tests/api/test_access_policy.py)."""

ROLE_OF: dict[AccessRole, tuple[str, ...]] = {
    AccessRole.PUBLIC: ("miner",),
    AccessRole.LEGITIMATE_INTEREST: ("repairer",),
    AccessRole.AUTHORITY: ("authority",),
}


def test_every_get_route_is_classified(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    gets = {path for path, item in paths.items() if "get" in item}
    assert gets == set(VISIBILITY) | set(PARTITION_VISIBILITY) | POLICY_ROUTES
    assert not set(VISIBILITY) & set(PARTITION_VISIBILITY)


def _urls(ledger: Ledger, actor: SigningKey) -> dict[str, Callable[[], tuple[str, dict[str, Any]]]]:
    head = ledger.chain_head(actor.did)[1]
    return {
        "/records": lambda: ("/records", {"issuer": actor.did}),
        "/records/{record_hash}": lambda: (f"/records/{head}", {}),
        "/records/{record_hash}/disclosures": lambda: (f"/records/{head}/disclosures", {}),
        "/actors": lambda: ("/actors", {}),
        "/actors/{did}": lambda: (f"/actors/{actor.did}", {}),
        "/keys/{multikey}": lambda: (f"/keys/{actor.multikey}", {}),
        "/log": lambda: ("/log", {}),
        "/log/checkpoint": lambda: ("/log/checkpoint", {}),
        "/log/inclusion/{record_hash}": lambda: (f"/log/inclusion/{head}", {}),
        "/log/consistency": lambda: ("/log/consistency", {"old": 1}),
        "/auth/keys": lambda: ("/auth/keys", {}),
        "/.well-known/gs1resolver": lambda: ("/.well-known/gs1resolver", {}),
    }


@pytest.mark.parametrize("route", sorted(set(VISIBILITY) - {"/auth/whoami"}))
def test_each_role_sees_exactly_its_audiences(
    client: TestClient, ledger: Ledger, actors: Actors, route: str
) -> None:
    readers = {role: actors.add(*roles) for role, roles in ROLE_OF.items()}
    refiner = actors.add("refiner")
    ledger.append(
        ledger.sign_new(refiner, "KeyRotation", {"nextKey": SigningKey.generate().multikey})
    )
    url, params = _urls(ledger, refiner)[route]()
    bodies = {}
    for role, key in readers.items():
        token = login(client, key.did, key)
        assert client.get("/auth/whoami", headers=bearer(token)).json()["access_role"] == role
        response = client.get(url, params=params, headers=bearer(token))
        allowed = role in VISIBILITY[route]
        assert response.status_code == (200 if allowed else 403), (role, response.text)
        bodies[role] = response.content
    anonymous = client.get(url, params=params)
    assert anonymous.status_code == (200 if AccessRole.PUBLIC in VISIBILITY[route] else 403)
    if route in READER_DEPENDENT:
        assert anonymous.json()["facilities"] is None
        assert bodies[AccessRole.AUTHORITY] != anonymous.content
        del bodies[AccessRole.AUTHORITY]
    if VISIBILITY[route] == ALL:
        assert len({anonymous.content, *bodies.values()}) == 1  # nobody sees more or less
