"""Group commit of single appends (api.writer) and the latest-checkpoint cache: concurrent
appends share transactions yet each gets exactly the outcome of appending one by one."""

from __future__ import annotations

import asyncio
import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.cache import LogHead
from api.writer import AppendCoalescer, _Pending
from passport.errors import ForkError, KeyNotValidError, UnknownIssuerError
from passport.ledger.audit import audit
from passport.ledger.log import Receipt
from passport.ledger.pipeline import Ledger
from signing.errors import ProofError
from signing.jcs import canonicalize
from signing.keys import SigningKey
from tests.conftest import Actors, rotation_chain
from tests.helpers.api import assert_problem, client, make_client, post_record

__all__ = ["client"]


def chain(did: str, key: SigningKey, n: int) -> list[bytes]:
    """``n`` KeyRotation records continuing ``did``'s chain from sequence 1, as bytes."""
    return [canonicalize(r) for r in rotation_chain(did, key, n)]


def run_group(ledger: Ledger, bodies: list[bytes]) -> list[Receipt | BaseException]:
    """Commit ``bodies`` as one group, as the writer thread would; each item's outcome."""
    group = [_Pending(b) for b in bodies]
    AppendCoalescer(ledger)._commit(group)
    return [p.future.exception() or p.future.result() for p in group]


def test_concurrent_single_appends_all_land_and_audit_clean(ledger: Ledger, actors: Actors) -> None:
    issuers = [actors.add("miner") for _ in range(6)]
    chains = [chain(k.did, k, 8) for k in issuers]
    with make_client(ledger) as client:

        def post_chain(bodies: list[bytes]) -> list[int]:
            return [client.post("/records", content=b).status_code for b in bodies]

        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(post_chain, chains))
    assert statuses == [[201] * 8] * 6
    info = ledger.info()
    assert info.size == 1 + 6 + 48
    assert audit(ledger.repo, info.origin, info.log_vkey, workers=1).ok


def test_a_rejected_item_does_not_sink_its_group(ledger: Ledger, actors: Actors) -> None:
    a, b = actors.add("miner"), actors.add("miner")
    a_chain, b_chain = chain(a.did, a, 3), chain(b.did, b, 2)
    forged = bytearray(a_chain[1])
    forged[forged.index(b"2026-01-01")] = ord("1")  # validFrom changed after signing
    stranger = SigningKey.generate()
    orphan = chain(stranger.did, stranger, 1)[0]
    outcomes = run_group(
        ledger, [a_chain[0], bytes(forged), b_chain[0], a_chain[2], orphan, b_chain[1], a_chain[0]]
    )
    assert isinstance(outcomes[0], Receipt) and not outcomes[0].existing
    assert isinstance(outcomes[1], ProofError)
    assert isinstance(outcomes[2], Receipt)
    # signed by the key the rejected record would have introduced: refused, as sequentially
    assert isinstance(outcomes[3], KeyNotValidError)
    assert isinstance(outcomes[4], UnknownIssuerError)
    assert isinstance(outcomes[5], Receipt)
    assert isinstance(outcomes[6], Receipt) and outcomes[6].existing  # a duplicate: existing
    assert outcomes[6].leaf_index == outcomes[0].leaf_index
    assert ledger.info().size == 1 + 2 + 3


class _ConflictingLedger:
    """A ledger whose group transaction always conflicts (as with another process)."""

    def __init__(self, real: Ledger) -> None:
        self.real = real
        self.single = 0

    def append_batch(self, raws: list[Any]) -> list[Receipt]:
        raise ForkError("concurrent write conflict")

    def append(self, raw: Any) -> Receipt:
        self.single += 1
        return self.real.append(raw)


def test_a_group_conflict_falls_back_to_one_by_one(ledger: Ledger, actors: Actors) -> None:
    a = actors.add("miner")
    bodies = chain(a.did, a, 3)
    fake = _ConflictingLedger(ledger)
    group = [_Pending(b) for b in bodies]
    AppendCoalescer(fake)._commit(group)  # type: ignore[arg-type]
    assert fake.single == 3
    assert [p.future.result().existing for p in group] == [False] * 3


def test_a_full_queue_is_503(ledger: Ledger, operator_key: SigningKey) -> None:
    with make_client(ledger, max_pending_appends=1) as client:
        state = client.app.state.bpass  # type: ignore[attr-defined]
        state.writer.max_pending = 0
        record = ledger.sign_new(
            operator_key,
            "ActorRegistration",
            {"id": SigningKey.generate().did, "name": "B", "roles": ["miner"]},
        )
        response = post_record(client, record)
    assert_problem(response, 503, "server_busy")
    assert response.headers["retry-after"] == "1"


def test_the_writer_finishes_its_queue_on_close(ledger: Ledger, actors: Actors) -> None:
    a = actors.add("miner")
    writer = AppendCoalescer(ledger)
    futures = [writer.submit(b) for b in chain(a.did, a, 5)]
    writer.close()
    assert all(f.done() and not f.exception() for f in futures)
    with pytest.raises(Exception, match="shutting down"):
        writer.submit(b"{}")


