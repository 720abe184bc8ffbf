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
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from passport.actors import initial_key
from passport.records import record_hash
from passport.store.repository import Repository, StoredRecord
from passport.timefmt import normalise_ts
from passport.translog import leaf_hash
from signing.compact import CompactRange
from signing.errors import BpassError
from signing.jcs import parse_canonical
from signing.multikey import decode_multikey
from signing.note import open_checkpoint
from signing.proofs import verify_proof

CHUNK = 2000


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


@dataclass(frozen=True)
class _Checked:
    """What a worker learned from one record's bytes."""

    error: str | None
    hash: str
    issuer: str = ""
    sequence: int = 0
    previous: str | None = None
    kind: str = ""
    verification_method: str = ""
    subject: dict[str, Any] | None = None  # kept only for key-history kinds


_KEY_KINDS = frozenset({"ActorRegistration", "KeyRotation", "KeyRevocation"})


@lru_cache(maxsize=4096)
def _key_of_multikey(multikey: str) -> bytes:
    return decode_multikey(multikey)


def _key_of_method(vm: str) -> bytes:
    return _key_of_multikey(vm.rsplit("#", 1)[1])


def _check_body(body: bytes) -> _Checked:
    digest = record_hash(body)
    try:
        doc, canonical = parse_canonical(body)
        if canonical != body:
            return _Checked("stored bytes are not canonical JSON", digest)
        vm = doc["proof"]["verificationMethod"]
        # body == canonicalize(doc) (checked above): the proof check reuses the stored bytes.
        verify_proof(doc, resolve_key=_key_of_method, canonical=body)
        kind = doc["type"][1]
        return _Checked(
            None,
            digest,
            doc["issuer"],
            doc["chain"]["sequence"],
            doc["chain"].get("previous"),
            kind,
            vm,
            doc["credentialSubject"] if kind in _KEY_KINDS else None,
        )
    except BpassError as exc:
        return _Checked(f"{exc.code}: {exc.message}", digest)
    except (KeyError, TypeError, IndexError) as exc:
        return _Checked(f"record structure unreadable: {exc!r}", digest)


def _check_bodies(bodies: Sequence[bytes]) -> list[_Checked]:
    return [_check_body(b) for b in bodies]


@dataclass
class _KeyState:
    actor: str
    state: str = "active"
    compromised_from: str | None = None


