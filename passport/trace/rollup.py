"""Provenance roll-ups: per-element origin, recycled content, carbon, certification and
due-diligence coverage and risk flags of any lot, each figure with its calculation trail (issue §4).

Cost: O(the lot's own provenance), never O(ledger) (issue §7). :func:`load_provenance` walks the
provenance DAG upwards breadth-first with three batched, indexed queries per level (lots by id,
steps by record hash, input edges by step hash) plus one or two for the attestations about the lots
and actors found; nothing downstream of the lot and nothing of other packs is read.

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

All arithmetic is on integers (micrograms, milligrams CO2e); the only rounding is the half-even
rounding of each carbon contribution to a whole milligram and of percents when they are printed.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from passport.errors import LedgerStateError, NotFoundError
from passport.store.state import StateTx
from passport.store.trace_rows import AttestationRow, InputRow, LotRow, StepRow
from passport.timefmt import format_ts, normalise_ts, now
from passport.trace.config import DEFAULT_CONFIG, TraceConfig
from passport.trace.model import (
    ORIGINS,
    Amount,
    CarbonFigures,
    DueDiligenceCoverage,
    ElementFigures,
    FacilityAmount,
    GraphiteFigures,
    ProvenanceSize,
    RiskFlag,
    Rollup,
    Severity,
    StageCarbon,
    Trail,
    TrailEntry,
)
from passport.trace.quantities import (
    CERTIFIED_PREFIX,
    ELEMENTS,
    PPM,
    RECYCLED_POST,
    RECYCLED_PRE,
    RECYCLED_TAG_KEY,
    STAGES,
    WASTE_SOURCE_KEY,
    add_into,
    covers_element,
    covers_facility,
    element_ug,
    in_force,
    valid_at,
)

if TYPE_CHECKING:
    from passport.store.sql.repository import Repository

__all__ = [
    "Amount",
    "CarbonFigures",
    "DueDiligenceCoverage",
    "ElementFigures",
    "FacilityAmount",
    "GraphiteFigures",
    "Provenance",
    "ProvenanceSize",
    "RiskFlag",
    "Rollup",
    "StageCarbon",
    "TraceConfig",
    "Trail",
    "TrailEntry",
    "compute_rollup",
    "load_provenance",
    "rollup_from",
]

MASS = "mass"
DD = "due-diligence"
UG_KG = 10**9  # micrograms per kilogram

Key = tuple[str, str]  # (property, element)
Unit = Literal["µg", "mg CO2e"]


# -- loading the provenance --------------------------------------------------------------------
@dataclass
class Provenance:
    """A lot's upstream DAG as stored: lots, the steps that created them, their input edges, each
    step's element pool (µg entering it), and the attestations about these lots and the actors
    that created them."""

    target: LotRow
    lots: dict[str, LotRow]
    steps: dict[str, StepRow]
    inputs: dict[str, list[InputRow]]
    pools: dict[str, dict[str, int]]
    attestations: list[AttestationRow]
    queries: int = 0


def load_provenance(tx: StateTx, lot_id: str) -> Provenance:
    """Fetch ``lot_id``'s provenance with two batched queries per BFS level (the input edges of
    the steps found, then the lots they consume joined with the steps that created those)."""
    tt = tx.trace()
    found = tt.lots_with_steps([lot_id])
    if lot_id not in found:
        raise NotFoundError(f"no lot {lot_id}", lot=lot_id)
    target, first = found[lot_id]
    lots = {lot_id: target}
    steps = {first.record_hash: first}
    inputs: dict[str, list[InputRow]] = {}
    frontier = {first.record_hash}
    queries = 1
    while frontier:
        edges = tt.inputs_of(frontier)
        queries += 1
        upstream: set[str] = set()
        for h in frontier:
            inputs[h] = edges.get(h, [])
            # Recycled intake ends the walk: the recycled lot's upstream is cut off (cut-off rule).
            upstream.update(e.lot_id for e in inputs[h] if not e.recycled)
        upstream -= lots.keys()
        got = tt.lots_with_steps(upstream) if upstream else {}
        queries += 1 if upstream else 0
        if len(got) != len(upstream):
            raise LedgerStateError(f"edges name unknown lots {sorted(upstream - got.keys())[:3]}")
        frontier = set()
        for lot, step in got.values():
            lots[lot.lot_id] = lot
            if step.record_hash not in steps:
                steps[step.record_hash] = step
                frontier.add(step.record_hash)
    pools: dict[str, dict[str, int]] = {}
    for h, step in steps.items():
        pool: dict[str, int] = {}
        for edge in inputs[h]:
            add_into(pool, edge.elements)
        for ext in step.externals or ():
            add_into(pool, ext["ug"])
        pools[h] = pool
    attestations = tt.attestations_about(
        lots=lots.keys(), actors={s.issuer for s in steps.values()}
    )
    queries += 2
    return Provenance(target, lots, steps, inputs, pools, attestations, queries)


# -- exact arithmetic and formatting -----------------------------------------------------------
def _rdiv(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-even to an integer."""
    q, r = divmod(numerator, denominator)
    if 2 * r > denominator or (2 * r == denominator and q % 2):
        q += 1
    return q


