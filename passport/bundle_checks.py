"""Check 3 of a bundle (``passport.bundle``) at the cost of its signatures: the records' proofs
on every core.

- :class:`ProofChecks`: the records' Data Integrity proofs (append step 2a,
  :func:`passport.ledger.verify_record_proof`) checked in a process pool forked after the
  records were parsed, so the workers inherit the parsed records and receive only index ranges;
  each returns the first failure of its range, if any (an index and a message, never a
  document). The verdict is the failure of the lowest index, exactly what checking the records
  one by one finds first. Without a safe ``fork`` (threads of unknown kind in this process), with
  one core or for a small bundle, the same checks run in this process.
- the inclusion proofs are checked by :class:`signing.merkle_batch.InclusionChecks`, which
  shares the work of their common upper nodes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context

from passport.forking import fork_is_safe
from passport.ledger import verify_record_proof
from passport.records import ParsedRecord
from signing.errors import BpassError

__all__ = ["PARALLEL_PROOFS_MIN", "ProofChecks", "available_workers"]

PARALLEL_PROOFS_MIN = 256
"""Bundles with at least this many records have their proofs checked in a process pool (below
it, forking the workers costs more than it saves)."""

_RANGES_PER_WORKER = 2  # large ranges: a range costs one round trip, whatever its size

_inherited: Sequence[ParsedRecord] = ()
"""The parsed records, set while the pool forks: the workers read them from their copy."""


def available_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# -- proofs ----------------------------------------------------------------------------------
Failure = tuple[int, str | None]
"""A failed proof: the record's index and the proof error's message (``None``: the check raised
something else, which the main process reproduces by checking that record again)."""


def _check_range(start: int, stop: int) -> Failure | None:
    """Pool worker: the first record in ``[start, stop)`` whose proof fails (step 2a)."""
    records = _inherited
    for i in range(start, stop):
        try:
            verify_record_proof(records[i])
        except BpassError as exc:
            return i, exc.message
        except Exception:  # reproduced, with its own type, by the main process
            return i, None
    return None


class ProofChecks:
    """The proofs of ``records`` (append step 2a), started at once, their verdict asked later.

    ``workers``: processes checking them beside this one (default: one fewer than the cores
    this process may use); 0 checks them in this process, when the verdict is asked.

    :meth:`first_failure` checks records one by one in this process where no pool runs, so the
    caller's order of work never changes what is found, only when.
    """

    def __init__(self, records: Sequence[ParsedRecord], workers: int | None = None) -> None:
        self.records = records
        # This process has the rest of the bundle's checks to run meanwhile (the replay above
        # all, which costs more than the proofs): one core is its own.
        self.workers = max(0, available_workers() - 1) if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        self._ranges: list[tuple[int, int, Future[Failure | None]]] = []
        self._settled: list[Failure | None] = []  # per range, once asked
        n = len(records)
        if self.workers > 0 and n >= PARALLEL_PROOFS_MIN and _can_fork():
            try:
                self._start(n)
            except OSError:  # no processes to be had: the checks run here
                self.close()
                self._ranges = []

    @property
    def parallel(self) -> bool:
        """The proofs are checked in a pool."""
        return bool(self._ranges)

    def _start(self, n: int) -> None:
        global _inherited
        size = -(-n // (self.workers * _RANGES_PER_WORKER))
        self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("fork"))
        _inherited = self.records
        try:  # with fork, the first submit starts every worker, with the records in memory
            for start in range(0, n, size):
                stop = min(n, start + size)
                self._ranges.append((start, stop, self._pool.submit(_check_range, start, stop)))
        finally:
            _inherited = ()

    def first_failure(self, stop: int | None = None) -> Failure | None:
        """The failed proof of the lowest index below ``stop`` (default: all), waiting for the
        workers as needed; a failure whose message is ``None`` has been checked again here and
        did not raise (it cannot happen: the check is deterministic)."""
        stop = len(self.records) if stop is None else stop
        if not self._ranges:
            return _serial(self.records, 0, stop)
        for start, end, future in self._ranges:
            if start >= stop:
                return None
            try:
                found = future.result()
            except Exception:  # a worker died (killed, out of memory): check the range here
                found = _serial(self.records, start, end)
            if found is not None and found[1] is None:
                found = _serial(self.records, found[0], end)  # raises the worker's exception
            if found is not None:
                return found if found[0] < stop else None
        return None

    def close(self) -> None:
        """Stop the workers (at once: their results are not needed any more)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _serial(records: Sequence[ParsedRecord], start: int, stop: int) -> Failure | None:
    """The first failed proof in ``[start, stop)``, checked in this process; an exception other
    than a proof error propagates, as when the records are checked one by one."""
    for i in range(start, stop):
        try:
            verify_record_proof(records[i])
        except BpassError as exc:
            return i, exc.message
    return None


def _can_fork() -> bool:
    return "fork" in get_all_start_methods() and fork_is_safe()
