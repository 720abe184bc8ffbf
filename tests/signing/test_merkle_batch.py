"""Many inclusion proofs against one tree (signing.merkle_batch): the same verdicts and errors
as verifying each with signing.merkle.verify_inclusion."""

from __future__ import annotations

import base64

import pytest

from signing import merkle
from signing.errors import MerkleProofError
from signing.merkle_batch import InclusionChecks


def test_inclusion_checks_accept_and_refuse_as_verify_inclusion_does() -> None:
    """Every proof of a 45-leaf tree is accepted (most through an already verified node), and
    every proof with one element replaced, one element too many or too few, or another leaf's
    index, is refused with the error of :func:`signing.merkle.verify_inclusion`."""
    leaves = [merkle.hash_leaf(bytes([i])) for i in range(45)]
    tree = merkle.MemoryTree(leaves)
    size = tree.size
    root = merkle.root(size, tree.reader)

    def encode(value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")

    def decode(value: object) -> bytes:
        assert isinstance(value, str)
        return base64.b64decode(value, validate=True)

    def expected_error(leaf: bytes, index: int, proof: list[str]) -> str | None:
        try:
            merkle.verify_inclusion(leaf, index, size, [decode(p) for p in proof], root)
        except MerkleProofError as exc:
            return exc.message
        return None

    checks = InclusionChecks(size, root, decode)
    proofs = [[encode(p) for p in merkle.inclusion_proof(i, size, tree.reader)] for i in range(45)]
    for i in [*range(45), *range(44, -1, -3)]:  # in order, then again out of order
        checks.verify(leaves[i], i, proofs[i])
    assert checks.shortcuts > 45
    other = encode(merkle.hash_leaf(b"other"))
    cases: list[tuple[int, int, list[str]]] = []
    for i, proof in enumerate(proofs):
        for k in range(len(proof)):
            cases.append((i, i, [*proof[:k], other, *proof[k + 1 :]]))
        cases.append((i, i, [*proof, other]))
        cases.append((i, i, proof[:-1]))
        cases.append((i, (i + 1) % 45, proof))
    for leaf, index, proof in cases:
        error = expected_error(leaves[leaf], index, proof)
        if error is None:
            continue  # (another leaf's index can share a proof: still a valid one)
        with pytest.raises(MerkleProofError) as caught:
            checks.verify(leaves[leaf], index, proof)
        assert caught.value.message == error
    for i in range(45):  # and nothing refused was remembered as verified
        checks.verify(leaves[i], i, proofs[i])
