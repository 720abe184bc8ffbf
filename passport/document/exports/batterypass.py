"""Export to the Battery Pass Data Model v1.2 (DIN DKE SPEC 99100): seven aspects.

=============================  ===================================  =====================
aspect                         from                                 schema version
=============================  ===================================  =====================
GeneralProductInformation      metadata, point 1, point 4           1.2.0
CarbonFootprintForBatteries    point 1 carbon footprint             1.2.0
Circularity                    points 1 and 2                       1.2.0
Labeling                       points 1 and 3                       1.2.0
MaterialComposition            points 1 and 2                       1.2.0
PerformanceAndDurability       points 1 and 4                       1.2.1 (or 1.2.0)
SupplyChainDueDiligence        point 1 responsible sourcing         1.2.0
=============================  ===================================  =====================

The export holds all four partitions, so it is for the economic operator's own use (data-space
exchange), not for serving to a reader. Where the Battery Pass model is poorer than ours the
passport keeps the richer data and the export says what it left out
(:attr:`BatteryPassExport.notes`): recycled content of graphite and manganese
(``recycledMaterial`` lists only Co, Ni, Li, Pb), per-element origins, certification and
due-diligence coverage, risk flags, the status ``recycled``. Mandatory information the model has
no member for travels beside the aspects (:attr:`BatteryPassExport.supplement`).

It refuses (:class:`ExportIncompleteError`) exactly when
:func:`passport.document.compliance.completeness` calls the passport incomplete, the rule
``bpass passport check`` reports. Values a complete passport may lack (the date of putting into
service before it happens, the EV-only items of other categories) are left out, as the Battery
Pass says for an absent value, and noted: it never invents a value. Units follow the Battery
Pass aspect models (ohm, kW, minutes); the carbon class is marked provisional while the class
table is not final. Mapping and absences: docs/interop.md, "Battery Pass export".

Numbers become JSON numbers here (the Battery Pass schemas ask for ``number``); the signed
passport keeps its decimal strings.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from passport.document.body import get_at
from passport.document.compliance import absent_as_allowed, carbon_class_status, completeness
from passport.document.regulation import CarbonClassTable
from passport.errors import ExportIncompleteError

ASPECTS: tuple[str, ...] = (
    "GeneralProductInformation",
    "CarbonFootprintForBatteries",
    "Circularity",
    "Labeling",
    "MaterialComposition",
    "PerformanceAndDurability",
    "SupplyChainDueDiligence",
)
PERFORMANCE_VERSIONS = ("1.2.0", "1.2.1")

_STATUS = {
    "original": "Original",
    "repurposed": "Repurposed",
    "re-used": "Reused",
    "remanufactured": "Remanufactured",
    "waste": "Waste",
    "recycled": "Waste",
}
_STAGE = {
    "rawMaterialAcquisition": "RawMaterialExtraction",
    "mainProduction": "MainProduction",
    "distribution": "Distribution",
    "endOfLifeAndRecycling": "Recycling",
}
_RECYCLED = {"cobalt": "Cobalt", "nickel": "Nickel", "lithium": "Lithium", "lead": "Lead"}
_LABEL = {
    "separateCollection": "SeparateCollection",
    "hazardousMaterial": "HazardousMaterial",
    "cadmium": "HazardousMaterial",
    "lead": "HazardousMaterial",
    "carbonFootprint": "CarbonFootPrint",
    "extinguishingAgent": "ExtinguishingAgent",
}
_HAZARD = {
    "acuteToxicity": "AcuteToxicity",
    "skinCorrosionOrIrritation": "SkinCorrosionOrIrritation",
    "eyeDamageOrIrritation": "EyeDamageOrIrritation",
}


@dataclass
class BatteryPassExport:
    """The seven aspects, and what the mapping could not carry."""

    aspects: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    supplement: dict[str, Any] = field(default_factory=dict)
    """Mandatory passport information the Battery Pass v1.2 model has no member for (DPP
    metadata, model identifier, serial number, facility identifier, trade names, the warranty as
    a period and an end date, every test report, every part number, the critical raw materials
    by name, the provisional carbon class, items stated not applicable):
    ``BatteryPassSupplement.json`` beside the aspects."""
    passport_version: dict[str, Any] | None = None
    """The exported passport version with its canonical hash
    (:func:`passport.service.views.current_version`): the Battery Pass model has no member for
    it, so it travels beside the aspects (``passport-version.json``, ``passportVersion``)."""


class _Reader:
    """Reads the passport document. A value the Battery Pass wants but the passport lacks is
    either absent as allowed (:func:`~passport.document.compliance.absent_as_allowed`: of
    another category, or not yet possible) and then left out of the export, or a gap."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.doc = document
        self.allowed = absent_as_allowed(document)
        self.gaps: list[dict[str, str]] = []
        self.omitted: dict[str, str] = {}
        self.required: set[str] = set()
        """Every pointer read as a value the Battery Pass asks for (tests hold them to the
        completeness items, so that check and export agree)."""

    def get(self, pointer: str, why: str) -> Any:
        self.required.add(pointer)
        value = get_at(self.doc, pointer)
        if value is None:
            if pointer in self.allowed:
                self.omitted[pointer] = f"{why}: left out, {self.allowed[pointer]}"
            else:
                self.gaps.append(
                    {"pointer": pointer, "message": f"required by Battery Pass: {why}"}
                )
        return value

    def num(self, pointer: str, why: str) -> int | float | None:
        value = self.get(pointer, why)
        return None if value is None else _number(value)


