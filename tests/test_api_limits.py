"""Issue #20, items 6 and 7: what an unauthenticated body or a slow client can cost the server.

Item 6: one anonymous 32 MiB junk body to ``POST /records/batch`` cost 11-17 s of CPU, parsed in
full before any cap applied; six at once peaked at 3.9 GB. Now a batch body is scanned (items,
depth and values capped) before it is parsed, and large bodies in flight are bounded
(503 ``bodies_busy`` + ``Retry-After``). Memory figures: ``bench/bench_bodies.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from test_api_support import assert_problem, make_client

from passport.ledger.pipeline import Ledger


def log_state(ledger: Ledger) -> tuple[int, int]:
    with ledger.repo.read() as tx:
        return tx.log_size()[0], tx.count_records()


@pytest.fixture
def verified(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The batch sizes the ledger was asked to verify and append."""
    calls: list[int] = []
    real = ledger.append_batch

    def spy(items: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        calls.append(len(items))
        return real(items, *args, **kwargs)

    monkeypatch.setattr(ledger, "append_batch", spy)
    return calls


def post_batch(client: TestClient, body: bytes) -> httpx.Response:
    response: httpx.Response = client.post(
        "/records/batch", content=body, headers={"Content-Type": "application/json"}
    )
    return response


def test_a_batch_over_the_item_cap_is_refused_while_scanning(
    ledger: Ledger, verified: list[int]
) -> None:
    """The count is refused as soon as it passes the cap: the rest is never parsed (here it is
    not even JSON, which a full parse would have reported instead)."""
    before = log_state(ledger)
    with make_client(ledger, max_batch_records=5) as client:
        body = b"[" + b"{}," * 6 + b"x" * 100_000 + b"]"
        refused = assert_problem(post_batch(client, body), 413, "batch_too_large")
        assert refused["limit"] == 5
    assert verified == [] and log_state(ledger) == before


def test_a_record_nested_too_deep_is_refused_before_verification(
    ledger: Ledger, verified: list[int]
) -> None:
    before = log_state(ledger)
    with make_client(ledger, max_json_depth=8) as client:
        deep = {"credentialSubject": json.loads("[" * 9 + "]" * 9)}
        refused = assert_problem(post_batch(client, json.dumps([deep]).encode()), 413,
                                 "json_too_complex")  # fmt: skip
        assert refused["limit"] == 8
        shallow = {"credentialSubject": json.loads("[" * 6 + "]" * 6)}
        assert post_batch(client, json.dumps([shallow]).encode()).status_code == 422
    assert verified == [1]  # only the shallow one reached verification (and failed it)
    assert log_state(ledger) == before


def test_a_batch_with_too_many_values_is_refused_before_verification(
    ledger: Ledger, verified: list[int]
) -> None:
    before = log_state(ledger)
    with make_client(ledger, max_json_values=100) as client:
        wide = {f"m{n}": n for n in range(200)}
        refused = assert_problem(post_batch(client, json.dumps([wide]).encode()), 413,
                                 "json_too_complex")  # fmt: skip
        assert refused["limit"] == 100
    assert verified == [] and log_state(ledger) == before


def test_junk_that_is_not_json_is_refused_at_its_first_bad_byte(
    ledger: Ledger, verified: list[int]
) -> None:
    with make_client(ledger) as client:
        assert_problem(post_batch(client, b"[{}, @" + b"{}" * 1000 + b"]"), 400, "json_malformed")
        assert_problem(post_batch(client, b'{"a": 1}'), 422, "batch_invalid")
    assert verified == []


def test_large_bodies_beyond_the_cap_are_refused_with_retry_after(
    ledger: Ledger, verified: list[int]
) -> None:
    """One large body is in flight (its sender stalls); the next is refused at once, with
    nothing read or written; once the first is done, a large body is served again."""
    before = log_state(ledger)
    app = make_client(ledger, max_large_bodies=1, large_body_bytes=1024).app

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        started, release = asyncio.Event(), asyncio.Event()

        async def stalling_body() -> AsyncIterator[bytes]:
            yield b"[" + b" " * 4096
            started.set()
            await release.wait()
            yield b"{}]"

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            first = asyncio.create_task(http.post("/records/batch", content=stalling_body()))
            await asyncio.wait_for(started.wait(), timeout=30)
            busy = await http.post("/records/batch", content=b"[" + b" " * 2048 + b"{}]")
            release.set()
            done = await asyncio.wait_for(first, timeout=30)
            again = await http.post("/records/batch", content=b"[" + b" " * 2048 + b"{}]")
        return busy, done, again

    busy, done, again = asyncio.run(scenario())
    assert_problem(busy, 503, "bodies_busy")
    assert busy.headers["retry-after"] == "1"
    assert done.status_code == 422, done.text  # {} is not a record: it was handled
    assert again.status_code == 422, again.text
    assert verified == [1, 1] and log_state(ledger) == before