def _mg(kg: str) -> int:
    """Milligrams in a schema-checked decimal string of kilograms (at most 6 decimals: exact)."""
    return int(Decimal(kg).scaleb(6))


def _fmt_scaled(value: int, decimals: int) -> str:
    if decimals == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 10**decimals}.{value % 10**decimals:0{decimals}d}"


def _percent(part: int, whole: int, decimals: int) -> str:
    """``part / whole`` in percent, rounded half-even to ``decimals`` (exact arithmetic)."""
    if whole <= 0:
        return _fmt_scaled(0, decimals)
    return _fmt_scaled(_rdiv(part * 100 * 10**decimals, whole), decimals)


def _percent_split(
    parts: Mapping[str, int], whole: int, decimals: int, pinned: Amount | None = None
) -> dict[str, str]:
    """Percents of parts that partition ``whole``, by largest remainder, so they add up to exactly
    100 — or, with ``pinned`` (a share of the whole already rounded elsewhere, e.g. the unknown
    origin), to exactly 100 minus the pinned percent."""
    if whole <= 0:
        return {k: _fmt_scaled(0, decimals) for k in parts}
    unit = 100 * 10**decimals
    target, rest_of_whole = unit, whole
    if pinned is not None:
        target -= int(pinned.percent.replace(".", ""))
        rest_of_whole -= pinned.micrograms
    quotas = {k: v * unit for k, v in parts.items()}
    base = {k: q // whole for k, q in quotas.items()}
    rest = target - sum(base.values()) if sum(parts.values()) == rest_of_whole else 0
    for k in sorted(quotas, key=lambda k: (-(quotas[k] % whole), k))[: max(rest, 0)]:
        base[k] += 1
    return {k: _fmt_scaled(v, decimals) for k, v in base.items()}


def _allocate(total: int, parts: Sequence[int], pool: int) -> list[int]:
    """Split ``total`` over ``parts`` in proportion, by largest remainder: the result sums to
    ``total`` exactly (``parts`` sum to ``pool`` and ``total <= pool``)."""
    if total == pool:
        return list(parts)
    if total == 0 or pool <= 0:
        return [0] * len(parts)
    out, rems = [], []
    for p in parts:
        q, r = divmod(total * p, pool)
        out.append(q)
        rems.append(r)
    rest = total - sum(out)
    if rest == 1:
        out[max(range(len(rems)), key=rems.__getitem__)] += 1  # first of the largest
    elif rest:
        # a stable sort keeps equal remainders in index order
        for i in sorted(range(len(rems)), key=rems.__getitem__, reverse=True)[:rest]:
            out[i] += 1
    return out


# -- contributions ----------------------------------------------------------------------------
@dataclass(slots=True)
class _Part:
    """One record's contribution to a figure (a trail entry, kept cheap until asked for)."""

    record: str
    kind: str
    lot: str | None
    amount: int
    note: str


@dataclass(slots=True)
class _Origin:
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
class _Carbon:
    """A carbon contribution in mg CO2e."""

    record: str
    kind: str
    lot: str | None
    amount: int
    note: str
    stage: str
    primary: bool


Contribution = _Part | _Origin | _Carbon


class _Trails:
    """Figure id → (description, unit, contributions); builds :class:`Trail` objects on demand."""

    def __init__(self) -> None:
        self.figures: dict[str, tuple[str, Unit, Sequence[Contribution]]] = {}

    def add(
        self, figure: str, description: str, parts: Sequence[Contribution], unit: Unit = "µg"
    ) -> int:
        """Register a figure; its value (the sum of its contributions)."""
        self.figures[figure] = (description, unit, parts)
        return sum(p.amount for p in parts)

    def figure_ids(self) -> list[str]:
        return sorted(self.figures)

    def trail(self, figure: str) -> Trail | None:
        found = self.figures.get(figure)
        if found is None:
            return None
        description, unit, parts = found
        # Built from this module's own integers and strings: no validation needed (and a pack's
        # trails hold tens of thousands of entries).
        entries = [
            TrailEntry.model_construct(
                record=p.record, kind=p.kind, lot=p.lot, amount=p.amount, note=_note(p)
            )
            for p in parts
        ]
        return Trail.model_construct(
            figure=figure,
            description=description,
            unit=unit,
            value=sum(p.amount for p in parts),
            entries=entries,
        )


def _note(p: Contribution) -> str:
    if isinstance(p, _Carbon):
        return f"[{p.stage}, {'primary' if p.primary else 'default'}] {p.note}"
    return p.note


@dataclass
class _Flags:
    items: list[RiskFlag] = field(default_factory=list)

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        evidence: Iterable[str],
        *,
        element: str | None = None,
        percent: str | None = None,
        figure: str | None = None,
    ) -> None:
        self.items.append(
            RiskFlag(
                code=code,
                severity=severity,
                message=message,
                element=element,
                percent=percent,
                figure=figure,
                evidence=sorted(set(evidence)),
            )
        )


