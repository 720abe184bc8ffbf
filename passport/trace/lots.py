"""Lots and their custody: Extraction, Transformation, Transfer and TransferAcceptance records.

Modelled on GS1 EPCIS 2.0: an Extraction is an ObjectEvent that adds a lot, a Transformation a
TransformationEvent (input lots with the grams consumed → output lots), a Transfer and its
acceptance a TransactionEvent. The rules (design, append step 4: "referenced lots exist; mass
balance holds"; issue §3) run inside the append transaction under the log lock, so they see earlier
records of the same batch, and any violation raises a typed error and rolls everything back:

- a lot is named by id *and* by the hash of the record that created it (Merkle DAG cross-link);
- only a holder consumes or transfers a lot, never more than it holds; consumption plus outgoing
  transfers therefore never exceed the lot's mass;
- for each element, the mass leaving a transformation never exceeds the mass entering it;
- the step keeps its ISO 22095 chain-of-custody model, and under mass balance the credits claimed by
  outputs never exceed the credits that entered (no kilogram claimed twice).

The full field list, units and roles are in ``docs/records.md``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from passport.errors import (
    ChainOfCustodyError,
    CustodyError,
    DoubleClaimError,
    ElementBalanceError,
    FacilityClosedError,
    LotExistsError,
    LotRecordMismatchError,
    MassBalanceError,
    RoleNotAllowedError,
    RuleViolationError,
    UnknownFacilityError,
    UnknownLotError,
    UnknownTransferError,
)
from passport.records.envelope import ParsedRecord
from passport.records.kinds import SUPPLY_CHAIN_ROLES, AcceptContext, KindRule, kind_rule
from passport.store.state import StateTx, TraceStateTx
from passport.store.trace_rows import AttestationRow, InputRow, LotRow, StepRow, TransferRow
from passport.timefmt import normalise_ts
from passport.trace.quantities import (
    MATERIAL_ELEMENT,
    PPM,
    RECYCLED_POST,
    RECYCLED_PRE,
    RECYCLED_TAG_KEY,
    RECYCLING_STEPS,
    WASTE_SOURCE_KEY,
    add_into,
    certified_key,
    claim_key,
    covers_element,
    covers_facility,
    element_ug,
    in_force,
    valid_at,
)

Credits = dict[str, dict[str, int]]
"""Credit key (``recycled-pre-consumer``, ``recycled-post-consumer``, ``certified:<scheme>``) →
element → micrograms of element mass carrying that property."""


# -- shared checks ------------------------------------------------------------------------------
def facility_of(ctx: AcceptContext, facility_id: str) -> dict[str, Any]:
    """The issuer's registered facility ``facility_id`` (design: facilities on the actor)."""
    for facility in ctx.issuer.facilities:
        if facility.get("id") == facility_id:
            if "closed" in facility:  # FacilityUpdate: closed to records accepted later
                raise FacilityClosedError(
                    f"facility {facility_id!r} of {ctx.issuer.did} was closed at "
                    f"{facility['closed']}; name an open facility, or add one (FacilityUpdate)",
                    facility=facility_id,
                )
            return dict(facility)
    raise UnknownFacilityError(
        f"{facility_id!r} is not a registered facility of {ctx.issuer.did}", facility=facility_id
    )


def check_ppm(elements: Mapping[str, int], where: str) -> None:
    """Element contents of one lot cannot exceed the whole (1,000,000 ppm)."""
    if sum(elements.values()) > PPM:
        raise RuleViolationError(f"{where}: element contents sum to more than 1,000,000 ppm")


def resolve_lot(
    tt: TraceStateTx, lot_id: str, record_hash: str, lots: Mapping[str, LotRow]
) -> LotRow:
    """The lot ``lot_id``, checking the cross-link names its creating record."""
    lot = lots.get(lot_id)
    if lot is None:
        raise UnknownLotError(f"no lot {lot_id}", lot=lot_id)
    if lot.record_hash != record_hash:
        raise LotRecordMismatchError(
            f"lot {lot_id} was created by {lot.record_hash}, not {record_hash}", lot=lot_id
        )
    return lot


