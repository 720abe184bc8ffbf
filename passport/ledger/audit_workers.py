"""The parallel half of the audit: one aligned range of leaves, read and checked in one process.

:func:`check_range` reads the records, tree nodes and checkpoints of leaves ``[start, stop)``
itself (its own database connection, raw DBAPI cursors), so record bodies never cross a
process boundary. It checks everything that depends on one record only (canonical bytes, hash,
index columns, proof, acceptance-time form), recomputes the leaf hashes and every perfect
subtree inside the range, compares them with the stored nodes, and verifies the signatures of
the checkpoints whose size falls in ``(start, stop]``. It returns compact tuples: what the
inherently sequential checks (chains, key history, acceptance order) need per record, the
range's subtree root, one hash per checkpoint from which the caller finishes that checkpoint's
root in O(log n), and the range's first failure.

``start`` is a multiple of ``2**level`` and ``stop - start <= 2**level``, so every perfect
subtree of height at most ``level`` that ends inside the range lies wholly inside it.
"""

from __future__ import annotations

import os
from multiprocessing.util import Finalize
from typing import Any, NamedTuple

from passport.ledger.log import leaf_hash
from passport.records.envelope import record_hash
from passport.records.proof import key_of_method
from passport.store.sql.repository import Repository
from passport.store.sql.tables import NODE_LEVEL_SHIFT
from passport.timefmt import normalise_ts
from signing.errors import BpassError
from signing.jcs import parse_canonical
from signing.merkle import hash_children
from signing.note import open_checkpoint
from signing.proofs import verify_proof

KEY_KINDS = frozenset({"ActorRegistration", "KeyRotation", "KeyRevocation"})
"""Record kinds that change the key history: their subjects go to the sequential replay."""

# Phases of a failure at one leaf, in the order the checks of a record run: the record's own
# bytes (leaf order, hash, proof, index columns), then the chain (sequential), then the form of
# the acceptance time, then order and keys (sequential), then the tree nodes it completes.
PHASE_RECORD = 0
PHASE_ACCEPTED = 1
PHASE_TREE = 2

Item = tuple[str, str, int, "str | None", str, str, "str | None", "dict[str, Any] | None"]
"""Per record: (hash, issuer, sequence, previous, signing multikey, acceptedAt, kind if it is
a key kind else None, credentialSubject if it is a key kind else None)."""

Failure = tuple[int, int, str, str, "str | None"]
"""The first failure of a range: (leaf index, phase, check, message, record hash)."""

CheckpointResult = tuple[int, bytes, "str | None", bytes]
"""Per checkpoint of the range: (size, stored root, failure message or None, hash of the
range's compact range at that size)."""


class RangeResult(NamedTuple):
    """What :func:`check_range` learned about leaves ``[start, stop)``."""

    start: int
    items: list[Item]
    failure: Failure | None
    root: bytes | None  # the level-``level`` subtree hash when the range is complete
    checkpoints: list[CheckpointResult]


# The reads, in SQLite's parameter style (PostgreSQL's is substituted).
_SQL = {
    "records": "SELECT leaf_index, hash, issuer, sequence, kind, verification_method,"
    " accepted_at, body FROM records WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index",
    "next": "SELECT min(leaf_index) FROM records WHERE leaf_index >= ? AND leaf_index < ?",
    "nodes": "SELECT pos, hash FROM tree_nodes WHERE pos >= ? AND pos < ? ORDER BY pos",
    "checkpoints": "SELECT size, root, note FROM checkpoints WHERE size > ? AND size <= ?"
    " ORDER BY size",
    "keys": "SELECT multikey, actor_did, state, compromised_from FROM actor_keys",
}


class Reader:
    """Raw DBAPI reads of the audit's three tables over one connection."""

    def __init__(self, repo: Repository) -> None:
        self._repo = repo
        self._conn: Any = repo.read_engine.raw_connection()
        self.is_sqlite = repo.is_sqlite
        sql = _SQL if self.is_sqlite else {name: q.replace("?", "%s") for name, q in _SQL.items()}
        self._records = sql["records"]
        self._next = sql["next"]
        self._nodes = sql["nodes"]
        self._checkpoints = sql["checkpoints"]

    def _all(self, sql: str, a: int, b: int) -> list[Any]:
        cur = self._conn.cursor()
        try:
            cur.execute(sql, (a, b))
            return list(cur.fetchall())
        finally:
            cur.close()

    def records(self, start: int, stop: int) -> list[Any]:
        """Rows of ``records`` with ``start <= leaf_index < stop`` in leaf order (body last)."""
        return self._all(self._records, start, stop)

    def next_leaf(self, start: int, stop: int) -> int | None:
        """The smallest stored leaf index in ``[start, stop)``, if any."""
        found = self._all(self._next, start, stop)[0][0]
        return None if found is None else int(found)

    def nodes(self, level: int, start: int, stop: int) -> list[Any]:
        """(pos, hash) of the stored nodes at ``level`` with ``start <= index < stop``."""
        base = level * NODE_LEVEL_SHIFT
        return self._all(self._nodes, base + start, base + stop)

    def checkpoints(self, after: int, upto: int) -> list[Any]:
        """(size, root, note) of the stored checkpoints with ``after < size <= upto``."""
        return self._all(self._checkpoints, after, upto)

    def end(self) -> None:
        """End the read transaction, if the driver opened one (the connection stays open)."""
        self._conn.rollback()

    def close(self) -> None:
        """Return or close the connection."""
        self._conn.close()


