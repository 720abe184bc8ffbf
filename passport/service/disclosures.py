"""Reading a confidential record's Disclosures (issue #21): to its entitled parties only.

The facts come from the ledger per request: the record's issuer, the counterparty its revealed
subject names (the node reveals it with the Disclosures it keeps), whether a ``DisclosureGrant``
of the issuer to the reader covers the record now (:func:`granted_readers`), and the reader's
roles now (an actor gone from the ledger reads as the public). The decision is
:func:`passport.document.access.decide_disclosures`.
"""

from __future__ import annotations

from typing import Any

from passport.document.access import (
    COUNTERPARTY_MEMBER,
    DisclosureFacts,
    Reader,
    decide_disclosures,
)
from passport.document.disclosure_grants import live_grantee
from passport.errors import NotFoundError
from passport.ledger.pipeline import Ledger
from passport.records.confidential import reveal_subject
from passport.records.envelope import parse_record
from passport.store.rows import StoredRecord
from passport.store.sql.repository import Tx
from passport.timefmt import format_ts, now
from signing.jcs import parse_json


def disclosure_facts(
    row: StoredRecord, disclosures: list[str], grantees: frozenset[str] = frozenset()
) -> DisclosureFacts:
    """The facts of a stored record: its issuer, the counterparty of its revealed subject and
    the ``grantees`` its issuer's live grants let read it (:func:`granted_readers`)."""
    member = COUNTERPARTY_MEMBER.get(row.kind)
    counterparty = None
    if member is not None:
        subject = parse_json(row.body)["credentialSubject"]
        if disclosures:
            subject = reveal_subject(row.kind, subject, disclosures)
        value = subject.get(member)
        counterparty = value if isinstance(value, str) else None
    return DisclosureFacts(row.hash, row.issuer, counterparty, grantees)


def granted_readers(tx: Tx, row: StoredRecord, reader_did: str | None, at: str) -> frozenset[str]:
    """``{reader_did}`` if a ``DisclosureGrant`` of the record's issuer to that reader covers
    the record at ``at`` (:func:`passport.document.disclosure_grants.grant_covers`), else
    empty: only the reader's own grants are looked up."""
    if reader_did is None:
        return frozenset()
    grants = tx.passports().disclosure_grants(row.issuer, reader_did)
    return (
        frozenset({reader_did})
        if live_grantee(grants, row.hash, row.kind, row.issuer, at)
        else frozenset()
    )


def read_disclosures(
    ledger: Ledger, record_hash: str, reader_did: str | None, *, at: str | None = None
) -> list[str]:
    """The record's kept Disclosures (none for a plain record) for ``reader_did`` (None:
    anonymous) as of ``at`` (default now: when grants are in force), or
    :class:`passport.errors.DisclosuresNotEntitledError`."""
    moment = at or format_ts(now())
    with ledger.repo.read() as tx:
        row = tx.record_by_hash(record_hash)
        if row is None:
            raise NotFoundError(f"no record {record_hash}")
        actor = tx.actor(reader_did) if reader_did is not None else None
        disclosures = tx.disclosures_of(record_hash)
        grantees = granted_readers(tx, row, actor.did if actor else None, moment)
    reader = Reader(actor.did, tuple(actor.roles)) if actor is not None else Reader(reader_did)
    decide_disclosures(reader, disclosure_facts(row, disclosures, grantees))
    return disclosures


def operator_disclosures(ledger: Ledger, record_hash: str) -> list[str]:
    """The record's kept Disclosures read straight from the database: the operator's own
    access (``bpass record disclosures --db``), no entitlement decided."""
    with ledger.repo.read() as tx:
        if tx.record_by_hash(record_hash) is None:
            raise NotFoundError(f"no record {record_hash}")
        return tx.disclosures_of(record_hash)


def revealed_subject(body: bytes, record_hash: str, disclosures: list[str]) -> dict[str, Any]:
    """The subject of the record ``record_hash`` revealed with ``disclosures`` and checked: the
    bytes must hash to ``record_hash`` (else :class:`NotFoundError`: whoever served them did
    not serve that record), every Disclosure must answer one of its digests and every digest
    have its Disclosure, and the revealed subject must satisfy the kind's schema (the errors of
    :func:`passport.records.envelope.parse_record`). A plain record's subject is returned as it
    is."""
    parsed = parse_record(body, max_bytes=len(body) + 1, disclosures=disclosures or None)
    if parsed.hash != record_hash:
        raise NotFoundError(f"the bytes served for {record_hash} hash to {parsed.hash}")
    return dict(parsed.subject)