# -- the walk ----------------------------------------------------------------------------------
class _Walk:
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
        self.origins: list[_Origin] = []
        self.carbon: list[_Carbon] = []
        self.covered: dict[Key, list[_Part]] = defaultdict(list)
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
            "extraction": {e: _mg(f) for e, f in config.extraction_factors.items()},
            "step": {k: _mg(f) for k, f in config.step_factors.items()},
            "untraced": {e: _mg(f) for e, f in config.untraced_factors.items()},
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
                        _Part(
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
                    _Part(
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
                    _Part(
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
            shares = _allocate(w, parts, pool.get(e, 0))
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
            self.covered[key].append(_Part(step.record_hash, step.kind, edge.lot_id, w, note))

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
            self.covered[key].append(_Part(step.record_hash, step.kind, None, w, note))
        elif prop == DD and source == "untraced":
            self.dd_gaps[e].add(step.record_hash)

    def origin(
        self, step: StepRow, e: str, category: str, w: int, lot: str | None, note: str
    ) -> None:
        known = category != "unknown"
        self.origins.append(
            _Origin(
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
                    _Origin(
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
                    _Part(
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
                mg = _rdiv(_mg(kg) * carbon, step.output_mass_grams * PPM)
                self.add_carbon(
                    step, lot.lot_id, stage, mg, True, f"own emissions {kg} kg × {drawn}"
                )
            return
        factors = self.mg_factors["extraction"]
        stage = self.cfg.step_stages.get("extraction", STAGES[0])
        for e, ppm in sorted(lot.elements.items()):
            factor = factors.get(e)
            if factor and ppm:
                mg = _rdiv(factor * carbon * ppm, PPM * UG_KG)
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
                mg = _rdiv(_mg(kg) * carbon, out_ug)
                self.add_carbon(step, first, stage, mg, True, f"own emissions {kg} kg × {share}")
        else:
            factor = self.mg_factors["step"].get(step.process_step, 0)
            mg = _rdiv(factor * carbon, UG_KG)
            text = self.cfg.step_factors.get(step.process_step, "0")
            stage = self.cfg.step_stages.get(step.process_step, STAGES[1])
            note = f"default {text} kg CO2e/kg output ({step.process_step}) × {carbon} µg"
            self.add_carbon(step, first, stage, mg, False, note)
        for ext in step.externals or []:
            source = ext["source"]
            if source == "untraced":
                for e, ug in sorted(ext["ug"].items()):
                    factor = self.mg_factors["untraced"].get(e, 0)
                    mg = _rdiv(factor * carbon * ug, out_ug * UG_KG)
                    note = (
                        f"default {self.cfg.untraced_factors.get(e, '0')} kg CO2e/kg untraced {e}"
                        f" × {ug} µg × {share}"
                    )
                    self.add_carbon(step, None, STAGES[0], mg, False, note)
            elif source == "synthetic-feedstock":
                ug = ext["ug"].get("C", 0)
                factor = _mg(self.cfg.synthetic_feedstock_factor)
                mg = _rdiv(factor * carbon * ug, out_ug * UG_KG)
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
                _Carbon(
                    fp.record_hash,
                    "CarbonFootprint",
                    lot.lot_id,
                    _rdiv(_mg(per_kg) * weight, UG_KG),
                    f"attested {per_kg} kg CO2e/kg ({fp.data.get('method')}) × {weight} µg "
                    f"of the {lot.mass_grams} g lot",
                    stage,
                    True,
                )
            )

    def add_carbon(
        self, step: StepRow, lot: str | None, stage: str, mg: int, primary: bool, note: str
    ) -> None:
        self.carbon.append(_Carbon(step.record_hash, step.kind, lot, mg, note, stage, primary))


# -- assembling the result -------------------------------------------------------------------
class _Assembler:
    def __init__(self, walk: _Walk) -> None:
        self.w = walk
        self.dec = walk.cfg.percent_decimals
        self.trails = _Trails()
        self.flags = _Flags()
        self.parts: dict[str, Sequence[Contribution]] = {}

    def amount(self, part: int, whole: int) -> Amount:
        return Amount(micrograms=part, percent=_percent(part, whole, self.dec))

    def split(self, parts: Mapping[str, int], whole: int) -> dict[str, Amount]:
        pct = _percent_split(parts, whole, self.dec)
        return {k: Amount(micrograms=v, percent=pct[k]) for k, v in parts.items()}

    def evidence(self, fid: str) -> list[str]:
        """The records behind a figure (for risk flags)."""
        return [p.record for p in self.parts.get(fid, ())]

    def figure(self, fid: str, description: str, parts: Sequence[Contribution]) -> int:
        self.parts[fid] = parts
        return self.trails.add(fid, description, parts)

    def element(self, e: str, total: int, mine: list[_Origin]) -> ElementFigures:
        w = self.w
        self.figure(f"{e}.mass", f"{e} in the lot, by origin record", mine)
        by_cat: dict[str, list[_Origin]] = {c: [] for c in ORIGINS}
        groups: dict[str, dict[str, list[_Origin]]] = {
            "country": defaultdict(list),
            "facility": defaultdict(list),
            "deposit": defaultdict(list),
            "method": defaultdict(list),
        }
        cahra: list[_Origin] = []
        countries, deposits, methods = groups["country"], groups["deposit"], groups["method"]
        facilities: dict[tuple[str | None, str | None], list[_Origin]] = defaultdict(list)
        cahra_list = w.cfg.cahra_countries
        for o in mine:
            by_cat[o.category].append(o)
            if o.country is not None:
                countries[o.country].append(o)
                facilities[(o.actor, o.facility)].append(o)
            if o.deposit is not None:
                deposits[o.deposit].append(o)
                if o.country in cahra_list:
                    cahra.append(o)
            if o.method is not None:
                methods[o.method].append(o)
        for (actor, facility), items in facilities.items():
            groups["facility"][f"{actor}#{facility}"] = items
        sums = {
            c: self.figure(f"{e}.origin.{c}", f"{e} of {c} origin", items)
            for c, items in by_cat.items()
        }
        origin = self.split(sums, total)
        totals: dict[str, dict[str, int]] = {}
        for group, label in (
            ("country", "{e} originating in country {k}"),
            ("facility", "{e} originating at facility {k}"),
            ("deposit", "{e} extracted from {k} deposits"),
            ("method", "{e} extracted by {k} mining"),
        ):
            totals[group] = {
                k: self.figure(f"{e}.{group}.{k}", label.format(e=e, k=k), items)
                for k, items in sorted(groups[group].items())
            }
        country_pct = _percent_split(totals["country"], total, self.dec, origin["unknown"])
        by_country = {
            k: Amount(micrograms=v, percent=country_pct[k]) for k, v in totals["country"].items()
        }
        fac_pct = _percent_split(totals["facility"], total, self.dec, origin["unknown"])
        by_facility = []
        for k, v in totals["facility"].items():
            first = groups["facility"][k][0]
            by_facility.append(
                FacilityAmount(
                    actor=str(first.actor),
                    facility=str(first.facility),
                    country=str(first.country),
                    origin=first.category,
                    micrograms=v,
                    percent=fac_pct[k],
                )
            )
        cahra_ug = self.figure(f"{e}.cahra", f"{e} extracted in CAHRA countries", cahra)

        recycled = {}
        for prop, tag in ((RECYCLED_PRE, "pre-consumer"), (RECYCLED_POST, "post-consumer")):
            parts: Sequence[Contribution] = (
                w.covered.get((prop, e), []) if w.recycled_walk else by_cat[prop]
            )
            value = self.figure(f"{e}.recycled.{tag}", f"{e} recycled content, {tag}", parts)
            recycled[prop] = self.amount(value, total)
        certified = {}
        for scheme in w.schemes:
            value = self.figure(
                f"{e}.certified.{scheme}",
                f"{e} covered by a valid {scheme} certificate",
                w.covered.get((CERTIFIED_PREFIX + scheme, e), []),
            )
            certified[scheme] = self.amount(value, total)
        dd = None
        if e in w.cfg.due_diligence_elements:
            covered = self.figure(
                f"{e}.due-diligence",
                f"{e} (mined or unknown origin) with due diligence by every handler",
                w.covered.get((DD, e), []),
            )
            base = origin["extracted"].micrograms + origin["unknown"].micrograms
            dd = DueDiligenceCoverage(
                covered_micrograms=covered,
                base_micrograms=base,
                percent=_percent(covered, base, self.dec),
            )
        return ElementFigures(
            element=e,
            micrograms=total,
            origin=origin,
            by_country=by_country,
            by_facility=by_facility,
            by_deposit_type={k: self.amount(v, total) for k, v in totals["deposit"].items()},
            by_mining_method={k: self.amount(v, total) for k, v in totals["method"].items()},
            cahra=self.amount(cahra_ug, total),
            recycled_pre_consumer=recycled[RECYCLED_PRE],
            recycled_post_consumer=recycled[RECYCLED_POST],
            certified=certified,
            due_diligence=dd,
        )

    def graphite(self, c: ElementFigures, mine: list[_Origin]) -> GraphiteFigures:
        by_kind: dict[str, dict[str, int]] = {}
        for kind, category in (("natural", "extracted"), ("synthetic", "synthetic")):
            items = [o for o in mine if o.category == category]
            self.figure(f"graphite.{kind}", f"{kind} graphite carbon", items)
            by: dict[str, list[_Origin]] = defaultdict(list)
            for o in items:
                by[str(o.country)].append(o)
            by_kind[kind] = {
                country: self.figure(
                    f"graphite.{kind}.{country}", f"{kind} graphite carbon from {country}", group
                )
                for country, group in sorted(by.items())
            }
        total = c.micrograms
        recycled = (
            c.origin["recycled-pre-consumer"].micrograms
            + c.origin["recycled-post-consumer"].micrograms
        )
        return GraphiteFigures(
            natural=c.origin["extracted"],
            synthetic=c.origin["synthetic"],
            recycled=self.amount(recycled, total),
            unknown=c.origin["unknown"],
            natural_by_country={k: self.amount(v, total) for k, v in by_kind["natural"].items()},
            synthetic_by_country={
                k: self.amount(v, total) for k, v in by_kind["synthetic"].items()
            },
        )

    def carbon(self, mass_grams: int) -> CarbonFigures:
        items = self.w.carbon
        self.trails.add("carbon.total", "cradle-to-gate carbon footprint", items, "mg CO2e")
        stages = {}
        for stage in STAGES:
            mine = [c for c in items if c.stage == stage]
            self.trails.add(f"carbon.{stage}", f"carbon footprint, {stage}", mine, "mg CO2e")
            stages[stage] = self.stage(mine)
        total = self.stage(items)
        per_kg = _rdiv(total.milligrams * 1000, mass_grams) if mass_grams else 0
        split = _percent_split(
            {"primary": total.primary_milligrams, "default": total.default_milligrams},
            total.milligrams,
            self.dec,
        )
        return CarbonFigures(
            total=total,
            stages=stages,
            per_kg=_fmt_scaled(per_kg, 6),
            primary_percent=split["primary"],
            default_percent=split["default"],
        )

    @staticmethod
    def stage(items: Sequence[_Carbon]) -> StageCarbon:
        primary = sum(c.amount for c in items if c.primary)
        default = sum(c.amount for c in items if not c.primary)
        return StageCarbon(
            milligrams=primary + default,
            kg_co2e=_fmt_scaled(primary + default, 6),
            primary_milligrams=primary,
            default_milligrams=default,
        )

    # -- risk flags ---------------------------------------------------------------------------
    def risk_flags(self, elements: Mapping[str, ElementFigures], carbon: CarbonFigures) -> None:
        w, f, ev = self.w, self.flags, self.evidence
        for e, fig in elements.items():
            if fig.cahra.micrograms:
                countries = sorted(
                    {
                        str(o.country)
                        for o in w.origins
                        if o.element == e
                        and o.category == "extracted"
                        and o.country in w.cfg.cahra_countries
                    }
                )
                f.add(
                    "cahra-origin",
                    "high",
                    f"{fig.cahra.percent} % of {e} was extracted in conflict-affected or high-risk "
                    f"areas ({', '.join(countries)})",
                    ev(f"{e}.cahra"),
                    element=e,
                    percent=fig.cahra.percent,
                    figure=f"{e}.cahra",
                )
            unknown = fig.origin["unknown"]
            if unknown.micrograms:
                f.add(
                    "unknown-origin",
                    "warning",
                    f"{unknown.percent} % of {e} comes from untraced inputs (origin unknown)",
                    ev(f"{e}.origin.unknown"),
                    element=e,
                    percent=unknown.percent,
                    figure=f"{e}.origin.unknown",
                )
            dd = fig.due_diligence
            if dd is not None and dd.base_micrograms and dd.covered_micrograms < dd.base_micrograms:
                f.add(
                    "missing-due-diligence",
                    "warning",
                    f"only {dd.percent} % of mined or unknown-origin {e} had due diligence by "
                    "every handler; the evidence lists the records whose issuer had no report "
                    "valid at the record's time, or that took untraced input",
                    w.dd_gaps.get(e, ()),
                    element=e,
                    percent=dd.percent,
                    figure=f"{e}.due-diligence",
                )
        co = elements.get("Co")
        artisanal = co.by_mining_method.get("artisanal-small-scale") if co else None
        if artisanal and artisanal.micrograms:
            f.add(
                "artisanal-cobalt",
                "high",
                f"{artisanal.percent} % of cobalt comes from artisanal and small-scale mining",
                ev("Co.method.artisanal-small-scale"),
                element="Co",
                percent=artisanal.percent,
                figure="Co.method.artisanal-small-scale",
            )
        ni = elements.get("Ni")
        laterite = ni.by_deposit_type.get("lateritic") if ni else None
        if laterite and laterite.micrograms:
            f.add(
                "lateritic-nickel",
                "warning",
                f"{laterite.percent} % of nickel comes from lateritic ore "
                "(deforestation, HPAL tailings)",
                ev("Ni.deposit.lateritic"),
                element="Ni",
                percent=laterite.percent,
                figure="Ni.deposit.lateritic",
            )
        if carbon.total.default_milligrams:
            f.add(
                "default-carbon-data",
                "info",
                f"{carbon.default_percent} % of the carbon footprint rests on default factors, "
                "not on attested or declared data",
                (c.record for c in w.carbon if not c.primary),
                percent=carbon.default_percent,
                figure="carbon.total",
            )
        if w.unbacked:
            f.add(
                "unbacked-claim",
                "high",
                "mass-balance claims exceed the credits that back them as of this roll-up "
                "(e.g. a certificate was revoked since); the claims were scaled down",
                w.unbacked,
            )
        self.attestation_flags()

    def attestation_flags(self) -> None:
        w, f = self.w, self.flags
        by_actor: dict[str, list[StepRow]] = defaultdict(list)
        for s in w.p.steps.values():
            by_actor[s.issuer].append(s)
        expired: set[str] = set()
        revoked: set[str] = set()
        retracted: set[str] = set()
        for actor, atts in list(w.certs_by_actor.items()) + list(w.dd_by_actor.items()):
            for att in atts:
                relevant = [
                    s
                    for s in by_actor.get(actor, ())
                    if att.kind == "DueDiligence" or covers_facility(att, actor, s.facility_id)
                ]
                if not relevant:
                    continue
                if not in_force(att, w.at):
                    if att.retracted_by:
                        (revoked if att.kind == "Certification" else retracted).update(
                            {att.record_hash, att.retracted_by}
                        )
                    continue
                for s in relevant:
                    if (
                        att.valid_until is not None
                        and att.valid_until < s.event_time
                        and not self.renewed(att, s)
                    ):
                        expired.update({att.record_hash, s.record_hash})
        for atts in w.lot_atts.values():
            for att in atts:
                if att.retracted_by and not in_force(att, w.at):
                    (revoked if att.kind == "Certification" else retracted).update(
                        {att.record_hash, att.retracted_by}
                    )
        if expired:
            f.add(
                "expired-attestation",
                "warning",
                "certificates or due-diligence reports on the path had expired at the time of "
                "the records they would cover; they count as missing",
                expired,
            )
        if revoked:
            f.add(
                "revoked-certificate",
                "warning",
                "certificates on the path were revoked by their certifier; they count as missing",
                revoked,
            )
        if retracted:
            f.add(
                "retracted-attestation",
                "info",
                "attestations on the path were retracted by their issuer; they no longer count",
                retracted,
            )

    def renewed(self, att: AttestationRow, step: StepRow) -> bool:
        """Whether another attestation of the same kind (and scheme) covers the step in time."""
        w = self.w
        if att.kind == "DueDiligence":
            return any(w.due_diligence(step, e) for e in ELEMENTS)
        return any(w.facility_cert(step, str(att.scheme), e) for e in ELEMENTS)

    def recycled_content_check(self, elements: Mapping[str, ElementFigures]) -> None:
        """Attested RecycledContent of the lot itself against what the graph supports."""
        w = self.w
        for att in w.lot_atts.get(w.p.target.lot_id, ()):
            if att.kind != "RecycledContent" or not in_force(att, w.at):
                continue
            problems = []
            for e, figures in sorted(att.data["elements"].items()):
                fig = elements.get(e)
                pre = fig.recycled_pre_consumer.micrograms if fig else 0
                post = fig.recycled_post_consumer.micrograms if fig else 0
                if (
                    figures["preConsumerGrams"] * PPM > pre
                    or figures["postConsumerGrams"] * PPM > post
                ):
                    problems.append(e)
            outside = [h for h in att.data["intakeRecords"] if h not in w.p.steps]
            if problems or outside:
                self.flags.add(
                    "recycled-content-mismatch",
                    "warning",
                    "attested recycled content exceeds what the provenance supports"
                    + (f" for {', '.join(problems)}" if problems else "")
                    + ("; it names intake records outside the lot's provenance" if outside else ""),
                    [att.record_hash, *outside],
                )


# -- entry points ---------------------------------------------------------------------------
def rollup_from(
    prov: Provenance, *, at: str | None = None, config: TraceConfig | None = None
) -> Rollup:
    """Compute the roll-up of an already loaded provenance (see :func:`compute_rollup`)."""
    moment = normalise_ts(at) if at else format_ts(now())
    walk = _Walk(prov, moment, config or DEFAULT_CONFIG)
    walk.run()
    asm = _Assembler(walk)
    target = prov.target
    contents = element_ug(target.mass_grams, target.elements)
    by_element: dict[str, list[_Origin]] = defaultdict(list)
    for o in walk.origins:
        by_element[o.element].append(o)
    elements = {e: asm.element(e, ug, by_element[e]) for e, ug in sorted(contents.items())}
    graphite = asm.graphite(elements["C"], by_element["C"]) if "C" in elements else None
    carbon = asm.carbon(target.mass_grams)
    asm.risk_flags(elements, carbon)
    asm.recycled_content_check(elements)
    rollup = Rollup(
        lot=target.lot_id,
        record=target.record_hash,
        mass_grams=target.mass_grams,
        at=moment,
        elements=elements,
        graphite=graphite,
        carbon=carbon,
        flags=asm.flags.items,
        figures=asm.trails.figure_ids(),
        provenance=ProvenanceSize(
            lots=len(prov.lots),
            steps=len(prov.steps),
            edges=sum(len(v) for v in prov.inputs.values()),
            attestations=len(prov.attestations),
            records=len(prov.steps) + len(prov.attestations),
        ),
    )
    rollup._source = asm.trails
    return rollup


def compute_rollup(
    repo_or_tx: Repository | StateTx,
    lot_id: str,
    *,
    at: str | None = None,
    config: TraceConfig | None = None,
) -> Rollup:
    """Roll up ``lot_id``'s provenance as of ``at`` (RFC 3339 UTC; default now).

    ``at`` decides which attestations and retractions count: those the ledger accepted by then.
    ``config`` sets the CAHRA list and default emission factors (:mod:`passport.trace.config`).
    Raises :class:`passport.errors.NotFoundError` for an unknown lot.
    """
    with _gc_paused():
        if isinstance(repo_or_tx, StateTx):
            prov = load_provenance(repo_or_tx, lot_id)
        else:
            with repo_or_tx.read() as tx:
                prov = load_provenance(tx, lot_id)
        return rollup_from(prov, at=at, config=config)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a roll-up creates its tens of thousands of small,
    acyclic objects: otherwise collections triggered by allocation scan them over and over
    (measured: about a third of the loading time). Reference counting still frees everything; the
    collector is re-enabled afterwards if it was enabled before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
