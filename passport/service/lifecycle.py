"""The passport's life after issue: status changes and point-4 updates by authorised actors.

- :func:`change_status`: original → repurposed | re-used | remanufactured | waste; second-life
  statuses likewise; waste → recycled, after which the passport has ceased (its history stays
  verifiable). Repurposing and remanufacturing issue a new passport linked to the original
  (Art. 77(7)): the successor ``BatteryPassport`` record and the original's
  ``PassportStatusChange`` naming it are appended atomically, in one batch.
- :func:`update_passport`: new state of health / certified energy, cycles, throughput, negative
  events, temperature and state-of-charge records: a new salted point-4 partition signed by the
  updater, committed by a ``PassportUpdate`` record.

Each function checks the rules first (status machine, roles, ceased, validity) and raises a typed
error before anything is signed; the ledger's handlers check them again inside the append
transaction, so a record submitted by other means obeys the same rules.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from passport.document.body import LEDGER_FIGURES, deep_merge, get_at, parts_of
from passport.document.ids import digital_link, new_salt
from passport.document.partitions import PARTITION_FIELD
from passport.document.regulation import CarbonClassTable
from passport.document.rules import (
    GRANT_KIND,
    MANDATE_KIND,
    SUCCESSOR_ALLOWED,
    SUCCESSOR_REQUIRED,
    TARGET_ROLES,
    TRANSITIONS,
    UPDATE_ROLES,
    ensure_open,
    mandataries,
    may_act,
    may_update,
    require_point4_right,
    require_status_basis,
)
from passport.document.signed_partitions import partition_hash, sign_partition, staged
from passport.document.validation import validate
from passport.errors import (
    IllegalTransitionError,
    PassportInvalidError,
    Point4NotMandatedError,
    RoleNotAllowedError,
    RuleViolationError,
    UnknownIssuerError,
)
from passport.ledger import log as translog
from passport.ledger.pipeline import Ledger
from passport.records.envelope import build_record, dumps, record_hash, sign_record
from passport.service.issue import IssuedPassport, prepare_passport, sign_chain
from passport.service.views import full_document, load_state, resolve
from passport.store.passport_rows import PassportState
from passport.timefmt import format_ts, normalise_ts, now
from passport.trace.config import TraceConfig
from signing.keys import SigningKey


@dataclass(frozen=True)
class LifecycleResult:
    """The record appended (and the successor passport, if one was issued)."""

    passport_id: str
    record_hash: str
    receipt: translog.Receipt
    status: str
    successor: IssuedPassport | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON summary."""
        out: dict[str, Any] = {
            "passportId": self.passport_id,
            "record": self.record_hash,
            "status": self.status,
            "receipt": self.receipt.to_dict(),
        }
        if self.successor is not None:
            out["successor"] = self.successor.to_dict()
        return out


def _actor_roles(ledger: Ledger, key: SigningKey) -> tuple[str, tuple[str, ...]]:
    did = ledger.issuer_for_key(key)
    with ledger.repo.read() as tx:
        actor = tx.actor(did)
    if actor is None:
        raise UnknownIssuerError(f"{did} is not a registered actor")
    return did, actor.roles


def _timestamps(changes: Mapping[str, Any], stamp: str) -> dict[str, Any]:
    """Stamp the measurement groups an update touches with the update's time unless given."""
    out = copy.deepcopy(dict(changes))
    for group, stamp_field in (("stateOfHealth", "measuredAt"), ("usage", "recordedAt")):
        if isinstance(out.get(group), dict) and stamp_field not in out[group]:
            out[group][stamp_field] = stamp
    return out


def _new_point4(
    document: Mapping[str, Any],
    changes: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    stamp: str,
) -> dict[str, Any]:
    point4 = deep_merge(document["point4"], _timestamps(changes, stamp))
    if events:
        usage = point4.setdefault("usage", {})
        usage["negativeEvents"] = [*usage.get("negativeEvents", []), *map(dict, events)]
        given = changes.get("usage")
        if not (isinstance(given, Mapping) and "recordedAt" in given):
            usage["recordedAt"] = stamp
    point4["salt"] = new_salt()
    return point4


def _ensure_valid(document: dict[str, Any], headline: str) -> None:
    problems = validate(document)
    if problems:
        raise PassportInvalidError([p.to_dict() for p in problems], headline)


