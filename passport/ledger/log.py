"""The transparency log over the ledger's storage: one RFC 9162 Merkle tree of all accepted records.

Only perfect-subtree hashes are stored (``tree_nodes``), so every proof reads O(log n) nodes in one
query. Checkpoints are C2SP tlog-checkpoint signed notes by the log key.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from passport.records.envelope import leaf_data
from passport.store.rows import StoredCheckpoint
from signing import merkle
from signing.errors import MerkleProofError
from signing.keys import SigningKey
from signing.note import Checkpoint, open_checkpoint, sign_checkpoint

if TYPE_CHECKING:
    from passport.store.sql.repository import Tx


def b64(data: bytes) -> str:
    """Standard base64, as checkpoints and proofs are written."""
    return base64.b64encode(data).decode("ascii")


def leaf_hash(record_hash: str, accepted_at: str) -> bytes:
    """RFC 9162 leaf hash of a record's log entry."""
    return merkle.hash_leaf(leaf_data(record_hash, accepted_at))


class NodeCache:
    """A node reader over ``tx.nodes`` that remembers every node read or stored through it.

    One append computes the checkpoint root and an inclusion proof per receipt; their paths
    share most nodes, and the nodes the batch itself created are known without a query. With
    this reader a batch's proofs cost a handful of queries instead of one per receipt.
    """

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.known: dict[tuple[int, int], bytes] = {}

    def add(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        """Remember nodes that were just stored."""
        self.known.update(((level, index), value) for level, index, value in nodes)

    def __call__(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        known = self.known
        missing = [c for c in coords if c not in known]
        if missing:
            known.update(zip(missing, self.tx.nodes(missing), strict=True))
        return [known[c] for c in coords]


def append_leaves(
    tx: Tx, size: int, leaf_hashes: Sequence[bytes], cache: NodeCache | None = None
) -> int:
    """Store the perfect subtrees completed by appending ``leaf_hashes``; return the new size."""
    nodes = merkle.nodes_for_append_batch(size, leaf_hashes, cache or tx.nodes)
    tx.insert_nodes(nodes)
    if cache is not None:
        cache.add(nodes)
    return size + len(leaf_hashes)


def make_checkpoint(
    tx: Tx,
    size: int,
    origin: str,
    key: SigningKey,
    created_at: str,
    reader: merkle.NodeReader | None = None,
) -> StoredCheckpoint:
    """Sign and store the checkpoint of the tree at ``size``."""
    root = merkle.root(size, reader or tx.nodes)
    note = sign_checkpoint(Checkpoint(origin=origin, size=size, root_hash=root), origin, key)
    cp = StoredCheckpoint(size=size, root=root, note=note, created_at=created_at)
    tx.insert_checkpoint(cp)
    return cp


def inclusion(
    tx: Tx, index: int, size: int, reader: merkle.NodeReader | None = None
) -> list[bytes]:
    """Inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    return merkle.inclusion_proof(index, size, reader or tx.nodes)


def inclusions(
    tx: Tx, indices: Sequence[int], size: int, reader: merkle.NodeReader | None = None
) -> list[tuple[str, ...]]:
    """Inclusion proofs of several leaves in the tree of ``size`` leaves, base64-encoded."""
    return merkle.inclusion_proofs(indices, size, reader or tx.nodes, encode=b64)


def consistency(tx: Tx, old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof between two tree sizes."""
    return merkle.consistency_proof(old_size, new_size, tx.nodes)


class Receipt(NamedTuple):
    """What an append returns: where the record is and the proof that the log holds it."""

    record_hash: str
    leaf_index: int
    accepted_at: str
    tree_size: int
    checkpoint: str
    inclusion_proof: tuple[str, ...]
    existing: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form (base64 proof hashes, the checkpoint as its signed-note text)."""
        return {
            "recordHash": self.record_hash,
            "leafIndex": self.leaf_index,
            "acceptedAt": self.accepted_at,
            "treeSize": self.tree_size,
            "checkpoint": self.checkpoint,
            "inclusionProof": list(self.inclusion_proof),
            "existing": self.existing,
        }


def verify_receipt(receipt: dict[str, Any], log_vkey: str) -> Checkpoint:
    """Check a receipt offline: the checkpoint's signature and the record's inclusion under it."""
    cp = open_checkpoint(receipt["checkpoint"], [log_vkey])
    if cp.size != receipt["treeSize"]:
        raise MerkleProofError("receipt tree size differs from its checkpoint")
    proof = [base64.b64decode(p) for p in receipt["inclusionProof"]]
    merkle.verify_inclusion(
        leaf_hash(receipt["recordHash"], receipt["acceptedAt"]),
        receipt["leafIndex"],
        cp.size,
        proof,
        cp.root_hash,
    )
    return cp
