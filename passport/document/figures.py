"""The passport's ledger-owned figures, as ``{JSON pointer: value}`` (see
:data:`passport.document.body.LEDGER_FIGURES`).

Exact inputs (integer micrograms, fractions) are rounded only here, once, to fixed precision:
carbon footprint per kWh to 0.0001 kg CO2e/kWh, absolute to the gram, masses to the gram;
each stage is rounded and the total is the sum of the rounded stages, so the stages add up. Shares
come from the roll-up already rounded (by largest remainder, so partitions of a whole add up to
exactly 100 %).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from passport.document.regulation import (
    ABSOLUTE_QUANTUM,
    MASS_QUANTUM,
    PER_KWH_QUANTUM,
    PERCENT_QUANTUM,
    CarbonClassTable,
)
from passport.document.validation import STAGES
from passport.trace.model import ElementFigures, RiskFlag, Rollup

CF = "/point1/carbonFootprint"


def to_decimal(value: Decimal | Fraction | int) -> Decimal:
    """An exact value as a Decimal (fractions to 28 significant digits)."""
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value)


def fixed(value: Decimal | Fraction | int, quantum: Decimal) -> str:
    """``value`` rounded half-up to ``quantum``, as a plain decimal string with fixed decimals."""
    return format(to_decimal(value).quantize(quantum, rounding=ROUND_HALF_UP), "f")


def carbon_figures(
    absolute_kg: Mapping[str, Decimal | Fraction],
    *,
    service_life_energy_kwh: Decimal,
    table: CarbonClassTable,
    primary_share: Fraction | None = None,
) -> dict[str, Any]:
    """Carbon-footprint figures from the absolute kg CO2e per Art. 7 stage (keys of :data:`STAGES`).

    Per kWh = absolute ÷ service-life energy (Annex II functional unit), per stage, each rounded;
    totals are sums of the rounded stages; the class follows from the per-kWh total.
    """
    if service_life_energy_kwh <= 0:
        raise ValueError("service-life energy must be positive")
    absolute = {
        s: to_decimal(absolute_kg.get(s, Decimal(0))).quantize(ABSOLUTE_QUANTUM, ROUND_HALF_UP)
        for s in STAGES
    }
    per = {
        s: (absolute[s] / service_life_energy_kwh).quantize(PER_KWH_QUANTUM, ROUND_HALF_UP)
        for s in STAGES
    }
    abs_total = sum(absolute.values(), Decimal(0))
    per_total = sum(per.values(), Decimal(0))
    out: dict[str, Any] = {
        f"{CF}/absoluteKg": {
            **{s: format(absolute[s], "f") for s in STAGES},
            "total": format(abs_total, "f"),
        },
        f"{CF}/perKWh": {
            **{s: format(per[s], "f") for s in STAGES},
            "total": format(per_total, "f"),
        },
        f"{CF}/performanceClass": table.classify(per_total),
        f"{CF}/classTable": table.id,
    }
    if primary_share is not None:
        out[f"{CF}/primaryDataSharePercent"] = fixed(primary_share * 100, PERCENT_QUANTUM)
    return out


# -- from the traceability roll-up ----------------------------------------------------------------
ELEMENT_NAMES: dict[str, str] = {
    "Li": "lithium",
    "Ni": "nickel",
    "Co": "cobalt",
    "Mn": "manganese",
    "C": "graphite",
}
"""Roll-up element symbols → the passport's element names (C is graphite carbon)."""

DUE_DILIGENCE_ELEMENTS: dict[str, str] = {
    "Co": "cobalt",
    "C": "naturalGraphite",
    "Li": "lithium",
    "Ni": "nickel",
}
"""Roll-up due-diligence coverage → the passport's Art. 48 materials (the roll-up's C coverage is
about mined, i.e. natural, graphite: synthetic and recycled carbon are outside raw-material due
diligence)."""

STAGE_NAMES: dict[str, str] = {
    "raw-material-acquisition": "rawMaterialAcquisition",
    "main-production": "mainProduction",
    "distribution": "distribution",
    "end-of-life": "endOfLifeAndRecycling",
}
"""Roll-up Art. 7 stage ids → the passport's stage fields."""

_MASS_PER_KG = 10**9  # micrograms per kilogram


def _share(amount: Any) -> str:
    return str(amount.percent)


