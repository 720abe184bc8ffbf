"""The rows of the ledger's own tables as the domain sees them: plain tuples, no storage.

:mod:`passport.store.sql.repository` reads and writes them in SQL; :mod:`passport.store.memory`
keeps them in dictionaries for a bundle's replay, which runs without a database library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["StoredActor", "StoredCheckpoint", "StoredKey", "StoredRecord"]


class StoredRecord(NamedTuple):
    """A row of ``records``: canonical bytes plus derived index columns."""

    leaf_index: int
    hash: str
    issuer: str
    sequence: int
    kind: str
    verification_method: str
    accepted_at: str
    body: bytes


class StoredKey(NamedTuple):
    """A row of ``actor_keys``."""

    multikey: str
    actor_did: str
    public_key: bytes
    state: str
    added_at: str
    added_by: str
    retired_at: str | None
    retired_by: str | None
    compromised_from: str | None


class StoredActor(NamedTuple):
    """A row of ``actors``."""

    did: str
    name: str
    country: str | None
    roles: tuple[str, ...]
    facilities: tuple[dict[str, Any], ...]
    registration: str
    head_sequence: int
    head_hash: str | None


@dataclass(frozen=True)
class StoredCheckpoint:
    """A row of ``checkpoints``."""

    size: int
    root: bytes
    note: str
    created_at: str
