"""Issue #20, item 5: a flood of anonymous ``POST /auth/challenge`` must not lock a real user out.

Before the fix, 10,100 anonymous challenge requests in 64 s evicted a real user's pending
challenge (the store dropped the oldest to make room) and that user's login failed. Now each
client address and each DID is rate-limited (429 + ``Retry-After``), and a full store refuses new
challenges (429 + ``Retry-After``) instead of evicting a pending one.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from api.auth import ChallengeStore
from api.errors import ChallengesFullError
from passport.ledger.pipeline import Ledger
from signing.jws import b64url_encode
from signing.keys import SigningKey
from tests.conftest import Actors
from tests.helpers.api import BASE_URL, assert_problem, make_client

FLOOD = 200
"""Most requests a test sends: far beyond every limit it configures."""


def at(client: TestClient, host: str) -> TestClient:
    """Another client of the same app, connecting from ``host``."""
    return TestClient(client.app, base_url=BASE_URL, client=(host, 40000))


def ask(client: TestClient, did: str) -> httpx.Response:
    response: httpx.Response = client.post("/auth/challenge", json={"did": did})
    return response


def answer(client: TestClient, key: SigningKey, text: str) -> httpx.Response:
    signature = b64url_encode(key.sign(text.encode("utf-8")))
    response: httpx.Response = client.post(
        "/auth/token", json={"did": key.did, "challenge": text, "signature": signature}
    )
    return response


def flood_until_refused(client: TestClient, dids: list[str]) -> httpx.Response:
    """Ask for challenges (cycling through ``dids``) until one is refused; at most FLOOD asks."""
    for n in range(FLOOD):
        response = ask(client, dids[n % len(dids)])
        if response.status_code not in (200, 403):  # 403: an unregistered DID
            return response
    pytest.fail(f"{FLOOD} challenge requests were all served")


def assert_retry_later(response: httpx.Response, code: str) -> None:
    body = assert_problem(response, 429, code)
    retry = int(response.headers["retry-after"])
    assert retry >= 1 and body["retryAfter"] == retry


def challenge_count(ledger: Ledger) -> int:
    with ledger.repo.read() as tx:
        return tx.count_challenges()


def test_a_flood_from_one_address_is_refused_and_the_real_user_still_logs_in(
    ledger: Ledger, actors: Actors
) -> None:
    user = actors.add("authority")
    victim = actors.add("repairer")  # a DID the attacker names, as anyone may
    with make_client(ledger, challenge_client_limit=20, challenge_did_limit=1000) as client:
        real = at(client, "198.51.100.10")
        pending = ask(real, user.did).json()["challenge"]  # issued before the flood
        attacker = at(client, "203.0.113.66")
        assert_retry_later(flood_until_refused(attacker, [victim.did]), "rate_limited")
        stored = challenge_count(ledger)
        assert stored == 21  # the user's one and the attacker's twenty: nothing more written
        assert_retry_later(ask(attacker, victim.did), "rate_limited")  # still refused
        assert challenge_count(ledger) == stored
        assert answer(real, user, pending).status_code == 200
        # the real user may also ask again: the attacker's refusals are not theirs
        assert answer(real, user, ask(real, user.did).json()["challenge"]).status_code == 200


def test_many_distinct_dids_from_one_address_are_limited_too(
    ledger: Ledger, actors: Actors
) -> None:
    with make_client(ledger, challenge_client_limit=20, challenge_did_limit=1000) as client:
        attacker = at(client, "203.0.113.67")
        registered = [actors.add("miner").did for _ in range(3)]
        unregistered = [SigningKey.generate().did for _ in range(FLOOD)]  # 403, still counted
        dids = registered + unregistered
        assert_retry_later(flood_until_refused(attacker, dids), "rate_limited")
        assert challenge_count(ledger) <= 3


def test_one_did_asked_for_from_many_addresses_is_limited(ledger: Ledger, actors: Actors) -> None:
    victim = actors.add("oem")
    with make_client(ledger, challenge_client_limit=1000, challenge_did_limit=5) as client:
        for n in range(FLOOD):
            response = ask(at(client, f"203.0.113.{n % 250 + 1}"), victim.did)
            if response.status_code != 200:
                break
        assert n == 5
        assert_retry_later(response, "rate_limited")
        assert challenge_count(ledger) == 5


def test_ipv6_clients_are_limited_per_64_prefix(ledger: Ledger, actors: Actors) -> None:
    victim = actors.add("oem")
    with make_client(ledger, challenge_client_limit=4, challenge_did_limit=1000) as client:
        for n in range(4):
            assert ask(at(client, f"2001:db8:1:2::{n + 1:x}"), victim.did).status_code == 200
        assert_retry_later(ask(at(client, "2001:db8:1:2::ffff"), victim.did), "rate_limited")
        assert ask(at(client, "2001:db8:1:3::1"), victim.did).status_code == 200


def test_a_full_store_refuses_instead_of_evicting_a_pending_challenge(
    ledger: Ledger, actors: Actors
) -> None:
    user = actors.add("authority")
    others = [actors.add("miner") for _ in range(3)]
    with make_client(ledger, max_pending_challenges=3) as client:
        pending = ask(at(client, "198.51.100.10"), user.did).json()["challenge"]
        for n, other in enumerate(others[:2]):
            assert ask(at(client, f"203.0.113.{n + 1}"), other.did).status_code == 200
        assert challenge_count(ledger) == 3
        assert_retry_later(ask(at(client, "203.0.113.9"), others[2].did), "challenges_full")
        assert challenge_count(ledger) == 3
        assert answer(at(client, "198.51.100.10"), user, pending).status_code == 200
        # a slot is free again: the next request is served
        assert ask(at(client, "203.0.113.9"), others[2].did).status_code == 200


def test_challenge_store_refuses_when_full_and_sweeps_expired(ledger: Ledger) -> None:
    now = [1000.0]
    store = ChallengeStore(ledger.repo, ttl=60, capacity=2, clock=lambda: now[0])
    first = store.issue("did:key:z1", "aud")[0]
    now[0] += 10
    store.issue("did:key:z1", "aud")
    with pytest.raises(ChallengesFullError) as refused:
        store.issue("did:key:z1", "aud")
    assert refused.value.details["retryAfter"] == 50  # when the first one expires
    store.take(first, "did:key:z1")  # never evicted
    now[0] += 61
    store.issue("did:key:z1", "aud")  # expired ones are swept first
    assert store.pending() == 1