def figures_from_rollup(
    rollup: Rollup, *, service_life_energy_kwh: Decimal, table: CarbonClassTable
) -> dict[str, Any]:
    """The passport's ledger-owned figures from a pack's roll-up, keyed by JSON pointer."""
    present = {
        sym: rollup.elements[sym]
        for sym in ELEMENT_NAMES
        if sym in rollup.elements and rollup.elements[sym].micrograms > 0
    }
    recycled: dict[str, Any] = {}
    materials: dict[str, Any] = {}
    masses: dict[str, str] = {}
    certifications: list[dict[str, str]] = []
    diligence: dict[str, Any] = {}
    facilities: list[dict[str, str]] = []
    for sym, ef in present.items():
        name = ELEMENT_NAMES.get(sym)
        if name is None:
            continue
        recycled[name] = {
            "preConsumerPercent": _share(ef.recycled_pre_consumer),
            "postConsumerPercent": _share(ef.recycled_post_consumer),
        }
        materials[name] = _origin(ef)
        masses[name] = fixed(Fraction(ef.micrograms, _MASS_PER_KG), MASS_QUANTUM)
        certifications.extend(
            {"scheme": scheme, "element": name, "coveragePercent": _share(a)}
            for scheme, a in sorted(ef.certified.items())
        )
        if ef.due_diligence is not None and sym in DUE_DILIGENCE_ELEMENTS:
            diligence[DUE_DILIGENCE_ELEMENTS[sym]] = {"coveragePercent": ef.due_diligence.percent}
        facilities.extend(
            {
                "element": name,
                "actor": f.actor,
                "facility": f.facility,
                "country": f.country,
                "origin": f.origin,
                "sharePercent": f.percent,
            }
            for f in sorted(ef.by_facility, key=lambda f: (-f.micrograms, f.actor, f.facility))
        )
    flags = _risk_flags(rollup.flags)
    carbon = rollup.carbon
    absolute = {
        STAGE_NAMES[stage]: Decimal(figure.kg_co2e) for stage, figure in carbon.stages.items()
    }
    primary = (
        Fraction(carbon.total.primary_milligrams, carbon.total.milligrams)
        if carbon.total.milligrams
        else None
    )
    out = carbon_figures(
        absolute,
        service_life_energy_kwh=service_life_energy_kwh,
        table=table,
        primary_share=primary,
    )
    out.update(
        {
            "/point1/recycledContent": recycled,
            "/point1/responsibleSourcing/dueDiligence": diligence,
            "/point1/responsibleSourcing/materials": materials,
            "/point1/responsibleSourcing/certifications": certifications,
            "/point1/responsibleSourcing/riskFlags": flags,
            "/point2/elementMassesKg": masses,
            "/point3/supplyChainEvidence": {
                "originByFacility": facilities,
                "provenanceRecords": rollup.provenance.records,
            },
        }
    )
    if rollup.graphite is not None and "C" in present:
        g = rollup.graphite
        out["/point1/responsibleSourcing/graphite"] = {
            "naturalPercent": _share(g.natural),
            "syntheticPercent": _share(g.synthetic),
            "recycledPercent": _share(g.recycled),
            "unknownPercent": _share(g.unknown),
        }
    return out


def _origin(ef: ElementFigures) -> dict[str, Any]:
    """An element's origin figures: by country (largest first), unknown, CAHRA, artisanal and,
    when known, by ore type."""
    origin: dict[str, Any] = {
        "originByCountry": [
            {"country": cc, "sharePercent": _share(a)}
            for cc, a in sorted(ef.by_country.items(), key=lambda kv: (-kv[1].micrograms, kv[0]))
        ],
        "unknownOriginPercent": _share(ef.origin["unknown"]),
        "cahraPercent": _share(ef.cahra),
        "artisanalPercent": _share(ef.by_mining_method["artisanal-small-scale"])
        if "artisanal-small-scale" in ef.by_mining_method
        else fixed(0, PERCENT_QUANTUM),
    }
    if ef.by_deposit_type:
        origin["oreTypes"] = [
            {"oreType": t, "sharePercent": _share(a)}
            for t, a in sorted(
                ef.by_deposit_type.items(), key=lambda kv: (-kv[1].micrograms, kv[0])
            )
        ]
    return origin


def _risk_flags(rollup_flags: Sequence[RiskFlag]) -> list[dict[str, str]]:
    """The roll-up's risk flags as the passport states them."""
    flags = []
    for flag in rollup_flags:
        entry: dict[str, str] = {
            "flag": flag.code,
            "severity": flag.severity,
            "description": flag.message,
        }
        if flag.element is not None:
            entry["element"] = ELEMENT_NAMES.get(flag.element, flag.element)
        if flag.percent is not None:
            entry["percent"] = flag.percent
        flags.append(entry)
    return flags
