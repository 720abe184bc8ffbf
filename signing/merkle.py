"""RFC 9162 §2.1 SHA-256 Merkle tree over a store of perfect-subtree node hashes.

The ledger persists only *perfect* (complete) subtrees: node ``(level, index)`` is the hash of
leaves ``[index * 2**level, (index + 1) * 2**level)``; level-0 nodes are leaf hashes. Every other
subtree hash that RFC 9162 needs (the root of a non-power-of-two tree, the right-hand sibling on
the tree's right edge) is recomputed from O(log n) perfect nodes.

All functions that need stored nodes take a :data:`NodeReader` and call it **at most once** with
the full list of O(log n) coordinates, so a database-backed reader costs one round trip per proof.
This module is pure: it performs no I/O itself.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TypeVar

from signing.errors import MerkleProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemoryTree",
    "NodeReader",
    "consistency_proof",
    "hash_children",
    "hash_leaf",
    "inclusion_proof",
    "inclusion_proofs",
    "nodes_for_append",
    "nodes_for_append_batch",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Size in bytes of every node hash (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""RFC 9162 §2.1.1: the hash of an empty list is the hash of an empty string."""

NodeReader = Callable[[Sequence[tuple[int, int]]], Sequence[bytes]]
"""Given ``(level, index)`` coordinates of perfect nodes, return their hashes in the same order."""

_Range = tuple[int, int]  # a subtree as the half-open leaf range [start, end)
_T = TypeVar("_T")


def _same(value: bytes) -> bytes:
    return value