def key_states(conn: Any) -> dict[str, tuple[str, str, str | None]]:
    """multikey -> (actor, state, compromisedFrom) of every stored key, over DBAPI ``conn``."""
    cur = conn.cursor()
    try:
        cur.execute(_SQL["keys"])
        return {mk: (actor, state, since) for mk, actor, state, since in cur.fetchall()}
    finally:
        cur.close()


_READER: tuple[int, str, Reader] | None = None


def _reader(url: str) -> Reader:
    """This worker process's reader for ``url``, opened on first use and kept for later ranges.

    Keyed by process id too: a forked worker must not use a connection its parent opened.
    """
    global _READER
    pid = os.getpid()
    if _READER is None or _READER[0] != pid or _READER[1] != url:
        reader = Reader(Repository(url))
        # Close it when the worker exits (a PostgreSQL server then sees a clean goodbye).
        Finalize(reader, reader.close, exitpriority=10)
        _READER = (pid, url, reader)
    return _READER[2]


def check_range_in_worker(
    url: str, start: int, stop: int, size: int, level: int, origin: str, log_vkey: str
) -> RangeResult:
    """:func:`check_range` in a pool worker, over the worker's own connection to ``url``."""
    reader = _reader(url)
    try:
        return check_range(reader, start, stop, size, level, origin, log_vkey)
    finally:
        reader.end()


def _check_record(row: Any) -> tuple[Item | None, tuple[int, str, str] | None]:
    """One stored row: its item, or (phase, check, message) of its first own failure."""
    _, stored_hash, issuer, sequence, kind, vm, accepted_at, body = row
    body = bytes(body)
    digest = record_hash(body)
    if digest != stored_hash:
        return None, (
            PHASE_RECORD,
            "record_hash",
            f"stored bytes hash to {digest}, not to the stored id",
        )
    try:
        doc, canonical = parse_canonical(body)
        if canonical != body:
            return None, (PHASE_RECORD, "record_proof", "stored bytes are not canonical JSON")
        doc_vm = doc["proof"]["verificationMethod"]
        # body == canonicalize(doc) (checked above): the proof check reuses the stored bytes.
        verify_proof(doc, resolve_key=key_of_method, canonical=body)
        doc_kind = doc["type"][1]
        doc_issuer = doc["issuer"]
        chain = doc["chain"]
        doc_sequence = chain["sequence"]
        previous = chain.get("previous")
        key_kind = doc_kind if doc_kind in KEY_KINDS else None
        subject = doc["credentialSubject"] if key_kind is not None else None
        signer = doc_vm.rsplit("#", 1)[1]
    except BpassError as exc:
        return None, (PHASE_RECORD, "record_proof", f"{exc.code}: {exc.message}")
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        return None, (PHASE_RECORD, "record_proof", f"record structure unreadable: {exc!r}")
    if (issuer, sequence, kind, vm) != (doc_issuer, doc_sequence, doc_kind, doc_vm):
        return None, (
            PHASE_RECORD,
            "record_index",
            "index columns differ from the record's own fields",
        )
    item: Item = (
        digest,
        doc_issuer,
        doc_sequence,
        previous,
        signer,
        accepted_at,
        key_kind,
        subject,
    )
    return item, None


