"""The set of provenance records a passport commits to, defined once (issue #21 point 4).

A ``BatteryPassport`` record's subject may carry ``provenance: {count, root}``: its commitment to
the exact set of records its figures were computed over. The set is:

    the provenance closure of the passport's pack lot
    (:func:`passport.service.closure.provenance_closure`: the steps that made each upstream
    lot, through recycled inputs too; the transfers of those lots and their acceptances; the
    attestations about those lots and their makers, and their retractions),
    restricted to the records whose leaf index is below the size of the checkpoint the passport
    commits to (``checkpoint.size``): the log as of the roll-up.

Every record of the closure is a provenance record (:func:`is_provenance_kind`): none of the
passport or key kinds. The commitment is ``count`` (the number of records) and ``root``, the
RFC 9162 Merkle tree hash (§2.1.1) over the record hashes in ascending order, each leaf's data
being the record hash's ASCII text (``sha256:`` and 64 hex digits), base64 like the log's roots.
A Merkle root rather than one hash over the concatenation: the same code as the log's, and a
record's membership can later be shown with an inclusion proof without the whole list.

Pure: no I/O.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Iterable, Sequence
from typing import Any

from signing import merkle
from signing.merkle import MemoryTree

__all__ = [
    "KEY_KINDS",
    "PASSPORT_KINDS",
    "in_committed_set",
    "is_provenance_kind",
    "provenance_commitment",
    "sorted_set",
]

PASSPORT_KINDS = frozenset(
    {
        "BatteryPassport",
        "PassportStatusChange",
        "PassportUpdate",
        "PassportMandate",
        "PassportAccessGrant",
        "Assurance",
        "DisclosureGrant",
    }
)
"""Passport (and other database-only) records: not provenance (not replayed; the roll-ups rest on
provenance only); an ``Assurance`` is checked by the bundle's ``assurance`` check."""
KEY_KINDS = frozenset({"ActorRegistration", "KeyRotation", "KeyRevocation", "FacilityUpdate"})
"""Actor, facility and key-history records: not provenance (replayed, for the actors they make)."""

_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


def is_provenance_kind(kind: str) -> bool:
    """True for the kinds a provenance set may hold (neither a passport nor a key kind)."""
    return kind not in PASSPORT_KINDS and kind not in KEY_KINDS


def in_committed_set(kind: str, leaf_index: int, checkpoint_size: int) -> bool:
    """True if a record of the pack's provenance closure (of ``kind``, at ``leaf_index``)
    belongs to the set a passport committing to a checkpoint of ``checkpoint_size`` commits to."""
    return is_provenance_kind(kind) and leaf_index < checkpoint_size


def sorted_set(hashes: Iterable[Any]) -> list[str]:
    """The record hashes in ascending order, each checked to be a record hash and distinct
    (ValueError naming the first that is not)."""
    out: list[str] = []
    for h in hashes:
        if not isinstance(h, str) or not _HASH.match(h):
            raise ValueError(f"{h!r} is not a record hash")
        out.append(h)
    out.sort()
    for a, b in itertools.pairwise(out):
        if a == b:
            raise ValueError(f"record {a} is listed twice")
    return out


def merkle_root(ordered: Sequence[str]) -> bytes:
    """RFC 9162 §2.1.1 MTH over the hashes' ASCII text, in the order given."""
    tree = MemoryTree(merkle.hash_leaf(h.encode("ascii")) for h in ordered)
    return merkle.root(tree.size, tree.reader)


def provenance_commitment(hashes: Iterable[Any]) -> dict[str, Any]:
    """The commitment ``{"count": N, "root": base64}`` to a set of record hashes (see the module
    docstring); ValueError if one is not a record hash or one repeats."""
    ordered = sorted_set(hashes)
    root = base64.b64encode(merkle_root(ordered)).decode("ascii")
    return {"count": len(ordered), "root": root}