class _Auditor:
    def __init__(self, repo: Repository, origin: str, log_vkey: str, workers: int) -> None:
        self.repo = repo
        self.origin = origin
        self.log_vkey = log_vkey
        self.workers = workers
        self.report = AuditReport()
        self.heads: dict[str, tuple[int, str]] = {}
        self.keys: dict[str, _KeyState] = {}
        self.signed_by: dict[
            str, list[tuple[int, str, str]]
        ] = {}  # key -> (leaf, hash, acceptedAt)
        self.tree = CompactRange()
        self.roots: dict[int, bytes] = {}
        self.last_time = ""
        self.node_cursor: dict[int, tuple[int, dict[int, bytes]]] = {}

    def fail(
        self, check: str, message: str, leaf: int | None = None, digest: str | None = None
    ) -> None:
        self.report.findings.append(Finding(check, message, leaf, digest))

    # -- streaming --------------------------------------------------------------------------
    def _chunks(self, size: int) -> Iterator[list[StoredRecord]]:
        for start in range(0, size, CHUNK):
            with self.repo.read() as tx:
                yield tx.records_range(start, min(size, start + CHUNK))

    def _checked_chunks(
        self, size: int, pool: ProcessPoolExecutor | None
    ) -> Iterator[tuple[list[StoredRecord], list[_Checked]]]:
        """Each chunk's rows with the workers' checks of their bytes, in leaf order.

        With a pool, the next chunks are read and checked while the caller replays the current
        one (chains, keys, tree), so the workers are not idle during that replay.
        """
        if pool is None:
            for rows in self._chunks(size):
                yield rows, _check_bodies([r.body for r in rows])
            return
        workers = self.workers
        ahead: deque[tuple[list[StoredRecord], list[Future[list[_Checked]]]]] = deque()

        def collect() -> tuple[list[StoredRecord], list[_Checked]]:
            rows, parts = ahead.popleft()
            checked: list[_Checked] = [None] * len(rows)  # type: ignore[list-item]
            for w, part in enumerate(parts):
                checked[w::workers] = part.result()
            return rows, checked

        for rows in self._chunks(size):
            bodies = [r.body for r in rows]
            ahead.append(
                (rows, [pool.submit(_check_bodies, bodies[w::workers]) for w in range(workers)])
            )
            if len(ahead) > 2:
                yield collect()
        while ahead:
            yield collect()

    def run(self) -> AuditReport:
        started = time.perf_counter()
        with self.repo.read() as tx:
            size, _ = tx.log_size()
            count = tx.count_records()
            checkpoints = tx.checkpoints()
            self.report.nodes = tx.count_nodes()
        if count != size:
            self.fail("log_size", f"the log holds {size} leaves but {count} record rows are stored")
        checkpoint_sizes = {cp.size for cp in checkpoints}
        if 0 in checkpoint_sizes:
            self.roots[0] = self.tree.root()
        pool = ProcessPoolExecutor(self.workers) if self.workers > 1 else None
        try:
            expected = 0
            for rows, checked in self._checked_chunks(size, pool):
                for row, result in zip(rows, checked, strict=True):
                    if row.leaf_index != expected:
                        self.fail(
                            "leaf_order",
                            f"leaf {expected} is missing (next stored row: leaf {row.leaf_index})",
                            expected,
                        )
                        return self._finish(started)
                    before = len(self.report.findings)
                    self._record(row, result)
                    if len(self.report.findings) > before:
                        return self._finish(started)
                    expected += 1
                    if self.tree.size in checkpoint_sizes:
                        self.roots[self.tree.size] = self.tree.root()
            if expected != size:
                self.fail("leaf_order", f"leaf {expected} is missing", expected)
                return self._finish(started)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        self.report.records = expected
        self._check_extra_nodes(size)
        self._check_checkpoints(checkpoints, size)
        self._check_key_table()
        self._collect_suspects()
        return self._finish(started)

    def _finish(self, started: float) -> AuditReport:
        self.report.seconds = time.perf_counter() - started
        return self.report

    # -- one record -------------------------------------------------------------------------
    def _record(self, row: StoredRecord, c: _Checked) -> None:
        leaf, digest = row.leaf_index, row.hash
        if c.hash != row.hash:
            self.fail(
                "record_hash", f"stored bytes hash to {c.hash}, not to the stored id", leaf, digest
            )
            return
        if c.error is not None:
            self.fail("record_proof", c.error, leaf, digest)
            return
        columns = (row.issuer, row.sequence, row.kind, row.verification_method)
        if columns != (c.issuer, c.sequence, c.kind, c.verification_method):
            self.fail(
                "record_index", "index columns differ from the record's own fields", leaf, digest
            )
            return
        # Chain: sequence follows, previous links (design: per-issuer hash chain).
        head_seq, head_hash = self.heads.get(c.issuer, (0, None))
        if c.sequence != head_seq + 1 or c.previous != head_hash:
            self.fail(
                "chain",
                f"{c.issuer} sequence {c.sequence} (previous {c.previous}) does not follow "
                f"sequence {head_seq} ({head_hash})",
                leaf,
                digest,
            )
            return
        self.heads[c.issuer] = (c.sequence, digest)
        # Acceptance time never goes backwards.
        try:
            accepted = normalise_ts(row.accepted_at)
        except BpassError:
            accepted = ""
        if accepted != row.accepted_at or accepted < self.last_time:
            self.fail(
                "accepted_at", f"acceptance time {row.accepted_at!r} out of order", leaf, digest
            )
            return
        self.last_time = accepted
        self._key_history(row, c)
        if self.report.findings:
            return
        for level, index, node in self.tree.append(leaf_hash(digest, row.accepted_at)):
            stored = self._stored_node(level, index)
            if stored != node:
                what = "missing" if stored is None else "differs"
                self.fail(
                    "tree_node", f"tree node (level {level}, index {index}) {what}", leaf, digest
                )
                return

    def _key_history(self, row: StoredRecord, c: _Checked) -> None:
        signer = c.verification_method.rsplit("#", 1)[1]
        bootstrap = c.kind == "ActorRegistration" and not self.keys and c.subject is not None
        if bootstrap and c.subject is not None and c.subject.get("id") == c.issuer:
            self.keys[signer] = _KeyState(c.issuer)
        state = self.keys.get(signer)
        if state is None or state.actor != c.issuer or state.state != "active":
            why = "unknown" if state is None else state.state
            self.fail(
                "key",
                f"signed by key {signer} which was {why} at acceptance",
                row.leaf_index,
                row.hash,
            )
            return
        self.signed_by.setdefault(signer, []).append((row.leaf_index, row.hash, row.accepted_at))
        s = c.subject or {}
        if c.kind == "ActorRegistration" and s.get("id") != c.issuer:
            try:
                self.keys[initial_key(s)] = _KeyState(str(s["id"]))
            except BpassError as exc:
                self.fail("key", exc.message, row.leaf_index, row.hash)
        elif c.kind == "KeyRotation":
            state.state = "rotated"
            self.keys[str(s["nextKey"])] = _KeyState(c.issuer)
        elif c.kind == "KeyRevocation":
            revoked = self.keys.get(str(s["key"]))
            if revoked is None:
                self.fail("key", f"revocation of unknown key {s['key']}", row.leaf_index, row.hash)
                return
            revoked.state = "revoked"
            revoked.compromised_from = normalise_ts(str(s["compromisedFrom"]))
            if "nextKey" in s:
                self.keys[str(s["nextKey"])] = _KeyState(str(s["actor"]))

    # -- the tree ---------------------------------------------------------------------------
    def _stored_node(self, level: int, index: int) -> bytes | None:
        start, nodes = self.node_cursor.get(level, (-(2 * CHUNK), {}))
        if not start <= index < start + CHUNK:
            start = index - index % CHUNK
            with self.repo.read() as tx:
                nodes = dict(tx.nodes_range(level, start, start + CHUNK))
            self.node_cursor[level] = (start, nodes)
        return nodes.get(index)

    def _check_extra_nodes(self, size: int) -> None:
        expected = 0
        level = 0
        while size >> level:
            expected += size >> level
            level += 1
        if self.report.nodes != expected:
            self.fail("tree_node", f"{self.report.nodes} tree nodes stored, {expected} expected")

    def _check_checkpoints(self, checkpoints: Sequence[Any], size: int) -> None:
        self.report.checkpoints = len(checkpoints)
        if not checkpoints or checkpoints[-1].size != size:
            self.fail("checkpoint", f"no checkpoint at the current tree size {size}")
        for cp in checkpoints:
            try:
                opened = open_checkpoint(cp.note, [self.log_vkey])
            except BpassError as exc:
                self.fail("checkpoint", f"checkpoint at size {cp.size}: {exc.message}")
                return
            if (
                opened.origin != self.origin
                or opened.size != cp.size
                or opened.root_hash != cp.root
            ):
                self.fail(
                    "checkpoint", f"checkpoint at size {cp.size} differs from its stored columns"
                )
                return
            if self.roots.get(cp.size) != cp.root:
                self.fail(
                    "checkpoint",
                    f"checkpoint at size {cp.size} names a root the records do not produce: "
                    "the log was rewritten",
                )
                return

    def _check_key_table(self) -> None:
        with self.repo.read() as tx:
            stored = {k.multikey: k for k in tx.all_keys()}
        if set(stored) != set(self.keys):
            self.fail("key_table", "the key table differs from the keys the records establish")
            return
        for mk, state in self.keys.items():
            row = stored[mk]
            if (row.actor_did, row.state, row.compromised_from) != (
                state.actor,
                state.state,
                state.compromised_from,
            ):
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
