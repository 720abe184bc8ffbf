"""The provenance walk: one backward pass over a lot's provenance DAG that attributes its element
mass to origins, and its recycled content, certificate and due-diligence coverage and carbon to
the records that decide them (issue §4).

Method (see also ``docs/records.md``): one backward pass over the DAG, from the lot upwards in
topological order, carries integer *weights*: for each element and each property (origin, recycled
pre/post, certified per scheme, due diligence) the micrograms of the lot's element that flow
through a node, and for carbon the micrograms of mass. At a step, the weight of an element is split
over the step's inputs in proportion to the element mass each brought in (physical allocation), by
largest remainder so the parts add up exactly. Weights stop where a property is decided:

- origin: at Extraction lots, recycled intake (the recycled lot's own upstream is cut off),
  synthetic feedstock and untraced external inputs;
- recycled (Art. 8): at recycled intake; at a mass-balance output whose step claims the credit,
  the claim replaces the physical figure (after checking, as of ``at``, that the claims are backed);
- certification per scheme: at a lot or facility holding a certificate valid at the record's time;
- due diligence: at a handler without a due-diligence report valid at its record's time (uncovered);
- carbon: at a lot with an attested cradle-to-gate footprint (which replaces the walk above it);
  elsewhere each step adds its own emissions (or a default) allocated to outputs by mass.

All arithmetic is on integers (micrograms, milligrams CO2e; :mod:`passport.trace.exact`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from passport.errors import LedgerStateError
from passport.store.trace_rows import AttestationRow, InputRow, LotRow, StepRow
from passport.trace.config import TraceConfig
from passport.trace.exact import allocate, kg_to_mg, rdiv
from passport.trace.provenance import Provenance
from passport.trace.quantities import (
    CERTIFIED_PREFIX,
    PPM,
    RECYCLED_POST,
    RECYCLED_PRE,
    RECYCLED_TAG_KEY,
    STAGES,
    WASTE_SOURCE_KEY,
    covers_element,
    covers_facility,
    element_ug,
    in_force,
    valid_at,
)

__all__ = ["DD", "MASS", "Carbon", "Contribution", "Key", "Origin", "Part", "Walk"]

MASS = "mass"
DD = "due-diligence"
UG_KG = 10**9  # micrograms per kilogram

Key = tuple[str, str]  # (property, element)


# -- contributions ----------------------------------------------------------------------------
@dataclass(slots=True)
class Part:
    """One record's contribution to a figure (a trail entry, kept cheap until asked for)."""

    record: str
    kind: str
    lot: str | None
    amount: int
    note: str


@dataclass(slots=True)
class Origin:
    """A terminal contribution of element mass to the lot: where it comes from."""

    record: str
    kind: str
    lot: str | None
    amount: int
    note: str
    element: str
    category: str
    actor: str | None
    facility: str | None
    country: str | None
    deposit: str | None
    method: str | None


@dataclass(slots=True)
class Carbon:
    """A carbon contribution in mg CO2e."""

    record: str
    kind: str
    lot: str | None
    amount: int
    note: str
    stage: str
    primary: bool


Contribution = Part | Origin | Carbon