def update_passport(
    ledger: Ledger,
    key: SigningKey,
    identifier: str,
    changes: Mapping[str, Any],
    *,
    add_events: Sequence[Mapping[str, Any]] = (),
    reason: str | None = None,
) -> LifecycleResult:
    """Update point 4: ``changes`` is merged into the current point 4 (objects recursively, other
    values replaced); ``add_events`` are appended to the negative events. Groups touched without
    a time get the update's time."""
    passport_id = resolve(ledger, identifier)
    state = load_state(ledger, passport_id)
    ensure_open(state)
    did, roles = _actor_roles(ledger, key)
    stamp = format_ts(now(), micro=False)
    with ledger.repo.read() as tx:
        mandated = did in mandataries(tx, passport_id, stamp)
    if not may_update(did, roles, state, mandated):
        refusal = (
            Point4NotMandatedError if UPDATE_ROLES.intersection(roles) else RoleNotAllowedError
        )
        raise refusal(
            f"{did} (roles: {', '.join(roles)}) may not update passport {passport_id}: only its "
            f"economic operator {state.issuer} and the actors it mandated "
            f"(`bpass passport mandate`; roles: {', '.join(sorted(UPDATE_ROLES))}) may"
        )
    document = full_document(ledger, passport_id)
    point4 = _new_point4(document, changes, add_events, stamp)
    _ensure_valid(
        {**document, "point4": point4, "lastUpdated": stamp},
        "refusing to update: the passport would be invalid",
    )
    partition = sign_partition(
        passport_id=passport_id, number=4, data=point4, issuer=did, key=key, valid_from=stamp
    )
    subject: dict[str, Any] = {
        "passportId": passport_id,
        "passport": state.record_hash,
        "partitions": {"4": partition_hash(partition)},
        "supersedes": state.point4_hash,
    }
    if reason:
        subject["reason"] = reason
    (record,) = sign_chain(ledger, key, [("PassportUpdate", subject)], valid_from=stamp)
    with staged([partition]):
        receipt = ledger.append(record)
    return LifecycleResult(passport_id, receipt.record_hash, receipt, state.status)


def successor_model(document: Mapping[str, Any]) -> dict[str, Any]:
    """Model data for a successor passport taken from the original's passport: points 1 to 3
    without the ledger's figures (recomputed) and salts, point 4 as it stands at the change."""
    model: dict[str, Any] = {}
    for number in (1, 2, 3, 4):
        field = PARTITION_FIELD[number]
        model[field] = copy.deepcopy(document[field])
        model[field].pop("salt", None)
    for pointer in LEDGER_FIGURES:
        keys = parts_of(pointer)
        parent = get_at(model, "/" + "/".join(keys[:-1]))
        if isinstance(parent, dict):
            parent.pop(keys[-1], None)
    address = get_at(document, "/economicOperator/address")
    if address is not None:
        model["economicOperator"] = {"address": address}
    return model


