"""Issue #20, items 6 and 7: what an unauthenticated body or a slow client can cost the server.

Item 6: one anonymous 32 MiB junk body to ``POST /records/batch`` cost 11-17 s of CPU, parsed in
full before any cap applied; six at once peaked at 3.9 GB. Now a batch body is scanned (items,
depth and values capped) before it is parsed, and large bodies in flight are bounded
(503 ``bodies_busy`` + ``Retry-After``). Memory figures: ``bench/bench_bodies.py``.

Item 7: a real ``bpass serve`` subprocess on loopback disconnects a client that stalls in its
head or its body (408, then closed), refuses an oversized head (431) and a connection over the
cap (503 ``connections_full``), and serves a normal request afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from passport.ledger.pipeline import Ledger
from tests.helpers.api import assert_problem, make_client


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


# -- item 7: slow clients, against a real `bpass serve` ----------------------------------------
# Before the fix uvicorn had no read timeout: a client that sent half a header, or part of a
# body, and stalled kept its connection open for ever, and nothing capped the connections.
BPASS = str(Path(sys.executable).parent / "bpass")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(tmp_path: Path, db_url: str, *options: str) -> Iterator[tuple[str, int]]:
    """``bpass serve`` with ``options`` on a free loopback port: (host, port)."""
    home = tmp_path / "home"
    env = {**os.environ, "BPASS_HOME": str(home), "BPASS_DATABASE_URL": db_url}
    subprocess.run(
        [BPASS, "init", "--origin", "limits.test/log"], env=env, check=True, capture_output=True
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [BPASS, "serve", "--port", str(port), "--base-url", url, *options],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/log", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log_path.read_text()
            time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield "127.0.0.1", port
        assert "Traceback" not in log_path.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a stuck read fails)."""
    sock.settimeout(20)  # a bound on a blocking read, not a duration under test
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"the server kept the connection open; read so far: {data!r}")
        if not chunk:
            return data
        data += chunk


def test_half_a_header_then_a_stall_is_disconnected(tmp_path: Path, db_url: str) -> None:
    with serve(tmp_path, db_url, "--header-timeout", "1") as (host, port):
        with socket.create_connection((host, port)) as stalled:
            stalled.sendall(b"GET /log HTTP/1.1\r\nHost: x\r\nAccept: appl")
            assert read_until_closed(stalled).startswith(b"HTTP/1.1 408 ")
        with socket.create_connection((host, port)) as silent:  # connects, sends nothing
            assert read_until_closed(silent).startswith(b"HTTP/1.1 408 ")
        assert httpx.get(f"http://{host}:{port}/log").status_code == 200


def test_a_stalled_body_is_disconnected(tmp_path: Path, db_url: str) -> None:
    with serve(tmp_path, db_url, "--body-timeout", "1") as (host, port):
        with socket.create_connection((host, port)) as stalled:
            stalled.sendall(
                b"POST /records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n" + b'{"@context": ['
            )
            assert read_until_closed(stalled).startswith(b"HTTP/1.1 408 ")
        assert httpx.get(f"http://{host}:{port}/log").status_code == 200


def test_an_oversized_head_is_refused(tmp_path: Path, db_url: str) -> None:
    with (
        serve(tmp_path, db_url, "--max-header-bytes", "4096") as (host, port),
        socket.create_connection((host, port)) as big,
    ):
        big.sendall(b"GET /log HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 8192)
        assert read_until_closed(big).startswith(b"HTTP/1.1 431 ")


def test_connections_over_the_cap_are_refused(tmp_path: Path, db_url: str) -> None:
    options = ("--max-connections", "2", "--keep-alive", "30")
    with serve(tmp_path, db_url, *options) as (host, port):
        url = f"http://{host}:{port}"
        held = [httpx.Client(base_url=url) for _ in range(2)]  # two open keep-alive connections
        try:
            for client in held:
                assert client.get("/log").status_code == 200
            with httpx.Client(base_url=url) as third:
                refused = third.get("/log")
            assert_problem(refused, 503, "connections_full")
            assert refused.headers["retry-after"] == "1"
        finally:
            for client in held:
                client.close()
        # the held connections are gone once the server has seen them close: then it serves
        for _ in range(100):
            response = httpx.get(f"{url}/log")
            if response.status_code != 503:
                break
            time.sleep(0.05)
        assert response.status_code == 200
