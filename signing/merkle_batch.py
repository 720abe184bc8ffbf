"""Many RFC 9162 inclusion proofs against one tree, sharing the work of their common paths.

A verification bundle holds thousands of inclusion proofs against one checkpoint; neighbouring
leaves' proofs end in the same elements. :class:`InclusionChecks` accepts a proof early when its
running state reaches one a verified proof passed through, with the same hash and the same
remaining elements (from there both compute the same root); everything else goes through
:func:`signing.merkle.verify_inclusion`, so its errors are unchanged.

Pure module: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from signing import merkle

__all__ = ["InclusionChecks"]

_ONLY_STR = frozenset({str})
_sha256 = hashlib.sha256
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
            and _ONLY_STR.issuperset(map(type, proof))
            and self._shortcut(leaf_hash, index, proof)
        ):
            self.shortcuts += 1
            return
        decoded = [self.decode(p) for p in proof]  # type: ignore[attr-defined]
        merkle.verify_inclusion(leaf_hash, index, self.size, decoded, self.root)
        if type(proof) is list and _ONLY_STR.issuperset(map(type, proof)):
            self._remember(leaf_hash, index, proof, decoded)

    def _shortcut(self, leaf_hash: bytes, index: int, proof: list[str]) -> bool:
        """RFC 9162 §2.1.3.2 steps 2-4, stopped at the first state a verified proof passed
        through with the same running hash and the same remaining elements: from there both
        proofs compute the same thing, which reached the root."""
        verified = self._verified
        if not verified:
            return False
        decode = self.decode
        fn, sn = index, self.size - 1  # steps 2-3
        result = leaf_hash
        passed: list[tuple[_Node, bytes, int]] = []
        for k, element in enumerate(proof):
            if sn == 0:  # step 4a: too long
                return False
            try:
                value = decode(element)
            except Exception:
                return False
            if len(value) != merkle.HASH_SIZE:
                return False
            # Steps 4b and 4c, as _step (inlined: this loop runs for every proof of a bundle).
            if fn & 1 or fn == sn:
                result = _sha256(b"\x01" + value + result).digest()
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
            else:
                result = _sha256(b"\x01" + result + value).digest()
            fn >>= 1
            sn >>= 1
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
