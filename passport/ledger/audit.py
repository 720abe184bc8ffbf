"""The audit: re-verify the whole ledger from its stored bytes (design: "Verification").

Checks, streaming the records in leaf order:
- rows are contiguous from leaf 0 and their count equals the log size;
- each record's stored bytes are canonical, hash to its id, and their index columns match them;
- each proof verifies (spread over all cores);
- each issuer's chain: sequences from 1 without gap, ``previous`` = hash of the previous record;
- each signing key was the issuer's current key when the ledger accepted the record (replaying
  registrations, rotations and revocations in log order), and records signed by a key at or after
  its declared compromise time are listed as suspect;
- acceptance times never go backwards;
- every stored tree node equals the node recomputed from the records, and nothing else is stored;
- every stored checkpoint is signed by the log key and its root equals the recomputed root.
The first failure is named by its leaf index and record hash.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import SQLModel

from passport.forking import fork_is_safe as _fork_is_safe
from passport.ledger import audit_workers
from passport.ledger.audit_workers import (
    PHASE_ACCEPTED,
    PHASE_RECORD,
    PHASE_TREE,
    Item,
    RangeResult,
    Reader,
    check_range,
    check_range_in_worker,
    checkpoint_error,
    key_states,
)
from passport.records.actors import initial_key
from passport.store.sql.repository import Repository
from passport.store.sql.tables import node_pos
from passport.timefmt import normalise_ts
from signing.errors import BpassError
from signing.merkle import EMPTY_ROOT, hash_children

CHUNK_LEVEL = 10
"""Leaves are checked in ranges of ``2**CHUNK_LEVEL``, each aligned to its size, so that a
range's perfect subtrees are computed and compared wholly by the process that reads it."""

COLD_START_MIN_LEAVES = 16384
"""Below this log size the audit runs in this process rather than wait for a fork server's
first start (about half a second, which two workers only win back from about this size on)."""

_CHECKPOINTS = SQLModel.metadata.tables["checkpoints"]
_TREE = SQLModel.metadata.tables["tree_nodes"]


@dataclass
class Finding:
    """One failed check."""

    check: str
    message: str
    leaf_index: int | None = None
    record_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "check": self.check,
            "message": self.message,
            "leafIndex": self.leaf_index,
            "recordHash": self.record_hash,
        }


@dataclass
class AuditReport:
    """What the audit saw."""

    records: int = 0
    checkpoints: int = 0
    nodes: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    suspect: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed (suspect records are reported, not failures)."""
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ok": self.ok,
            "records": self.records,
            "checkpoints": self.checkpoints,
            "nodes": self.nodes,
            "seconds": round(self.seconds, 3),
            "findings": [f.to_dict() for f in self.findings],
            "suspect": self.suspect,
        }


@dataclass
class _KeyState:
    actor: str
    state: str = "active"
    compromised_from: str | None = None


def _pool_context() -> BaseContext:
    """How to start the workers: ``fork`` where it is safe (they start in milliseconds with
    everything imported), else a fork server that has imported the workers' module (its first
    start costs an interpreter start, about half a second; later pools fork from it)."""
    methods = get_all_start_methods()
    if "fork" in methods and _fork_is_safe():
        return get_context("fork")
    if "forkserver" in methods:
        context = get_context("forkserver")
        context.set_forkserver_preload([audit_workers.__name__])
        return context
    return get_context("spawn")


_started_servers: set[str] = set()
"""Start methods other than fork this process has started pools with: a fork server, once
started, makes later pools cheap."""


class _Ranges:
    """Every range's result, in leaf order: checked in this process, or by a pool.

    With a pool each worker reads and checks whole ranges over its own connection; up to
    ``2 * workers + 1`` ranges are in flight while this process replays the finished ones.
    """

    def __init__(self, auditor: _Auditor, size: int) -> None:
        self.repo = auditor.repo
        self.spans = auditor._spans(size)
        self.args = (size, auditor.level, auditor.origin, auditor.log_vkey)
        self.workers = min(auditor.workers, len(self.spans))
        self.ahead: deque[Future[RangeResult]] = deque()
        self.submitted = 0
        self.pool: ProcessPoolExecutor | None = None
        self.reader: Reader | None = None
        if self.workers > 1:
            context = _pool_context()
            method = context.get_start_method()
            if method != "fork" and method not in _started_servers and size < COLD_START_MIN_LEAVES:
                self.workers = 1
            else:
                if method != "fork":
                    _started_servers.add(method)
                self.pool = ProcessPoolExecutor(self.workers, mp_context=context)
                self._submit()

    def _submit(self) -> None:
        assert self.pool is not None
        while self.submitted < len(self.spans) and len(self.ahead) <= 2 * self.workers:
            start, stop = self.spans[self.submitted]
            self.submitted += 1
            self.ahead.append(
                self.pool.submit(check_range_in_worker, self.repo.url, start, stop, *self.args)
            )

    def __iter__(self) -> Iterator[RangeResult]:
        if self.pool is None:
            self.reader = reader = Reader(self.repo)
            for start, stop in self.spans:
                try:
                    yield check_range(reader, start, stop, *self.args)
                finally:
                    reader.end()
            return
        while self.ahead:
            result = self.ahead.popleft().result()
            self._submit()
            yield result

    def close(self) -> None:
        """Stop the pool (cancelling ranges not started) or close this process's reader."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None
        if self.reader is not None:
            self.reader.close()
            self.reader = None


