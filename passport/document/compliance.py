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
    once_in_service: bool = False
    """A value the battery cannot have before it is put into service (e.g. the date of putting
    into service): while it is absent the item is "not yet applicable", never missing, and
    exports leave it out as the target format says for an absent value."""


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
    Item(
        "/point4/puttingIntoService",
        "4: date of putting into service (Annex VI Part A (1), where appropriate)",
        once_in_service=True,
    ),
    Item("/status", "4: battery status"),
    Item("/point4/usage/fullCycles", "4: number of charge/discharge cycles"),
    Item("/point4/usage/negativeEvents", "4: negative events such as accidents", may_be_empty=True),
    Item("/point4/usage/temperature", "4: time spent in extreme temperatures"),
    Item("/point4/usage/stateOfChargePercent", "4: state of charge"),
    # Values the items above consist of, which the data exchange formats (Battery Pass) need
    # one by one: listed so that the check and every export agree on what is complete.
    Item("/passportId", "1: battery passport identifier (Art. 77)"),
    Item("/economicOperator/id", "1: economic operator identifier (Art. 77(4))"),
    Item("/economicOperator/name", "1: economic operator name (Art. 38(7))"),
    Item("/economicOperator/address", "1: economic operator postal address (Art. 38(7))"),
    Item("/point1/manufacturing/facility/address", "1: address of the place of manufacture"),
    Item(
        "/point1/manufacturing/facility/id",
        "1: unique facility identifier of the place of manufacture (ESPR Art. 2(33))",
    ),
    Item("/point1/identification/modelId", "1: battery model identifier (Art. 38(6))"),
    Item("/point1/identification/serialNumber", "1: serial number (Art. 38(6))"),
    Item(
        "/point1/carbonFootprint/perKWh/mainProduction",
        "1: carbon footprint of the main production stage (Art. 7)",
    ),
    Item(
        "/point1/carbonFootprint/perKWh/distribution",
        "1: carbon footprint of the distribution stage (Art. 7)",
    ),
    Item(
        "/point1/carbonFootprint/perKWh/endOfLifeAndRecycling",
        "1: carbon footprint of the end-of-life and recycling stage (Art. 7)",
    ),
    Item("/point1/carbonFootprint/absoluteKg/total", "1: absolute carbon footprint (Art. 7)"),
    Item("/point1/performance/ratedEnergyKWh", "1: rated energy (Annex IV Part A)"),
    Item("/point1/performance/power/powerCapabilityRatio", "1: power capability ratio"),
    Item("/point1/performance/expectedLifetime/years", "1: expected lifetime in years"),
    Item(
        "/point1/performance/initialSelfDischargePercentPerMonth",
        "1: initial self-discharge rate",
    ),
    Item("/point1/performance/internalResistance", "1: initial internal resistance"),
    Item("/point1/performance/temperatureRangeIdle/minimumC", "1: lower idle temperature"),
    Item("/point1/performance/temperatureRangeIdle/maximumC", "1: upper idle temperature"),
    Item("/point4/stateOfHealth/measuredAt", "4: time of the state-of-health values"),
    Item("/point4/stateOfHealth/capacityFadePercent", "4: capacity fade"),
    Item("/point4/stateOfHealth/powerFadePercent", "4: power fade"),
    Item("/point4/stateOfHealth/remainingEnergyKWh", "4: remaining energy"),
    Item("/point4/stateOfHealth/remainingPowerCapability", "4: remaining power capability"),
    Item(
        "/point4/stateOfHealth/remainingRoundTripEfficiencyPercent",
        "4: remaining round-trip energy efficiency",
    ),
    Item(
        "/point4/stateOfHealth/roundTripEfficiencyFadePercent",
        "4: round-trip energy efficiency fade",
    ),
    Item("/point4/stateOfHealth/selfDischargeRatePercentPerMonth", "4: self-discharge rate"),
    Item("/point4/stateOfHealth/internalResistanceIncrease", "4: internal resistance increase"),
    Item("/point4/usage/recordedAt", "4: time of the usage values"),
    Item("/point4/usage/energyThroughputKWh", "4: energy throughput"),
    Item("/point4/usage/capacityThroughputAh", "4: capacity throughput"),
    Item("/point4/usage/temperature/timeExtremeHighHours", "4: time above the upper temperature"),
    Item("/point4/usage/temperature/timeExtremeLowHours", "4: time below the lower temperature"),
    Item(
        "/point4/usage/temperature/timeExtremeHighChargingHours",
        "4: time charging above the upper temperature",
    ),
    Item(
        "/point4/usage/temperature/timeExtremeLowChargingHours",
        "4: time charging below the lower temperature",
    ),
)
"""Annex XIII (points 1 to 4) as data: pointer, label, categories it applies to."""

