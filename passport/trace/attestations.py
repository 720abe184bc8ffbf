"""Attestations about lots, facilities and actors, and their retraction.

- *CarbonFootprint*: cradle-to-gate kg CO2e per kg of a lot, per Art. 7 life-cycle stage.
- *RecycledContent*: pre- and post-consumer recycled element mass of a lot, naming the
  recycled-intake records it stems from.
- *Certification*: a certifier's certificate (IRMA, RMI RMAP, JDDS, …) for a facility, actor or lot,
  valid from/until.
- *DueDiligence*: an actor's OECD five-step due-diligence report (reference, content hash,
  findings).
- *Retraction*: the issuer (or the named verifier; for a certificate, its certifier) withdraws an
  attestation. Roll-ups stop counting it from then on; the ledger keeps both records.

The append rules are in ``docs/records.md``; roll-ups read the rows written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passport.errors import AttestationError, UnknownSubjectError
from passport.records.envelope import ParsedRecord
from passport.records.kinds import SUPPLY_CHAIN_ROLES, AcceptContext, KindRule, kind_rule
from passport.store.state import StateTx, TraceStateTx
from passport.store.trace_rows import AttestationRow, LotRow
from passport.timefmt import normalise_ts
from passport.trace.lots import resolve_lot
from passport.trace.quantities import ATTESTATION_KINDS, PPM, RECYCLING_STEPS, element_ug

ATTESTERS = SUPPLY_CHAIN_ROLES | {"certifier"}


def _is_certifier(ctx: AcceptContext) -> bool:
    return "certifier" in ctx.issuer.roles


def _subject(tx: StateTx, tt: TraceStateTx, subject: Mapping[str, Any]) -> LotRow | None:
    """Check the subject exists; the lot, for lot subjects."""
    if subject["type"] == "lot":
        return resolve_lot(tt, subject["lot"], subject["record"], tt.lots([subject["lot"]]))
    actor = tx.actor(subject["actor"])
    if actor is None:
        raise UnknownSubjectError(f"no actor {subject['actor']}")
    if subject["type"] == "facility" and not any(
        f.get("id") == subject["facility"] for f in actor.facilities
    ):
        raise UnknownSubjectError(f"{subject['actor']} has no facility {subject['facility']!r}")
    return None


def _verifier(tx: StateTx, subject: Mapping[str, Any]) -> str | None:
    did = subject.get("verifier")
    if did is None:
        return None
    actor = tx.actor(did)
    if actor is None or "certifier" not in actor.roles:
        raise AttestationError(f"verifier {did} is not a registered certifier")
    return str(did)


def _period(subject: Mapping[str, Any]) -> tuple[str | None, str | None]:
    if "validFrom" not in subject:
        return None, None
    start, end = normalise_ts(subject["validFrom"]), normalise_ts(subject["validUntil"])
    if start >= end:
        raise AttestationError("validFrom must be before validUntil")
    return start, end


def _store(
    tx: StateTx,
    ctx: AcceptContext,
    record: ParsedRecord,
    data: dict[str, Any],
    *,
    scheme: str | None = None,
) -> None:
    subject = record.subject["subject"]
    valid_from, valid_until = _period(record.subject)
    tx.trace().insert_attestation(
        AttestationRow(
            record_hash=record.hash,
            kind=record.kind,
            issuer=record.issuer,
            verifier=_verifier(tx, record.subject),
            subject_type=subject["type"],
            subject_lot=subject.get("lot"),
            subject_actor=subject.get("actor"),
            subject_facility=subject.get("facility"),
            scheme=scheme,
            valid_from=valid_from,
            valid_until=valid_until,
            accepted_at=ctx.accepted_at,
            leaf_index=ctx.leaf_index,
            data=data,
            retracted_by=None,
            retracted_at=None,
            retraction_effect=None,
            retraction_reason=None,
        )
    )


def _own_lot(ctx: AcceptContext, lot: LotRow | None, kind: str) -> None:
    # A supplier declares figures about its own products; certifiers may attest any lot.
    if not _is_certifier(ctx) and (lot is None or lot.issuer != ctx.issuer.did):
        raise AttestationError(f"a supply-chain actor issues {kind} only about lots it created")


def _carbon(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    lot = _subject(tx, tx.trace(), s["subject"])
    _own_lot(ctx, lot, "CarbonFootprint")
    data: dict[str, Any] = {
        k: s[k] for k in ("boundary", "perKg", "method", "study", "studyHash") if k in s
    }
    _store(tx, ctx, record, data)


def _recycled(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    tt = tx.trace()
    lot = _subject(tx, tt, s["subject"])
    _own_lot(ctx, lot, "RecycledContent")
    assert lot is not None
    content = element_ug(lot.mass_grams, lot.elements)
    for e, figures in s["elements"].items():
        total = (figures["preConsumerGrams"] + figures["postConsumerGrams"]) * PPM
        if total > content.get(e, 0):
            raise AttestationError(f"recycled {e} exceeds the lot's {e} content")
    steps = tt.steps(s["intakeRecords"])
    intake = tt.inputs_of(s["intakeRecords"])
    for h in s["intakeRecords"]:
        step = steps.get(h)
        takes_waste = step is not None and (
            any(i.recycled for i in intake.get(h, []))
            or any(x["source"].endswith("-waste") for x in step.externals or [])
        )
        if step is None or step.process_step not in RECYCLING_STEPS or not takes_waste:
            raise AttestationError(f"{h} is not a recycling step with recycled intake")
    data: dict[str, Any] = {k: s[k] for k in ("elements", "intakeRecords", "method") if k in s}
    _store(tx, ctx, record, data)


def _certification(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    _subject(tx, tx.trace(), s["subject"])
    data: dict[str, Any] = {
        k: s[k] for k in ("certificateId", "scope", "level", "elements") if k in s
    }
    _store(tx, ctx, record, data, scheme=s["scheme"])


def _due_diligence(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    _subject(tx, tx.trace(), s["subject"])
    if not _is_certifier(ctx) and s["subject"]["actor"] != record.issuer:
        raise AttestationError("a supply-chain actor reports its own due diligence only")
    keys = ("framework", "reportRef", "reportHash", "stepsCovered", "elements", "riskFindings")
    _store(tx, ctx, record, {k: s[k] for k in keys if k in s})


def _retraction(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    tt = tx.trace()
    target = tt.attestation(s["record"])
    if target is None or target.kind not in ATTESTATION_KINDS:
        raise UnknownSubjectError(f"{s['record']} is not an attestation of this ledger")
    if record.issuer not in (target.issuer, target.verifier):
        raise AttestationError(
            "an attestation is retracted by its issuer or by the certifier that verified it"
        )
    if target.retracted_by is not None:
        raise AttestationError(f"{s['record']} was already retracted by {target.retracted_by}")
    effect = "revoked" if target.kind == "Certification" else "retracted"
    tt.retract(target.record_hash, record.hash, ctx.accepted_at, effect, s["reason"])


RULES: dict[str, KindRule] = {
    "CarbonFootprint": kind_rule(ATTESTERS, _carbon),
    "RecycledContent": kind_rule(ATTESTERS, _recycled),
    "Certification": kind_rule({"certifier"}, _certification),
    "DueDiligence": kind_rule(ATTESTERS, _due_diligence),
    "Retraction": kind_rule(ATTESTERS, _retraction),
}
