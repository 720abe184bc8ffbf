"""Read-only queries the API serves that :class:`passport.ledger.pipeline.Ledger` has no method for
yet.

Each is one short read transaction through the ledger's repository; none applies a rule. They
belong on ``Ledger`` eventually (the CLI's ``actor list`` reads the repository the same way).
"""

from __future__ import annotations

from passport.errors import NotFoundError
from passport.ledger.pipeline import Ledger
from passport.store.rows import StoredActor, StoredKey, StoredRecord


def actors(ledger: Ledger) -> list[StoredActor]:
    """Every registered actor, by DID."""
    with ledger.repo.read() as tx:
        return tx.actors()


def actor(ledger: Ledger, did: str) -> StoredActor:
    """A registered actor; NotFoundError if none has this DID."""
    with ledger.repo.read() as tx:
        found = tx.actor(did)
    if found is None:
        raise NotFoundError(f"no registered actor {did}")
    return found


def actor_with_keys(ledger: Ledger, did: str) -> tuple[StoredActor, list[StoredKey]]:
    """A registered actor and every key it has had, oldest first."""
    with ledger.repo.read() as tx:
        found = tx.actor(did)
        keys = tx.keys_of(did) if found else []
    if found is None:
        raise NotFoundError(f"no registered actor {did}")
    return found, keys


def key(ledger: Ledger, multikey: str) -> StoredKey:
    """A registered key; NotFoundError if no actor has had it."""
    with ledger.repo.read() as tx:
        found = tx.key(multikey)
    if found is None:
        raise NotFoundError(f"no registered key {multikey}")
    return found


def records_by_issuer(ledger: Ledger, issuer: str, after: int, limit: int) -> list[StoredRecord]:
    """The issuer's records with sequence > ``after``, in chain order, at most ``limit``."""
    with ledger.repo.read() as tx:
        return tx.records_by_issuer(issuer, limit=limit, after=after)
