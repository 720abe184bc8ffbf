"""Shared fixtures and helpers of the HTTP API tests (no tests here).

The ``client`` drives the FastAPI app in-process against the ``ledger`` fixture, so every API test
runs on the backend chosen by ``BPASS_TEST_DATABASE``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from passport.ledger.pipeline import Ledger
from passport.settings import Settings
from signing.jcs import canonicalize
from signing.jws import b64url_encode
from signing.keys import SigningKey

BASE_URL = "http://testserver"


def make_client(ledger: Ledger, **config: Any) -> TestClient:
    """A test client of a fresh app over ``ledger`` (ApiConfig overrides as keywords).

    The latest-checkpoint cache is off unless asked for, because tests also append through the
    ledger directly (as another process would); ``tests/api/test_writer.py`` tests the cache itself.
    """
    config.setdefault("checkpoint_cache_seconds", 0)
    app = create_app(Settings(public_base_url=BASE_URL), ledger, config=ApiConfig(**config))
    return TestClient(app, base_url=BASE_URL, raise_server_exceptions=True)


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    """The API over the test ledger."""
    with make_client(ledger) as c:
        yield c


def post_record(client: TestClient, record: dict[str, Any]) -> httpx.Response:
    """POST one signed record as its canonical bytes."""
    # TestClient's methods are typed through httpx2 (not installed), so they read as Any here.
    response: httpx.Response = client.post(
        "/records", content=canonicalize(record), headers={"Content-Type": "application/json"}
    )
    return response


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["type"].endswith(code) and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def login(client: TestClient, did: str, key: SigningKey) -> str:
    """Earn a bearer token for ``did`` through the challenge flow."""
    challenge = client.post("/auth/challenge", json={"did": did}).json()["challenge"]
    signature = b64url_encode(key.sign(challenge.encode("utf-8")))
    response = client.post(
        "/auth/token", json={"did": did, "challenge": challenge, "signature": signature}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}