def hash_leaf(data: bytes) -> bytes:
    """Return the leaf hash ``SHA-256(0x00 || data)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash ``SHA-256(0x01 || left || right)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_count(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MerkleProofError(f"{what} must be a non-negative integer", **{what: value})


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        length = len(value) if isinstance(value, bytes | bytearray) else None
        raise MerkleProofError(f"{what} must be {HASH_SIZE} bytes", field=what, length=length)


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, element in enumerate(proof):
        _check_hash(element, f"proof[{position}]")


# --------------------------------------------------------------------------------------------
# Subtree decomposition
# --------------------------------------------------------------------------------------------


def _largest_power_of_two_below(n: int) -> int:
    """RFC 9162 §2.1.1: k, the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect_cover(start: int, end: int) -> list[tuple[int, int]]:
    """Perfect nodes whose right fold is MTH(D[start:end]).

    Every range used by RFC 9162 starts on a multiple of a power of two at least as large as its
    length, so greedily taking the largest power of two that fits yields aligned perfect nodes of
    strictly decreasing size (the binary expansion of ``end - start``).
    """
    cover: list[tuple[int, int]] = []
    while start < end:
        level = (end - start).bit_length() - 1
        cover.append((level, start >> level))
        start += 1 << level
    return cover


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect-node hashes of decreasing size into one subtree hash.

    RFC 9162 §2.1.1: MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])) with D[0:k] perfect, so
    the hash of a range is the right fold of its perfect cover.
    """
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = hash_children(left, result)
    return result


def _inclusion_ranges(index: int, size: int) -> list[_Range]:
    """Subtree ranges whose hashes form PATH(index, D[size]), deepest first (RFC 9162 §2.1.3.1)."""
    ranges: list[_Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index < start + k:
            # RFC 9162 §2.1.3.1: m < k -> PATH(m, D[0:k]) : MTH(D[k:n])
            ranges.append((start + k, end))
            end = start + k
        else:
            # RFC 9162 §2.1.3.1: m >= k -> PATH(m - k, D[k:n]) : MTH(D[0:k])
            ranges.append((start, start + k))
            start += k
    ranges.reverse()  # the recursive PATH comes first, so the deepest sibling leads the list
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[_Range]:
    """Subtree ranges whose hashes form PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1)."""
    ranges: list[_Range] = []
    start, end, m, complete = 0, new_size, old_size, True  # PROOF = SUBPROOF(m, D[n], true)
    while True:
        n = end - start
        if m == n:
            # RFC 9162 §2.1.4.1: SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH}
            if not complete:
                ranges.append((start, end))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            # RFC 9162 §2.1.4.1: m <= k -> SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            ranges.append((start + k, end))
            end = start + k
        else:
            # RFC 9162 §2.1.4.1: m > k -> SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            ranges.append((start, start + k))
            start += k
            m -= k
            complete = False
    ranges.reverse()  # the recursive SUBPROOF comes first
    return ranges


def _read(reader: NodeReader, coords: Sequence[tuple[int, int]]) -> list[bytes]:
    """Fetch ``coords`` with a single reader call (none if empty) and validate the answer."""
    if not coords:
        return []
    hashes = list(reader(coords))
    if len(hashes) != len(coords):
        raise MerkleProofError(
            "node reader returned the wrong number of hashes",
            requested=len(coords),
            returned=len(hashes),
        )
    for (level, index), value in zip(coords, hashes, strict=True):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise MerkleProofError(
                f"node reader returned a hash that is not {HASH_SIZE} bytes",
                level=level,
                index=index,
            )
    return hashes


def _range_hashes(ranges: Sequence[_Range], reader: NodeReader) -> list[bytes]:
    """Hash every range from its perfect cover, fetching all covers in one reader call."""
    coords: list[tuple[int, int]] = []
    spans: list[tuple[int, int]] = []
    for start, end in ranges:
        n = end - start
        if n & (n - 1) == 0:  # a perfect subtree (ranges here start aligned): one stored node
            level = n.bit_length() - 1
            spans.append((len(coords), len(coords) + 1))
            coords.append((level, start >> level))
            continue
        cover = _perfect_cover(start, end)
        spans.append((len(coords), len(coords) + len(cover)))
        coords.extend(cover)
    hashes = _read(reader, coords)
    return [
        hashes[first] if last - first == 1 else _fold(hashes[first:last]) for first, last in spans
    ]


# --------------------------------------------------------------------------------------------
# Appending
# --------------------------------------------------------------------------------------------


def nodes_for_append(
    size: int, leaf_hash: bytes, reader: NodeReader
) -> list[tuple[int, int, bytes]]:
    """Return the perfect nodes ``(level, index, hash)`` created by appending leaf number ``size``.

    The level-0 node (the leaf hash itself) comes first, then each completed ancestor in
    increasing level. The left siblings on the way up (one per trailing 1-bit of ``size``) are
    read from the existing tree with one reader call.
    """
    _check_count(size, "size")
    _check_hash(leaf_hash, "leaf hash")
    # A new level-(l+1) node completes for each trailing 1-bit l of size: its left child is the
    # existing perfect node (l, (size >> l) - 1).
    trailing_ones = (size ^ (size + 1)).bit_length() - 1
    siblings = _read(reader, [(level, (size >> level) - 1) for level in range(trailing_ones)])
    nodes = [(0, size, leaf_hash)]
    current = leaf_hash
    for level, sibling in enumerate(siblings):
        current = hash_children(sibling, current)  # RFC 9162 §2.1.1 interior node
        nodes.append((level + 1, size >> (level + 1), current))
    return nodes


def nodes_for_append_batch(
    size: int, leaf_hashes: Sequence[bytes], reader: NodeReader
) -> list[tuple[int, int, bytes]]:
    """Return the perfect nodes created by appending ``leaf_hashes`` to a tree of ``size`` leaves.

    The result equals the concatenation of :func:`nodes_for_append` for each leaf in turn. Nodes
    created inside the batch are combined directly; only left-edge siblings from the existing tree
    are fetched, with at most one reader call.
    """
    _check_count(size, "size")
    for position, leaf in enumerate(leaf_hashes):
        _check_hash(leaf, f"leaf_hashes[{position}]")
    if not leaf_hashes:
        return []
    end = size + len(leaf_hashes)
    # New level-l nodes are those i with size < (i + 1) * 2**l <= end. The first new node at level
    # l+1 needs an existing left child exactly when size >> l is odd.
    wanted = [
        (level, (size >> level) - 1)
        for level in range(size.bit_length())
        if (size >> level) & 1 and ((size >> (level + 1)) + 1) << (level + 1) <= end
    ]
    existing = dict(zip(wanted, _read(reader, wanted), strict=True))

    current: dict[int, bytes] = {size + offset: leaf for offset, leaf in enumerate(leaf_hashes)}
    created: list[tuple[int, int, bytes]] = [(0, i, h) for i, h in current.items()]
    level = 0
    while True:
        first, stop = size >> (level + 1), end >> (level + 1)
        if first >= stop:
            break
        parents: dict[int, bytes] = {}
        for index in range(first, stop):
            left = current.get(2 * index)
            if left is None:
                left = existing[(level, 2 * index)]
            parents[index] = hash_children(left, current[2 * index + 1])
        level += 1
        created.extend((level, i, h) for i, h in parents.items())
        current = parents
    # Order as single appends would: by the leaf that completes each node, then by level.
    created.sort(key=lambda node: ((node[1] + 1) << node[0], node[0]))
    return created


# --------------------------------------------------------------------------------------------
# Roots and proofs
# --------------------------------------------------------------------------------------------


def root(size: int, reader: NodeReader) -> bytes:
    """Return MTH of the first ``size`` leaves (RFC 9162 §2.1.1); :data:`EMPTY_ROOT` for 0."""
    _check_count(size, "size")
    if size == 0:
        return EMPTY_ROOT  # RFC 9162 §2.1.1: MTH({}) = HASH()
    return _range_hashes([(0, size)], reader)[0]


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[bytes]:
    """Return the inclusion proof PATH(index, D[size]) (RFC 9162 §2.1.3.1), deepest node first."""
    _check_count(index, "index")
    _check_count(size, "size")
    if index >= size:
        raise MerkleProofError("leaf index is outside the tree", index=index, size=size)
    return _range_hashes(_inclusion_ranges(index, size), reader)


def inclusion_proofs(
    indices: Sequence[int],
    size: int,
    reader: NodeReader,
    encode: Callable[[bytes], _T] = _same,  # type: ignore[assignment]
) -> list[tuple[_T, ...]]:
    """Inclusion proofs of several leaves in one tree, each as a tuple: for every ``i`` of
    ``indices``, ``tuple(encode(h) for h in inclusion_proof(i, size, reader))``.

    RFC 9162 §2.1.3.1 defines PATH(m, D[n]) recursively: below the root, the path of the half
    holding ``m`` followed by the hash of the other half. Here that recursion runs once for all
    indices together, so a subtree shared by many paths (the whole right edge, every sibling
    inside a batch of neighbouring leaves) is hashed, read and encoded once, and the part of a
    path above a node is one tuple shared by every leaf below it. Pass 1 collects the sibling
    subtrees and reads their perfect nodes with one reader call; pass 2 builds the paths.
    """
    _check_count(size, "size")
    for index in indices:
        _check_count(index, "index")
        if index >= size:
            raise MerkleProofError("leaf index is outside the tree", index=index, size=size)
    wanted = sorted(set(indices))
    if not wanted:
        return []
    # A node is (start, end, lo, hi): the leaf range [start, end) and wanted[lo:hi] inside it.
    siblings: list[_Range] = []
    splits: list[tuple[int, int, int, int, int, int]] = []
    stack = [(0, size, 0, len(wanted))]
    while stack:
        start, end, lo, hi = stack.pop()
        n = end - start
        if n == 1:
            continue
        middle = start + (1 << ((n - 1).bit_length() - 1))  # k = largest power of two < n
        split = bisect_left(wanted, middle, lo, hi)
        splits.append((start, end, lo, hi, middle, split))
        if split > lo:  # m < k: PATH(m, D[0:k]) : MTH(D[k:n])
            siblings.append((middle, end))
            stack.append((start, middle, lo, split))
        if split < hi:  # m >= k: PATH(m - k, D[k:n]) : MTH(D[0:k])
            siblings.append((start, middle))
            stack.append((middle, end, split, hi))
    unique = list(dict.fromkeys(siblings))
    encoded = dict(zip(unique, map(encode, _range_hashes(unique, reader)), strict=True))
    # Pass 2, in the same order: the path above each node, deepest sibling first.
    above: dict[tuple[int, int], tuple[_T, ...]] = {(0, size): ()}
    paths: dict[int, tuple[_T, ...]] = {}
    for start, end, lo, hi, middle, split in splits:
        upper = above.pop((start, end))
        if split > lo:
            left = (encoded[(middle, end)], *upper)
            if middle - start == 1:  # the leaf itself
                paths[wanted[lo]] = left
            else:
                above[(start, middle)] = left
        if split < hi:
            right = (encoded[(start, middle)], *upper)
            if end - middle == 1:
                paths[wanted[split]] = right
            else:
                above[(middle, end)] = right
    if size == 1:
        paths[0] = ()
    return [paths[i] for i in indices]


def consistency_proof(old_size: int, new_size: int, reader: NodeReader) -> list[bytes]:
    """Return the consistency proof PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1).

    ``old_size`` must satisfy ``0 < old_size <= new_size``; equal sizes give an empty proof.
    """
    _check_count(old_size, "old_size")
    _check_count(new_size, "new_size")
    if old_size == 0:
        raise MerkleProofError("no consistency proof exists from an empty tree", new_size=new_size)
    if old_size > new_size:
        raise MerkleProofError(
            "old size is larger than new size", old_size=old_size, new_size=new_size
        )
    return _range_hashes(_consistency_ranges(old_size, new_size), reader)


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Verify an inclusion proof (RFC 9162 §2.1.3.2); raise :class:`MerkleProofError` if invalid."""
    _check_count(index, "index")
    _check_count(size, "size")
    # RFC 9162 §2.1.3.2 step 1: leaf_index must be smaller than tree_size.
    if index >= size:
        raise MerkleProofError("leaf index is outside the tree", index=index, size=size)
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root")
    _check_proof_hashes(proof)
    expected = len(_inclusion_ranges(index, size))
    if len(proof) != expected:
        raise MerkleProofError(
            "inclusion proof has the wrong length", expected=expected, actual=len(proof)
        )
    # RFC 9162 §2.1.3.2 steps 2-3.
    fn, sn = index, size - 1
    result = leaf_hash
    # RFC 9162 §2.1.3.2 step 4.
    for element in proof:
        if sn == 0:  # step 4a
            raise MerkleProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:  # step 4b
            result = hash_children(element, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:  # step 4b "otherwise"
            result = hash_children(result, element)
        fn >>= 1  # step 4c
        sn >>= 1
    # RFC 9162 §2.1.3.2 step 5.
    if sn != 0:
        raise MerkleProofError("inclusion proof is shorter than the path to the root")
    if result != root:
        raise MerkleProofError(
            "inclusion proof does not lead to the expected root", index=index, size=size
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Verify a consistency proof (RFC 9162 §2.1.4.2); raise :class:`MerkleProofError` if invalid.

    A proof from an empty tree is always rejected (it proves nothing). With equal sizes the proof
    must be empty and the two roots equal.
    """
    _check_count(old_size, "old_size")
    _check_count(new_size, "new_size")
    if old_size == 0:
        raise MerkleProofError("a consistency proof from an empty tree is not accepted")
    if old_size > new_size:
        raise MerkleProofError(
            "old size is larger than new size", old_size=old_size, new_size=new_size
        )
    if old_size == new_size:
        # RFC 9162 §2.1.4.1: SUBPROOF(m, D[m], true) is empty; the trees must be the same.
        if proof:
            raise MerkleProofError("consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise MerkleProofError("roots differ for equal tree sizes", size=old_size)
        return
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    _check_proof_hashes(proof)
    expected = len(_consistency_ranges(old_size, new_size))
    # RFC 9162 §2.1.4.2 step 1: an empty proof fails (expected is never 0 here).
    if len(proof) != expected:
        raise MerkleProofError(
            "consistency proof has the wrong length", expected=expected, actual=len(proof)
        )
    path = list(proof)
    # RFC 9162 §2.1.4.2 step 2: if first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # RFC 9162 §2.1.4.2 step 3.
    fn, sn = old_size - 1, new_size - 1
    # RFC 9162 §2.1.4.2 step 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # RFC 9162 §2.1.4.2 step 5.
    fr = sr = path[0]
    # RFC 9162 §2.1.4.2 step 6.
    for element in path[1:]:
        if sn == 0:  # step 6a
            raise MerkleProofError("consistency proof is longer than the path to the new root")
        if fn & 1 or fn == sn:  # step 6b
            fr = hash_children(element, fr)
            sr = hash_children(element, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:  # step 6b "otherwise"
            sr = hash_children(sr, element)
        fn >>= 1  # step 6c
        sn >>= 1
    # RFC 9162 §2.1.4.2 step 7.
    if sn != 0:
        raise MerkleProofError("consistency proof is shorter than the path to the new root")
    if fr != old_root:
        raise MerkleProofError("consistency proof does not lead to the old root", size=old_size)
    if sr != new_root:
        raise MerkleProofError("consistency proof does not lead to the new root", size=new_size)


# --------------------------------------------------------------------------------------------
# In-memory store
# --------------------------------------------------------------------------------------------


class MemoryTree:
    """An in-memory perfect-node store with the same algorithms as the database-backed ledger.

    Intended for tests and for offline verifiers that rebuild a tree from its leaf hashes.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        """Create a tree, optionally appending ``leaf_hashes``."""
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._size = 0
        self.append_many(list(leaf_hashes))

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._size

    @property
    def nodes(self) -> Mapping[tuple[int, int], bytes]:
        """Read-only view of the stored perfect nodes, keyed by ``(level, index)``."""
        return MappingProxyType(self._nodes)

    def reader(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        """A :data:`NodeReader` over the stored nodes."""
        try:
            return [self._nodes[coord] for coord in coords]
        except KeyError as exc:
            raise MerkleProofError("node is not stored", node=exc.args[0]) from None

    def _store(self, nodes: Iterable[tuple[int, int, bytes]]) -> None:
        for level, index, value in nodes:
            self._nodes[(level, index)] = value

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash and return its index."""
        index = self._size
        self._store(nodes_for_append(index, leaf_hash, self.reader))
        self._size += 1
        return index

    def append_many(self, leaf_hashes: Sequence[bytes]) -> int:
        """Append several leaf hashes and return the index of the first one."""
        first = self._size
        self._store(nodes_for_append_batch(first, leaf_hashes, self.reader))
        self._size += len(leaf_hashes)
        return first

    def leaf_hash(self, index: int) -> bytes:
        """Return the leaf hash at ``index``."""
        _check_count(index, "index")
        if index >= self._size:
            raise MerkleProofError("leaf index is outside the tree", index=index, size=self._size)
        return self._nodes[(0, index)]

    def _size_or_current(self, size: int | None) -> int:
        if size is None:
            return self._size
        _check_count(size, "size")
        if size > self._size:
            raise MerkleProofError("size exceeds the stored tree", size=size, stored=self._size)
        return size

    def root(self, size: int | None = None) -> bytes:
        """Return the root of the first ``size`` leaves (default: the whole tree)."""
        return root(self._size_or_current(size), self.reader)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
        return inclusion_proof(index, self._size_or_current(size), self.reader)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return the consistency proof from ``old_size`` to ``new_size`` (default: current)."""
        return consistency_proof(old_size, self._size_or_current(new_size), self.reader)
