"""The passport's record kinds and the rules the ledger applies when it accepts them (append
pipeline step 4, inside the append transaction: a violation writes nothing).

- ``BatteryPassport`` (an ``oem`` issues an original passport; an ``oem`` or ``repairer`` issues
  the successor passport of a repurposed, re-used or remanufactured battery): the record commits to
  the four signed partitions (which must come with it, see :func:`passport_partition.staged`) and
  to a checkpoint of this log; the reassembled passport must validate.
- ``PassportStatusChange``: the status machine :data:`TRANSITIONS`, who may set which status
  (:data:`TARGET_ROLES`), successor links, cessation after recycling; a new point-4 partition
  it carries obeys the mandate rule of updates (:func:`require_point4_right`).
- ``PassportUpdate``: a new point-4 partition, replacing the current one, by the passport's
  economic operator or an actor it mandated.
- ``PassportMandate``: the economic operator grants an actor (a repairer, say) the right to update
  this passport's point 4, until a time or until withdrawn (Art. 77).
- ``PassportAccessGrant``: the economic operator grants an actor read access to this passport's
  points 2 and 4, until a time or until revoked (Art. 77(2)(b); :mod:`passport.document.access`).

An ``oem`` acts only on passports it issued. A status change (and a successor passport) needs,
besides the role, a basis the ledger can check (:func:`require_status_basis`): the economic
operator, its mandatary, or an actor the battery was handed to. Point 4 changes only by the
economic operator or its mandatary. Authorities only read.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from passport.document.body import document_from
from passport.document.partitions import PARTITIONS
from passport.document.signed_partitions import (
    commitments,
    parse_partition,
    partition_data,
    partition_number,
    staged_body,
    verify_partition,
)
from passport.document.validation import validate
from passport.errors import (
    IllegalTransitionError,
    PartitionMissingError,
    PassportCeasedError,
    PassportInvalidError,
    PassportNotFoundError,
    PassportStaleError,
    Point4NotMandatedError,
    RoleNotAllowedError,
    RuleViolationError,
    StatusChangeNoBasisError,
)
from passport.records.envelope import ParsedRecord
from passport.records.kinds import AcceptContext, Handler, KindRule, kind_rule
from passport.store.passport_rows import PassportEventRow, PassportState, StoredPartition
from passport.store.state import PassportStateTx, StateTx
from passport.timefmt import normalise_ts
from signing.jcs import parse_json

SECOND_LIFE = ("repurposed", "re-used", "remanufactured")

TRANSITIONS: Mapping[str, frozenset[str]] = {
    "original": frozenset({*SECOND_LIFE, "waste"}),
    "repurposed": frozenset({*SECOND_LIFE, "waste"}),
    "re-used": frozenset({*SECOND_LIFE, "waste"}),
    "remanufactured": frozenset({*SECOND_LIFE, "waste"}),
    "waste": frozenset({"recycled"}),
    "recycled": frozenset(),
}
"""Allowed status changes. After ``recycled`` the passport has ceased (Art. 77(8))."""

TARGET_ROLES: Mapping[str, frozenset[str]] = {
    "repurposed": frozenset({"oem", "repairer"}),
    "re-used": frozenset({"oem", "repairer"}),
    "remanufactured": frozenset({"oem", "repairer"}),
    "waste": frozenset({"oem", "repairer", "recycler"}),
    "recycled": frozenset({"recycler"}),
}
"""Who may set each status."""

SUCCESSOR_REQUIRED = frozenset({"repurposed", "remanufactured"})
"""Statuses that always come with a new passport linked to the original (Art. 77(7))."""
SUCCESSOR_ALLOWED = frozenset(SECOND_LIFE)
"""Statuses that may come with one (a battery prepared for re-use by another operator)."""

MANDATE_KIND = "PassportMandate"

UPDATE_ROLES = frozenset({"oem", "repairer"})
"""Who may update point 4: the passport's economic operator, or an actor holding one of these
roles and a mandate from it for this passport (:func:`mandataries`)."""


def may_act(
    actor_did: str,
    actor_roles: tuple[str, ...],
    allowed: frozenset[str],
    passport: PassportState,
) -> bool:
    """Whether an actor's roles let it act on a passport: one of its roles is allowed, and if
    its only allowed role is ``oem`` it is the passport's own economic operator. (Whether it has
    a basis for acting on this battery is :func:`require_status_basis`'s question.)"""
    held = allowed.intersection(actor_roles)
    if not held:
        return False
    return held != {"oem"} or actor_did == passport.issuer