OK_MEANS = (
    "ok is true exactly when there are no findings: every Annex XIII item of the battery's "
    "category is present (values a battery cannot have before it is put into service are not "
    "yet applicable, not missing), no applicable Art. 8 recycled-content minimum is failed "
    "(the 2031 and the 2036 levels are both checked, before they apply too), "
    "the declared carbon-footprint class agrees with the class table, and due diligence fully "
    "covers every Art. 48 raw material the battery contains"
)
"""What the report's ``ok`` means (``bpass passport check`` exits 1 when it is false)."""

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
    """Annex XIII items required for the passport's category, which are missing, and which are
    not yet applicable (values a battery cannot have before it is put into service).

    The one completeness rule: ``bpass passport check`` reports it and every export refuses
    exactly when it says ``complete`` is false, listing the same pointers.
    """
    category = get_at(document, "/point1/category")
    applicable = [i for i in ANNEX_XIII_ITEMS if category in i.categories]
    missing: list[dict[str, str]] = []
    not_yet: list[dict[str, str]] = []
    for i in applicable:
        if _present(get_at(document, i.pointer), i.may_be_empty):
            continue
        entry = {"pointer": i.pointer, "item": i.label}
        if i.once_in_service:
            not_yet.append({**entry, "reason": "the battery has not been put into service yet"})
        else:
            missing.append(entry)
    if category not in ALL:
        missing.insert(0, {"pointer": "/point1/category", "item": "1: battery category"})
    return {
        "category": category,
        "complete": not missing,
        "checked": len(applicable),
        "missing": missing,
        "notYetApplicable": not_yet,
    }


def absent_as_allowed(document: Mapping[str, Any]) -> dict[str, str]:
    """Pointers of values the passport may lack and still be complete, with the reason: items
    of other battery categories (e.g. the state of certified energy of a non-EV battery) and
    values the battery cannot have yet. Exports leave these out (or mark them not applicable
    where the target format has a way to); any other absent value makes the passport
    incomplete."""
    category = get_at(document, "/point1/category")
    applicable = {i.pointer for i in ANNEX_XIII_ITEMS if category in i.categories}
    out: dict[str, str] = {}
    for i in ANNEX_XIII_ITEMS:
        if i.pointer not in applicable:
            out[i.pointer] = f"not applicable to {category} batteries"
    for gap in completeness(document)["notYetApplicable"]:
        out[gap["pointer"]] = gap["reason"]
    return out


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


def carbon_class_status(
    document: Mapping[str, Any], table: CarbonClassTable | None = None
) -> dict[str, Any]:
    """The declared carbon-footprint performance class and whether it is provisional: it is
    unless the document's class table is the configured one and that table is final (the Art.
    7(2) delegated act has set the boundaries). Views, pages and exports show it so marked."""
    table = table or load_class_table()
    declared_table = get_at(document, "/point1/carbonFootprint/classTable")
    provisional = table.provisional or declared_table != table.id
    return {
        "class": get_at(document, "/point1/carbonFootprint/performanceClass"),
        "classTable": declared_table,
        "provisional": provisional,
        "note": table.note
        if provisional and table.note
        else (
            "provisional: the class table is not the final one of the Art. 7(2) delegated act"
            if provisional
            else ""
        ),
    }


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
    report["okMeans"] = OK_MEANS
    return report
