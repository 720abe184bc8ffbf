"""Tests for signing.merkle: RFC 9162 §2.1 hashing, perfect-node storage and proofs."""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signing.errors import MerkleProofError
from signing.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    NodeReader,
    consistency_proof,
    hash_children,
    hash_leaf,
    inclusion_proof,
    inclusion_proofs,
    nodes_for_append,
    nodes_for_append_batch,
    root,
    verify_consistency,
    verify_inclusion,
)
from tests.helpers.vectors import VECTORS_DIR, load_json

MERKLE_DIR = VECTORS_DIR / "merkle-rfc6962"


def _vector_files(kind: str) -> list[str]:
    base = MERKLE_DIR / kind
    return sorted(str(p.relative_to(MERKLE_DIR)) for p in base.rglob("*.json"))


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _leaves(n: int) -> list[bytes]:
    return [hash_leaf(f"leaf {i}".encode()) for i in range(n)]


# ---------------------------------------------------------------------------------------------
# Naive reference implementations written directly from the RFC 9162 §2.1 definitions
# ---------------------------------------------------------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return hash_children(naive_mth(hashes[:k]), naive_mth(hashes[k:]))


def naive_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*naive_path(m, hashes[:k]), naive_mth(hashes[k:])]
    return [*naive_path(m - k, hashes[k:]), naive_mth(hashes[:k])]


def naive_subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [naive_mth(hashes)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, hashes[:k], complete), naive_mth(hashes[k:])]
    return [*naive_subproof(m - k, hashes[k:], False), naive_mth(hashes[:k])]


class CountingReader:
    """Wraps a reader, recording every call."""

    def __init__(self, inner: NodeReader) -> None:
        self.inner = inner
        self.calls: list[list[tuple[int, int]]] = []

    def __call__(self, coords: Sequence[tuple[int, int]]) -> Sequence[bytes]:
        self.calls.append(list(coords))
        return self.inner(coords)


def synthetic_reader(size: int) -> NodeReader:
    """Reader for a virtual tree of ``size`` leaves: hash = SHA-256 of the coordinate."""

    def read(coords: Sequence[tuple[int, int]]) -> list[bytes]:
        out = []
        for level, index in coords:
            assert level >= 0
            assert index >= 0
            assert (index + 1) << level <= size, "read a node outside the perfect part of the tree"
            out.append(hashlib.sha256(f"{level}/{index}".encode()).digest())
        return out

    return read


def _bound(n: int) -> int:
    return 2 * math.ceil(math.log2(n)) + 2


BIG_TREE = MemoryTree(_leaves(300))
BIG_LEAVES = [BIG_TREE.leaf_hash(i) for i in range(BIG_TREE.size)]


# ---------------------------------------------------------------------------------------------
# Vectors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vector",
    load_json("merkle-rfc6962/hasher-vectors.json")["vectors"],
    ids=lambda v: v["desc"],
)
def test_hasher_vectors(vector: dict[str, Any]) -> None:
    want = bytes.fromhex(vector["want_hex"])
    if vector["op"] == "empty_root":
        got = EMPTY_ROOT
    elif vector["op"] == "hash_leaf":
        got = hash_leaf(vector["input_utf8"].encode())
    else:
        assert vector["op"] == "hash_children"
        got = hash_children(vector["left_utf8"].encode(), vector["right_utf8"].encode())
    assert got == want


@pytest.mark.parametrize("relpath", _vector_files("inclusion"))
def test_inclusion_vectors(relpath: str) -> None:
    v = load_json(f"merkle-rfc6962/{relpath}")
    args = (_b64(v["leafHash"]), v["leafIdx"], v["treeSize"], [_b64(p) for p in v["proof"] or []])
    if v["wantErr"]:
        with pytest.raises(MerkleProofError):
            verify_inclusion(*args, _b64(v["root"]))
    else:
        verify_inclusion(*args, _b64(v["root"]))


@pytest.mark.parametrize("relpath", _vector_files("consistency"))
def test_consistency_vectors(relpath: str) -> None:
    v = load_json(f"merkle-rfc6962/{relpath}")
    args = (v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]))
    proof = [_b64(p) for p in v["proof"] or []]
    if v["wantErr"]:
        with pytest.raises(MerkleProofError):
            verify_consistency(*args, proof)
    else:
        verify_consistency(*args, proof)


def test_vector_files_found() -> None:
    assert len(_vector_files("inclusion")) > 50
    assert len(_vector_files("consistency")) > 50


# ---------------------------------------------------------------------------------------------
# Roots, appends, proofs against the naive reference
# ---------------------------------------------------------------------------------------------