def _number(value: Any) -> int | float:
    if isinstance(value, int):
        return value
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else float(d)


def _scaled(value: int | float | None, factor: str) -> int | float | None:
    """``value`` times ``factor`` (a decimal string), exactly, for unit conversions."""
    return None if value is None else _number(Decimal(str(value)) * Decimal(factor))


def _entity(key: str, value: Any, last_update: Any) -> dict[str, Any] | None:
    """A Battery Pass ``{<key>: value, lastUpdate}`` entity, or None (left out) without value."""
    return None if value is None else {key: value, "lastUpdate": last_update}


def _prune(node: Any) -> Any:
    """``node`` without the members whose value is absent (None): the Battery Pass way of
    saying a value is not there."""
    if isinstance(node, dict):
        return {k: _prune(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_prune(v) for v in node if v is not None]
    return node


def _address(address: Any) -> dict[str, str]:
    if not isinstance(address, Mapping):
        return {"addressCountry": "", "postalCode": "", "streetAddress": ""}
    return {
        "addressCountry": str(address.get("country", "")),
        "postalCode": str(address.get("postalCode", "")),
        "streetAddress": f"{address.get('streetAddress', '')}, {address.get('city', '')}",
    }


def _with_trade_name(contact: Mapping[str, Any]) -> str:
    """The contact's name, with its registered trade name where that differs (Battery Pass has
    one contactName for "name, trade name or mark")."""
    name = str(contact.get("name") or "")
    trade = contact.get("tradeName")
    return f"{name} (trade name: {trade})" if trade and trade != name else name


def _moment(date_or_time: Any) -> str:
    text = str(date_or_time)
    return text if "T" in text else f"{text}T00:00:00Z"


def _general(r: _Reader, notes: list[str]) -> dict[str, Any]:
    manufacturer = r.get("/point1/manufacturer", "manufacturerInformation") or {}
    operator_address = r.get("/economicOperator/address", "operatorInformation.postalAddress")
    months = r.get("/point1/performance/warrantyPeriodMonths", "warrentyPeriod")
    status = r.get("/status", "batteryStatus")
    if status == "recycled":
        notes.append(
            "batteryStatus: the battery was recycled and its passport ceased; Battery Pass has "
            "no such status, exported as Waste"
        )
    warranty: str | None = None
    if isinstance(months, int) and 1 <= months <= 12:
        warranty = f"--{months:02d}"
    elif months is not None:
        notes.append(
            "warrentyPeriod: left out, Battery Pass 1.2 types it as an xsd:gMonth (--MM), which "
            f"cannot hold a {months}-month warranty; the period (ISO 8601) and its end date are "
            "in BatteryPassSupplement.warranty"
        )
    notes.append(
        "manufacturerInformation.emailAddress: left out, the 1.2.0 pattern ^[w.-]+@… accepts "
        "no real address"
    )
    out: dict[str, Any] = {
        "productIdentifier": r.get("/batteryId", "productIdentifier"),
        "batteryPassportIdentifier": r.get("/passportId", "batteryPassportIdentifier"),
        "batteryCategory": r.get("/point1/category", "batteryCategory"),
        "manufacturerInformation": {
            "contactName": _with_trade_name(manufacturer),
            "postalAddress": _address(manufacturer.get("address")),
            "identifier": manufacturer.get("identifier", ""),
        },
        "manufacturingDate": _moment(r.get("/point1/manufacturing/date", "manufacturingDate")),
        "batteryStatus": _STATUS.get(str(status), "Original"),
        "batteryMass": r.num("/point1/massKg", "batteryMass"),
        "manufacturingPlace": _address(
            r.get("/point1/manufacturing/facility/address", "manufacturingPlace")
        ),
        "operatorInformation": {
            "contactName": _with_trade_name(
                {
                    "name": r.get("/economicOperator/name", "operatorInformation"),
                    "tradeName": get_at(r.doc, "/economicOperator/tradeName"),
                }
            ),
            "postalAddress": _address(operator_address),
            "identifier": r.get("/economicOperator/id", "operatorInformation"),
        },
        "puttingIntoService": r.get("/point4/puttingIntoService", "puttingIntoService"),
        "warrentyPeriod": warranty,
    }
    if manufacturer.get("webUrl"):
        out["manufacturerInformation"]["webAddress"] = manufacturer["webUrl"]
    return out


def _carbon(r: _Reader, table: CarbonClassTable | None, notes: list[str]) -> dict[str, Any]:
    cf = "/point1/carbonFootprint"
    status = carbon_class_status(r.doc, table)
    declared = r.get(f"{cf}/performanceClass", "carbonFootprintPerformanceClass")
    if declared is not None and status["provisional"]:
        declared = f"{declared} (provisional)"
        notes.append(
            f"carbonFootprintPerformanceClass: marked provisional (class table "
            f"{status['classTable']}): {status['note']}"
        )
    return {
        "batteryCarbonFootprint": r.num(f"{cf}/perKWh/total", "batteryCarbonFootprint"),
        "carbonFootprintPerLifecycleStage": [
            {
                "lifecycleStage": stage,
                "carbonFootprint": r.num(f"{cf}/perKWh/{ours}", "carbonFootprintPerLifecycleStage"),
            }
            for ours, stage in _STAGE.items()
        ],
        "carbonFootprintPerformanceClass": declared,
        "carbonFootprintStudy": r.get(f"{cf}/studyUrl", "carbonFootprintStudy"),
        "absoluteCarbonFootprint": r.num(f"{cf}/absoluteKg/total", "absoluteCarbonFootprint"),
    }


def _circularity(r: _Reader, notes: list[str]) -> dict[str, Any]:
    recycled = r.get("/point1/recycledContent", "recycledContent") or {}
    kept = sorted(set(recycled) - set(_RECYCLED))
    if kept:
        notes.append(
            f"recycledContent: {', '.join(kept)} kept in the passport only (Battery Pass "
            "recycledMaterial lists Co, Ni, Li, Pb)"
        )
    docs = r.get("/point2/dismantling", "dismantlingAndRemovalInformation") or []
    sources = r.get("/point2/sparePartSources", "sparePartSources") or []
    eol = "/point1/endOfLife"
    return {
        "dismantlingAndRemovalInformation": [
            {
                "documentType": d["documentType"][0].upper() + d["documentType"][1:],
                "mimeType": d["mimeType"],
                "documentURL": d["url"],
            }
            for d in docs
        ],
        "sparePartSources": [
            {
                "nameOfSupplier": s["supplierName"],
                "addressOfSupplier": _address(s["address"]),
                "emailAddressOfSupplier": s["email"],
                "supplierWebAddress": s["webUrl"],
                "components": [
                    {"partName": p["partName"], "partNumber": p["partNumber"]} for p in s["parts"]
                ],
            }
            for s in sources
        ],
        "recycledContent": [
            {
                "recycledMaterial": name,
                "preConsumerShare": _number(recycled[element]["preConsumerPercent"]),
                "postConsumerShare": _number(recycled[element]["postConsumerPercent"]),
            }
            for element, name in _RECYCLED.items()
            if element in recycled
        ],
        "safetyMeasures": {
            "safetyInstructions": r.get(
                "/point2/safetyMeasures/instructionsUrl", "safetyMeasures.safetyInstructions"
            ),
            "extinguishingAgent": list(
                r.get("/point1/extinguishingAgents", "safetyMeasures.extinguishingAgent") or []
            ),
        },
        "endOfLifeInformation": {
            "wastePrevention": r.get(
                f"{eol}/wastePreventionUrl", "endOfLifeInformation.wastePrevention"
            ),
            "separateCollection": r.get(
                f"{eol}/separateCollectionUrl", "endOfLifeInformation.separateCollection"
            ),
            "informationOnCollection": r.get(
                f"{eol}/collectionInformationUrl", "endOfLifeInformation.informationOnCollection"
            ),
        },
        "renewableContent": r.num("/point1/renewableContentPercent", "renewableContent"),
    }


def _labeling(r: _Reader, notes: list[str]) -> dict[str, Any]:
    reports = r.get("/point3/testReports", "resultOfTestReport") or [{}]
    if len(reports) > 1:
        notes.append(
            "resultOfTestReport: Battery Pass 1.2 takes one URL; it holds the first of "
            f"{len(reports)} test reports, BatteryPassSupplement.testReports lists them all"
        )
    labels = r.get("/point1/labels", "labels") or []
    return {
        "declarationOfConformity": r.get(
            "/point1/declarationOfConformityUrl", "declarationOfConformity"
        ),
        "resultOfTestReport": reports[0].get("reportUrl"),
        "labels": [
            {
                "labelingSubject": _LABEL[label["subject"]],
                "labelingSymbol": label["symbolUrl"],
                "labelingMeaning": {"en": label["meaning"]},
            }
            for label in labels
        ],
    }


def _composition(r: _Reader) -> dict[str, Any]:
    chemistry = r.get("/point1/chemistry", "batteryChemistry") or {}
    components = r.get("/point2/composition", "batteryMaterials") or []
    hazards = r.get("/point1/hazardousSubstances", "hazardousSubstances") or []
    return {
        "batteryChemistry": {
            "shortName": chemistry.get("shortName", ""),
            "clearName": chemistry.get("clearName", ""),
        },
        "batteryMaterials": [
            {
                "batteryMaterialLocation": {"componentName": c["component"]},
                "batteryMaterialIdentifier": m["casNumber"],
                "batteryMaterialName": m["name"],
                "batteryMaterialMass": _number(m["massKg"]),
                "isCriticalRawMaterial": m["criticalRawMaterial"],
            }
            for c in components
            for m in c["materials"]
        ],
        "hazardousSubstances": [
            {
                "hazardousSubstanceClass": _HAZARD[h["hazardClass"]],
                "hazardousSubstanceName": h["name"],
                "hazardousSubstanceConcentration": _number(h["concentrationPercent"]),
                "hazardousSubstanceImpact": list(h["impacts"]),
                "hazardousSubstanceLocation": {
                    "componentName": h["location"]["component"],
                    **(
                        {"componentId": h["location"]["componentId"]}
                        if "componentId" in h["location"]
                        else {}
                    ),
                },
                "hazardousSubstanceIdentifier": h["casNumber"],
            }
            for h in hazards
        ],
    }


_PERF = "/point1/performance"
_SOH = "/point4/stateOfHealth"
_USE = "/point4/usage"


def _performance(r: _Reader, version: str, notes: list[str]) -> dict[str, Any]:
    p, soh = _PERF, _SOH
    measured = r.get(f"{soh}/measuredAt", "batteryCondition lastUpdate")
    recorded = r.get(f"{_USE}/recordedAt", "batteryCondition lastUpdate")
    tech, remaining = _technical_properties(r, measured)
    # Values are read in the order in which the gaps of a document are reported.
    versioned: dict[str, Any] = {
        "rte50": r.num(
            f"{p}/roundTripEfficiency/at50PercentCycleLifePercent",
            "roundTripEfficiencyat50PerCentCycleLife",
        ),
        "rte_fade": r.num(f"{soh}/roundTripEfficiencyFadePercent", "roundTripEfficiencyFade"),
        "power_fade": r.num(f"{soh}/powerFadePercent", "powerFade"),
        "t_min": r.num(f"{p}/temperatureRangeIdle/minimumC", "temperatureRangeIdleState"),
        "t_max": r.num(f"{p}/temperatureRangeIdle/maximumC", "temperatureRangeIdleState"),
        "self_discharge": r.num(
            f"{soh}/selfDischargeRatePercentPerMonth", "currentSelfDischargingRate"
        ),
    }
    condition = _condition(r, measured, recorded)
    versioned["remaining_energy"] = r.num(f"{soh}/remainingEnergyKWh", "remainingEnergy")
    versioned["throughput"] = r.num(f"{_USE}/energyThroughputKWh", "energyThroughput")
    if version == "1.2.1":
        _performance_121(tech, condition, versioned, remaining, measured, recorded, notes)
    else:
        _performance_120(tech, condition, versioned, remaining, measured, notes)
    notes.append(
        "units as the Battery Pass aspect model (SAMM) states them: initialInternalResistance "
        "in ohm (ours in milliohm), ratedMaximumPower in kW (ours in W), time at extreme "
        "temperatures in minutes (ours in hours)"
    )
    return {"batteryTechicalProperties": tech, "batteryCondition": condition}


def _technical_properties(r: _Reader, measured: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The version-independent technical properties, and the remaining power capability."""
    p, soh = _PERF, _SOH
    resistances = r.get(f"{p}/internalResistance", "initialInternalResistance") or {}
    power = [
        {"atSoC": _number(x["atSocPercent"]), "powerCapabilityAt": _number(x["powerW"])}
        for x in (r.get(f"{p}/power/originalPowerCapability", "originalPowerCapability") or [])
    ]
    remaining = [
        {
            "atSoC": _number(x["atSocPercent"]),
            "powerCapabilityAt": _number(x["powerW"]),
            "rPCLastUpdated": measured,
        }
        for x in (r.get(f"{soh}/remainingPowerCapability", "remainingPowerCapability") or [])
    ]
    tech: dict[str, Any] = {
        "originalPowerCapability": power,
        "ratedMaximumPower": _scaled(
            r.num(f"{p}/power/ratedMaximumPowerW", "ratedMaximumPower"), "0.001"
        ),
        "powerCapabilityRatio": r.num(f"{p}/power/powerCapabilityRatio", "powerCapabilityRatio"),
        "ratedEnergy": r.num(f"{p}/ratedEnergyKWh", "ratedEnergy"),
        "expectedNumberOfCycles": r.num(f"{p}/expectedLifetime/cycles", "expectedNumberOfCycles"),
        "initialSelfDischarge": r.num(
            f"{p}/initialSelfDischargePercentPerMonth", "initialSelfDischarge"
        ),
        "roundtripEfficiency": r.num(
            f"{p}/roundTripEfficiency/initialPercent", "roundtripEfficiency"
        ),
        "ratedCapacity": r.num(f"{p}/ratedCapacityAh", "ratedCapacity"),
        "initialInternalResistance": [
            {
                "ohmicResistance": _scaled(_number(resistances[k]), "0.001"),
                "batteryComponent": component,
            }
            for k, component in (
                ("cellMilliohm", "cell"),
                ("moduleMilliohm", "module"),
                ("packMilliohm", "pack"),
            )
            if k in resistances
        ],
        "expectedLifetime": r.num(f"{p}/expectedLifetime/years", "expectedLifetime"),
        "cRate": r.num(f"{p}/expectedLifetime/cRateOfTest", "cRate"),
        "nominalVoltage": r.num(f"{p}/voltage/nominalV", "nominalVoltage"),
        "minimumVoltage": r.num(f"{p}/voltage/minimumV", "minimumVoltage"),
        "maximumVoltage": r.num(f"{p}/voltage/maximumV", "maximumVoltage"),
        "capacityThresholdForExhaustion": r.num(
            f"{p}/capacityThresholdForExhaustionPercent",
            "capacityThresholdForExhaustion (Annex XIII asks it of EV batteries only)",
        ),
        "lifetimeReferenceTest": r.get(
            f"{p}/expectedLifetime/referenceTestUrl", "lifetimeReferenceTest"
        ),
        "cRateLifeCycleTest": r.num(f"{p}/expectedLifetime/cRateOfTest", "cRateLifeCycleTest"),
    }
    return tech, remaining


def _temperature(r: _Reader, recorded: Any) -> dict[str, Any]:
    use = _USE
    return {
        "timeExtremeHighTemp": _scaled(
            r.num(f"{use}/temperature/timeExtremeHighHours", "temperatureInformation"), "60"
        ),
        "timeExtremeLowTemp": _scaled(
            r.num(f"{use}/temperature/timeExtremeLowHours", "temperatureInformation"), "60"
        ),
        "timeExtremeHighTempCharging": _scaled(
            r.num(f"{use}/temperature/timeExtremeHighChargingHours", "temperatureInformation"), "60"
        ),
        "timeExtremeLowTempCharging": _scaled(
            r.num(f"{use}/temperature/timeExtremeLowChargingHours", "temperatureInformation"), "60"
        ),
        "lastUpdate": recorded,
    }


def _condition(r: _Reader, measured: Any, recorded: Any) -> dict[str, Any]:
    """The version-independent battery condition."""
    soh, use = _SOH, _USE
    temperature = _temperature(r, recorded)
    events = r.get(f"{use}/negativeEvents", "negativeEvents") or []
    return {
        "capacityThroughput": _entity(
            "capacityThroughputValue",
            r.num(f"{use}/capacityThroughputAh", "capacityThroughput"),
            recorded,
        ),
        "numberOfFullCycles": _entity(
            "numberOfFullCyclesValue", r.num(f"{use}/fullCycles", "numberOfFullCycles"), recorded
        ),
        "stateOfCertifiedEnergy": _entity(
            "stateOfCertifiedEnergyValue",
            r.num(
                f"{soh}/stateOfCertifiedEnergyPercent",
                "stateOfCertifiedEnergy (Annex XIII asks it of EV batteries only)",
            ),
            measured,
        ),
        "capacityFade": _entity(
            "capacityFadeValue", r.num(f"{soh}/capacityFadePercent", "capacityFade"), measured
        ),
        "remainingCapacity": _entity(
            "remainingCapacityValue",
            r.num(f"{soh}/remainingCapacityAh", "remainingCapacity"),
            measured,
        ),
        "negativeEvents": [
            {
                "negativeEvent": e["event"]
                + (f": {e['description']}" if e.get("description") else ""),
                "lastUpdate": e["occurredAt"],
            }
            for e in events
        ],
        "temperatureInformation": temperature,
        "internalResistanceIncrease": [
            {
                "internalResistanceIncreaseValue": _number(x["increasePercent"]),
                "lastUpdate": measured,
                "batteryComponent": x["component"],
            }
            for x in (
                r.get(f"{soh}/internalResistanceIncrease", "internalResistanceIncrease") or []
            )
        ],
        "remainingRoundTripEnergyEfficiency": _entity(
            "remainingRoundTripEnergyEfficiencyValue",
            r.num(
                f"{soh}/remainingRoundTripEfficiencyPercent", "remainingRoundTripEnergyEfficiency"
            ),
            measured,
        ),
        "stateOfCharge": _entity(
            "stateOfChargeValue", r.num(f"{use}/stateOfChargePercent", "stateOfCharge"), recorded
        ),
    }


def _performance_121(
    tech: dict[str, Any],
    condition: dict[str, Any],
    v: Mapping[str, Any],
    remaining: list[dict[str, Any]],
    measured: Any,
    recorded: Any,
    notes: list[str],
) -> None:
    """The fields whose shape Battery Pass 1.2.1 changed."""
    tech["temperatureRangeIdleState"] = {"minimum": v["t_min"], "maximum": v["t_max"]}
    tech.update(
        {
            "roundTripEfficiencyat50PerCentCycleLife": v["rte50"],
            "roundTripEfficiencyFade": v["rte_fade"],
            "powerFade": v["power_fade"],
        }
    )
    condition.update(
        {
            "energyThroughput": _entity("energyThroughputValue", v["throughput"], recorded),
            "remainingEnergy": _entity("remainingEnergyValue", v["remaining_energy"], measured),
            "remainingPowerCapability": {
                "remainingPowerCapabilityValue": remaining[0] if remaining else {},
                "lastUpdate": measured,
            },
            "evolutionOfSelfDischarge": _entity(
                "evolutionOfSelfDischargeValue", v["self_discharge"], measured
            ),
            "currentSelfDischargingRate": _entity(
                "currentSelfDischargingRateValue", v["self_discharge"], measured
            ),
        }
    )
    if len(remaining) > 1:
        notes.append(
            "remainingPowerCapability: Battery Pass 1.2.1 takes one value; exported the "
            "first state of charge"
        )


def _performance_120(
    tech: dict[str, Any],
    condition: dict[str, Any],
    v: Mapping[str, Any],
    remaining: list[dict[str, Any]],
    measured: Any,
    notes: list[str],
) -> None:
    """The same fields in the shape of Battery Pass 1.2.0."""
    tech["temperatureRangeIdleState"] = max(min(v["t_max"], 60), -20)
    notes.append(
        "temperatureRangeIdleState: 1.2.0 takes one number; exported the maximum of the idle range"
    )
    condition.update(
        {
            "energyThroughput": v["throughput"],
            "remainingEnergy": _entity("remainingEnergyalue", v["remaining_energy"], measured),
            "remainingPowerCapability": [
                {"remainingPowerCapabilityValue": x, "lastUpdate": measured} for x in remaining
            ],
            "evolutionOfSelfDischarge": {
                "evolutionOfSelfDischargeEntityValue": v["self_discharge"]
            },
            "currentSelfDischargingRate": _entity(
                "currentSelfDischargingRateEntity", v["self_discharge"], measured
            ),
            "roundTripEfficiencyat50PerCentCycleLife": v["rte50"],
            "roundTripEfficiencyFade": v["rte_fade"],
            "powerFade": v["power_fade"],
        }
    )


def _diligence(r: _Reader, notes: list[str]) -> dict[str, Any]:
    rs = "/point1/responsibleSourcing"
    out: dict[str, Any] = {
        "supplyChainDueDiligenceReport": r.get(f"{rs}/reportUrl", "supplyChainDueDiligenceReport")
    }
    assurances = get_at(r.doc, f"{rs}/thirdPartyAssurancesUrl")
    if assurances is not None:
        out["thirdPartyAussurances"] = assurances
    notes.append(
        "SupplyChainDueDiligence: origins by country, ore types, certification and "
        "due-diligence coverage and "
        "risk flags are kept in the passport only (the aspect carries report links)"
    )
    return out


def _add_months(day: str, months: int) -> str:
    """The ISO date ``months`` after ``day`` (YYYY-MM-DD…), clamped to the month's last day."""
    import calendar

    year, month, dom = int(day[0:4]), int(day[5:7]), int(day[8:10])
    total = year * 12 + (month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    dom = min(dom, calendar.monthrange(year, month)[1])
    return f"{year:04d}-{month:02d}-{dom:02d}"


def _supplement(r: _Reader, table: CarbonClassTable | None) -> dict[str, Any]:
    """What the Battery Pass v1.2 aspects have no member for (see :class:`BatteryPassExport`)."""
    doc = r.doc
    ident = get_at(doc, "/point1/identification") or {}
    months = get_at(doc, "/point1/performance/warrantyPeriodMonths")
    start = get_at(doc, "/point4/puttingIntoService")
    warranty: dict[str, Any] = {}
    if isinstance(months, int):
        warranty = {"months": months, "period": f"P{months}M", "startsAt": "puttingIntoService"}
        if start:
            warranty["endDate"] = _add_months(str(start), months)
        else:
            warranty["endDateNote"] = (
                "not yet known: the warranty runs from the date of putting into service"
            )
    usage = get_at(doc, "/point4/usage") or {}
    events = usage.get("negativeEvents") if isinstance(usage, Mapping) else None
    carbon = carbon_class_status(doc, table)
    out: dict[str, Any] = {
        "dppSchemaVersion": doc.get("schemaVersion"),
        "dppStatus": "inactive" if doc.get("successor") or doc.get("ceasedAt") else "active",
        "granularity": "item",
        "lastUpdated": doc.get("lastUpdated"),
        "batteryModelIdentifier": ident.get("modelId"),
        "batteryModelName": ident.get("modelName"),
        "serialNumber": ident.get("serialNumber"),
        "batchNumber": ident.get("batchNumber"),
        "uniqueFacilityIdentifier": get_at(doc, "/point1/manufacturing/facility/id"),
        "manufacturerTradeName": get_at(doc, "/point1/manufacturer/tradeName"),
        "operatorTradeName": get_at(doc, "/economicOperator/tradeName"),
        "warranty": warranty or None,
        "testReports": copy.deepcopy(get_at(doc, "/point3/testReports")),
        "partNumbers": copy.deepcopy(get_at(doc, "/point2/partNumbers")),
        # Annex VI Part A(10): the aspects flag critical materials per component only
        "criticalRawMaterials": copy.deepcopy(get_at(doc, "/point1/criticalRawMaterials")),
        "carbonFootprintPerformanceClass": carbon,
        "notApplicable": copy.deepcopy(get_at(doc, "/point1/notApplicable") or []),
        "negativeEvents": {
            "recorded": len(events) if isinstance(events, list) else None,
            "asOf": usage.get("recordedAt") if isinstance(usage, Mapping) else None,
        },
    }
    return {k: v for k, v in out.items() if v is not None}


def export_batterypass(
    document: Mapping[str, Any],
    *,
    performance_version: str = "1.2.1",
    version: Mapping[str, Any] | None = None,
    class_table: CarbonClassTable | None = None,
) -> BatteryPassExport:
    """The seven Battery Pass v1.2 aspects of a full passport document.

    Refuses exactly when :func:`~passport.document.compliance.completeness` (what ``bpass
    passport check`` reports) says the passport is incomplete, listing the same items. Values a
    complete passport may lack (of another battery category, or not yet possible before the
    battery is put into service) are left out, as the Battery Pass model says for an absent
    value, and each is named in the notes."""
    if performance_version not in PERFORMANCE_VERSIONS:
        raise ValueError(f"performance_version must be one of {PERFORMANCE_VERSIONS}")
    report = completeness(document)
    if not report["complete"]:
        raise ExportIncompleteError(
            [
                {"pointer": g["pointer"], "message": f"missing {g['item']}"}
                for g in report["missing"]
            ]
        )
    reader = _Reader(document)
    notes: list[str] = []
    aspects = {
        "GeneralProductInformation": _general(reader, notes),
        "CarbonFootprintForBatteries": _carbon(reader, class_table, notes),
        "Circularity": _circularity(reader, notes),
        "Labeling": _labeling(reader, notes),
        "MaterialComposition": _composition(reader),
        "PerformanceAndDurability": _performance(reader, performance_version, notes),
        "SupplyChainDueDiligence": _diligence(reader, notes),
    }
    if reader.gaps:  # only a document that fails its own schema gets here
        unique = {g["pointer"]: g for g in reader.gaps}
        raise ExportIncompleteError(sorted(unique.values(), key=lambda g: g["pointer"]))
    notes.extend(reader.omitted[p] for p in sorted(reader.omitted))
    for entry in get_at(document, "/point1/notApplicable") or []:
        notes.append(f"{entry['item']}: not applicable, {entry['reason']}")
    return BatteryPassExport(
        aspects=_prune(aspects),
        notes=notes,
        supplement=_supplement(reader, class_table),
        passport_version=dict(version) if version is not None else None,
    )
