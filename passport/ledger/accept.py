"""Append steps 2-4 on any store: the record's proof, then issuer, key, chain, role and the
kind's rule (design: "The append pipeline").

The ledger (:mod:`passport.ledger.pipeline`) runs them inside its database transaction, under its
append lock; a bundle's replay (:mod:`passport.verify.bundle`) runs them on a ledger state held in
memory (:mod:`passport.store.memory`). Nothing here touches storage but through
:class:`passport.store.state.StateTx`, so the same rules decide in both, and offline verification
needs no database library.
"""

from __future__ import annotations

from dataclasses import dataclass

from passport.errors import (
    ChainGapError,
    ChainPreviousMismatchError,
    ForkError,
    KeyNotValidError,
    KeyRevokedError,
    KeyRotatedError,
    RecordFromFutureError,
    RoleNotAllowedError,
    RuleViolationError,
    UnknownIssuerError,
)
from passport.ledger import kinds
from passport.records.envelope import ParsedRecord
from passport.records.kinds import AcceptContext
from passport.records.proof import check_record_proof, key_of_method
from passport.store.rows import StoredActor, StoredKey
from passport.store.state import StateTx
from passport.timefmt import DEFAULT_CLOCK_SKEW_SECONDS, latest_allowed, normalise_ts
from signing.errors import BpassError, ProofError

__all__ = ["LedgerInfo", "accept_record", "check_not_future", "verify_record_proof"]


@dataclass(frozen=True)
class LedgerInfo:
    """Identity of a ledger: its log origin, log verifier key and operator DID."""

    origin: str
    log_vkey: str
    operator_did: str
    size: int


def verify_record_proof(record: ParsedRecord) -> None:
    """Step 2a: the record's proof verifies under the key its verification method names."""
    try:
        check_record_proof(record.doc, record.canonical, record.canonical_by_orjson)
    except ProofError as exc:
        raise ProofError(
            f"record {record.hash}: {exc.message}", reason=exc.details.get("reason", "signature")
        ) from exc
    except BpassError as exc:
        raise ProofError(f"record {record.hash}: {exc.message}", reason="unresolvable_key") from exc


def accept_record(
    tx: StateTx,
    record: ParsedRecord,
    info: LedgerInfo,
    accepted_at: str,
    leaf_index: int,
    *,
    check_chain: bool = True,
    clock_skew_seconds: int = DEFAULT_CLOCK_SKEW_SECONDS,
) -> None:
    """Append steps 2b-4 for a record whose proof verified (step 2a): issuer, key, times, chain,
    role and the kind's rule, writing what the rule writes through ``tx``. Raises the rule's
    :class:`passport.errors.LedgerError` and then leaves ``tx`` to be rolled back. The ledger
    runs it under its append lock; a bundle's replay runs it on a
    :class:`passport.store.memory.MemoryTx`, with each record's own acceptance time from the
    log, so the time check (step 2d) judges a record as its ledger did."""
    # Step 2b: the issuer is a registered actor (or the operator registering itself).
    actor = tx.actor(record.issuer)
    if actor is None:
        actor = _bootstrap_operator(tx, record, info, accepted_at)
    # Step 2c: the key is the issuer's, and current (not rotated away, not revoked).
    key = tx.key(record.key_multikey)
    _check_key(key, record)
    # Step 2d: the record speaks of no time after its acceptance (plus the clock skew).
    check_not_future(record, accepted_at, clock_skew_seconds)
    # Step 3: the chain continues from the issuer's head. (A replay of a bundle's subset of
    # records skips it: chains there are checked on the records present, see
    # passport.verify.bundle.)
    if check_chain:
        _check_chain(tx, actor, record)
    # Step 4: role, then the kind's own rule.
    rule = kinds.rule(record.kind)
    if rule is None:
        raise RuleViolationError(f"record kind {record.kind} is not accepted by this ledger")
    if rule.roles and not rule.roles.intersection(actor.roles):
        raise RoleNotAllowedError(
            f"{record.issuer} (roles: {', '.join(actor.roles)}) may not issue {record.kind}; "
            f"allowed roles: {', '.join(sorted(rule.roles))}",
            kind=record.kind,
        )
    if rule.handler is not None:
        rule.handler(
            tx,
            AcceptContext(accepted_at, leaf_index, info.operator_did, actor),
            record,
        )
    tx.set_actor_head(record.issuer, record.sequence, record.hash)