# -- the latest-checkpoint cache ----------------------------------------------------------------
def test_checkpoint_cache_reads_own_writes_and_expires(
    ledger: Ledger, actors: Actors, operator_key: SigningKey
) -> None:
    with make_client(ledger, checkpoint_cache_seconds=30) as client:
        head: LogHead = client.app.state.bpass.log_head  # type: ignore[attr-defined]
        now = [0.0]
        head.clock = lambda: now[0]
        assert client.get("/log").json()["size"] == 1
        actors.add("miner")  # appended behind the API's back (as by another process)
        assert client.get("/log/checkpoint").text.split("\n")[1] == "1"  # still cached
        record = ledger.sign_new(
            operator_key,
            "ActorRegistration",
            {"id": SigningKey.generate().did, "name": "C", "roles": ["oem"]},
        )
        receipt = post_record(client, record).json()
        assert receipt["treeSize"] == 3
        assert client.get("/log/checkpoint").text == receipt["checkpoint"]  # own write, at once
        actors.add("miner")
        assert client.get("/log").json()["size"] == 3
        now[0] += 31
        assert client.get("/log").json()["size"] == 4  # expired: read again
        assert client.get("/log/checkpoint").text.split("\n")[1] == "4"


def _note(size: int) -> str:
    return f"test/log\n{size}\nroot=\n"


class _Reads:
    """A checkpoint read standing for the thread-pool one: it takes ``seconds`` (so the other
    requests arrive while it is in flight), counts itself, and returns the note at ``size``; the
    first ``failures`` reads raise instead."""

    def __init__(self, size: int, seconds: float = 0.01, failures: int = 0) -> None:
        self.size, self.seconds, self.failures = size, seconds, failures
        self.sizes: list[int] = []  # the size each read saw, in order

    async def __call__(self) -> str:
        self.sizes.append(self.size)
        await asyncio.sleep(self.seconds)
        if len(self.sizes) <= self.failures:
            raise RuntimeError("database unavailable")
        return _note(self.size)


def _burst(head: LogHead, load: _Reads, n: int) -> list[Any]:
    """``n`` requests asking ``head`` at once, in a fresh event loop: their answers or errors."""

    async def all_at_once() -> list[Any]:
        asks = (head.latest(load) for _ in range(n))
        return list(await asyncio.gather(*asks, return_exceptions=True))

    return asyncio.run(all_at_once())


def test_an_expired_checkpoint_is_read_once_for_all_requests_waiting() -> None:
    """Requests arriving while the expired head is being read wait for that one read (each
    starting its own sent every request in flight to the thread pool at once)."""
    now = [0.0]
    head = LogHead(1.0, clock=lambda: now[0])
    load = _Reads(5)
    assert _burst(head, load, 50) == [(5, _note(5))] * 50
    assert load.sizes == [5]
    load.size = 7  # appended by another process
    assert _burst(head, load, 10) == [(5, _note(5))] * 10  # still fresh: no read
    now[0] += 1.5
    assert _burst(head, load, 50) == [(7, _note(7))] * 50  # expired: one read for all
    assert load.sizes == [5, 7]


def test_a_failed_checkpoint_read_fails_its_waiters_and_the_next_request_reads_again() -> None:
    head = LogHead(1.0)
    load = _Reads(3, failures=1)
    assert all(isinstance(r, RuntimeError) for r in _burst(head, load, 5))
    assert load.sizes == [3]
    assert _burst(head, load, 5) == [(3, _note(3))] * 5
    assert load.sizes == [3, 3]


def test_a_cancelled_request_does_not_cancel_the_read_others_wait_for() -> None:
    head = LogHead(1.0)
    load = _Reads(9, seconds=0.02)

    async def scenario() -> tuple[int, str]:
        leaving = asyncio.ensure_future(head.latest(load))
        staying = asyncio.ensure_future(head.latest(load))
        await asyncio.sleep(0.005)
        leaving.cancel()  # its client went away
        return await staying

    assert asyncio.run(scenario()) == (9, _note(9))
    assert load.sizes == [9]


def test_without_a_cache_every_request_reads_for_itself() -> None:
    head = LogHead(0.0)
    load = _Reads(2, seconds=0.005)
    assert _burst(head, load, 4) == [(2, _note(2))] * 4
    assert load.sizes == [2, 2, 2, 2]


def test_batch_appends_update_the_cache(client: TestClient, ledger: Ledger, actors: Actors) -> None:
    a = actors.add("miner")
    body = b"[" + b",".join(chain(a.did, a, 2)) + b"]"
    receipts = client.post("/records/batch", content=body).json()
    assert client.get("/log/checkpoint").text == receipts[-1]["checkpoint"]
    assert copy.deepcopy(receipts[0])["treeSize"] == 4