def valid_certificates(
    tt: TraceStateTx, actor: str, facility: str, moment: str
) -> dict[str, list[AttestationRow]]:
    """Certificates (by scheme) covering ``facility`` of ``actor`` at ``moment``, not retracted."""
    out: dict[str, list[AttestationRow]] = defaultdict(list)
    for att in tt.attestations_about(actors=[actor], kinds=["Certification"]):
        if covers_facility(att, actor, facility) and in_force(att, None) and valid_at(att, moment):
            out[str(att.scheme)].append(att)
    return dict(out)


def _take(tt: TraceStateTx, lot: LotRow, holder: str, grams: int, action: str) -> None:
    """Check ``holder`` holds ``grams`` of ``lot`` (issue §3: only the custodian, never more)."""
    held = tt.holdings([lot.lot_id], holder).get(lot.lot_id)
    if held is None:
        raise CustodyError(
            f"{holder} is not a custodian of lot {lot.lot_id} and cannot {action} it",
            lot=lot.lot_id,
        )
    if grams > held:
        raise MassBalanceError(
            f"cannot {action} {grams} g of lot {lot.lot_id}: {holder} holds {held} g",
            lot=lot.lot_id,
            requested=grams,
            held=held,
        )


# -- Extraction --------------------------------------------------------------------------------
def _extraction(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    tt = tx.trace()
    facility = facility_of(ctx, s["facility"])
    if s["country"] != facility["country"]:
        raise UnknownFacilityError(
            f"country {s['country']} differs from facility {s['facility']}'s {facility['country']}"
        )
    elements: dict[str, int] = s["elements"]
    check_ppm(elements, "the extracted lot")
    if not elements.get(MATERIAL_ELEMENT[s["material"]]):
        raise RuleViolationError(
            f"a {s['material']} lot must contain {MATERIAL_ELEMENT[s['material']]} (ppm > 0)"
        )
    if normalise_ts(s["period"]["start"]) > normalise_ts(s["period"]["end"]):
        raise RuleViolationError("period.start is after period.end")
    if tt.lot(s["lot"]) is not None:
        raise LotExistsError(f"lot {s['lot']} already exists", lot=s["lot"])
    event_time = normalise_ts(record.valid_from)
    ug = element_ug(s["massGrams"], elements)
    credits: Credits = {}
    for scheme, certs in valid_certificates(tt, record.issuer, s["facility"], event_time).items():
        covered = {e: v for e, v in ug.items() if any(covers_element(c, e) for c in certs)}
        if covered:
            credits[certified_key(scheme)] = covered
    tt.insert_step(
        StepRow(
            record_hash=record.hash,
            kind="Extraction",
            issuer=record.issuer,
            facility_id=s["facility"],
            country=s["country"],
            process_step="extraction",
            custody="identity-preserved",
            material=s["material"],
            deposit_type=s["depositType"],
            mining_method=s["miningMethod"],
            event_time=event_time,
            accepted_at=ctx.accepted_at,
            emissions=s.get("emissions"),
            externals=None,
            claims=None,
            output_mass_grams=s["massGrams"],
        )
    )
    tt.insert_lots(
        [
            LotRow(
                lot_id=s["lot"],
                record_hash=record.hash,
                issuer=record.issuer,
                facility_id=s["facility"],
                mass_grams=s["massGrams"],
                elements=dict(elements),
                custody="identity-preserved",
                origin_key=s["lot"],
                claims=None,
                credits=credits,
                consumed_grams=0,
                created_at=event_time,
            )
        ]
    )
    tt.new_holdings([(s["lot"], record.issuer, s["massGrams"])])


# -- Transformation ----------------------------------------------------------------------------
def _check_shape(ctx: AcceptContext, s: Mapping[str, Any]) -> None:
    step = s["processStep"]
    roles = set(ctx.issuer.roles)
    if step != "concentration" and not roles & (SUPPLY_CHAIN_ROLES - {"miner"}):
        raise RoleNotAllowedError(
            f"a miner records only concentration steps, not {step!r}", kind="Transformation"
        )
    if not s["inputs"] and not s.get("externalInputs"):
        raise RuleViolationError("a transformation needs at least one input or external input")
    repeated = [lot for lot, n in Counter(i["lot"] for i in s["inputs"]).items() if n > 1]
    if repeated:
        raise RuleViolationError(f"lot {repeated[0]} is listed twice among the inputs")
    outs = [o["lot"] for o in s["outputs"]]
    if len(set(outs)) != len(outs):
        raise LotExistsError("an output lot id is listed twice")
    for i, out in enumerate(s["outputs"]):
        check_ppm(out["elements"], f"outputs[{i}]")
    for i, ext in enumerate(s.get("externalInputs", [])):
        check_ppm(ext.get("elements", {}), f"externalInputs[{i}]")
    # Recycled intake is explicit: tagged ledger lots or waste from outside, only where a recycler
    # takes waste in (design: "model recycled intake explicitly").
    recycled_intake = any(i.get("recycled") for i in s["inputs"]) or any(
        e["source"] in WASTE_SOURCE_KEY for e in s.get("externalInputs", [])
    )
    if recycled_intake and (step not in RECYCLING_STEPS or "recycler" not in roles):
        raise RuleViolationError(
            "recycled intake is only taken in by a recycler, in a recycling or material-recovery "
            "step"
        )
    for ext in s.get("externalInputs", []):
        if ext["source"] == "synthetic-feedstock" and (
            step != "anode-material" or set(ext.get("elements", {})) - {"C"}
        ):
            raise RuleViolationError(
                "synthetic feedstock enters only anode-material steps and carries only C"
            )


def _check_custody_model(s: Mapping[str, Any], lots: Mapping[str, LotRow]) -> str | None:
    """ISO 22095 rules of the declared model; the outputs' identity-preserved origin, if any."""
    model = s["custody"]
    externals = s.get("externalInputs", [])
    has_claims = any(o.get("claims") for o in s["outputs"])
    if has_claims and model != "mass-balance":
        raise ChainOfCustodyError("only mass-balance outputs may carry explicit claims")
    if model == "identity-preserved":
        origins = {lots[i["lot"]].origin_key for i in s["inputs"]}
        if (
            not s["inputs"]
            or None in origins
            or len(origins) != 1
            or any(i.get("recycled") for i in s["inputs"])
            or any(any(e.get("elements", {}).values()) for e in externals)
        ):
            raise ChainOfCustodyError(
                "identity-preserved: every input must come from one single identity-preserved "
                "source, without recycled intake or element-bearing external inputs"
            )
        return next(iter(origins))
    if model == "segregated":
        mixed = [i["lot"] for i in s["inputs"] if lots[i["lot"]].custody == "mass-balance"]
        if mixed or any(e["source"] == "untraced" for e in externals):
            raise ChainOfCustodyError(
                "segregated: inputs made under mass balance or untraced inputs break segregation",
                lots=mixed,
            )
    return None


def _entering_credits(
    s: Mapping[str, Any],
    lots: Mapping[str, LotRow],
    edges: Sequence[InputRow],
    certs: Mapping[str, list[AttestationRow]],
    pool: Mapping[str, int],
) -> Credits:
    """Credits entering the step: recycled intake, the consumed fraction of each input's credits,
    and the whole pool for schemes certifying this facility at the record's time."""
    entering: Credits = defaultdict(lambda: defaultdict(int))
    for edge in edges:
        if edge.recycled:
            add_into(entering[RECYCLED_TAG_KEY[edge.recycled]], edge.elements)
            continue
        lot = lots[edge.lot_id]
        for key, per in lot.credits.items():
            for e, value in per.items():
                # A consumer receives only its consumed fraction: no credit is handed out twice.
                entering[key][e] += value * edge.grams // lot.mass_grams
    for ext in s.get("externalInputs", []):
        if ext["source"] in WASTE_SOURCE_KEY:
            add_into(
                entering[WASTE_SOURCE_KEY[ext["source"]]],
                element_ug(ext["massGrams"], ext.get("elements", {})),
            )
    for scheme, scheme_certs in certs.items():
        for e, value in pool.items():
            if any(covers_element(c, e) for c in scheme_certs):
                entering[certified_key(scheme)][e] = value
    return {k: {e: v for e, v in per.items() if v} for k, per in entering.items()}


def _output_credits(
    s: Mapping[str, Any], entering: Credits, pool: Mapping[str, int]
) -> list[Credits]:
    """Credits of each output; checks mass-balance claims against what entered (issue §3)."""
    outputs = s["outputs"]
    out_ug = [element_ug(o["massGrams"], o["elements"]) for o in outputs]
    claimed: dict[tuple[str, str], int] = defaultdict(int)
    per_output: list[dict[tuple[str, str], int]] = []
    for i, out in enumerate(outputs):
        mine: dict[tuple[str, str], int] = {}
        for claim in out.get("claims", []):
            pair = (claim_key(claim), claim["element"])
            if pair in mine:
                raise RuleViolationError(f"outputs[{i}] claims {pair[0]} {pair[1]} twice")
            amount = claim["grams"] * PPM
            if amount > out_ug[i].get(claim["element"], 0):
                raise DoubleClaimError(
                    f"outputs[{i}] claims {claim['grams']} g {pair[0]} {pair[1]}, more than the "
                    f"{claim['element']} it contains",
                    lot=out["lot"],
                )
            mine[pair] = amount
            claimed[pair] += amount
        for e, content in out_ug[i].items():
            if mine.get((RECYCLED_PRE, e), 0) + mine.get((RECYCLED_POST, e), 0) > content:
                raise DoubleClaimError(
                    f"outputs[{i}] claims more recycled {e} (pre + post) than it contains",
                    lot=out["lot"],
                )
        per_output.append(mine)
    for (key, e), amount in sorted(claimed.items()):
        available = entering.get(key, {}).get(e, 0)
        if amount > available:
            raise DoubleClaimError(
                f"outputs claim {amount} µg of {key} {e}, only {available} µg entered this step",
                credit=key,
                element=e,
                claimed_ug=amount,
                available_ug=available,
            )
    result: list[Credits] = []
    for i in range(len(outputs)):
        credits: Credits = {}
        for key in sorted(set(entering) | {k for k, _ in claimed}):
            per: dict[str, int] = {}
            for e, content in out_ug[i].items():
                if (key, e) in claimed:
                    value = per_output[i].get((key, e), 0)
                elif pool.get(e):
                    # Physical (proportional) allocation by element mass; losses lose credits too.
                    value = entering.get(key, {}).get(e, 0) * content // pool[e]
                else:
                    value = 0
                if value:
                    per[e] = min(value, content)
            if per:
                credits[key] = per
        result.append(credits)
    return result


def _transformation(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    tt = tx.trace()
    _check_shape(ctx, s)
    facility = facility_of(ctx, s["facility"])
    inputs: list[dict[str, Any]] = s["inputs"]
    externals: list[dict[str, Any]] = s.get("externalInputs", [])
    out_ids = [o["lot"] for o in s["outputs"]]
    found = tt.lots([i["lot"] for i in inputs] + out_ids)
    taken = [lot for lot in out_ids if lot in found]
    if taken:
        raise LotExistsError(f"lot {taken[0]} already exists", lot=taken[0])
    lots = {i["lot"]: resolve_lot(tt, i["lot"], i["record"], found) for i in inputs}
    _check_inputs_held(tt, record.issuer, inputs, lots)
    edges = [
        InputRow.make(
            record.hash,
            inp["lot"],
            inp["record"],
            inp["massGrams"],
            inp.get("recycled"),
            lots[inp["lot"]].elements,
        )
        for inp in inputs
    ]
    pool = _balanced_pool(edges, externals, s["outputs"])
    origin_key = _check_custody_model(s, lots)
    event_time = normalise_ts(record.valid_from)
    certs = valid_certificates(tt, record.issuer, s["facility"], event_time)
    entering = _entering_credits(s, lots, edges, certs, pool)
    out_credits = _output_credits(s, entering, pool)

    step_claims = _step_claims(s["outputs"])
    # Every input is held by the issuer, in the amount consumed, and listed once (checked above).
    tt.consume(record.issuer, [(edge.lot_id, edge.grams) for edge in edges])
    tt.insert_step(_transformation_step(ctx, record, facility, event_time, step_claims))
    tt.insert_inputs(edges)
    new_lots = _output_lots(record, s, out_credits, origin_key, event_time)
    tt.insert_lots(new_lots)
    tt.new_holdings([(out["lot"], record.issuer, out["massGrams"]) for out in s["outputs"]])


def _check_inputs_held(
    tt: TraceStateTx, issuer: str, inputs: list[dict[str, Any]], lots: dict[str, LotRow]
) -> None:
    """Each consumed lot is held by the issuer, in at least the amount consumed."""
    held = tt.holdings(lots, issuer)
    for inp in inputs:
        lot = lots[inp["lot"]]
        if lot.lot_id not in held:
            raise CustodyError(
                f"{issuer} is not a custodian of lot {lot.lot_id} and cannot consume it",
                lot=lot.lot_id,
            )
        if inp["massGrams"] > held[lot.lot_id]:
            raise MassBalanceError(
                f"cannot consume {inp['massGrams']} g of lot {lot.lot_id}: "
                f"{issuer} holds {held[lot.lot_id]} g",
                lot=lot.lot_id,
                requested=inp["massGrams"],
                held=held[lot.lot_id],
            )


def _balanced_pool(
    edges: list[InputRow], externals: list[dict[str, Any]], outputs: list[dict[str, Any]]
) -> dict[str, int]:
    """The µg of each element entering the step; no more of any may leave it."""
    pool: dict[str, int] = {}
    for edge in edges:
        add_into(pool, edge.elements)
    for ext in externals:
        add_into(pool, element_ug(ext["massGrams"], ext.get("elements", {})))
    leaving: dict[str, int] = {}
    for out in outputs:
        add_into(leaving, element_ug(out["massGrams"], out["elements"]))
    for e, value in sorted(leaving.items()):
        if value > pool.get(e, 0):
            # Issue §3: element mass is never created from nothing.
            raise ElementBalanceError(
                f"{e}: {value} µg leave this transformation, only {pool.get(e, 0)} µg enter",
                element=e,
                leaving_ug=value,
                entering_ug=pool.get(e, 0),
            )
    return pool


def _step_claims(outputs: list[dict[str, Any]]) -> dict[str, int]:
    """The step's mass-balance claims: grams per ``claim key/element``, summed over outputs."""
    step_claims: dict[str, int] = defaultdict(int)
    for out in outputs:
        for claim in out.get("claims", []):
            step_claims[f"{claim_key(claim)}/{claim['element']}"] += claim["grams"]
    return step_claims


def _transformation_step(
    ctx: AcceptContext,
    record: ParsedRecord,
    facility: Mapping[str, Any],
    event_time: str,
    step_claims: dict[str, int],
) -> StepRow:
    """The stored row of a Transformation record."""
    s = record.subject
    externals: list[dict[str, Any]] = s.get("externalInputs", [])
    return StepRow(
        record_hash=record.hash,
        kind="Transformation",
        issuer=record.issuer,
        facility_id=s["facility"],
        country=facility["country"],
        process_step=s["processStep"],
        custody=s["custody"],
        material=None,
        deposit_type=None,
        mining_method=None,
        event_time=event_time,
        accepted_at=ctx.accepted_at,
        emissions=s.get("emissions"),
        externals=[
            {
                "source": ext["source"],
                "description": ext["description"],
                "massGrams": ext["massGrams"],
                "ug": element_ug(ext["massGrams"], ext.get("elements", {})),
            }
            for ext in externals
        ]
        or None,
        claims=dict(step_claims) or None,
        output_mass_grams=sum(o["massGrams"] for o in s["outputs"]),
    )


def _output_lots(
    record: ParsedRecord,
    s: Mapping[str, Any],
    out_credits: list[Credits],
    origin_key: str | None,
    event_time: str,
) -> list[LotRow]:
    """The lots a Transformation record creates."""
    new_lots = []
    for out, credits in zip(s["outputs"], out_credits, strict=True):
        claims = {f"{claim_key(c)}/{c['element']}": c["grams"] for c in out.get("claims", [])}
        new_lots.append(
            LotRow(
                lot_id=out["lot"],
                record_hash=record.hash,
                issuer=record.issuer,
                facility_id=s["facility"],
                mass_grams=out["massGrams"],
                elements=dict(out["elements"]),
                custody=s["custody"],
                origin_key=origin_key,
                claims=claims or None,
                credits=credits,
                consumed_grams=0,
                created_at=event_time,
            )
        )
    return new_lots


# -- Transfer and TransferAcceptance ----------------------------------------------------------
def _transfer(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    tt = tx.trace()
    lot = resolve_lot(tt, s["lot"], s["record"], tt.lots([s["lot"]]))
    buyer = tx.actor(s["buyer"])
    if buyer is None or not SUPPLY_CHAIN_ROLES.intersection(buyer.roles):
        raise RuleViolationError(f"buyer {s['buyer']} is not a registered supply-chain actor")
    if s["buyer"] == record.issuer:
        raise RuleViolationError("a lot is not transferred to its own holder")
    _take(tt, lot, record.issuer, s["massGrams"], "transfer")
    # The grams leave the seller at once and are in transit until the buyer decides.
    tt.change_holding(lot.lot_id, record.issuer, -s["massGrams"])
    tt.insert_transfer(
        TransferRow(
            record_hash=record.hash,
            lot_id=lot.lot_id,
            seller=record.issuer,
            buyer=s["buyer"],
            grams=s["massGrams"],
            status="pending",
            settled_by=None,
            created_at=ctx.accepted_at,
        )
    )


def _acceptance(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s = record.subject
    tt = tx.trace()
    transfer = tt.transfer(s["transfer"])
    if transfer is None:
        raise UnknownTransferError(f"no transfer {s['transfer']}")
    if transfer.buyer != record.issuer:
        raise CustodyError(
            f"only the buyer {transfer.buyer} decides on transfer {transfer.record_hash}"
        )
    if transfer.status != "pending":
        raise CustodyError(
            f"transfer {transfer.record_hash} was already {transfer.status} "
            f"by {transfer.settled_by}"
        )
    decision = s["decision"]
    receiver = transfer.buyer if decision == "accepted" else transfer.seller
    tt.change_holding(transfer.lot_id, receiver, transfer.grams)
    tt.settle_transfer(transfer.record_hash, decision, record.hash)


RULES: dict[str, KindRule] = {
    "Extraction": kind_rule({"miner"}, _extraction),
    "Transformation": kind_rule(SUPPLY_CHAIN_ROLES, _transformation),
    "Transfer": kind_rule(SUPPLY_CHAIN_ROLES, _transfer),
    "TransferAcceptance": kind_rule(SUPPLY_CHAIN_ROLES, _acceptance),
}