def _first_node_failure(
    reader: Reader, levels: list[list[bytes]], start: int
) -> tuple[int, str] | None:
    """The first stored node, in leaf order, that differs from ``levels``: (leaf, message).

    ``levels[h]`` holds the recomputed perfect subtrees of height ``h`` inside the range, from
    index ``start >> h`` on. A node is checked when the leaf completing it is appended, lower
    levels first, so the first failure is the smallest (completing leaf, level).
    """
    worst: tuple[int, int, str] | None = None
    for height, hashes in enumerate(levels):
        if not hashes:
            break
        first = start >> height
        rows = reader.nodes(height, first, first + len(hashes))
        base = height * NODE_LEVEL_SHIFT + first
        if (
            len(rows) == len(hashes)
            and rows[0][0] == base
            and rows[-1][0] == base + len(hashes) - 1
            and [bytes(h) for _, h in rows] == hashes
        ):
            continue  # every node of this level stored and equal
        stored = {int(pos) - base: bytes(h) for pos, h in rows}
        for offset, node in enumerate(hashes):
            got = stored.get(offset)
            if got != node:
                index = first + offset
                leaf = ((index + 1) << height) - 1  # the leaf that completes this node
                what = "missing" if got is None else "differs"
                found = (leaf, height, f"tree node (level {height}, index {index}) {what}")
                if worst is None or found[:2] < worst[:2]:
                    worst = found
                break
    return None if worst is None else (worst[0], worst[2])


def _fold(levels: list[list[bytes]], count: int) -> bytes:
    """Hash of the compact range of the first ``count`` leaves of the range (count >= 1).

    RFC 9162 §2.1.1: MTH(D[n]) = H(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of
    two below n; unrolled, the perfect subtrees of the binary decomposition of ``count`` (the
    largest leftmost) are folded from the right.
    """
    node: bytes | None = None
    for height in range(count.bit_length()):
        if count >> height & 1:
            sub = levels[height][(count >> height) - 1]
            node = sub if node is None else hash_children(sub, node)
    assert node is not None
    return node


def check_range(
    reader: Reader, start: int, stop: int, size: int, level: int, origin: str, log_vkey: str
) -> RangeResult:
    """Check leaves ``[start, stop)`` of a log of ``size`` leaves; see the module docstring."""
    items: list[Item] = []
    failure: Failure | None = None
    leaves: list[bytes] = []
    good_times: set[str] = set()
    expected = start
    for row in reader.records(start, stop):
        leaf = row[0]
        if leaf != expected:
            failure = (
                expected,
                PHASE_RECORD,
                "leaf_order",
                f"leaf {expected} is missing (next stored row: leaf {leaf})",
                None,
            )
            break
        item, own = _check_record(row)
        if own is not None:
            failure = (leaf, own[0], own[1], own[2], row[1])
            break
        assert item is not None
        items.append(item)
        accepted_at = row[6]
        if accepted_at not in good_times:
            try:
                normalised = normalise_ts(accepted_at)
            except BpassError:
                normalised = ""
            if normalised != accepted_at:
                failure = (
                    leaf,
                    PHASE_ACCEPTED,
                    "accepted_at",
                    f"acceptance time {accepted_at!r} out of order",
                    row[1],
                )
                break
            good_times.add(accepted_at)
        # RFC 9162 §2.1.1: the leaf hash, MTH({d}) = SHA-256(0x00 || d).
        leaves.append(leaf_hash(row[1], accepted_at))
        expected += 1
    else:
        if expected < stop:
            after = reader.next_leaf(stop, size)
            tail = "" if after is None else f" (next stored row: leaf {after})"
            failure = (
                expected,
                PHASE_RECORD,
                "leaf_order",
                f"leaf {expected} is missing{tail}",
                None,
            )

    # RFC 9162 §2.1.1: every perfect subtree inside the range, level by level,
    # MTH(D[n]) = SHA-256(0x01 || MTH(left half) || MTH(right half)).
    levels = [leaves]
    while len(levels) <= level and len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([hash_children(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    bad_node = _first_node_failure(reader, levels, start)
    if bad_node is not None and (failure is None or bad_node[0] < failure[0]):
        leaf = bad_node[0]
        failure = (leaf, PHASE_TREE, "tree_node", bad_node[1], items[leaf - start][0])
        del items[leaf - start + 1 :]
    if failure is not None:
        return RangeResult(start, items, failure, None, [])

    complete = stop - start == 1 << level
    root = levels[level][0] if complete else None
    checkpoints: list[CheckpointResult] = []
    for cp_size, cp_root, note in reader.checkpoints(start, stop):
        cp_root = bytes(cp_root)
        error = checkpoint_error(cp_size, cp_root, note, origin, log_vkey)
        checkpoints.append((cp_size, cp_root, error, _fold(levels, cp_size - start)))
    return RangeResult(start, items, None, root, checkpoints)


def checkpoint_error(size: int, root: bytes, note: str, origin: str, log_vkey: str) -> str | None:
    """Why a stored checkpoint fails on its own (signature, columns), or None."""
    try:
        opened = open_checkpoint(note, [log_vkey])
    except BpassError as exc:
        return f"checkpoint at size {size}: {exc.message}"
    if opened.origin != origin or opened.size != size or opened.root_hash != root:
        return f"checkpoint at size {size} differs from its stored columns"
    return None