def test_root_matches_naive_mth() -> None:
    tree = MemoryTree()
    assert tree.root() == EMPTY_ROOT
    for n in range(1, 130):
        tree.append(BIG_LEAVES[n - 1])
        assert tree.root() == naive_mth(BIG_LEAVES[:n])
    for n in range(130, BIG_TREE.size + 1):
        assert BIG_TREE.root(n) == naive_mth(BIG_LEAVES[:n])


def test_inclusion_all_sizes_up_to_70() -> None:
    for size in range(1, 71):
        tree_root = BIG_TREE.root(size)
        for index in range(size):
            proof = BIG_TREE.inclusion_proof(index, size)
            assert proof == naive_path(index, BIG_LEAVES[:size])
            verify_inclusion(BIG_LEAVES[index], index, size, proof, tree_root)


def test_consistency_all_pairs_up_to_40() -> None:
    for new in range(1, 41):
        new_root = BIG_TREE.root(new)
        for old in range(1, new + 1):
            proof = BIG_TREE.consistency_proof(old, new)
            assert proof == naive_subproof(old, BIG_LEAVES[:new], True)
            verify_consistency(old, new, BIG_TREE.root(old), new_root, proof)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_proofs_verify(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, BIG_TREE.size))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    verify_inclusion(
        BIG_LEAVES[index], index, size, BIG_TREE.inclusion_proof(index, size), BIG_TREE.root(size)
    )
    verify_consistency(
        old, size, BIG_TREE.root(old), BIG_TREE.root(size), BIG_TREE.consistency_proof(old, size)
    )


def test_single_append_nodes() -> None:
    tree = MemoryTree()
    leaves = _leaves(8)
    for i, leaf in enumerate(leaves[:7]):
        tree.append(leaf)
        assert tree.size == i + 1
    nodes = nodes_for_append(7, leaves[7], tree.reader)
    assert [(lvl, idx) for lvl, idx, _ in nodes] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert nodes[-1][2] == naive_mth(leaves)
    # Leaf 8 completes nothing above level 0 and needs no sibling.
    reader = CountingReader(tree.reader)
    assert nodes_for_append(4, leaves[4], reader) == [(0, 4, leaves[4])]
    assert reader.calls == []


def test_memory_tree_stores_only_perfect_nodes() -> None:
    tree = MemoryTree(_leaves(13))
    for level, index in tree.nodes:
        assert (index + 1) << level <= 13
    # 13 leaves: 13 + 6 + 3 + 1 perfect nodes.
    assert len(tree.nodes) == 13 + 6 + 3 + 1


@settings(max_examples=150, deadline=None)
@given(start=st.integers(0, 200), count=st.integers(0, 100))
def test_batch_append_equals_single_appends(start: int, count: int) -> None:
    leaves = BIG_LEAVES[start : start + count]
    base = MemoryTree(BIG_LEAVES[:start])
    singles: list[tuple[int, int, bytes]] = []
    tree = MemoryTree(BIG_LEAVES[:start])
    for leaf in leaves:
        singles.extend(nodes_for_append(tree.size, leaf, tree.reader))
        tree.append(leaf)
    reader = CountingReader(base.reader)
    batch = nodes_for_append_batch(start, leaves, reader)
    assert batch == singles
    assert len(reader.calls) <= 1
    # Only left-edge siblings from the existing tree are read.
    if reader.calls:
        assert all((i + 1) << lvl <= start for lvl, i in reader.calls[0])
        assert len(reader.calls[0]) <= start.bit_length()
    base.append_many(leaves)
    assert dict(base.nodes) == dict(tree.nodes)


def test_batch_append_in_chunks_matches_naive_root() -> None:
    tree = MemoryTree()
    leaves = _leaves(257)
    for chunk in (1, 2, 3, 5, 8, 13, 21, 34, 55, 115):
        tree.append_many(leaves[tree.size : tree.size + chunk])
        assert tree.root() == naive_mth(leaves[: tree.size])
    assert tree.size == 257


# ---------------------------------------------------------------------------------------------
# Reader usage: one call, O(log n) coordinates
# ---------------------------------------------------------------------------------------------


_EDGE_SIZES = sorted(
    {n for p in range(1, 21) for n in (2**p - 1, 2**p, 2**p + 1) if 2 <= n <= 1_000_000}
    | {3, 5, 6, 7, 10, 11, 999_999, 1_000_000}
)


def _check_reader_usage(index: int, old: int, size: int) -> None:
    reader = CountingReader(synthetic_reader(size))
    root(size, reader)
    assert len(reader.calls) == 1
    assert len(reader.calls[0]) <= size.bit_length()

    reader = CountingReader(synthetic_reader(size))
    proof = inclusion_proof(index, size, reader)
    assert len(reader.calls) == 1
    assert len(reader.calls[0]) <= _bound(size)
    assert len(proof) <= math.ceil(math.log2(size))

    reader = CountingReader(synthetic_reader(size))
    proof = consistency_proof(old, size, reader)
    if old == size:
        assert proof == []
        assert reader.calls == []
    else:
        assert len(reader.calls) == 1
        assert len(reader.calls[0]) <= _bound(size)


