"""The ``DisclosureGrant`` kind (issue #21): a supply-chain actor lets a named certifier or
notified body read the Disclosures of its own confidential records.

Confidential records keep their Disclosures at the node for their entitled readers
(:func:`passport.document.access.may_read_disclosures`). An auditor or a notified body that is to
replay a passport's figures needs them too; the records' issuers grant it, each for its own
records only: all of them, or those of listed kinds and listed records, from the grant's
``validFrom`` until ``validUntil`` (exclusive) or until the issuer retracts the grant with a
``Retraction`` naming it. Append pipeline step 4 checks (a violation writes nothing,
[disclosure_grant_invalid] unless said):

- the issuer holds a supply-chain role [role_forbidden];
- the grantee is another registered actor holding an assurer role (``certifier``,
  ``notified-body``);
- a grant of ``all`` lists nothing; a listed kind is a record kind; a listed record exists and
  is the issuer's own;
- ``validUntil`` lies after the grant's ``validFrom`` and after its acceptance.

A ``Retraction`` naming a grant ends it, by the grant's issuer only, once. Whether a grant lets
a reader read a record now is :func:`grant_covers` (pure).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import schemas
from passport.errors import DisclosureGrantError, RuleViolationError
from passport.records.envelope import ParsedRecord
from passport.records.kinds import (
    ASSURER_ROLES,
    SUPPLY_CHAIN_ROLES,
    AcceptContext,
    KindRule,
    kind_rule,
)
from passport.store.passport_rows import DisclosureGrantRow
from passport.store.state import PassportStateTx, StateTx
from passport.timefmt import normalise_ts
from passport.trace import attestations

GRANT_KIND = "DisclosureGrant"


def grant_covers(
    grant: DisclosureGrantRow, record_hash: str, kind: str, issuer: str, at: str
) -> bool:
    """Whether ``grant`` lets its grantee read the Disclosures of the record ``record_hash``
    (of ``kind``, issued by ``issuer``) at time ``at``: the grant is the record issuer's, in
    force at ``at`` (from its ``validFrom``, before its ``validUntil`` and before the Retraction
    that ended it) and its scope takes the record (all, or its kind listed, or it listed)."""
    moment = normalise_ts(at)
    if grant.issuer != issuer or moment < normalise_ts(grant.valid_from):
        return False
    for end in (grant.valid_until, grant.ended_at):
        if end is not None and moment >= normalise_ts(end):
            return False
    if grant.scope == "all":
        return True
    return kind in (grant.kinds or ()) or record_hash in (grant.records or ())


def live_grantee(
    grants: Iterable[DisclosureGrantRow], record_hash: str, kind: str, issuer: str, at: str
) -> bool:
    """Whether any of ``grants`` (one grantee's) covers the record at ``at``."""
    return any(grant_covers(g, record_hash, kind, issuer, at) for g in grants)


def _passports(tx: StateTx, kind: str) -> PassportStateTx:
    passports = tx.passports()
    if passports is None:
        raise RuleViolationError(f"{kind} records are accepted by a database ledger")
    return passports


def _known_kind(kind: str) -> bool:
    try:
        schemas.load(f"records/{kind}.schema.json")
    except OSError:
        return False
    return kind != "envelope"


def _check_scope(tx: StateTx, issuer: str, subject: Mapping[str, Any]) -> None:
    listed = "kinds" in subject or "records" in subject
    if subject["scope"] == "all" and listed:
        raise DisclosureGrantError("a grant of all records lists no kinds or records")
    for kind in subject.get("kinds", []):
        if not _known_kind(kind):
            raise DisclosureGrantError(f"{kind!r} is not a record kind")
    for h in subject.get("records", []):
        row = tx.record_by_hash(h)
        if row is None or row.issuer != issuer:
            raise DisclosureGrantError(
                f"record {h} is not one of {issuer}'s records: a grant opens only the "
                "issuer's own records"
            )


def _on_grant(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    passports = _passports(tx, record.kind)
    grantee = s["grantee"]
    actor = tx.actor(grantee)
    if grantee == record.issuer:
        raise DisclosureGrantError("an issuer reads its own records' Disclosures without a grant")
    if actor is None or not ASSURER_ROLES.intersection(actor.roles):
        raise DisclosureGrantError(
            f"the grantee {grantee} is not a registered actor with one of the roles "
            f"{', '.join(sorted(ASSURER_ROLES))}"
        )
    until = s.get("validUntil")
    if until is not None and (
        normalise_ts(until) <= normalise_ts(record.valid_from)
        or normalise_ts(until) <= normalise_ts(ctx.accepted_at)
    ):
        raise DisclosureGrantError("the grant's validUntil is not after its validFrom and now")
    _check_scope(tx, record.issuer, s)
    kinds, records = s.get("kinds"), s.get("records")
    passports.insert_disclosure_grant(
        DisclosureGrantRow(
            record_hash=record.hash,
            issuer=record.issuer,
            grantee=grantee,
            scope=s["scope"],
            kinds=tuple(kinds) if kinds is not None else None,
            records=tuple(records) if records is not None else None,
            valid_from=record.valid_from,
            valid_until=until,
        )
    )


_ATTESTATION_RETRACTION = attestations.RULES["Retraction"]


def _on_retraction(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    """A Retraction naming a DisclosureGrant ends it; any other goes to the attestations' rule
    (:mod:`passport.trace.attestations`). A bundle's in-memory replay has no grants."""
    passports = tx.passports()
    grant = passports.disclosure_grant(record.subject["record"]) if passports else None
    if grant is None or passports is None:
        if _ATTESTATION_RETRACTION.handler is not None:
            _ATTESTATION_RETRACTION.handler(tx, ctx, record)
        return
    if record.issuer != grant.issuer:
        raise DisclosureGrantError(
            f"only the grant's issuer {grant.issuer} retracts grant {grant.record_hash}"
        )
    if grant.ended_by is not None:
        raise DisclosureGrantError(
            f"grant {grant.record_hash} was already retracted by {grant.ended_by}"
        )
    passports.end_disclosure_grant(grant.record_hash, record.hash, ctx.accepted_at)


RULES: dict[str, KindRule] = {
    GRANT_KIND: kind_rule(SUPPLY_CHAIN_ROLES, _on_grant),
    # Replaces the attestations' Retraction rule (same roles), extending it to grants.
    "Retraction": kind_rule(_ATTESTATION_RETRACTION.roles, _on_retraction),
}