# -- the walk ----------------------------------------------------------------------------------
class Walk:
    """One roll-up computation over a loaded provenance."""

    def __init__(self, prov: Provenance, at: str, config: TraceConfig) -> None:
        self.p = prov
        self.at = at
        self.cfg = config
        self.certs_by_actor: dict[str, list[AttestationRow]] = defaultdict(list)
        self.lot_atts: dict[str, list[AttestationRow]] = defaultdict(list)
        self.dd_by_actor: dict[str, list[AttestationRow]] = defaultdict(list)
        for att in prov.attestations:
            if att.accepted_at > at:
                continue  # not yet in the ledger as of ``at``
            if att.subject_lot is not None:
                self.lot_atts[att.subject_lot].append(att)
            elif att.kind == "Certification":
                self.certs_by_actor[str(att.subject_actor)].append(att)
            elif att.kind == "DueDiligence":
                self.dd_by_actor[str(att.subject_actor)].append(att)
        self.origins: list[Origin] = []
        self.carbon: list[Carbon] = []
        self.covered: dict[Key, list[Part]] = defaultdict(list)
        self.dd_gaps: dict[str, set[str]] = defaultdict(set)
        self.unbacked: set[str] = set()
        self._credit_memo: dict[tuple[str, str, str], int] = {}
        self._entering_memo: dict[tuple[str, str, str], int] = {}
        self._cert_memo: dict[tuple[str, ...], AttestationRow | None] = {}
        self._dd_memo: dict[tuple[str, str, str], AttestationRow | None] = {}
        self.schemes = sorted(
            {str(a.scheme) for a in prov.attestations if a.kind == "Certification"}
            | {
                k.split("/")[0][len(CERTIFIED_PREFIX) :]
                for s in prov.steps.values()
                for k in (s.claims or {})
                if k.startswith(CERTIFIED_PREFIX)
            }
        )
        self.recycled_walk = any(e.recycled for es in prov.inputs.values() for e in es) or any(
            x["source"] in WASTE_SOURCE_KEY for s in prov.steps.values() for x in s.externals or []
        )
        # Due diligence needs its own walk only for elements some handler lacks a report for.
        handlers = {(s.issuer, s.event_time) for s in prov.steps.values()}
        self.dd_walk = {
            e
            for e in config.due_diligence_elements
            if any(self.report_of(actor, moment, e) is None for actor, moment in handlers)
        }
        self.mg_factors = {
            "extraction": {e: kg_to_mg(f) for e, f in config.extraction_factors.items()},
            "step": {k: kg_to_mg(f) for k, f in config.step_factors.items()},
            "untraced": {e: kg_to_mg(f) for e, f in config.untraced_factors.items()},
        }

    # -- attestation lookups (memoised: thousands of lots share a few actors) -----------------
    def facility_cert(self, step: StepRow, scheme: str, element: str) -> AttestationRow | None:
        """A certificate of ``scheme`` covering the step's facility at the step's time."""
        memo = (step.issuer, step.facility_id, step.event_time, scheme, element)
        if memo not in self._cert_memo:
            found = None
            for att in self.certs_by_actor.get(step.issuer, ()):
                if (
                    att.scheme == scheme
                    and covers_facility(att, step.issuer, step.facility_id)
                    and covers_element(att, element)
                    and in_force(att, self.at)
                    and valid_at(att, step.event_time)
                ):
                    found = att
                    break
            self._cert_memo[memo] = found
        return self._cert_memo[memo]

    def lot_cert(self, lot: LotRow, scheme: str, element: str) -> AttestationRow | None:
        """A certificate of ``scheme`` about the lot itself, valid at the lot's creation."""
        for att in self.lot_atts.get(lot.lot_id, ()):
            if (
                att.kind == "Certification"
                and att.scheme == scheme
                and covers_element(att, element)
                and in_force(att, self.at)
                and valid_at(att, lot.created_at)
            ):
                return att
        return None

    def due_diligence(self, step: StepRow, element: str) -> AttestationRow | None:
        """A due-diligence report of the step's actor valid at the step's time."""
        return self.report_of(step.issuer, step.event_time, element)

    def report_of(self, actor: str, moment: str, element: str) -> AttestationRow | None:
        """A due-diligence report of ``actor`` valid at ``moment`` for ``element``."""
        memo = (actor, moment, element)
        if memo not in self._dd_memo:
            found = None
            for att in self.dd_by_actor.get(actor, ()):
                if (
                    covers_element(att, element)
                    and in_force(att, self.at)
                    and valid_at(att, moment)
                ):
                    found = att
                    break
            self._dd_memo[memo] = found
        return self._dd_memo[memo]

    def footprint(self, lot: LotRow) -> AttestationRow | None:
        """The latest carbon footprint attested for the lot and not retracted as of ``at``."""
        found = None
        for att in self.lot_atts.get(lot.lot_id, ()):
            if att.kind == "CarbonFootprint" and in_force(att, self.at):
                found = att
        return found

    # -- mass-balance credits, forward (to check claims are backed as of ``at``) ---------------
    def credit(self, lot: LotRow, prop: str, e: str) -> int:
        """Micrograms of the lot's ``e`` carrying credit ``prop`` (recycled-*, certified:*)."""
        memo = (lot.lot_id, prop, e)
        if memo in self._credit_memo:
            return self._credit_memo[memo]
        step = self.p.steps[lot.record_hash]
        pool = self.p.pools[step.record_hash]
        content = lot.mass_grams * lot.elements.get(e, 0)
        value = 0
        scheme = prop[len(CERTIFIED_PREFIX) :] if prop.startswith(CERTIFIED_PREFIX) else None
        if scheme and (self.lot_cert(lot, scheme, e) or self.facility_cert(step, scheme, e)):
            value = content
        elif step.claims and f"{prop}/{e}" in step.claims:
            value = self.effective_claim(lot, step, prop, e)
        elif step.kind == "Transformation" and pool.get(e):
            value = self.entering(step, prop, e) * content // pool[e]
        self._credit_memo[memo] = min(value, content)
        return self._credit_memo[memo]

    def entering(self, step: StepRow, prop: str, e: str) -> int:
        """Credits ``prop`` of ``e`` entering a step: the consumed fraction of each input's."""
        memo = (step.record_hash, prop, e)
        if memo in self._entering_memo:
            return self._entering_memo[memo]
        total = 0
        for edge in self.p.inputs.get(step.record_hash, ()):
            if edge.recycled:
                if RECYCLED_TAG_KEY[edge.recycled] == prop:
                    total += edge.elements.get(e, 0)
                continue
            lot = self.p.lots[edge.lot_id]
            total += self.credit(lot, prop, e) * edge.grams // lot.mass_grams
        for ext in step.externals or []:
            if WASTE_SOURCE_KEY.get(ext["source"]) == prop:
                total += ext["ug"].get(e, 0)
        self._entering_memo[memo] = total
        return total

    def effective_claim(self, lot: LotRow, step: StepRow, prop: str, e: str) -> int:
        """The lot's claim of ``prop`` ``e`` in µg, scaled down if, as of ``at``, the credits
        entering its step no longer back all the step's claims (e.g. a certificate was revoked)."""
        key = f"{prop}/{e}"
        mine = int((lot.claims or {}).get(key, 0)) * PPM
        claimed = int((step.claims or {}).get(key, 0)) * PPM
        backing = self.entering(step, prop, e)
        scheme = prop[len(CERTIFIED_PREFIX) :] if prop.startswith(CERTIFIED_PREFIX) else None
        if scheme and self.facility_cert(step, scheme, e):
            backing = self.p.pools[step.record_hash].get(e, 0)
        if backing >= claimed:
            return mine
        self.unbacked.add(step.record_hash)
        return mine * backing // claimed

    # -- the backward pass --------------------------------------------------------------------
    def run(self) -> None:
        """Propagate weights from the lot up to every origin, in topological order."""
        p = self.p
        lots, steps, inputs = p.lots, p.steps, p.inputs
        consumers: dict[str, int] = {}
        for edges in inputs.values():
            for edge in edges:
                if not edge.recycled:
                    consumers[edge.lot_id] = consumers.get(edge.lot_id, 0) + 1
        outputs_in: dict[str, list[LotRow]] = {}
        for lot in lots.values():
            outputs_in.setdefault(lot.record_hash, []).append(lot)
        pending = {h: len(v) for h, v in outputs_in.items()}

        lot_w: dict[str, dict[Key, int]] = {}
        lot_c: dict[str, int] = {}
        step_w: dict[str, dict[Key, int]] = {}
        step_c: dict[str, int] = {}

        target = p.target
        lot_w[target.lot_id] = {
            (prop, e): ug
            for e, ug in element_ug(target.mass_grams, target.elements).items()
            for prop in self.properties(e)
        }
        lot_c[target.lot_id] = target.mass_grams * PPM
        decide = self.decide_at_lot

        ready = [target.lot_id]
        while ready:
            lot = lots[ready.pop()]
            h = lot.record_hash
            step = steps[h]
            sw = step_w.get(h)
            if sw is None:
                sw = step_w[h] = {}
            for key, w in lot_w.pop(lot.lot_id, {}).items():
                if w and (key[0] == MASS or not decide(lot, step, key, w)):
                    sw[key] = sw.get(key, 0) + w
            cw = lot_c.pop(lot.lot_id, 0)
            if cw:
                fp = self.footprint(lot) if lot.lot_id in self.lot_atts else None
                if fp is not None:
                    self.attested_carbon(lot, fp, cw)
                else:
                    step_c[h] = step_c.get(h, 0) + cw
            pending[h] -= 1
            if pending[h]:
                continue
            # Every output of the step in this provenance is done: pass the step's weight on.
            weights = step_w.pop(h)
            carbon = step_c.pop(h, 0)
            if step.kind == "Extraction":
                self.extraction(step, lot, weights, carbon)
                continue
            self.split(step, weights, lot_w)
            self.step_carbon(step, outputs_in[h], carbon, lot_c)
            for edge in inputs[h]:
                if not edge.recycled:
                    left = consumers[edge.lot_id] - 1
                    consumers[edge.lot_id] = left
                    if left == 0:
                        ready.append(edge.lot_id)
        if step_w or lot_w:
            raise LedgerStateError("the provenance graph is not a DAG rooted at the lot")
        self.due_diligence_without_gaps()

    def due_diligence_without_gaps(self) -> None:
        """Elements whose every handler had due diligence were not walked for it: their covered
        mass is the mined mass, and only untraced inputs are gaps."""
        for e in self.cfg.due_diligence_elements:
            if e in self.dd_walk:
                continue
            for o in self.origins:
                if o.element != e:
                    continue
                if o.category == "extracted":
                    self.covered[(DD, e)].append(
                        Part(
                            o.record,
                            o.kind,
                            o.lot,
                            o.amount,
                            "mined lot; every handler up to the rolled-up lot had a valid "
                            "due-diligence report",
                        )
                    )
                elif o.category == "unknown":
                    self.dd_gaps[e].add(o.record)

    def properties(self, e: str) -> list[str]:
        """Which properties the walk carries for element ``e``."""
        props = [MASS]
        if self.recycled_walk:
            props += [RECYCLED_PRE, RECYCLED_POST]
        props += [CERTIFIED_PREFIX + s for s in self.schemes]
        if e in self.dd_walk:
            props.append(DD)
        return props

    def decide_at_lot(self, lot: LotRow, step: StepRow, key: Key, w: int) -> bool:
        """Record the property's contribution if it is decided at this lot; False to pass on."""
        prop, e = key
        if prop == DD:
            if self.due_diligence(step, e) is None:
                self.dd_gaps[e].add(step.record_hash)
                return True  # a handler without due diligence: this part is not covered
            return False
        if prop.startswith(CERTIFIED_PREFIX):
            scheme = prop[len(CERTIFIED_PREFIX) :]
            cert = self.lot_cert(lot, scheme, e) or self.facility_cert(step, scheme, e)
            if cert is not None:
                where = "the lot" if cert.subject_type == "lot" else f"facility {step.facility_id}"
                self.covered[key].append(
                    Part(
                        cert.record_hash,
                        "Certification",
                        lot.lot_id,
                        w,
                        f"{scheme} certificate {cert.data.get('certificateId')} covers {where} "
                        f"at {step.event_time} (record {step.record_hash})",
                    )
                )
                return True
        if step.claims and f"{prop}/{e}" in step.claims:
            content = lot.mass_grams * lot.elements.get(e, 0)
            claim = self.effective_claim(lot, step, prop, e) if content else 0
            amount = w * claim // content if content else 0
            if amount:
                self.covered[key].append(
                    Part(
                        step.record_hash,
                        "Transformation",
                        lot.lot_id,
                        amount,
                        f"mass-balance claim: {claim} µg of the lot's {content} µg {e} is {prop}; "
                        f"{w} µg of the lot's {e} are in the rolled-up lot",
                    )
                )
            return True
        return False

    def split(self, step: StepRow, weights: Mapping[Key, int], lot_w: Any) -> None:
        """Allocate a transformation's weights to its inputs by element mass brought in."""
        h = step.record_hash
        edges = self.p.inputs[h]
        externals = step.externals or []
        pool = self.p.pools[h]
        parts_of: dict[str, list[int]] = {}
        for key, w in weights.items():
            if not w:
                continue
            e = key[1]
            parts = parts_of.get(e)
            if parts is None:
                parts = [edge.elements.get(e, 0) for edge in edges]
                parts += [x["ug"].get(e, 0) for x in externals]
                parts_of[e] = parts
            shares = allocate(w, parts, pool.get(e, 0))
            for edge, share in zip(edges, shares, strict=False):
                if share:
                    if edge.recycled:
                        self.recycled_intake(step, edge, key, share)
                    else:
                        target = lot_w.get(edge.lot_id)
                        if target is None:
                            target = lot_w[edge.lot_id] = {}
                        target[key] = target.get(key, 0) + share
            if externals:
                for ext, share in zip(externals, shares[len(edges) :], strict=True):
                    if share:
                        self.external(step, ext, key, share)

    def recycled_intake(self, step: StepRow, edge: InputRow, key: Key, w: int) -> None:
        """A recycled ledger lot entering a recycling step: an origin (cut-off)."""
        prop, e = key
        category = RECYCLED_TAG_KEY[str(edge.recycled)]
        note = f"{edge.recycled} recycled intake of lot {edge.lot_id} at {step.facility_id}"
        if prop == MASS:
            self.origin(step, e, category, w, edge.lot_id, note)
        elif prop == category:
            self.covered[key].append(Part(step.record_hash, step.kind, edge.lot_id, w, note))

    def external(self, step: StepRow, ext: Mapping[str, Any], key: Key, w: int) -> None:
        """An external input: unknown origin, synthetic feedstock or recycled waste."""
        prop, e = key
        source = ext["source"]
        note = f"external input ({source}): {ext['description']}"
        category = WASTE_SOURCE_KEY.get(source) or (
            "synthetic" if source == "synthetic-feedstock" else "unknown"
        )
        if prop == MASS:
            self.origin(step, e, category, w, None, note)
        elif prop == category:
            self.covered[key].append(Part(step.record_hash, step.kind, None, w, note))
        elif prop == DD and source == "untraced":
            self.dd_gaps[e].add(step.record_hash)

    def origin(
        self, step: StepRow, e: str, category: str, w: int, lot: str | None, note: str
    ) -> None:
        known = category != "unknown"
        self.origins.append(
            Origin(
                step.record_hash,
                step.kind,
                lot,
                w,
                note,
                e,
                category,
                step.issuer if known else None,
                step.facility_id if known else None,
                step.country if known else None,
                None,
                None,
            )
        )

    def extraction(
        self, step: StepRow, lot: LotRow, weights: Mapping[Key, int], carbon: int
    ) -> None:
        """An Extraction lot: the origin of its element mass, and its own carbon."""
        note = (
            f"{step.material} ({step.deposit_type}, {step.mining_method}) "
            f"from {step.facility_id}, {step.country}"
        )
        for (prop, e), w in weights.items():
            if not w:
                continue
            if prop == MASS:
                self.origins.append(
                    Origin(
                        step.record_hash,
                        "Extraction",
                        lot.lot_id,
                        w,
                        note,
                        e,
                        "extracted",
                        step.issuer,
                        step.facility_id,
                        step.country,
                        step.deposit_type,
                        step.mining_method,
                    )
                )
            elif prop == DD:
                dd = self.due_diligence(step, e)
                self.covered[(prop, e)].append(
                    Part(
                        step.record_hash,
                        "Extraction",
                        lot.lot_id,
                        w,
                        "every handler up to the lot had a valid due-diligence report; "
                        f"the miner's is {dd.record_hash if dd else '?'}",
                    )
                )
        if not carbon:
            return
        drawn = f"{carbon} µg of the {lot.mass_grams} g lot"
        if step.emissions:
            for stage, kg in sorted(step.emissions.items()):
                mg = rdiv(kg_to_mg(kg) * carbon, step.output_mass_grams * PPM)
                self.add_carbon(
                    step, lot.lot_id, stage, mg, True, f"own emissions {kg} kg × {drawn}"
                )
            return
        factors = self.mg_factors["extraction"]
        stage = self.cfg.step_stages.get("extraction", STAGES[0])
        for e, ppm in sorted(lot.elements.items()):
            factor = factors.get(e)
            if factor and ppm:
                mg = rdiv(factor * carbon * ppm, PPM * UG_KG)
                note = f"default {self.cfg.extraction_factors[e]} kg CO2e/kg {e} × {e} in {drawn}"
                self.add_carbon(step, lot.lot_id, stage, mg, False, note)

    def step_carbon(
        self, step: StepRow, lots_out: Sequence[LotRow], carbon: int, lot_c: dict[str, int]
    ) -> None:
        """A transformation's own (or default) emissions, and the carbon weight of its inputs."""
        if not carbon:
            return
        out_ug = step.output_mass_grams * PPM
        first = lots_out[0].lot_id if len(lots_out) == 1 else None
        share = f"{carbon} of {out_ug} µg of outputs"
        if step.emissions:
            for stage, kg in sorted(step.emissions.items()):
                mg = rdiv(kg_to_mg(kg) * carbon, out_ug)
                self.add_carbon(step, first, stage, mg, True, f"own emissions {kg} kg × {share}")
        else:
            factor = self.mg_factors["step"].get(step.process_step, 0)
            mg = rdiv(factor * carbon, UG_KG)
            text = self.cfg.step_factors.get(step.process_step, "0")
            stage = self.cfg.step_stages.get(step.process_step, STAGES[1])
            note = f"default {text} kg CO2e/kg output ({step.process_step}) × {carbon} µg"
            self.add_carbon(step, first, stage, mg, False, note)
        for ext in step.externals or []:
            source = ext["source"]
            if source == "untraced":
                for e, ug in sorted(ext["ug"].items()):
                    factor = self.mg_factors["untraced"].get(e, 0)
                    mg = rdiv(factor * carbon * ug, out_ug * UG_KG)
                    note = (
                        f"default {self.cfg.untraced_factors.get(e, '0')} kg CO2e/kg untraced {e}"
                        f" × {ug} µg × {share}"
                    )
                    self.add_carbon(step, None, STAGES[0], mg, False, note)
            elif source == "synthetic-feedstock":
                ug = ext["ug"].get("C", 0)
                factor = kg_to_mg(self.cfg.synthetic_feedstock_factor)
                mg = rdiv(factor * carbon * ug, out_ug * UG_KG)
                note = (
                    f"default {self.cfg.synthetic_feedstock_factor} kg CO2e/kg feedstock C "
                    f"× {ug} µg × {share}"
                )
                self.add_carbon(step, None, STAGES[0], mg, False, note)
        for edge in self.p.inputs[step.record_hash]:
            if not edge.recycled:  # recycled intake enters burden-free (cut-off approach)
                lot_c[edge.lot_id] = (
                    lot_c.get(edge.lot_id, 0) + carbon * edge.grams // step.output_mass_grams
                )

    def attested_carbon(self, lot: LotRow, fp: AttestationRow, weight: int) -> None:
        """An attested cradle-to-gate footprint replaces the walk above the lot."""
        for stage, per_kg in sorted(fp.data["perKg"].items()):
            self.carbon.append(
                Carbon(
                    fp.record_hash,
                    "CarbonFootprint",
                    lot.lot_id,
                    rdiv(kg_to_mg(per_kg) * weight, UG_KG),
                    f"attested {per_kg} kg CO2e/kg ({fp.data.get('method')}) × {weight} µg "
                    f"of the {lot.mass_grams} g lot",
                    stage,
                    True,
                )
            )

    def add_carbon(
        self, step: StepRow, lot: str | None, stage: str, mg: int, primary: bool, note: str
    ) -> None:
        self.carbon.append(Carbon(step.record_hash, step.kind, lot, mg, note, stage, primary))