@pytest.mark.parametrize("size", _EDGE_SIZES)
def test_reader_called_once_edge_sizes(size: int) -> None:
    for index in {0, 1, size // 2, size - 2, size - 1}:
        for old in {1, 2, size // 2 + 1, size - 1, size}:
            _check_reader_usage(index, old, size)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_reader_called_once_random(data: st.DataObject) -> None:
    size = data.draw(st.integers(2, 1_000_000))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    _check_reader_usage(index, old, size)


def test_single_leaf_needs_no_reads() -> None:
    reader = CountingReader(synthetic_reader(1))
    assert inclusion_proof(0, 1, reader) == []
    assert reader.calls == []
    assert root(0, reader) == EMPTY_ROOT
    assert reader.calls == []


@pytest.mark.parametrize(
    "bad",
    [
        lambda coords: [],
        lambda coords: [b"\x00" * 31 for _ in coords],
    ],
    ids=["short-answer", "short-hash"],
)
def test_bad_reader_answer(bad: Callable[[Sequence[tuple[int, int]]], list[bytes]]) -> None:
    with pytest.raises(MerkleProofError):
        inclusion_proof(0, 5, bad)
    with pytest.raises(MerkleProofError):
        nodes_for_append_batch(3, _leaves(1), bad)


# ---------------------------------------------------------------------------------------------
# Tampering
# ---------------------------------------------------------------------------------------------


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 21])
def test_inclusion_tampering_raises(size: int) -> None:
    tree_root = BIG_TREE.root(size)
    extra = hash_leaf(b"extra")
    for index in range(size):
        leaf = BIG_LEAVES[index]
        proof = BIG_TREE.inclusion_proof(index, size)
        for pos, element in enumerate(proof):
            for bit in range(256):
                bad = [*proof[:pos], _flip(element, bit), *proof[pos + 1 :]]
                with pytest.raises(MerkleProofError):
                    verify_inclusion(leaf, index, size, bad, tree_root)
        for bit in (0, 100, 255):
            with pytest.raises(MerkleProofError):
                verify_inclusion(_flip(leaf, bit), index, size, proof, tree_root)
            with pytest.raises(MerkleProofError):
                verify_inclusion(leaf, index, size, proof, _flip(tree_root, bit))
        for wrong_index in {index - 1, index + 1, index ^ 1, size, size + 5} - {index}:
            if wrong_index < 0:
                continue
            with pytest.raises(MerkleProofError):
                verify_inclusion(leaf, wrong_index, size, proof, tree_root)
        # The root commits to the size; a proof never verifies against another size's root.
        # (With the original root, a size whose path has the same shape legitimately verifies:
        # e.g. index 0 of sizes 3 and 4 both fold as H(H(leaf, p0), p1).)
        for wrong_size in {size - 1, size + 1, size * 2, size // 2} - {size, 0}:
            with pytest.raises(MerkleProofError):
                verify_inclusion(leaf, index, wrong_size, proof, BIG_TREE.root(wrong_size))
        if proof:
            with pytest.raises(MerkleProofError):
                verify_inclusion(leaf, index, size, proof[:-1], tree_root)
            with pytest.raises(MerkleProofError):
                verify_inclusion(leaf, index, size, proof[1:], tree_root)
        with pytest.raises(MerkleProofError):
            verify_inclusion(leaf, index, size, [*proof, extra], tree_root)
        with pytest.raises(MerkleProofError):
            verify_inclusion(leaf, index, size, [extra, *proof], tree_root)


@pytest.mark.parametrize("new", [2, 3, 4, 7, 8, 9, 13, 21])
def test_consistency_tampering_raises(new: int) -> None:
    new_root = BIG_TREE.root(new)
    extra = hash_leaf(b"extra")
    for old in range(1, new):
        old_root = BIG_TREE.root(old)
        proof = BIG_TREE.consistency_proof(old, new)
        for pos, element in enumerate(proof):
            for bit in range(256):
                bad = [*proof[:pos], _flip(element, bit), *proof[pos + 1 :]]
                with pytest.raises(MerkleProofError):
                    verify_consistency(old, new, old_root, new_root, bad)
        for bit in (0, 255):
            with pytest.raises(MerkleProofError):
                verify_consistency(old, new, _flip(old_root, bit), new_root, proof)
            with pytest.raises(MerkleProofError):
                verify_consistency(old, new, old_root, _flip(new_root, bit), proof)
        with pytest.raises(MerkleProofError):
            verify_consistency(old, new, new_root, old_root, proof)
        # Roots commit to sizes, so check wrong sizes against the matching roots.
        for wrong_old in {old - 1, old + 1} - {0, old, new}:
            with pytest.raises(MerkleProofError):
                verify_consistency(wrong_old, new, BIG_TREE.root(wrong_old), new_root, proof)
        for wrong_new in {new - 1, new + 1} - {old}:
            with pytest.raises(MerkleProofError):
                verify_consistency(old, wrong_new, old_root, BIG_TREE.root(wrong_new), proof)
        with pytest.raises(MerkleProofError):
            verify_consistency(old, new, old_root, new_root, proof[:-1])
        with pytest.raises(MerkleProofError):
            verify_consistency(old, new, old_root, new_root, [*proof, extra])
        with pytest.raises(MerkleProofError):
            verify_consistency(old, new, old_root, new_root, [extra, *proof])


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_bit_flip_raises(data: st.DataObject) -> None:
    size = data.draw(st.integers(2, BIG_TREE.size))
    index = data.draw(st.integers(0, size - 1))
    proof = BIG_TREE.inclusion_proof(index, size)
    pos = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    proof[pos] = _flip(proof[pos], bit)
    with pytest.raises(MerkleProofError):
        verify_inclusion(BIG_LEAVES[index], index, size, proof, BIG_TREE.root(size))


# ---------------------------------------------------------------------------------------------
# Argument validation
# ---------------------------------------------------------------------------------------------


def test_invalid_arguments() -> None:
    tree = MemoryTree(_leaves(5))
    r = tree.root()
    leaf = tree.leaf_hash(0)
    with pytest.raises(MerkleProofError):
        tree.inclusion_proof(5)
    with pytest.raises(MerkleProofError):
        tree.inclusion_proof(-1)
    with pytest.raises(MerkleProofError):
        tree.inclusion_proof(0, 6)
    with pytest.raises(MerkleProofError):
        tree.consistency_proof(0)
    with pytest.raises(MerkleProofError):
        tree.consistency_proof(4, 3)
    with pytest.raises(MerkleProofError):
        tree.leaf_hash(5)
    with pytest.raises(MerkleProofError):
        root(-1, tree.reader)
    with pytest.raises(MerkleProofError):
        nodes_for_append(5, b"short", tree.reader)
    with pytest.raises(MerkleProofError):
        tree.append(b"x" * 33)
    proof = tree.inclusion_proof(0)
    with pytest.raises(MerkleProofError):
        verify_inclusion(leaf[:31], 0, 5, proof, r)
    with pytest.raises(MerkleProofError):
        verify_inclusion(leaf, 0, 5, proof, r + b"\x00")
    with pytest.raises(MerkleProofError):
        verify_inclusion(leaf, 0, 5, [proof[0][:16], *proof[1:]], r)
    with pytest.raises(MerkleProofError):
        verify_inclusion(leaf, 0, 0, [], EMPTY_ROOT)
    # Equal sizes: empty proof and equal roots required; size 0 is never accepted.
    verify_consistency(5, 5, r, r, [])
    with pytest.raises(MerkleProofError):
        verify_consistency(5, 5, r, r, [r])
    with pytest.raises(MerkleProofError):
        verify_consistency(5, 5, r, tree.root(4), [])
    with pytest.raises(MerkleProofError):
        verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(MerkleProofError):
        verify_consistency(0, 5, EMPTY_ROOT, r, [])
    c = tree.consistency_proof(3)
    with pytest.raises(MerkleProofError):
        verify_consistency(3, 5, tree.root(3)[:20], r, c)
    with pytest.raises(MerkleProofError):
        verify_consistency(3, 5, tree.root(3), r, [c[0] + b"\x00", *c[1:]])


@given(
    size=st.integers(min_value=1, max_value=300),
    picks=st.lists(st.integers(min_value=0, max_value=299), max_size=40),
)
def test_inclusion_proofs_equal_single_proofs(size: int, picks: list[int]) -> None:
    tree = MemoryTree(_leaves(size))
    indices = [p % size for p in picks] + list(range(max(0, size - 5), size))
    calls: list[int] = []

    def reader(coords: Sequence[tuple[int, int]]) -> list[bytes]:
        calls.append(len(coords))
        return tree.reader(coords)

    proofs: list[tuple[bytes, ...]] = inclusion_proofs(indices, size, reader)
    assert proofs == [tuple(inclusion_proof(i, size, tree.reader)) for i in indices]
    assert len(calls) == (1 if size > 1 else 0)  # all sibling subtrees in one reader call
    encoded = inclusion_proofs(indices, size, tree.reader, encode=bytes.hex)
    assert encoded == [tuple(h.hex() for h in p) for p in proofs]


def test_inclusion_proofs_refuse_a_leaf_outside_the_tree() -> None:
    tree = MemoryTree(_leaves(5))
    with pytest.raises(MerkleProofError, match="outside"):
        inclusion_proofs([0, 5], 5, tree.reader)
