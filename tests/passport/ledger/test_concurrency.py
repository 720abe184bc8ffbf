"""Several processes appending at once never fork a chain, never lose or duplicate a record, and
leave a log whose size equals the number of accepted records; a process killed mid-batch leaves
the ledger consistent. Real processes, on the backend under test."""

from __future__ import annotations

import multiprocessing as mp
import random
import time

from passport.ledger.audit import audit
from passport.ledger.pipeline import Ledger
from signing.keys import SigningKey
from tests.conftest import Actors
from tests.helpers import workers

PROCESSES = 4
APPENDS = 1000
LOG_SEED = b"\x02" * 32
OPERATOR_SEED = b"\x01" * 32


def _size(ledger: Ledger) -> int:
    with ledger.repo.read() as tx:
        return tx.log_size()[0]


def _check_consistent(ledger: Ledger, expected_records: int | None = None) -> int:
    with ledger.repo.read() as tx:
        size, _ = tx.log_size()
        rows = tx.count_records()
        cp = tx.latest_checkpoint()
    assert rows == size
    assert cp is not None and cp.size == size
    if expected_records is not None:
        assert size == expected_records
    info = ledger.info()
    report = audit(ledger.repo, info.origin, info.log_vkey, workers=2)
    assert report.ok, report.findings[:3]
    return size


def test_processes_racing_on_one_chain(ledger: Ledger, db_url: str) -> None:
    ctx = mp.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        args = [(db_url, LOG_SEED, OPERATOR_SEED, APPENDS, f"p{i}") for i in range(PROCESSES)]
        pool.starmap(workers.register_many, args)
    size = _check_consistent(ledger, 1 + PROCESSES * APPENDS)
    assert ledger.chain_head(ledger.info().operator_did)[0] == size  # one unbroken chain


def test_processes_on_their_own_chains(ledger: Ledger, actors: Actors, db_url: str) -> None:
    seeds = [bytes([10 + i]) * 32 for i in range(PROCESSES)]
    for seed in seeds:
        key = SigningKey.from_seed(seed)
        ledger.append(
            ledger.sign_new(
                actors.operator_key,
                "ActorRegistration",
                {"id": key.did, "name": "R", "roles": ["refiner"]},
            )
        )
    ctx = mp.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        done = pool.starmap(workers.rotate_many, [(db_url, LOG_SEED, s, APPENDS) for s in seeds])
    assert done == [APPENDS] * PROCESSES
    _check_consistent(ledger, 1 + PROCESSES + PROCESSES * APPENDS)
    for seed in seeds:
        assert ledger.chain_head(SigningKey.from_seed(seed).did)[0] == APPENDS


def test_sigkill_mid_batch_leaves_the_ledger_consistent(ledger: Ledger, db_url: str) -> None:
    ctx = mp.get_context("spawn")
    rng = random.Random(7)
    sizes: list[int] = []
    for _ in range(6):
        proc = ctx.Process(
            target=workers.batches_forever, args=(db_url, LOG_SEED, OPERATOR_SEED, 40)
        )
        proc.start()
        # Kill only once the writer is demonstrably committing (spawning is slow on a loaded
        # machine), then at a random moment, most likely inside a batch's transaction.
        before = sizes[-1] if sizes else 1
        for _ in range(1200):
            if _size(ledger) > before or not proc.is_alive():
                break
            time.sleep(0.1)
        assert proc.is_alive(), "the writer died by itself"
        time.sleep(rng.uniform(0.0, 0.6))
        proc.kill()  # SIGKILL: no cleanup, no rollback handler, mid-transaction or not
        proc.join()
        sizes.append(_check_consistent(ledger))
        assert (sizes[-1] - 1) % 40 == 0  # only whole batches are ever visible
    assert sizes[-1] > 1, "the writer never committed a batch: the test proved nothing"
