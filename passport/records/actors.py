"""Actors, roles and keys: registration, key rotation and revocation records.

- *ActorRegistration* (issued by the ledger operator) registers an actor's DID, name, country,
  facilities, roles and first key. The operator registers itself first (bootstrap).
- *KeyRotation* (signed by the actor's current key) names the next key; the old key then signs
  nothing new, while its earlier records stay valid.
- *KeyRevocation* (by the operator, or by the actor with another key) marks a key compromised from
  a given time: records it signs later are rejected; records the ledger accepted from that time on
  are reported as suspect by the audit.
- *FacilityUpdate* (by the actor itself, or by the operator) adds, changes or closes the actor's
  facilities. Facility ids are never reused; a closed facility stays in the actor's facilities,
  marked closed, and no record accepted later may name it. Moving a facility to another country
  needs the operator: a country feeds the origin figures, and an actor relabelling its own site
  could launder what it extracts there. Records accepted before an update keep what they said
  (they carry their own country; the history is the chain of registration and update records,
  which each facility names: ``history``).
"""

from __future__ import annotations

from typing import Any

from passport.errors import (
    ActorExistsError,
    FacilityConflictError,
    FacilityUpdateForbiddenError,
    RuleViolationError,
)
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
            facilities=tuple(
                _stamp(dict(f), record.hash, ctx.accepted_at, "registered")
                for f in subject.get("facilities", [])
            ),
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


def facility_history(facility: dict[str, Any]) -> list[dict[str, str]]:
    """The records that shaped a stored facility, oldest first: each ``{"record", "at",
    "action"}`` with action ``registered``, ``added``, ``changed`` or ``closed``."""
    return list(facility.get("history", []))


def _stamp(facility: dict[str, Any], record: str, at: str, action: str) -> dict[str, Any]:
    history = [*facility_history(facility), {"record": record, "at": at, "action": action}]
    return {**facility, "history": history}


def _facility_update(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    subject = record.subject
    did = subject["actor"]
    if record.issuer not in (did, ctx.operator_did):
        raise FacilityUpdateForbiddenError(
            f"{record.issuer} may not change {did}'s facilities: the actor itself or the "
            "ledger operator does"
        )
    actor = tx.actor(did)
    if actor is None:
        raise RuleViolationError(f"no actor {did}")
    if not any(subject.get(action) for action in ("add", "change", "close")):
        raise RuleViolationError("a FacilityUpdate adds, changes or closes at least one facility")
    current = {str(f["id"]): dict(f) for f in actor.facilities}
    seen: set[str] = set()
    at = ctx.accepted_at
    for action in ("add", "change", "close"):
        for item in subject.get(action, []):
            fid = str(item if action == "close" else item["id"])
            if fid in seen:
                raise FacilityConflictError(f"facility {fid!r} is named twice in one update")
            seen.add(fid)
            old = current.get(fid)
            if action == "add":
                if old is not None:
                    raise FacilityConflictError(
                        f"{did} already had a facility {fid!r}: facility ids are never reused"
                    )
                current[fid] = _stamp(dict(item), record.hash, at, "added")
                continue
            if old is None or "closed" in old:
                state = "no" if old is None else "only a closed"
                raise FacilityConflictError(f"{did} has {state} facility {fid!r} to {action}")
            if action == "close":
                current[fid] = {**_stamp(old, record.hash, at, "closed"), "closed": at}
                continue
            if item["country"] != old["country"] and record.issuer != ctx.operator_did:
                raise FacilityUpdateForbiddenError(
                    f"moving facility {fid!r} from {old['country']} to {item['country']} needs "
                    "the ledger operator: a site's country feeds the origin figures"
                )
            current[fid] = _stamp(
                {**item, "history": facility_history(old)}, record.hash, at, "changed"
            )
    tx.set_actor_facilities(did, tuple(current.values()))


RULES: dict[str, KindRule] = {
    "ActorRegistration": kind_rule({"operator"}, _registration),
    "KeyRotation": kind_rule(set(), _rotation),
    "KeyRevocation": kind_rule(set(), _revocation),
    "FacilityUpdate": kind_rule(set(), _facility_update),
}
