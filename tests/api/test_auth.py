"""``/auth`` over HTTP: challenge → signed challenge → bearer token → access role; every failure
mode of the flow; tokens, signatures and challenges never reach the logs."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi.testclient import TestClient

from api.auth import Principal, decode_signature
from api.deps import AppState
from passport.document.access import AccessRole, role_for_actor
from passport.ledger.pipeline import Ledger
from passport.settings import Settings
from signing.errors import SignatureError
from signing.jws import b64url_decode, b64url_encode, decode_jwt
from signing.keys import SigningKey
from signing.multikey import encode_multibase_signature
from tests.conftest import Actors
from tests.helpers.api import BASE_URL, assert_problem, bearer, client, login, make_client

__all__ = ["client"]


class Clock:
    """A controllable clock for the app's authenticator."""

    def __init__(self, start: float) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(client: TestClient) -> Clock:
    state: AppState = client.app.state.bpass  # type: ignore[attr-defined]
    fake = Clock(state.auth.now())
    state.auth._clock = fake
    return fake


def challenge(client: TestClient, did: str) -> str:
    response = client.post("/auth/challenge", json={"did": did})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    text: str = response.json()["challenge"]
    assert did in text and BASE_URL in text
    return text


def token_request(client: TestClient, did: str, text: str, signature: str) -> httpx.Response:
    body = {"did": did, "challenge": text, "signature": signature}
    response: httpx.Response = client.post("/auth/token", json=body)  # TestClient: Any (httpx2)
    return response


