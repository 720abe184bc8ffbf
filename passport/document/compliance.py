"""The compliance report of a passport (``bpass passport check ID``).

- **Annex XIII completeness** for the battery's category: every information item the Regulation
  asks for is present (:data:`ANNEX_XIII_ITEMS`, as data, with the categories each applies to).
- **Art. 8 recycled content**: cobalt, lithium, nickel and lead against the 2031 and 2036
  minimums (:data:`passport.document.regulation.ART8_MINIMUMS`), pass or fail with the margin in
  percentage points; elements the battery does not contain are not applicable.
- **Carbon-footprint performance class** from the configured class table (Art. 7(2);
  boundaries unsettled, the placeholder table says so) and whether the declared class agrees.
- **Due diligence** coverage of cobalt, natural graphite, lithium and nickel (Art. 48).

Pure: it reads a passport document and returns a report; it never changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from passport.document.body import get_at
from passport.document.regulation import (
    ART8_MINIMUMS,
    DUE_DILIGENCE_MATERIALS,
    CarbonClassTable,
    load_class_table,
)

ALL = frozenset({"ev", "lmt", "industrial", "stationary"})


@dataclass(frozen=True)
class Item:
    """One information item of Annex XIII: where it lives in the passport and who must have it."""

    pointer: str
    label: str
    categories: frozenset[str] = ALL
    may_be_empty: bool = False
    """An empty list or object still answers the item (e.g. "no hazardous substances")."""


ANNEX_XIII_ITEMS: tuple[Item, ...] = (
    # Point 1 (with the Annex VI Part A general information).
    Item("/point1/manufacturer", "1: manufacturer identification (Annex VI Part A)"),
    Item("/point1/category", "1: battery category (Annex VI Part A)"),
    Item("/batteryId", "1: battery identifier (Annex VI Part A, Art. 13)"),
    Item("/point1/manufacturing/facility", "1: place of manufacture (Annex VI Part A)"),
    Item("/point1/manufacturing/date", "1: date of manufacture (Annex VI Part A)"),
    Item("/point1/massKg", "1: battery weight (Annex VI Part A)"),
    Item("/point1/performance/ratedCapacityAh", "1: capacity (Annex VI Part A)"),
    Item("/point1/chemistry", "1: chemistry (Annex VI Part A)"),
    Item(
        "/point1/hazardousSubstances",
        "1: hazardous substances other than Hg, Cd, Pb (Annex VI Part A)",
    ),
    Item(
        "/point1/criticalRawMaterials",
        "1: critical raw materials above 0.1 % w/w (Annex VI Part A)",
    ),
    Item("/point1/extinguishingAgents", "1: usable extinguishing agent (Annex VI Part A)"),
    Item("/point1/carbonFootprint/perKWh/total", "1: carbon footprint per kWh (Art. 7)"),
    Item(
        "/point1/carbonFootprint/perKWh/rawMaterialAcquisition",
        "1: carbon footprint per life-cycle stage (Art. 7)",
    ),
    Item(
        "/point1/carbonFootprint/performanceClass",
        "1: carbon footprint performance class (Art. 7(2))",
    ),
    Item("/point1/carbonFootprint/studyUrl", "1: web link to the carbon footprint study (Art. 7)"),
    Item(
        "/point1/responsibleSourcing/reportUrl", "1: due-diligence report information (Art. 52(3))"
    ),
    Item("/point1/recycledContent", "1: recycled content (Art. 8)"),
    Item("/point1/renewableContentPercent", "1: renewable content share"),
    Item("/point1/performance/ratedCapacityAh", "1: rated capacity"),
    Item("/point1/performance/voltage/minimumV", "1: minimum voltage"),
    Item("/point1/performance/voltage/nominalV", "1: nominal voltage"),
    Item("/point1/performance/voltage/maximumV", "1: maximum voltage"),
    Item("/point1/performance/power/originalPowerCapability", "1: original power capability"),
    Item("/point1/performance/power/ratedMaximumPowerW", "1: power capability limits"),
    Item("/point1/performance/expectedLifetime/cycles", "1: expected lifetime in cycles"),
    Item(
        "/point1/performance/expectedLifetime/referenceTestUrl",
        "1: reference test of the expected lifetime",
    ),
    Item("/point1/performance/expectedLifetime/cRateOfTest", "1: C-rate of the cycle-life test"),
    Item(
        "/point1/performance/capacityThresholdForExhaustionPercent",
        "1: capacity threshold for exhaustion (EV only)",
        frozenset({"ev"}),
    ),
    Item("/point1/performance/temperatureRangeIdle", "1: temperature range when not in use"),
    Item("/point1/performance/warrantyPeriodMonths", "1: commercial warranty period"),
    Item(
        "/point1/performance/roundTripEfficiency/initialPercent",
        "1: initial round-trip energy efficiency",
    ),
    Item(
        "/point1/performance/roundTripEfficiency/at50PercentCycleLifePercent",
        "1: round-trip energy efficiency at 50 % of cycle life",
    ),
    Item("/point1/performance/internalResistance/cellMilliohm", "1: internal cell resistance"),
    Item("/point1/performance/internalResistance/packMilliohm", "1: internal pack resistance"),
    Item("/point1/labels", "1: meaning of labels and symbols"),
    Item("/point1/declarationOfConformityUrl", "1: EU declaration of conformity"),
    Item("/point1/endOfLife/wastePreventionUrl", "1: waste prevention information"),
    Item("/point1/endOfLife/separateCollectionUrl", "1: separate collection information"),
    Item("/point1/endOfLife/collectionInformationUrl", "1: collection and recycling information"),
    # Point 2.
    Item("/point2/composition", "2: detailed composition incl. cathode, anode, electrolyte"),
    Item("/point2/partNumbers", "2: part numbers of components"),
    Item("/point2/sparePartSources", "2: contact details of spare-part sources"),
    Item("/point2/dismantling", "2: dismantling information"),
    Item("/point2/safetyMeasures/instructionsUrl", "2: safety measures"),
    # Point 3.
    Item("/point3/testReports", "3: results of test reports proving compliance"),
    # Point 4.
    Item("/point4/stateOfHealth", "4: state of health"),
    Item(
        "/point4/stateOfHealth/stateOfCertifiedEnergyPercent",
        "4: state of certified energy (EV)",
        frozenset({"ev"}),
    ),
    Item(
        "/point4/stateOfHealth/remainingCapacityAh",
        "4: remaining capacity",
        frozenset({"lmt", "industrial", "stationary"}),
    ),
    Item("/status", "4: battery status"),
    Item("/point4/usage/fullCycles", "4: number of charge/discharge cycles"),
    Item("/point4/usage/negativeEvents", "4: negative events such as accidents", may_be_empty=True),
    Item("/point4/usage/temperature", "4: time spent in extreme temperatures"),
    Item("/point4/usage/stateOfChargePercent", "4: state of charge"),
)
"""Annex XIII (points 1 to 4) as data: pointer, label, categories it applies to."""

ART8_CATEGORIES = frozenset({"ev", "industrial", "stationary"})
"""Categories whose recycled content is checked against Art. 8: Art. 8(1) to (3) name industrial
batteries above 2 kWh (other than those with exclusively external storage; stationary storage
systems are industrial batteries), EV batteries and SLI batteries. LMT batteries are not among
them, so their rows are "not-applicable" with that reason."""

ART8_ELEMENTS = {"cobalt": "cobalt", "lithium": "lithium", "nickel": "nickel", "lead": "lead"}


def _present(value: Any, may_be_empty: bool) -> bool:
    if value is None or value == "":
        return False
    return may_be_empty or value not in ([], {})


def _dec(value: Any) -> Decimal | None:
    try:
        return Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        return None


def _fmt(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def completeness(document: Mapping[str, Any]) -> dict[str, Any]:
    """Annex XIII items required for the passport's category, and which are missing."""
    category = get_at(document, "/point1/category")
    applicable = [i for i in ANNEX_XIII_ITEMS if category in i.categories]
    missing = [
        {"pointer": i.pointer, "item": i.label}
        for i in applicable
        if not _present(get_at(document, i.pointer), i.may_be_empty)
    ]
    return {
        "category": category,
        "complete": not missing and category in ALL,
        "checked": len(applicable),
        "missing": missing,
    }