class _Auditor:
    def __init__(self, repo: Repository, origin: str, log_vkey: str, workers: int) -> None:
        self.repo = repo
        self.origin = origin
        self.log_vkey = log_vkey
        self.workers = workers
        self.level = CHUNK_LEVEL
        self.report = AuditReport()
        self.heads: dict[str, tuple[int, str]] = {}
        self.keys: dict[str, _KeyState] = {}
        # key -> (leaf, hash, acceptedAt) of the records it signed
        self.signed_by: dict[str, list[tuple[int, str, str]]] = {}
        self.last_time = ""
        # The perfect subtrees above the ranges' roots: (height, hash), highest first.
        self.high: list[tuple[int, bytes]] = []
        self.high_nodes: dict[int, bytes] = {}
        # (size, stored root, failure message, recomputed root) of every checkpoint, by size.
        self.checkpoints: list[tuple[int, bytes, str | None, bytes | None]] = []

    def fail(
        self, check: str, message: str, leaf: int | None = None, digest: str | None = None
    ) -> None:
        self.report.findings.append(Finding(check, message, leaf, digest))

    # -- the ranges -------------------------------------------------------------------------
    def _spans(self, size: int) -> list[tuple[int, int]]:
        chunk = 1 << self.level
        return [(start, min(size, start + chunk)) for start in range(0, size, chunk)]

    def run(self) -> AuditReport:
        started = time.perf_counter()
        with self.repo.read() as tx:
            if not self.repo.is_sqlite:
                # One snapshot for the counts below, as SQLite's read transaction is.
                tx.conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            size, _ = tx.log_size()
            # The workers start on the first ranges while this process reads the rest.
            ranges = _Ranges(self, size)
            try:
                count = tx.count_records()
                self.report.nodes = tx.count_nodes()
                # Checkpoints no range covers (size 0, or beyond the log), the nodes above the
                # ranges' roots and the key table; the workers read everything else themselves.
                outside = tx.conn.execute(
                    select(_CHECKPOINTS.c.size, _CHECKPOINTS.c.root, _CHECKPOINTS.c.note)
                    .where(or_(_CHECKPOINTS.c.size <= 0, _CHECKPOINTS.c.size > size))
                    .order_by(_CHECKPOINTS.c.size)
                ).all()
                high = select(_TREE.c.pos, _TREE.c.hash)
                for pos, value in tx.conn.execute(
                    high.where(_TREE.c.pos >= node_pos(self.level + 1, 0))
                ):
                    self.high_nodes[int(pos)] = bytes(value)
                stored_keys = key_states(tx.conn.connection)
            except BaseException:
                ranges.close()
                raise
        try:
            if count != size:
                self.fail(
                    "log_size", f"the log holds {size} leaves but {count} record rows are stored"
                )
            for cp_size, root, note in outside:
                if cp_size <= 0:
                    error = checkpoint_error(cp_size, bytes(root), note, self.origin, self.log_vkey)
                    self.checkpoints.append((cp_size, bytes(root), error, EMPTY_ROOT))
            for result in ranges:
                if not self._range(result):
                    return self._finish(started)
        finally:
            ranges.close()
        for cp_size, root, note in outside:
            if cp_size > size:
                error = checkpoint_error(cp_size, bytes(root), note, self.origin, self.log_vkey)
                self.checkpoints.append((cp_size, bytes(root), error, None))
        self.report.records = size
        self._check_extra_nodes(size)
        self._check_checkpoints(size)
        self._check_key_table(stored_keys)
        self._collect_suspects()
        return self._finish(started)

    def _finish(self, started: float) -> AuditReport:
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _range(self, result: RangeResult) -> bool:
        """Replay one range's records in leaf order; False once a check failed."""
        start, items, failure, root, checkpoints = result
        bad_leaf = -1 if failure is None else failure[0]
        leaf = start
        for item in items:
            if leaf == bad_leaf:
                break
            if not self._sequential(leaf, item):
                return False
            leaf += 1
        if failure is not None:
            bad_leaf, phase, check, message, digest = failure
            # The worker's failure comes after the sequential checks of the same record that
            # run before it (chain before the acceptance-time form; chain, order and keys
            # before its tree nodes), so those run first.
            if phase != PHASE_RECORD and not self._sequential(
                bad_leaf, items[bad_leaf - start], upto=phase
            ):
                return False
            self.fail(check, message, bad_leaf, digest)
            return False
        for cp_size, cp_root, error, folded in checkpoints:
            self.checkpoints.append((cp_size, cp_root, error, self._root_with(folded)))
        if root is not None:
            return self._append_root(start, root, items[-1][0])
        return True

    # -- one record -------------------------------------------------------------------------
    def _sequential(self, leaf: int, item: Item, upto: int = PHASE_TREE) -> bool:
        """The checks of one record that depend on the records before it; False on failure.

        With ``upto=PHASE_ACCEPTED`` only the chain is checked (the acceptance time's own form
        failed; that is reported after the chain).
        """
        digest, issuer, sequence, previous, signer, accepted, key_kind, subject = item
        # Chain: sequence follows, previous links (design: per-issuer hash chain).
        head_seq, head_hash = self.heads.get(issuer, (0, None))
        if sequence != head_seq + 1 or previous != head_hash:
            self.fail(
                "chain",
                f"{issuer} sequence {sequence} (previous {previous}) does not follow "
                f"sequence {head_seq} ({head_hash})",
                leaf,
                digest,
            )
            return False
        self.heads[issuer] = (sequence, digest)
        if upto == PHASE_ACCEPTED:
            return True
        # Acceptance time never goes backwards (its fixed-width form was checked by the worker).
        if accepted < self.last_time:
            self.fail("accepted_at", f"acceptance time {accepted!r} out of order", leaf, digest)
            return False
        self.last_time = accepted
        return self._key_history(leaf, digest, issuer, signer, accepted, key_kind, subject)

    def _key_history(
        self,
        leaf: int,
        digest: str,
        issuer: str,
        signer: str,
        accepted: str,
        kind: str | None,
        subject: dict[str, Any] | None,
    ) -> bool:
        # The first registration, the operator's own, bootstraps the key history.
        if (
            kind == "ActorRegistration"
            and not self.keys
            and subject is not None
            and subject.get("id") == issuer
        ):
            self.keys[signer] = _KeyState(issuer)
        state = self.keys.get(signer)
        if state is None or state.actor != issuer or state.state != "active":
            why = "unknown" if state is None else state.state
            self.fail("key", f"signed by key {signer} which was {why} at acceptance", leaf, digest)
            return False
        signed = self.signed_by.get(signer)
        if signed is None:
            self.signed_by[signer] = [(leaf, digest, accepted)]
        else:
            signed.append((leaf, digest, accepted))
        if kind is None:
            return True
        s = subject or {}
        if kind == "ActorRegistration" and s.get("id") != issuer:
            try:
                self.keys[initial_key(s)] = _KeyState(str(s["id"]))
            except BpassError as exc:
                self.fail("key", exc.message, leaf, digest)
                return False
        elif kind == "KeyRotation":
            state.state = "rotated"
            self.keys[str(s["nextKey"])] = _KeyState(issuer)
        elif kind == "KeyRevocation":
            revoked = self.keys.get(str(s["key"]))
            if revoked is None:
                self.fail("key", f"revocation of unknown key {s['key']}", leaf, digest)
                return False
            revoked.state = "revoked"
            revoked.compromised_from = normalise_ts(str(s["compromisedFrom"]))
            if "nextKey" in s:
                self.keys[str(s["nextKey"])] = _KeyState(str(s["actor"]))
        return True

    # -- the tree ---------------------------------------------------------------------------
    def _append_root(self, start: int, root: bytes, digest: str) -> bool:
        """Add a complete range's subtree; compare the larger subtrees it completes."""
        height, index, node = self.level, start >> self.level, root
        last_leaf = start + (1 << self.level) - 1
        # RFC 9162 §2.1.1: MTH(D[n]) = H(0x01 || MTH(left) || MTH(right)); a subtree completes
        # when its right child does, i.e. while a same-height subtree is on the stack.
        while self.high and self.high[-1][0] == height:
            _, left = self.high.pop()
            node = hash_children(left, node)
            height += 1
            index >>= 1
            stored = self.high_nodes.get(node_pos(height, index))
            if stored != node:
                what = "missing" if stored is None else "differs"
                self.fail(
                    "tree_node",
                    f"tree node (level {height}, index {index}) {what}",
                    last_leaf,
                    digest,
                )
                return False
        self.high.append((height, node))
        return True

    def _root_with(self, folded: bytes) -> bytes:
        """MTH of the leaves before the current range plus the range's leaves that ``folded``
        covers (RFC 9162 §2.1.1, the perfect subtrees folded from the right)."""
        node = folded
        for _, left in reversed(self.high):
            node = hash_children(left, node)
        return node

    def _check_extra_nodes(self, size: int) -> None:
        expected = 0
        level = 0
        while size >> level:
            expected += size >> level
            level += 1
        if self.report.nodes != expected:
            self.fail("tree_node", f"{self.report.nodes} tree nodes stored, {expected} expected")

    def _check_checkpoints(self, size: int) -> None:
        checkpoints = self.checkpoints
        self.report.checkpoints = len(checkpoints)
        if not checkpoints or checkpoints[-1][0] != size:
            self.fail("checkpoint", f"no checkpoint at the current tree size {size}")
        for cp_size, stored_root, error, recomputed in checkpoints:
            if error is not None:
                self.fail("checkpoint", error)
                return
            if recomputed != stored_root:
                self.fail(
                    "checkpoint",
                    f"checkpoint at size {cp_size} names a root the records do not produce: "
                    "the log was rewritten",
                )
                return

    def _check_key_table(self, stored: dict[str, tuple[str, str, str | None]]) -> None:
        if stored.keys() != self.keys.keys():
            self.fail("key_table", "the key table differs from the keys the records establish")
            return
        for mk, state in self.keys.items():
            if stored[mk] != (state.actor, state.state, state.compromised_from):
                self.fail("key_table", f"key {mk}: stored state differs from the records")
                return

    def _collect_suspects(self) -> None:
        for mk, state in self.keys.items():
            if state.compromised_from is None:
                continue
            for leaf, digest, accepted in self.signed_by.get(mk, []):
                if accepted >= state.compromised_from:
                    self.report.suspect.append(
                        {"leafIndex": leaf, "recordHash": digest, "key": mk, "acceptedAt": accepted}
                    )


def audit(
    repo: Repository, origin: str, log_vkey: str, *, workers: int | None = None
) -> AuditReport:
    """Audit the ledger in ``repo``; see the module docstring for the checks."""
    return _Auditor(repo, origin, log_vkey, workers or (os.cpu_count() or 1)).run()
