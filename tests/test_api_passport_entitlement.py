"""Legitimate interest is per battery (issue #20, item 4; Art. 77(2), Annex XIII).

Points 2 and 4 of a passport go to the persons with a legitimate interest *in that battery*: its
economic operator, the actors it granted access (a signed, revocable ``PassportAccessGrant``) or
mandated, and the actors holding the battery (the pack lot, or a vehicle lot built from it, by
an accepted Transfer). Authorities read points 1 to 3 as before. A bearer token only says who
the reader is: what it may read of a passport is decided from the ledger at each request.

The attack tests come first: each is a reader with a valid token that read points 2 and 4 of a
passport it has no business with.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from test_api_passport_support import OPERATOR, open_sample
from test_api_support import BASE_URL, bearer, login, make_client

from passport.ledger.pipeline import Ledger
from passport.service.views import full_document
from passport.store.sql.tables import Actor
from samples.generate import SampleSummary
from signing.keys import SigningKey


@dataclass
class World:
    """One sample passport (Elbe Motors' pack) and readers in every relation to it."""

    ledger: Ledger
    summary: SampleSummary
    client: TestClient
    keys: dict[str, SigningKey]

    @property
    def passport_id(self) -> str:
        pid = self.summary.packs[0].passport_id
        assert pid is not None
        return pid

    @property
    def resolver_path(self) -> str:
        return self.summary.packs[0].battery_id.removeprefix(BASE_URL)

    def token(self, who: str) -> str:
        key = self.keys[who]
        return login(self.client, key.did, key)

    def secrets(self) -> list[str]:
        """What only points 2 and 4 hold: their salts."""
        document = full_document(self.ledger, self.passport_id)
        return [document["point2"]["salt"], document["point4"]["salt"]]


def register(ledger: Ledger, name: str, *roles: str) -> SigningKey:
    key = SigningKey.generate()
    subject = {"id": key.did, "name": name, "country": "DE", "roles": list(roles)}
    ledger.append(ledger.sign_new(OPERATOR, "ActorRegistration", subject))
    return key


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    ledger, summary, drop = open_sample(tmp_path_factory.mktemp("entitlement"))
    keys = {slug: summary.actor(slug).key for slug in ("elbe", "saale", "msa", "rbr")}
    keys["rival"] = register(ledger, "Rival Motors (OEM B)", "oem")
    keys["loner"] = register(ledger, "Unrelated Repairs", "repairer")
    keys["fallen"] = register(ledger, "Former Authority", "authority")
    with make_client(ledger) as client:
        yield World(ledger, summary, client, keys)
    ledger.close()
    drop()


def _leaks(world: World, response_text: str) -> bool:
    return any(secret in response_text for secret in world.secrets())


# -- the attacks -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "who",
    [
        pytest.param("rival", id="competitor-oem"),
        pytest.param("loner", id="repairer-without-grant"),
        pytest.param("rbr", id="recycler-not-holding"),
    ],
)
def test_attack_an_unrelated_actor_reads_points_2_and_4(world: World, who: str) -> None:
    headers = bearer(world.token(who))
    url = f"/passports/{world.passport_id}"
    for path in (url, f"{url}/bundle", f"{url}/compliance", world.resolver_path):
        default = world.client.get(path, headers={**headers, "Accept": "application/json"})
        assert (default.status_code, _leaks(world, default.text)) == (200, False), path
    asked = world.client.get(url, params={"role": "legitimate-interest"}, headers=headers)
    assert (asked.status_code, _leaks(world, asked.text)) == (403, False)
    assert asked.json()["code"] == "access_not_entitled"


def test_attack_a_token_outlives_the_role_it_was_issued_for(world: World) -> None:
    """The token names the roles the actor had; the ledger decides at each request."""
    token = world.token("fallen")
    url = f"/passports/{world.passport_id}"
    before = world.client.get(url, headers=bearer(token)).json()
    assert before["role"] == "authority"
    # No record kind removes a role yet: the operator's database change stands in for it.
    with world.ledger.repo.engine.begin() as conn:
        conn.execute(
            update(Actor.__table__)  # type: ignore[arg-type]
            .where(Actor.__table__.c.did == world.keys["fallen"].did)  # type: ignore[attr-defined]
            .values(roles=["miner"])
        )
    after = world.client.get(url, headers=bearer(token))
    assert (after.status_code, after.json()["role"]) == (200, "public")
    asked = world.client.get(url, params={"role": "authority"}, headers=bearer(token))
    assert (asked.status_code, asked.json().get("code")) == (403, "access_not_entitled")
