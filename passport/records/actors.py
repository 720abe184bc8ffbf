"""Actors, roles and keys: registration, key rotation and revocation records.

- *ActorRegistration* (issued by the ledger operator) registers an actor's DID, name, country,
  facilities, roles and first key. The operator registers itself first (bootstrap).
- *KeyRotation* (signed by the actor's current key) names the next key; the old key then signs
  nothing new, while its earlier records stay valid.
- *KeyRevocation* (by the operator, or by the actor with another key) marks a key compromised from
  a given time: records it signs later are rejected; records the ledger accepted from that time on
  are reported as suspect by the audit.
"""

from __future__ import annotations

from passport.errors import ActorExistsError, RuleViolationError
from passport.records.envelope import ParsedRecord
from passport.records.kinds import AcceptContext, KindRule, kind_rule
from passport.store.rows import StoredActor, StoredKey
from passport.store.state import StateTx
from passport.timefmt import normalise_ts
from signing.did import public_key_from_did_key
from signing.errors import KeyFormatError
from signing.multikey import decode_multikey_cached, encode_multikey


def initial_key(subject: dict[str, object]) -> str:
    """The multikey an ActorRegistration gives the actor as its first key."""
    did = str(subject["id"])
    named = subject.get("publicKeyMultibase")
    if did.startswith("did:key:"):
        try:
            own = encode_multikey(public_key_from_did_key(did))
        except KeyFormatError as exc:
            raise RuleViolationError(f"unusable did:key {did!r}: {exc.message}") from exc
        if named is not None and named != own:
            raise RuleViolationError("publicKeyMultibase differs from the did:key's own key")
        return own
    if not isinstance(named, str):
        raise RuleViolationError("a did:web actor's registration must name publicKeyMultibase")
    return named


def _add_key(tx: StateTx, did: str, multikey: str, at: str, by: str) -> None:
    if tx.key(multikey) is not None:
        raise RuleViolationError(f"key {multikey} is already in use; keys are never reused")
    try:
        public_key = decode_multikey_cached(multikey)
    except KeyFormatError as exc:
        raise RuleViolationError(f"unusable key {multikey!r}: {exc.message}") from exc
    tx.insert_key(
        StoredKey(
            multikey=multikey,
            actor_did=did,
            public_key=public_key,
            state="active",
            added_at=at,
            added_by=by,
            retired_at=None,
            retired_by=None,
            compromised_from=None,
        )
    )


def _registration(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    subject = record.subject
    did = subject["id"]
    if tx.actor(did) is not None and did != record.issuer:
        raise ActorExistsError(f"actor {did} is already registered")
    if did == record.issuer and did != ctx.operator_did:
        raise RuleViolationError("only the ledger operator registers itself")
    if did == ctx.operator_did and "operator" not in subject["roles"]:
        raise RuleViolationError("the operator's own registration must carry the operator role")
    if did != ctx.operator_did and "operator" in subject["roles"]:
        raise RuleViolationError("only the ledger operator holds the operator role")
    if did == record.issuer:
        return  # bootstrap: the ledger created the operator's row before running this handler
    tx.insert_actor(
        StoredActor(
            did=did,
            name=subject["name"],
            country=subject.get("country"),
            roles=tuple(subject["roles"]),
            facilities=tuple(subject.get("facilities", [])),
            registration=record.hash,
            head_sequence=0,
            head_hash=None,
        )
    )
    _add_key(tx, did, initial_key(subject), ctx.accepted_at, record.hash)


def _rotation(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    # The ledger already checked that the signing key is the issuer's active key (step 2).
    tx.update_key(
        record.key_multikey, state="rotated", retired_at=ctx.accepted_at, retired_by=record.hash
    )
    _add_key(tx, record.issuer, record.subject["nextKey"], ctx.accepted_at, record.hash)


def _revocation(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    subject = record.subject
    actor_did = subject["actor"]
    if record.issuer not in (ctx.operator_did, actor_did):
        raise RuleViolationError("a key is revoked by the ledger operator or by its own actor")
    key = tx.key(subject["key"])
    if key is None or key.actor_did != actor_did:
        raise RuleViolationError(f"{subject['key']} is not a key of {actor_did}")
    if key.state == "revoked":
        raise RuleViolationError(f"key {subject['key']} is already revoked")
    if record.key_multikey == subject["key"]:
        raise RuleViolationError("a key cannot revoke itself; sign with another key")
    compromised_from = normalise_ts(subject["compromisedFrom"])
    if compromised_from > ctx.accepted_at:
        raise RuleViolationError("compromisedFrom lies in the future")
    was_active = key.state == "active"
    tx.update_key(
        key.multikey,
        state="revoked",
        compromised_from=compromised_from,
        retired_at=key.retired_at or ctx.accepted_at,
        retired_by=key.retired_by or record.hash,
    )
    next_key = subject.get("nextKey")
    if was_active and next_key is None:
        raise RuleViolationError("revoking an actor's current key must name nextKey")
    if next_key is not None:
        if not was_active:
            raise RuleViolationError("nextKey is only given when the current key is revoked")
        _add_key(tx, actor_did, next_key, ctx.accepted_at, record.hash)


RULES: dict[str, KindRule] = {
    "ActorRegistration": kind_rule({"operator"}, _registration),
    "KeyRotation": kind_rule(set(), _rotation),
    "KeyRevocation": kind_rule(set(), _revocation),
}