def change_status(
    ledger: Ledger,
    key: SigningKey,
    identifier: str,
    to: str,
    *,
    base_url: str,
    reason: str | None = None,
    new_passport: bool | None = None,
    model: Mapping[str, Any] | None = None,
    serial: str | None = None,
    point4: Mapping[str, Any] | None = None,
    class_table: CarbonClassTable | None = None,
    trace_config: TraceConfig | None = None,
) -> LifecycleResult:
    """Change a battery's status. Repurposing and remanufacturing (and re-use with
    ``new_passport=True``) issue a successor passport from ``model`` (default: the original's
    data), for the same battery identifier unless ``serial`` gives a new one. ``point4`` records
    the performance at the change (merged into the current point 4)."""
    passport_id = resolve(ledger, identifier)
    state = load_state(ledger, passport_id)
    ensure_open(state)
    if to not in TRANSITIONS.get(state.status, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(state.status, ()))) or "none"
        raise IllegalTransitionError(
            f"a battery that is {state.status} cannot become {to}; allowed: {allowed}",
            passport=passport_id,
        )
    did, roles = _actor_roles(ledger, key)
    if not may_act(did, roles, TARGET_ROLES[to], state):
        raise RoleNotAllowedError(
            f"{did} (roles: {', '.join(roles)}) may not set passport {passport_id} to {to}; "
            f"allowed: {', '.join(sorted(TARGET_ROLES[to]))} (an oem only for passports it issued)"
        )
    with ledger.repo.read() as tx:  # economic operator, mandatary or recipient (Art. 77(6)-(8))
        require_status_basis(tx, did, state, format_ts(now()), f"set the status {to}")
    successor = to in SUCCESSOR_REQUIRED or (bool(new_passport) and to in SUCCESSOR_ALLOWED)
    if new_passport and to not in SUCCESSOR_ALLOWED:
        raise IllegalTransitionError(f"a {to} battery gets no new passport")
    if new_passport is False and to in SUCCESSOR_REQUIRED:
        raise IllegalTransitionError(f"a {to} battery gets a new passport (Art. 77(7))")
    stamp = format_ts(now(), micro=False)
    document = full_document(ledger, passport_id)
    subject: dict[str, Any] = {
        "passportId": passport_id,
        "passport": state.record_hash,
        "from": state.status,
        "to": to,
    }
    if reason:
        subject["reason"] = reason
    staged_parts: list[dict[str, Any]] = []
    if point4 and not successor:
        with ledger.repo.read() as tx:  # the mandate rule of point 4 (Art. 77)
            require_point4_right(tx, did, roles, state, stamp)
        new4 = _new_point4(document, point4, (), stamp)
        _ensure_valid(
            {**document, "point4": new4, "lastUpdated": stamp, "status": to},
            "refusing to change the status: the passport would be invalid",
        )
        partition = sign_partition(
            passport_id=passport_id, number=4, data=new4, issuer=did, key=key, valid_from=stamp
        )
        subject["partitions"] = {"4": partition_hash(partition)}
        subject["supersedes"] = state.point4_hash
        staged_parts.append(partition)
    if not successor:
        (record,) = sign_chain(ledger, key, [("PassportStatusChange", subject)], valid_from=stamp)
        with staged(staged_parts):
            receipt = ledger.append(record)
        return LifecycleResult(passport_id, receipt.record_hash, receipt, to)
    # Successor passport, then the original's status change naming it: one atomic batch.
    base, battery_id = _successor_base(document, state, model, point4, serial, base_url, stamp)
    second, issued = _issue_successor(
        ledger,
        key,
        state,
        to,
        subject,
        base=base,
        base_url=base_url,
        battery_id=battery_id,
        class_table=class_table,
        trace_config=trace_config,
    )
    return LifecycleResult(passport_id, second.record_hash, second, to, successor=issued)


def _successor_base(
    document: Mapping[str, Any],
    state: PassportState,
    model: Mapping[str, Any] | None,
    point4: Mapping[str, Any] | None,
    serial: str | None,
    base_url: str,
    stamp: str,
) -> tuple[dict[str, Any], str | None]:
    """The successor's model and battery identifier (None: a new one from the model)."""
    base = dict(model) if model is not None else successor_model(document)
    if "point4" not in base:  # a new model: the battery's state at the change carries over
        base["point4"] = {k: v for k, v in document["point4"].items() if k != "salt"}
    if point4:
        base["point4"] = deep_merge(base.get("point4", {}), _timestamps(point4, stamp))
    battery_id = None
    if serial is None and model is None:
        battery_id = state.battery_id
    elif serial is not None:
        gtin = get_at(base, "/point1/identification/gtin")
        battery_id = digital_link(base_url, str(gtin), serial)
        base["point1"] = {
            **base["point1"],
            "identification": {**base["point1"]["identification"], "serialNumber": serial},
        }
    return base, battery_id


