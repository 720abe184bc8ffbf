"""A compact range over an RFC 9162 tree: O(log n) memory, for streaming verifiers.

Appending leaves one by one yields every perfect subtree as it completes, and the root of the
tree so far is available at any size, so an auditor can recompute a whole log, compare every
stored node and every checkpoint root, without holding the tree in memory.
"""

from __future__ import annotations

from signing.merkle import EMPTY_ROOT, hash_children


class CompactRange:
    """The perfect subtrees covering leaves ``[0, size)``: at most one per level."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (level, hash), highest level first

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; return the perfect nodes (level, index, hash) it completes, leaf first."""
        index = self.size
        completed = [(0, index, leaf_hash)]
        level, node = 0, leaf_hash
        # RFC 9162 §2.1.1: MTH(D[n]) = H(0x01 || MTH(left) || MTH(right)); a node completes when its
        # right child does, i.e. while the new node's index at this level is odd.
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            node = hash_children(left, node)
            level += 1
            completed.append((level, index >> level, node))
        self._stack.append((level, node))
        self.size += 1
        return completed

    def root(self) -> bytes:
        """MTH of all leaves appended so far (RFC 9162 §2.1.1)."""
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = hash_children(left, node)
        return node