VEHICLE_STEP = "vehicle-integration"
"""The Transformation step that builds a pack lot into a vehicle lot (samples/generate.py)."""


def battery_recipients(tx: StateTx, pack_lot: str) -> set[str]:
    """Actors the battery was handed to on the ledger: the buyers who accepted a ``Transfer``
    of its pack lot, or of a vehicle lot a ``vehicle-integration`` step made from the pack lot.

    An acceptance counts whether or not the buyer still holds the lot: a recycler that shredded
    the vehicle still ends the passport's life (waste, then recycled)."""
    trace = tx.trace()
    lots = [pack_lot]
    for edge in trace.consumers_of(pack_lot):
        step = trace.step(edge.step_hash)
        if step is not None and step.process_step == VEHICLE_STEP:
            lots.extend(lot.lot_id for lot in trace.lots_created_by(edge.step_hash))
    return {
        transfer.buyer
        for lot_id in lots
        for transfer in trace.transfers_of_lot(lot_id)
        if transfer.status == "accepted"
    }


def require_status_basis(
    tx: StateTx, actor_did: str, passport: PassportState, at: str, what: str
) -> None:
    """StatusChangeNoBasisError unless the actor has a basis the ledger can check for changing
    this battery's status (or issuing its successor passport) at time ``at``:

    - it is the passport's economic operator, responsible for the passport (Art. 77(1), and
      after repurposing or remanufacturing the operator placing the battery on the market again,
      Art. 77(6));
    - it holds this operator's mandate for the passport (``PassportMandate``, valid at ``at``;
      Art. 77(1) lets the operator act through an authorised representative);
    - or the battery was handed to it on the ledger (:func:`battery_recipients`): the re-use,
      repurposing, remanufacturing (Art. 73, 77(6)-(7)) or waste management and recycling
      (Art. 74, 77(8)) operator that received it.
    """
    if actor_did == passport.issuer:
        return
    if actor_did in mandataries(tx, passport.passport_id, at):
        return
    if passport.pack_lot is not None and actor_did in battery_recipients(tx, passport.pack_lot):
        return
    raise StatusChangeNoBasisError(
        f"{actor_did} may not {what} of passport {passport.passport_id}: it is not its economic "
        f"operator {passport.issuer}, holds no mandate from it, and the battery (pack lot "
        f"{passport.pack_lot}, or a vehicle built from it) was never handed to it on the ledger",
        passport=passport.passport_id,
    )


def may_update(
    actor_did: str, actor_roles: tuple[str, ...], passport: PassportState, mandated: bool
) -> bool:
    """Whether an actor may update a passport's point 4: it holds an update role and is the
    passport's economic operator or holds its mandate (Art. 77)."""
    if not UPDATE_ROLES.intersection(actor_roles):
        return False
    return actor_did == passport.issuer or mandated


def require_point4_right(
    tx: StateTx, actor_did: str, actor_roles: tuple[str, ...], passport: PassportState, at: str
) -> None:
    """Point4NotMandatedError unless the actor may change the passport's point 4 at time ``at``:
    it holds an update role and is the passport's economic operator or holds its mandate
    (Art. 77; Annex XIII point 4). Applies to every record that commits to a new point-4
    partition of an existing passport, whatever its kind (``PassportUpdate``,
    ``PassportStatusChange``)."""
    mandated = actor_did in mandataries(tx, passport.passport_id, at)
    if not may_update(actor_did, actor_roles, passport, mandated):
        raise Point4NotMandatedError(
            f"{actor_did} (roles: {', '.join(actor_roles)}) may not change point 4 of passport "
            f"{passport.passport_id}: only its economic operator {passport.issuer} and the "
            f"actors it mandated (roles: {', '.join(sorted(UPDATE_ROLES))}) may",
            passport=passport.passport_id,
        )