@pytest.mark.parametrize(
    ("roles", "access"),
    [
        (["authority"], "authority"),
        (["repairer"], "legitimate-interest"),
        (["recycler"], "legitimate-interest"),
        (["oem", "pack-maker"], "legitimate-interest"),
        (["miner"], "public"),
        (["certifier"], "public"),
    ],
)
def test_token_carries_the_access_role_of_the_actor(
    client: TestClient, actors: Actors, roles: list[str], access: str
) -> None:
    key = actors.add(*roles)
    text = challenge(client, key.did)
    response = client.post(
        "/auth/token",
        json={
            "did": key.did,
            "challenge": text,
            "signature": b64url_encode(key.sign(text.encode())),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["access_role"] == access
    assert 0 < body["expires_in"] <= 900
    assert response.headers["cache-control"] == "no-store"
    me = client.get("/auth/whoami", headers=bearer(body["access_token"])).json()
    assert me == {"did": key.did, "roles": roles, "access_role": access}


def test_anonymous_reader_is_public(client: TestClient) -> None:
    assert client.get("/auth/whoami").json() == {"did": None, "roles": [], "access_role": "public"}


def test_a_token_is_checked_in_the_thread_pool_and_no_token_checks_nothing(
    client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token check reads the key from the ledger (blocking I/O): it must not run on the
    event loop, which serves every other request meanwhile. An anonymous read checks nothing
    (the dependencies are coroutines, so it costs no thread hop either)."""
    state: AppState = client.app.state.bpass  # type: ignore[attr-defined]
    key = actors.add("authority")
    token = login(client, key.did, key)
    checked: list[bool] = []  # per check: did it run on a thread with a running event loop?
    real = state.auth.principal

    def recording(authorization: str | None) -> Principal | None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            checked.append(False)
        else:
            checked.append(True)
        return real(authorization)

    monkeypatch.setattr(state.auth, "principal", recording)
    assert client.get("/auth/whoami").json()["access_role"] == "public"
    assert checked == []
    assert client.get("/auth/whoami", headers=bearer(token)).json()["access_role"] == "authority"
    assert checked == [False]
    assert_problem(client.get("/auth/whoami", headers=bearer(token + "x")), 401, "token_invalid")
    assert checked == [False, False]


def test_token_is_an_eddsa_jws_verifiable_with_the_published_key(
    client: TestClient, actors: Actors, ledger: Ledger
) -> None:
    key = actors.add("authority")
    token = login(client, key.did, key)
    jwk = client.get("/auth/keys").json()["keys"][0]
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    claims = decode_jwt(token, b64url_decode(jwk["x"]))
    assert claims["sub"] == key.did and claims["access"] == "authority"
    assert claims["aud"] == BASE_URL and claims["iss"] == ledger.info().origin
    assert claims["exp"] - claims["iat"] <= 15 * 60
    assert claims["key"] == key.multikey


def test_multibase_signatures_are_accepted(client: TestClient, actors: Actors) -> None:
    key = actors.add("repairer")
    text = challenge(client, key.did)
    response = token_request(
        client, key.did, text, encode_multibase_signature(key.sign(text.encode()))
    )
    assert response.status_code == 200


def test_a_challenge_is_single_use(client: TestClient, actors: Actors) -> None:
    key = actors.add("authority")
    text = challenge(client, key.did)
    signature = b64url_encode(key.sign(text.encode()))
    assert token_request(client, key.did, text, signature).status_code == 200
    assert_problem(token_request(client, key.did, text, signature), 422, "challenge_invalid")


def test_an_expired_challenge_is_refused(client: TestClient, actors: Actors, clock: Clock) -> None:
    key = actors.add("authority")
    text = challenge(client, key.did)
    clock.t += 121
    response = token_request(client, key.did, text, b64url_encode(key.sign(text.encode())))
    assert_problem(response, 422, "challenge_invalid")


def test_unknown_or_foreign_challenges_are_refused(client: TestClient, actors: Actors) -> None:
    a, b = actors.add("authority"), actors.add("repairer")
    text = challenge(client, a.did)
    forged = text.replace("nonce=", "nonce=x")
    assert_problem(
        token_request(client, a.did, forged, b64url_encode(a.sign(forged.encode()))),
        422,
        "challenge_invalid",
    )
    # a's challenge answered by b (with b's own key) is refused, and consumed
    body = token_request(client, b.did, text, b64url_encode(b.sign(text.encode())))
    assert_problem(body, 422, "challenge_invalid")


def test_wrong_signature_is_refused(client: TestClient, actors: Actors) -> None:
    key = actors.add("authority")
    text = challenge(client, key.did)
    other = SigningKey.generate()
    response = token_request(client, key.did, text, b64url_encode(other.sign(text.encode())))
    assert_problem(response, 422, "signature_invalid")
    text = challenge(client, key.did)
    assert_problem(
        token_request(client, key.did, text, "not-a-signature"), 422, "signature_invalid"
    )


def test_unregistered_did_gets_no_challenge(client: TestClient) -> None:
    response = client.post("/auth/challenge", json={"did": SigningKey.generate().did})
    assert_problem(response, 403, "unknown_issuer")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"did": "did:key:z6Mk", "extra": 1}', 422, "request_invalid"),
        (b'{"did": 5}', 422, "request_invalid"),
        (b'{"did": "not a did"}', 422, "request_invalid"),
        (b"{}", 422, "request_invalid"),
        (b'{"did": ', 400, "json_malformed"),
        (b"[]", 422, "request_invalid"),
    ],
)
def test_bad_challenge_requests(client: TestClient, body: bytes, status: int, code: str) -> None:
    response = client.post(
        "/auth/challenge", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, status, code)


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer not.a.token", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "token"],
)
def test_bad_bearer_tokens_are_401(client: TestClient, header: str) -> None:
    response = client.get("/auth/whoami", headers={"Authorization": header})
    assert_problem(response, 401, "token_invalid")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_expired_token_is_401(client: TestClient, actors: Actors, clock: Clock) -> None:
    key = actors.add("authority")
    token = login(client, key.did, key)
    clock.t += 899
    assert client.get("/auth/whoami", headers=bearer(token)).status_code == 200
    clock.t += 2
    assert_problem(client.get("/auth/whoami", headers=bearer(token)), 401, "token_invalid")


def test_token_from_another_node_is_401(ledger: Ledger, actors: Actors) -> None:
    from tests.helpers.api import make_client

    key = actors.add("authority")
    with make_client(ledger) as here:
        token = login(here, key.did, key)
    from api.app import create_app

    elsewhere = create_app(Settings(public_base_url="https://other.example"), ledger)
    with TestClient(elsewhere, base_url=BASE_URL) as there:
        assert_problem(there.get("/auth/whoami", headers=bearer(token)), 401, "token_invalid")


def test_token_dies_with_its_revoked_key(
    client: TestClient, ledger: Ledger, actors: Actors, operator_key: SigningKey
) -> None:
    key = actors.add("authority")
    token = login(client, key.did, key)
    receipt = ledger.receipt(ledger.chain_head(operator_key.did)[1] or "")
    ledger.append(
        ledger.sign_new(
            operator_key,
            "KeyRevocation",
            {
                "actor": key.did,
                "key": key.multikey,
                "compromisedFrom": receipt.accepted_at,
                "reason": "stolen",
                "nextKey": SigningKey.generate().multikey,
            },
        )
    )
    assert_problem(client.get("/auth/whoami", headers=bearer(token)), 401, "token_invalid")
    # and the revoked key earns no new token
    text = challenge(client, key.did)
    response = token_request(client, key.did, text, b64url_encode(key.sign(text.encode())))
    assert_problem(response, 422, "signature_invalid")


def test_tokens_and_signatures_never_reach_the_logs(
    client: TestClient, actors: Actors, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = actors.add("authority")
    text = challenge(client, key.did)
    signature = b64url_encode(key.sign(text.encode()))
    response = token_request(client, key.did, text, signature)
    token = response.json()["access_token"]
    client.get("/auth/whoami", headers=bearer(token))
    client.get("/auth/whoami", headers=bearer(token + "x"))  # rejected: still not logged
    client.get(f"/auth/whoami?access_token={token}")
    access_lines = [r.getMessage() for r in caplog.records if r.name == "bpass.access"]
    assert any("/auth/token" in line and " 200 " in line for line in access_lines)
    assert any("access_token=%2A%2A%2A" in line for line in access_lines)
    # everything the server side logged (the test's own HTTP client logs its URLs: not ours)
    server_text = "\n".join(
        r.getMessage() + (r.exc_text or "")
        for r in caplog.records
        if not r.name.startswith(("httpx", "httpcore"))
    )
    assert server_text
    for secret in (token, token.split(".")[2], signature, text):
        assert secret not in server_text


# -- units ------------------------------------------------------------------------------------
def test_role_for_actor_is_the_one_mapping() -> None:
    assert role_for_actor([]) is AccessRole.PUBLIC
    assert role_for_actor(["oem"]) is AccessRole.LEGITIMATE_INTEREST
    assert role_for_actor(["repairer", "authority"]) is AccessRole.AUTHORITY


def test_a_challenge_from_one_server_process_is_taken_by_another_once(
    ledger: Ledger, actors: Actors
) -> None:
    # Two apps over one ledger database stand for two server processes behind one address.
    key = actors.add("authority")
    with make_client(ledger) as first, make_client(ledger) as second:
        text = challenge(first, key.did)
        signature = b64url_encode(key.sign(text.encode()))
        assert token_request(second, key.did, text, signature).status_code == 200
        assert_problem(token_request(first, key.did, text, signature), 422, "challenge_invalid")
        assert_problem(token_request(second, key.did, text, signature), 422, "challenge_invalid")


def test_decode_signature_forms() -> None:
    sig = SigningKey.generate().sign(b"m")
    assert decode_signature(b64url_encode(sig)) == sig
    assert decode_signature(encode_multibase_signature(sig)) == sig
    for bad in ("", "z", "zzzz", b64url_encode(sig[:63]), "x" * 500):
        with pytest.raises(SignatureError):
            decode_signature(bad)