def recycled_content(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Art. 8 minimums per element and year: required, actual (pre + post), margin, verdict."""
    category = get_at(document, "/point1/category")
    shares = get_at(document, "/point1/recycledContent") or {}
    rows = []
    for minimum in ART8_MINIMUMS:
        entry = shares.get(ART8_ELEMENTS[minimum.element]) if isinstance(shares, dict) else None
        row: dict[str, Any] = {
            "element": minimum.element,
            "year": minimum.label,
            "appliesFrom": minimum.applies_from,
            "requiredPercent": _fmt(minimum.percent),
        }
        if category not in ART8_CATEGORIES or not isinstance(entry, dict):
            reason = (
                f"Art. 8 minimums do not apply to {category} batteries"
                if category not in ART8_CATEGORIES
                else "the battery holds no lead"
                if minimum.element == "lead"
                else f"the battery holds no {minimum.element} in its active materials"
            )
            row.update(
                {
                    "status": "not-applicable",
                    "actualPercent": None,
                    "marginPercent": None,
                    "reason": reason,
                }
            )
        else:
            pre = _dec(entry.get("preConsumerPercent")) or Decimal(0)
            post = _dec(entry.get("postConsumerPercent")) or Decimal(0)
            actual = pre + post
            margin = actual - minimum.percent
            row.update(
                {
                    "status": "pass" if margin >= 0 else "fail",
                    "preConsumerPercent": _fmt(pre),
                    "postConsumerPercent": _fmt(post),
                    "actualPercent": _fmt(actual),
                    "marginPercent": ("+" if margin >= 0 else "") + _fmt(margin),
                }
            )
        rows.append(row)
    return rows


def carbon_class(document: Mapping[str, Any], table: CarbonClassTable) -> dict[str, Any]:
    """The performance class of the passport's footprint per kWh under ``table``."""
    value = _dec(get_at(document, "/point1/carbonFootprint/perKWh/total"))
    declared = get_at(document, "/point1/carbonFootprint/performanceClass")
    out: dict[str, Any] = {
        "kgCO2ePerKWh": format(value, "f") if value is not None else None,
        "declaredClass": declared,
        "declaredTable": get_at(document, "/point1/carbonFootprint/classTable"),
        "table": table.id,
        "provisional": table.provisional,
        "note": table.note,
    }
    if value is None:
        out.update({"class": None, "status": "missing"})
        return out
    computed = table.classify(value)
    out["class"] = computed
    out["status"] = "consistent" if computed == declared else "differs"
    return out


def due_diligence(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Coverage of the Art. 48 raw materials the battery contains."""
    coverage = get_at(document, "/point1/responsibleSourcing/dueDiligence") or {}
    masses = get_at(document, "/point2/elementMassesKg") or {}
    recycled = get_at(document, "/point1/recycledContent") or {}
    natural = _dec(get_at(document, "/point1/responsibleSourcing/graphite/naturalPercent"))
    rows = []
    for material in DUE_DILIGENCE_MATERIALS:
        if material == "naturalGraphite":
            present = (natural is not None and natural > 0) or material in coverage
        else:
            present = material in masses or material in recycled or material in coverage
        entry = coverage.get(material) if isinstance(coverage, dict) else None
        percent = _dec(entry.get("coveragePercent")) if isinstance(entry, dict) else None
        if not present:
            status = "not-present"
        elif percent is None:
            status = "unknown"
        elif percent >= 100:
            status = "covered"
        elif percent > 0:
            status = "partial"
        else:
            status = "uncovered"
        rows.append(
            {
                "material": material,
                "present": present,
                "coveragePercent": _fmt(percent) if percent is not None else None,
                "status": status,
            }
        )
    return rows


def compliance_report(
    document: Mapping[str, Any], *, class_table: CarbonClassTable | None = None
) -> dict[str, Any]:
    """The whole report; ``findings`` lists every failed or incomplete item in plain words."""
    table = class_table or load_class_table()
    report: dict[str, Any] = {
        "passportId": document.get("passportId"),
        "status": document.get("status"),
        "completeness": completeness(document),
        "recycledContent": recycled_content(document),
        "carbonFootprint": carbon_class(document, table),
        "dueDiligence": due_diligence(document),
    }
    findings: list[str] = []
    for gap in report["completeness"]["missing"]:
        findings.append(f"missing {gap['item']} ({gap['pointer']})")
    for row in report["recycledContent"]:
        if row["status"] == "fail":
            findings.append(
                f"recycled {row['element']} {row['actualPercent']} % is below the {row['year']} "
                f"minimum of {row['requiredPercent']} % (from {row['appliesFrom']}; "
                f"margin {row['marginPercent']} points)"
            )
    cf = report["carbonFootprint"]
    if cf["status"] == "differs":
        findings.append(
            f"declared carbon class {cf['declaredClass']} differs from class {cf['class']} "
            f"under table {cf['table']}"
        )
    if cf["status"] == "missing":
        findings.append("no carbon footprint per kWh")
    for row in report["dueDiligence"]:
        if row["status"] in ("partial", "uncovered", "unknown"):
            covered = (
                f"{row['coveragePercent']} %"
                if row["coveragePercent"] is not None
                else "an unknown share"
            )
            findings.append(f"due diligence covers {covered} of {row['material']}")
    report["findings"] = findings
    report["ok"] = not findings
    return report