def _live_grants(
    tx: StateTx, passport_id: str, at: str, kind: str, member: str
) -> dict[str, str | None]:
    """The actors a passport's grant-or-withdraw records of ``kind`` (mandates, access grants)
    leave holding one at time ``at``: DID (the subject's ``member``) -> end (or None). The
    records are replayed in log order; the latest one for an actor decides, and a grant ends
    at its ``validUntil``."""
    held: dict[str, str | None] = {}
    for event in _passports(tx).events(passport_id):
        if event.kind != kind:
            continue
        row = tx.record_by_hash(event.record_hash)
        if row is None:
            continue
        subject = parse_json(row.body)["credentialSubject"]
        if subject["action"] == "grant":
            until = subject.get("validUntil")
            held[subject[member]] = normalise_ts(until) if until else None
        else:
            held.pop(subject[member], None)
    moment = normalise_ts(at)
    return {did: end for did, end in held.items() if end is None or moment < end}


def mandataries(tx: StateTx, passport_id: str, at: str) -> dict[str, str | None]:
    """Actors holding a mandate to update the passport at time ``at``: DID -> end (or None).

    The passport's ``PassportMandate`` records are replayed in log order; the latest one for a
    mandatary decides, and a grant ends at its ``validUntil``.
    """
    return _live_grants(tx, passport_id, at, MANDATE_KIND, "mandatary")


def _require_actor(
    ctx: AcceptContext, allowed: frozenset[str], passport: PassportState, what: str
) -> None:
    if not may_act(ctx.issuer.did, ctx.issuer.roles, allowed, passport):
        raise RoleNotAllowedError(
            f"{ctx.issuer.did} (roles: {', '.join(ctx.issuer.roles)}) may not {what} of passport "
            f"{passport.passport_id}; allowed: {', '.join(sorted(allowed))} "
            "(an oem only for passports it issued)",
            passport=passport.passport_id,
        )


def _take_partition(
    tx: StateTx, record: ParsedRecord, number: int, partition_hash_value: str
) -> tuple[dict[str, Any], bytes]:
    """The staged partition a record commits to, verified against it."""
    body = staged_body(partition_hash_value)
    if body is None:
        stored = _passports(tx).partition(partition_hash_value)
        if stored is not None:
            raise RuleViolationError(
                f"partition {partition_hash_value} is already committed by record "
                f"{stored.record_hash}"
            )
        raise PartitionMissingError(
            f"record commits to partition {number} ({partition_hash_value}) but its signed body "
            "was not supplied; submit partitions with their record (passport.service.issue, "
            "passport.service.lifecycle)",
            partition=number,
        )
    obj = parse_partition(body)
    verify_partition(record, obj)
    if partition_number(obj) != number:
        raise RuleViolationError(
            f"the partition committed as {number} holds partition {partition_number(obj)}"
        )
    return obj, body


def _current_parts(tx: StateTx, passport: PassportState) -> dict[int, dict[str, Any]]:
    parts: dict[int, dict[str, Any]] = {}
    for row in _passports(tx).partitions_of(passport.passport_id):
        if row.partition in (1, 2, 3) or row.hash == passport.point4_hash:
            parts[row.partition] = partition_data(parse_partition(row.body))
    return parts


def _check_document(
    tx: StateTx,
    passport: PassportState,
    parts: Mapping[int, Mapping[str, Any]],
    subject: Mapping[str, Any] | None = None,
) -> None:
    if subject is None:
        stored = tx.record_by_hash(passport.record_hash)
        if stored is None:  # pragma: no cover - the passports row is derived from that record
            raise PassportNotFoundError(f"passport record {passport.record_hash} is missing")
        subject = parse_json(stored.body)["credentialSubject"]
    doc = document_from(
        subject,
        passport.issued_at,
        parts,
        status=passport.status,
        last_updated=passport.last_updated,
        successor=passport.successor,
        ceased_at=passport.ceased_at,
    )
    problems = validate(doc)
    if problems:
        raise PassportInvalidError([p.to_dict() for p in problems])


def _store_partitions(
    tx: StateTx,
    passport_id: str,
    record: ParsedRecord,
    taken: Mapping[int, tuple[dict[str, Any], bytes]],
) -> None:
    rows = [
        StoredPartition(
            hash=commitments(record)[number],
            passport_id=passport_id,
            partition=number,
            record_hash=record.hash,
            body=body,
        )
        for number, (_obj, body) in sorted(taken.items())
    ]
    _passports(tx).insert_partitions(rows)


def _event(
    tx: StateTx, ctx: AcceptContext, passport_id: str, record: ParsedRecord, status: str
) -> None:
    _passports(tx).add_event(
        PassportEventRow(
            passport_id=passport_id,
            leaf_index=ctx.leaf_index,
            record_hash=record.hash,
            kind=record.kind,
            status=status,
            accepted_at=ctx.accepted_at,
        ),
    )