def _bootstrap_operator(
    tx: StateTx, record: ParsedRecord, info: LedgerInfo, accepted_at: str
) -> StoredActor:
    if not (
        record.kind == "ActorRegistration"
        and record.issuer == info.operator_did
        and record.subject.get("id") == record.issuer
    ):
        raise UnknownIssuerError(f"issuer {record.issuer} is not a registered actor")
    actor = StoredActor(
        did=record.issuer,
        name=record.subject["name"],
        country=record.subject.get("country"),
        roles=tuple(record.subject["roles"]),
        facilities=tuple(record.subject.get("facilities", [])),
        registration=record.hash,
        head_sequence=0,
        head_hash=None,
    )
    tx.insert_actor(actor)
    tx.insert_key(
        StoredKey(
            multikey=record.key_multikey,
            actor_did=record.issuer,
            public_key=key_of_method(record.verification_method),
            state="active",
            added_at=accepted_at,
            added_by=record.hash,
            retired_at=None,
            retired_by=None,
            compromised_from=None,
        )
    )
    if record.issuer != f"did:key:{record.key_multikey}":
        raise RuleViolationError("the operator registers itself with its did:key's own key")
    return actor


def _check_key(key: StoredKey | None, record: ParsedRecord) -> None:
    if key is None or key.actor_did != record.issuer:
        raise KeyNotValidError(f"{record.key_multikey} is not a registered key of {record.issuer}")
    if key.state == "revoked":
        raise KeyRevokedError(
            f"key {key.multikey} was revoked (compromised from {key.compromised_from})"
        )
    if key.state == "rotated":
        raise KeyRotatedError(f"key {key.multikey} was rotated away at {key.retired_at}")


def check_not_future(record: ParsedRecord, accepted_at: str, skew_seconds: int) -> None:
    """Step 2d: RecordFromFutureError if the record's ``validFrom`` or its proof's ``created``
    lies after ``accepted_at`` plus ``skew_seconds``.

    Rules that order records by the times they state (a lifecycle record cannot predate the
    passport's last update; a mandate's end) would otherwise let one record dated ahead refuse
    every genuine later one: the ledger's acceptance time, which the log commits to, bounds
    them."""
    limit = latest_allowed(accepted_at, skew_seconds)
    created = record.doc["proof"].get("created")
    for what, value in (("validFrom", record.valid_from), ("proof created", created)):
        if not isinstance(value, str):
            continue
        # Both are schema-checked RFC 3339 stamps: a value a whole second before the limit's
        # is earlier without parsing it (the usual case, on the append path).
        if value[:19] < limit[:19]:
            continue
        if normalise_ts(value) > limit:
            raise RecordFromFutureError(
                f"record {record.hash}: its {what} {value} lies after the ledger's acceptance "
                f"time {accepted_at} plus the allowed clock skew of {skew_seconds} s",
                field=what,
                value=value,
                acceptedAt=accepted_at,
                skewSeconds=skew_seconds,
            )


def _check_chain(tx: StateTx, actor: StoredActor, record: ParsedRecord) -> None:
    expected = actor.head_sequence + 1
    if record.sequence < expected:
        taken = tx.record_by_issuer_sequence(record.issuer, record.sequence)
        raise ForkError(
            f"{record.issuer} sequence {record.sequence} is taken by "
            f"{taken.hash if taken else 'another record'}: a fork",
            sequence=record.sequence,
        )
    if record.sequence > expected:
        raise ChainGapError(
            f"{record.issuer} sequence {record.sequence} skips ahead; next is {expected}",
            expected=expected,
        )
    if record.previous != actor.head_hash:
        raise ChainPreviousMismatchError(
            f"chain.previous is {record.previous}; the issuer's previous record is "
            f"{actor.head_hash}"
        )
