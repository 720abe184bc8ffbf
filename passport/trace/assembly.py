"""Assembling a roll-up from a finished :class:`~passport.trace.walk.Walk`: the per-element
figures (origin, country, facility, deposit, mining method, CAHRA, recycled content, certificates,
due diligence), graphite and carbon figures, each registered with its calculation trail, and the
risk flags (issue §4).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from passport.store.trace_rows import AttestationRow, StepRow
from passport.trace.exact import fmt_scaled, percent_of, percent_split, rdiv
from passport.trace.model import (
    ORIGINS,
    Amount,
    CarbonFigures,
    DueDiligenceCoverage,
    ElementFigures,
    FacilityAmount,
    GraphiteFigures,
    RiskFlag,
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
    STAGES,
    covers_facility,
    in_force,
)
from passport.trace.walk import DD, Carbon, Contribution, Origin, Walk

__all__ = ["Assembler", "Flags", "Trails"]

Unit = Literal["µg", "mg CO2e"]


# -- trails and flags -------------------------------------------------------------------------
class Trails:
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
        # Built from the roll-up's own integers and strings: no validation needed (and a pack's
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
    if isinstance(p, Carbon):
        return f"[{p.stage}, {'primary' if p.primary else 'default'}] {p.note}"
    return p.note


@dataclass
class Flags:
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


# -- assembling the result -------------------------------------------------------------------
class Assembler:
    def __init__(self, walk: Walk) -> None:
        self.w = walk
        self.dec = walk.cfg.percent_decimals
        self.trails = Trails()
        self.flags = Flags()
        self.parts: dict[str, Sequence[Contribution]] = {}

    def amount(self, part: int, whole: int) -> Amount:
        return Amount(micrograms=part, percent=percent_of(part, whole, self.dec))

    def split(self, parts: Mapping[str, int], whole: int) -> dict[str, Amount]:
        pct = percent_split(parts, whole, self.dec)
        return {k: Amount(micrograms=v, percent=pct[k]) for k, v in parts.items()}

    def evidence(self, fid: str) -> list[str]:
        """The records behind a figure (for risk flags)."""
        return [p.record for p in self.parts.get(fid, ())]

    def figure(self, fid: str, description: str, parts: Sequence[Contribution]) -> int:
        self.parts[fid] = parts
        return self.trails.add(fid, description, parts)

    def element(self, e: str, total: int, mine: list[Origin]) -> ElementFigures:
        self.figure(f"{e}.mass", f"{e} in the lot, by origin record", mine)
        by_cat, groups, cahra = self.group_origins(mine)
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
        country_pct = percent_split(totals["country"], total, self.dec, origin["unknown"])
        by_country = {
            k: Amount(micrograms=v, percent=country_pct[k]) for k, v in totals["country"].items()
        }
        by_facility = self.by_facility(totals["facility"], groups["facility"], total, origin)
        cahra_ug = self.figure(f"{e}.cahra", f"{e} extracted in CAHRA countries", cahra)
        recycled = self.recycled(e, total, by_cat)
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
            certified=self.certified(e, total),
            due_diligence=self.due_diligence(e, origin),
        )

    def group_origins(
        self, mine: list[Origin]
    ) -> tuple[dict[str, list[Origin]], dict[str, dict[str, list[Origin]]], list[Origin]]:
        """An element's origins by category; by country, facility, deposit type and mining
        method; and those extracted in CAHRA countries."""
        by_cat: dict[str, list[Origin]] = {c: [] for c in ORIGINS}
        groups: dict[str, dict[str, list[Origin]]] = {
            "country": defaultdict(list),
            "facility": defaultdict(list),
            "deposit": defaultdict(list),
            "method": defaultdict(list),
        }
        cahra: list[Origin] = []
        countries, deposits, methods = groups["country"], groups["deposit"], groups["method"]
        facilities: dict[tuple[str | None, str | None], list[Origin]] = defaultdict(list)
        cahra_list = self.w.cfg.cahra_countries
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
        return by_cat, groups, cahra

    def by_facility(
        self,
        totals: Mapping[str, int],
        groups: Mapping[str, list[Origin]],
        total: int,
        origin: Mapping[str, Amount],
    ) -> list[FacilityAmount]:
        """Per-facility amounts; their percents add up with the unknown origin's to 100."""
        fac_pct = percent_split(totals, total, self.dec, origin["unknown"])
        by_facility = []
        for k, v in totals.items():
            first = groups[k][0]
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
        return by_facility

    def recycled(self, e: str, total: int, by_cat: Mapping[str, list[Origin]]) -> dict[str, Amount]:
        """Recycled content, pre- and post-consumer (Art. 8)."""
        w = self.w
        recycled = {}
        for prop, tag in ((RECYCLED_PRE, "pre-consumer"), (RECYCLED_POST, "post-consumer")):
            parts: Sequence[Contribution] = (
                w.covered.get((prop, e), []) if w.recycled_walk else by_cat[prop]
            )
            value = self.figure(f"{e}.recycled.{tag}", f"{e} recycled content, {tag}", parts)
            recycled[prop] = self.amount(value, total)
        return recycled

    def certified(self, e: str, total: int) -> dict[str, Amount]:
        """Coverage by a valid certificate, per scheme."""
        w = self.w
        certified = {}
        for scheme in w.schemes:
            value = self.figure(
                f"{e}.certified.{scheme}",
                f"{e} covered by a valid {scheme} certificate",
                w.covered.get((CERTIFIED_PREFIX + scheme, e), []),
            )
            certified[scheme] = self.amount(value, total)
        return certified

    def due_diligence(self, e: str, origin: Mapping[str, Amount]) -> DueDiligenceCoverage | None:
        """Due-diligence coverage of the mined or unknown-origin part, for the elements that
        need it."""
        w = self.w
        if e not in w.cfg.due_diligence_elements:
            return None
        covered = self.figure(
            f"{e}.due-diligence",
            f"{e} (mined or unknown origin) with due diligence by every handler",
            w.covered.get((DD, e), []),
        )
        base = origin["extracted"].micrograms + origin["unknown"].micrograms
        return DueDiligenceCoverage(
            covered_micrograms=covered,
            base_micrograms=base,
            percent=percent_of(covered, base, self.dec),
        )

    def graphite(self, c: ElementFigures, mine: list[Origin]) -> GraphiteFigures:
        by_kind: dict[str, dict[str, int]] = {}
        for kind, category in (("natural", "extracted"), ("synthetic", "synthetic")):
            items = [o for o in mine if o.category == category]
            self.figure(f"graphite.{kind}", f"{kind} graphite carbon", items)
            by: dict[str, list[Origin]] = defaultdict(list)
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
        per_kg = rdiv(total.milligrams * 1000, mass_grams) if mass_grams else 0
        split = percent_split(
            {"primary": total.primary_milligrams, "default": total.default_milligrams},
            total.milligrams,
            self.dec,
        )
        return CarbonFigures(
            total=total,
            stages=stages,
            per_kg=fmt_scaled(per_kg, 6),
            primary_percent=split["primary"],
            default_percent=split["default"],
        )

    @staticmethod
    def stage(items: Sequence[Carbon]) -> StageCarbon:
        primary = sum(c.amount for c in items if c.primary)
        default = sum(c.amount for c in items if not c.primary)
        return StageCarbon(
            milligrams=primary + default,
            kg_co2e=fmt_scaled(primary + default, 6),
            primary_milligrams=primary,
            default_milligrams=default,
        )

    # -- risk flags ---------------------------------------------------------------------------
    def risk_flags(self, elements: Mapping[str, ElementFigures], carbon: CarbonFigures) -> None:
        """Raise the risk flags, in a fixed order: per element, then mining, carbon data,
        unbacked claims and attestations."""
        w, f = self.w, self.flags
        for e, fig in elements.items():
            self.element_flags(e, fig)
        self.mining_flags(elements)
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

    def element_flags(self, e: str, fig: ElementFigures) -> None:
        """Flags about one element: CAHRA origin, unknown origin, missing due diligence."""
        w, f, ev = self.w, self.flags, self.evidence
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

    def mining_flags(self, elements: Mapping[str, ElementFigures]) -> None:
        """Flags about how cobalt and nickel were mined."""
        f, ev = self.flags, self.evidence
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