def _issue_successor(
    ledger: Ledger,
    key: SigningKey,
    state: PassportState,
    to: str,
    subject: dict[str, Any],
    *,
    base: dict[str, Any],
    base_url: str,
    battery_id: str | None,
    class_table: CarbonClassTable | None,
    trace_config: TraceConfig | None,
) -> tuple[translog.Receipt, IssuedPassport]:
    """Issue the successor passport and the original's status change naming it, as one atomic
    batch; the change's receipt and the successor."""
    if state.pack_lot is None:
        raise PassportInvalidError(
            [{"pointer": "/pack", "message": "the original passport names no pack lot"}]
        )
    prepared = prepare_passport(
        ledger,
        key,
        pack_lot=state.pack_lot,
        model=base,
        base_url=base_url,
        battery_id=battery_id,
        status=to,
        predecessor=state,
        class_table=class_table,
        trace_config=trace_config,
    )
    subject["successor"] = {"passportId": prepared.passport_id, "record": prepared.record_hash}
    chain = prepared.record["chain"]
    unsigned = build_record(
        "PassportStatusChange",
        issuer=prepared.record["issuer"],
        subject=subject,
        sequence=chain["sequence"] + 1,
        previous=record_hash(dumps(prepared.record)),
        valid_from=prepared.record["validFrom"],
    )
    change = sign_record(unsigned, key, created=prepared.record["validFrom"])
    with staged(prepared.partitions.values()):
        first, second = ledger.append_batch([prepared.record, change])
    issued = IssuedPassport(
        passport_id=prepared.passport_id,
        battery_id=prepared.document["batteryId"],
        record_hash=first.record_hash,
        receipt=first,
        document=prepared.document,
        partitions=prepared.partitions,
    )
    return second, issued


def _operators_passport(
    ledger: Ledger, key: SigningKey, identifier: str, what: str
) -> tuple[str, PassportState]:
    """The passport ``identifier`` names, when ``key`` signs for its economic operator (who
    alone ``what``, e.g. "issues mandates for it")."""
    passport_id = resolve(ledger, identifier)
    state = load_state(ledger, passport_id)
    did, _ = _actor_roles(ledger, key)
    if did != state.issuer:
        raise RoleNotAllowedError(
            f"only passport {passport_id}'s economic operator {state.issuer} {what}"
        )
    return passport_id, state


def _append_operators_record(
    ledger: Ledger,
    key: SigningKey,
    state: PassportState,
    kind: str,
    subject: dict[str, Any],
    *,
    valid_until: str | None,
    reason: str | None,
) -> LifecycleResult:
    """Sign and append the economic operator's mandate or grant record about ``state``."""
    if valid_until is not None:
        subject["validUntil"] = normalise_ts(valid_until)
    if reason:
        subject["reason"] = reason
    stamp = format_ts(now(), micro=False)
    (record,) = sign_chain(ledger, key, [(kind, subject)], valid_from=stamp)
    receipt = ledger.append(record)
    return LifecycleResult(state.passport_id, receipt.record_hash, receipt, state.status)


def mandate(
    ledger: Ledger,
    key: SigningKey,
    identifier: str,
    mandatary: str,
    *,
    withdraw: bool = False,
    valid_until: str | None = None,
    reason: str | None = None,
) -> LifecycleResult:
    """The economic operator grants (or withdraws) ``mandatary``'s mandate to update point 4."""
    passport_id, state = _operators_passport(ledger, key, identifier, "issues mandates for it")
    ensure_open(state)
    if withdraw and valid_until is not None:
        raise RuleViolationError("a withdrawal has no end time")
    subject: dict[str, Any] = {
        "passportId": passport_id,
        "passport": state.record_hash,
        "mandatary": mandatary,
        "action": "withdraw" if withdraw else "grant",
    }
    return _append_operators_record(
        ledger, key, state, MANDATE_KIND, subject, valid_until=valid_until, reason=reason
    )


def grant_access(
    ledger: Ledger,
    key: SigningKey,
    identifier: str,
    grantee: str,
    *,
    revoke: bool = False,
    valid_until: str | None = None,
    reason: str | None = None,
) -> LifecycleResult:
    """The economic operator grants (or revokes) ``grantee``'s read access to points 2 and 4 of
    this passport (Art. 77(2)(b); a ``PassportAccessGrant`` record). Unlike a mandate, a grant
    may be given on a ceased or superseded passport: it is about reading."""
    passport_id, state = _operators_passport(ledger, key, identifier, "grants access to it")
    if revoke and valid_until is not None:
        raise RuleViolationError("a revocation has no end time")
    subject: dict[str, Any] = {
        "passportId": passport_id,
        "passport": state.record_hash,
        "grantee": grantee,
        "action": "revoke" if revoke else "grant",
    }
    return _append_operators_record(
        ledger, key, state, GRANT_KIND, subject, valid_until=valid_until, reason=reason
    )
