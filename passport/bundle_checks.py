"""Check 3 of a bundle (``passport.bundle``) at the cost of its signatures: the records' proofs
on every core, and their inclusion proofs against the one checkpoint sharing their upper nodes.

- :class:`ProofChecks`: the records' Data Integrity proofs (append step 2a,
  :func:`passport.ledger.verify_record_proof`) checked in a process pool forked after the
  records were parsed, so the workers inherit the parsed records and receive only index ranges;
  each returns the first failure of its range, if any (an index and a message, never a
  document). The verdict is the failure of the lowest index, exactly what checking the records
  one by one finds first. Without a safe ``fork`` (threads of unknown kind in this process), with
  one core or for a small bundle, the same checks run in this process.
- :class:`InclusionChecks`: RFC 9162 §2.1.3.2 inclusion proofs of many leaves against one tree
  size and root. The leaves of one bundle sit close together in the log, so their proofs share
  most of their upper nodes; a proof is accepted without hashing up to the root when its path
  reaches a node already verified on the way to the root, with the same hash, and its remaining
  elements are exactly those that verified from there. Otherwise, and for every failure, the
  proof goes through :func:`signing.merkle.verify_inclusion`, whose error is the one reported.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context

from passport.forking import fork_is_safe
from passport.ledger import verify_record_proof
from passport.records import ParsedRecord
from signing import merkle
from signing.errors import BpassError

__all__ = ["PARALLEL_PROOFS_MIN", "InclusionChecks", "ProofChecks", "available_workers"]

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


# -- inclusion proofs ------------------------------------------------------------------------
_Node = tuple[int, int]  # the (fn, sn) state of RFC 9162 §2.1.3.2 after an element


def _step(fn: int, sn: int, result: bytes, value: bytes) -> tuple[int, int, bytes]:
    """RFC 9162 §2.1.3.2 steps 4b and 4c for one proof element ``value``."""
    if fn & 1 or fn == sn:  # step 4b
        result = hashlib.sha256(b"\x01" + value + result).digest()
        while not fn & 1 and fn != 0:
            fn >>= 1
            sn >>= 1
    else:
        result = hashlib.sha256(b"\x01" + result + value).digest()
    return fn >> 1, sn >> 1, result  # step 4c


class InclusionChecks:
    """Inclusion proofs of leaves in the tree of ``size`` leaves with root ``root``.

    ``decode`` turns a proof element into its hash, raising for an element that is not one
    (the caller's canonical base64 check); it is applied to every element a proof is checked
    on, so a proof accepted here decodes and verifies as :func:`signing.merkle.verify_inclusion`
    accepts it.
    """

    def __init__(self, size: int, root: bytes, decode: Callable[[object], bytes]) -> None:
        self.size = size
        self.root = root
        self.decode = decode
        # RFC 9162 §2.1.3.2 step 4 state after an element -> (the running hash there, the
        # proof it came from, the index of the next element): reached by a verified proof.
        self._verified: dict[_Node, tuple[bytes, list[str], int]] = {}
        self.shortcuts = 0  # proofs accepted through a verified node (for tests, measurements)

    def verify(self, leaf_hash: bytes, index: int, proof: object) -> None:
        """Verify one inclusion proof; raise the caller's decoding error or
        :class:`signing.errors.MerkleProofError` exactly as decoding every element and
        calling :func:`signing.merkle.verify_inclusion` would."""
        if (
            type(index) is int
            and 0 <= index < self.size
            and type(proof) is list
            and all(type(p) is str for p in proof)
            and self._shortcut(leaf_hash, index, proof)
        ):
            self.shortcuts += 1
            return
        decoded = [self.decode(p) for p in proof]  # type: ignore[attr-defined]
        merkle.verify_inclusion(leaf_hash, index, self.size, decoded, self.root)
        if type(proof) is list and all(type(p) is str for p in proof):
            self._remember(leaf_hash, index, proof, decoded)

    def _shortcut(self, leaf_hash: bytes, index: int, proof: list[str]) -> bool:
        """RFC 9162 §2.1.3.2 steps 2-4, stopped at the first state a verified proof passed
        through with the same running hash and the same remaining elements: from there both
        proofs compute the same thing, which reached the root."""
        verified = self._verified
        if not verified:
            return False
        fn, sn = index, self.size - 1  # steps 2-3
        result = leaf_hash
        passed: list[tuple[_Node, bytes, int]] = []
        for k, element in enumerate(proof):
            if sn == 0:  # step 4a: too long
                return False
            try:
                value = self.decode(element)
            except Exception:
                return False
            if len(value) != merkle.HASH_SIZE:
                return False
            fn, sn, result = _step(fn, sn, result, value)
            known = verified.get((fn, sn))
            if known is None:
                passed.append(((fn, sn), result, k + 1))
                continue
            running, source, position = known
            if running != result or source[position:] != proof[k + 1 :]:
                return False
            for state, node_hash, after in passed:  # verified now too
                verified[state] = (node_hash, proof, after)
            return True
        return False

    def _remember(
        self, leaf_hash: bytes, index: int, proof: list[str], decoded: Sequence[bytes]
    ) -> None:
        """Record the states of a proof that verified (steps 2-4 again, keeping each)."""
        fn, sn = index, self.size - 1
        result = leaf_hash
        for k, value in enumerate(decoded):
            fn, sn, result = _step(fn, sn, result, value)
            self._verified.setdefault((fn, sn), (result, proof, k + 1))
