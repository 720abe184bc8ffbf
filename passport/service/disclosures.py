"""Reading a confidential record's Disclosures (issue #21): to its entitled parties only.

The facts come from the ledger per request: the record's issuer, the counterparty its revealed
subject names (the node reveals it with the Disclosures it keeps) and the reader's roles now
(an actor gone from the ledger reads as the public). The decision is
:func:`passport.document.access.decide_disclosures`.
"""

from __future__ import annotations

from passport.document.access import (
    COUNTERPARTY_MEMBER,
    DisclosureFacts,
    Reader,
    decide_disclosures,
)
from passport.errors import NotFoundError
from passport.ledger.pipeline import Ledger
from passport.records.confidential import reveal_subject
from passport.store.rows import StoredRecord
from signing.jcs import parse_json


def disclosure_facts(row: StoredRecord, disclosures: list[str]) -> DisclosureFacts:
    """The facts of a stored record: its issuer and the counterparty of its revealed subject."""
    member = COUNTERPARTY_MEMBER.get(row.kind)
    counterparty = None
    if member is not None:
        subject = parse_json(row.body)["credentialSubject"]
        if disclosures:
            subject = reveal_subject(row.kind, subject, disclosures)
        value = subject.get(member)
        counterparty = value if isinstance(value, str) else None
    return DisclosureFacts(row.hash, row.issuer, counterparty)


def read_disclosures(ledger: Ledger, record_hash: str, reader_did: str | None) -> list[str]:
    """The record's kept Disclosures (none for a plain record) for ``reader_did`` (None:
    anonymous), or :class:`passport.errors.DisclosuresNotEntitledError`."""
    with ledger.repo.read() as tx:
        row = tx.record_by_hash(record_hash)
        if row is None:
            raise NotFoundError(f"no record {record_hash}")
        actor = tx.actor(reader_did) if reader_did is not None else None
        disclosures = tx.disclosures_of(record_hash)
    reader = Reader(actor.did, tuple(actor.roles)) if actor is not None else Reader(reader_did)
    decide_disclosures(reader, disclosure_facts(row, disclosures))
    return disclosures


def operator_disclosures(ledger: Ledger, record_hash: str) -> list[str]:
    """The record's kept Disclosures read straight from the database: the operator's own
    access (``bpass record disclosures --db``), no entitlement decided."""
    with ledger.repo.read() as tx:
        if tx.record_by_hash(record_hash) is None:
            raise NotFoundError(f"no record {record_hash}")
        return tx.disclosures_of(record_hash)