def _on_passport(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    passport_id = s["passportId"]
    if _passports(tx).get(passport_id) is not None:
        raise RuleViolationError(f"passport {passport_id} already exists")
    if s["economicOperator"]["id"] != record.issuer:
        raise RuleViolationError("the economic operator named in a passport is its issuer")
    predecessor = s.get("predecessor")
    if predecessor is None and "oem" not in ctx.issuer.roles:
        raise RoleNotAllowedError(
            f"{record.issuer} is no oem: an original passport is issued by the OEM",
            kind=record.kind,
        )
    # The checkpoint the figures were computed at is one this log signed.
    cp = _passports(tx).checkpoint(s["checkpoint"]["size"])
    if cp is None or base64.b64encode(cp.root).decode("ascii") != s["checkpoint"]["rootHash"]:
        raise RuleViolationError(
            f"the passport names a checkpoint (size {s['checkpoint']['size']}) "
            "this log did not sign"
        )
    lot = tx.trace().lot(s["pack"]["lot"])
    if lot is None or lot.record_hash != s["pack"]["record"]:
        raise RuleViolationError(
            f"pack lot {s['pack']['lot']} does not exist or was not created by record "
            f"{s['pack']['record']}"
        )
    predecessor_state: PassportState | None = None
    if predecessor is not None:
        predecessor_state = _passports(tx).get(predecessor["passportId"])
        if predecessor_state is None or predecessor_state.record_hash != predecessor["record"]:
            raise PassportNotFoundError(
                f"no predecessor passport {predecessor['passportId']} with that record"
            )
        if predecessor_state.closed:
            raise PassportCeasedError(
                f"predecessor passport {predecessor_state.passport_id} takes no successor"
            )
        others = _passports(tx).successors_of(predecessor_state.passport_id)
        if others:
            raise RuleViolationError(
                f"passport {predecessor_state.passport_id} already has a successor "
                f"({others[0].passport_id})"
            )
        if s["status"] not in TRANSITIONS[predecessor_state.status]:
            raise IllegalTransitionError(
                f"a battery whose status is {predecessor_state.status} cannot become {s['status']}"
            )
        _require_actor(
            ctx, TARGET_ROLES[s["status"]], predecessor_state, f"issue a {s['status']} successor"
        )
        # The successor's issuer becomes the battery's economic operator (Art. 77(6)): it needs
        # the same basis as for the status change that names the successor.
        require_status_basis(
            tx,
            ctx.issuer.did,
            predecessor_state,
            ctx.accepted_at,
            f"issue a {s['status']} successor",
        )
    for other in _passports(tx).by_battery(s["batteryId"]):
        if not other.closed and (
            predecessor_state is None or other.passport_id != predecessor_state.passport_id
        ):
            raise RuleViolationError(
                f"battery {s['batteryId']} already has a live passport ({other.passport_id})"
            )
    taken = {n: _take_partition(tx, record, n, h) for n, h in sorted(commitments(record).items())}
    if sorted(taken) != list(PARTITIONS):
        raise RuleViolationError("a passport commits to all four partitions")
    state = PassportState(
        passport_id=passport_id,
        battery_id=s["batteryId"],
        record_hash=record.hash,
        issuer=record.issuer,
        category=s["category"],
        status=s["status"],
        pack_lot=s["pack"]["lot"],
        predecessor=predecessor["passportId"] if predecessor else None,
        successor=None,
        issued_at=record.valid_from,
        last_updated=record.valid_from,
        ceased_at=None,
        checkpoint_size=s["checkpoint"]["size"],
        point4_hash=commitments(record)[4],
    )
    parts = {n: partition_data(obj) for n, (obj, _body) in taken.items()}
    if parts[1].get("category") != s["category"]:
        raise RuleViolationError("the record's category differs from partition 1's")
    _check_document(tx, state, parts, s)
    _passports(tx).insert(state)
    _store_partitions(tx, passport_id, record, taken)
    _event(tx, ctx, passport_id, record, state.status)


def ensure_open(state: PassportState) -> None:
    """PassportCeasedError unless the passport still takes lifecycle records: not ceased after
    recycling (Art. 77(8)), not superseded by a successor passport (Art. 77(7))."""
    if state.ceased:
        raise PassportCeasedError(
            f"passport {state.passport_id} has ceased: the battery was recycled"
        )
    if state.successor is not None:
        raise PassportCeasedError(
            f"passport {state.passport_id} was superseded by {state.successor}; "
            "act on that passport"
        )


def _live(tx: StateTx, record: ParsedRecord) -> PassportState:
    s = record.subject
    state = _passports(tx).get(s["passportId"])
    if state is None or state.record_hash != s["passport"]:
        raise PassportNotFoundError(
            f"no passport {s['passportId']} issued by record {s['passport']}"
        )
    ensure_open(state)
    if normalise_ts(record.valid_from) < normalise_ts(state.last_updated):
        raise RuleViolationError("a lifecycle record cannot predate the passport's last update")
    return state


def _new_point4(
    tx: StateTx, record: ParsedRecord, state: PassportState
) -> tuple[dict[str, Any], bytes] | None:
    committed = commitments(record)
    if 4 not in committed:
        return None
    if record.subject.get("supersedes") != state.point4_hash:
        raise PassportStaleError(
            f"the update replaces point-4 partition {record.subject.get('supersedes')}, "
            "but the current one is "
            f"{state.point4_hash}; re-read the passport and update again",
            current=state.point4_hash,
        )
    return _take_partition(tx, record, 4, committed[4])


def _on_status_change(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    state = _live(tx, record)
    source, target = s["from"], s["to"]
    if source != state.status:
        raise PassportStaleError(f"passport {state.passport_id} is {state.status}, not {source}")
    if target not in TRANSITIONS[source]:
        allowed = ", ".join(sorted(TRANSITIONS[source])) or "none (the passport has ceased)"
        raise IllegalTransitionError(
            f"a battery that is {source} cannot become {target}; allowed: {allowed}"
        )
    _require_actor(ctx, TARGET_ROLES[target], state, f"set the status {target}")
    successor = s.get("successor")
    if target in SUCCESSOR_REQUIRED and successor is None:
        raise IllegalTransitionError(
            f"a {target} battery gets a new passport: name the successor (Art. 77(7))"
        )
    if successor is not None:
        if target not in SUCCESSOR_ALLOWED:
            raise IllegalTransitionError(f"a {target} battery gets no successor passport")
        succ = _passports(tx).get(successor["passportId"])
        if succ is None or succ.record_hash != successor["record"]:
            raise PassportNotFoundError(
                f"no successor passport {successor['passportId']} with that record"
            )
        if succ.predecessor != state.passport_id or succ.status != target:
            raise RuleViolationError(
                f"passport {succ.passport_id} is not a {target} successor of {state.passport_id}"
            )
    if 4 in commitments(record):
        # A status change may record the battery's performance at the change; it rewrites
        # point 4 like an update, so the same mandate rule holds (Art. 77).
        require_point4_right(tx, ctx.issuer.did, ctx.issuer.roles, state, ctx.accepted_at)
    require_status_basis(tx, ctx.issuer.did, state, ctx.accepted_at, f"set the status {target}")
    point4 = _new_point4(tx, record, state)
    new_state = state.with_changes(
        status=target,
        last_updated=record.valid_from,
        successor=successor["passportId"] if successor else None,
        ceased_at=record.valid_from if target == "recycled" else None,
        point4_hash=commitments(record).get(4, state.point4_hash),
    )
    if point4 is not None:
        parts = _current_parts(tx, state)
        parts[4] = partition_data(point4[0])
        _check_document(tx, new_state, parts)
        _store_partitions(tx, state.passport_id, record, {4: point4})
    _passports(tx).save(new_state)
    _event(tx, ctx, state.passport_id, record, target)


def _on_update(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    state = _live(tx, record)
    require_point4_right(tx, ctx.issuer.did, ctx.issuer.roles, state, ctx.accepted_at)
    point4 = _new_point4(tx, record, state)
    assert point4 is not None  # the schema requires partitions.4
    new_state = state.with_changes(
        last_updated=record.valid_from, point4_hash=commitments(record)[4]
    )
    parts = _current_parts(tx, state)
    parts[4] = partition_data(point4[0])
    _check_document(tx, new_state, parts)
    _store_partitions(tx, state.passport_id, record, {4: point4})
    _passports(tx).save(new_state)
    _event(tx, ctx, state.passport_id, record, state.status)


def _on_mandate(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    state = _live(tx, record)
    if record.issuer != state.issuer:
        raise RoleNotAllowedError(
            f"only passport {state.passport_id}'s economic operator {state.issuer} issues "
            "mandates for it",
            passport=state.passport_id,
        )
    mandatary = s["mandatary"]
    if mandatary == state.issuer:
        raise RuleViolationError("the economic operator needs no mandate for its own passport")
    current = mandataries(tx, state.passport_id, ctx.accepted_at)
    if s["action"] == "withdraw":
        if mandatary not in current:
            raise RuleViolationError(
                f"{mandatary} holds no mandate for passport {state.passport_id} to withdraw"
            )
    else:
        actor = tx.actor(mandatary)
        if actor is None:
            raise RuleViolationError(f"the mandatary {mandatary} is not a registered actor")
        if not UPDATE_ROLES.intersection(actor.roles):
            raise RuleViolationError(
                f"a mandate goes to an actor with one of the roles "
                f"{', '.join(sorted(UPDATE_ROLES))}; {mandatary} has {', '.join(actor.roles)}"
            )
        until = s.get("validUntil")
        if until is not None and normalise_ts(until) <= ctx.accepted_at:
            raise RuleViolationError("the mandate's validUntil has already passed")
    _event(tx, ctx, state.passport_id, record, state.status)


GRANT_KIND = "PassportAccessGrant"
"""The economic operator grants (or revokes) an actor read access to this passport's points 2
and 4 (Art. 77(2)(b): a legitimate interest is in one battery)."""


def access_grantees(tx: StateTx, passport_id: str, at: str) -> dict[str, str | None]:
    """Actors holding a read-access grant for the passport at time ``at``: DID -> end (or None).

    The passport's ``PassportAccessGrant`` records are replayed in log order; the latest one for
    a grantee decides, and a grant ends at its ``validUntil`` (as :func:`mandataries`)."""
    return _live_grants(tx, passport_id, at, GRANT_KIND, "grantee")


def _on_access_grant(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    state = _passports(tx).get(s["passportId"])
    if state is None or state.record_hash != s["passport"]:
        raise PassportNotFoundError(
            f"no passport {s['passportId']} issued by record {s['passport']}"
        )
    # A grant is about reading, which outlives the passport's last change: a ceased or
    # superseded passport stays readable, so grants on it are taken (unlike mandates).
    if record.issuer != state.issuer:
        raise RoleNotAllowedError(
            f"only passport {state.passport_id}'s economic operator {state.issuer} grants access "
            "to it",
            passport=state.passport_id,
        )
    grantee = s["grantee"]
    if grantee == state.issuer:
        raise RuleViolationError("the economic operator needs no grant for its own passport")
    if s["action"] == "revoke":
        if grantee not in access_grantees(tx, state.passport_id, ctx.accepted_at):
            raise RuleViolationError(
                f"{grantee} holds no access grant for passport {state.passport_id} to revoke"
            )
    else:
        if tx.actor(grantee) is None:
            raise RuleViolationError(f"the grantee {grantee} is not a registered actor")
        until = s.get("validUntil")
        if until is not None and normalise_ts(until) <= ctx.accepted_at:
            raise RuleViolationError("the grant's validUntil has already passed")
    _event(tx, ctx, state.passport_id, record, state.status)


def _passports(tx: StateTx) -> PassportStateTx:
    passports = tx.passports()
    if passports is None:
        raise RuleViolationError("passport records are accepted by a database ledger")
    return passports


def _in_database(handler: Handler) -> Handler:
    """The rule of a passport kind, which reads and writes the passport tables: only the
    database has them (a bundle's in-memory replay skips these kinds), so the rule refuses a
    state without them before it reads anything."""

    def rule(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
        if tx.passports() is None:
            raise RuleViolationError(f"{record.kind} records are accepted by a database ledger")
        handler(tx, ctx, record)

    return rule


RULES: dict[str, KindRule] = {
    "BatteryPassport": kind_rule({"oem", "repairer"}, _in_database(_on_passport)),
    MANDATE_KIND: kind_rule({"oem", "repairer"}, _in_database(_on_mandate)),
    GRANT_KIND: kind_rule({"oem", "repairer"}, _in_database(_on_access_grant)),
    "PassportStatusChange": kind_rule(set(TARGET_ROLES["waste"]), _in_database(_on_status_change)),
    "PassportUpdate": kind_rule(set(UPDATE_ROLES), _in_database(_on_update)),
}
