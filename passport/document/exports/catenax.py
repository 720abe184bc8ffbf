"""Export to the Catena-X aspect ``io.catenax.battery.battery_pass`` 6.1.0 (one payload).

The payload is built from the full passport document (all four partitions), so like the Battery
Pass export it is for the economic operator's own data-space exchange, never for serving to a
reader. The rules, in order of preference:

1. a value the passport holds is mapped (numbers become JSON numbers; the signed passport keeps
   its decimal strings); a few are derived from held values, each said in the docstring of its
   builder (e.g. the remaining internal resistance from the initial one and its increase);
2. where the schema requires a list we have nothing for, the list is empty (no list in the schema
   declares ``minItems``); where it requires free text we do not hold, the text is empty and
   :attr:`CatenaXExport.notes` says so;
3. values that exist only in Catena-X (Business Partner Numbers, the passport's expiration date,
   test conditions the Regulation does not ask the passport to state) may be supplied at export
   time, by Catena-X pointer (:data:`SUPPLEMENTS`); a supplement never overrides passport data;
4. a required number or pattern-bound identifier that is neither held nor supplied refuses the
   export with :class:`ExportIncompleteError`, every gap listed: the export never invents a value.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from passport.document.body import get_at, parts_of
from passport.errors import ExportIncompleteError, ExportSupplementError

SPEC_VERSION = "urn:io.catenax.battery.battery_pass:6.1.0"
NO_PREDECESSOR = "urn:uuid:00000000-0000-0000-0000-000000000000"
"""The schema's dummy value for "no preceding passport" (its description asks for one)."""

_BPNL = re.compile(r"^BPNL[a-zA-Z0-9]{12}$")
_BPNA = re.compile(r"^BPNA[a-zA-Z0-9]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PASSPORT_ID = re.compile(r"^urn:bpass:([0-9a-f]{32})$")


@dataclass(frozen=True)
class Supplement:
    """A Catena-X-only value the operator may give at export time."""

    description: str
    kind: str  # "bpnl", "bpna-list", "bpnl-list", "date", "number", "text"
    required: bool


SUPPLEMENTS: dict[str, Supplement] = {
    "/metadata/economicOperatorId": Supplement(
        "the economic operator's Catena-X Business Partner Number (BPNL)", "bpnl", True
    ),
    "/operation/manufacturer/manufacturer": Supplement("the manufacturer's BPNL", "bpnl", True),
    "/operation/manufacturer/facility": Supplement(
        "the manufacturing facilities' BPNAs, a JSON list such as "
        '[{"facility": "BPNA..."}] (also used as the carbon footprint\'s manufacturing plant)',
        "bpna-list",
        False,
    ),
    "/handling/content/producer": Supplement(
        'the spare-part producers\' BPNLs, a JSON list such as [{"id": "BPNL..."}]',
        "bpnl-list",
        False,
    ),
    "/metadata/expirationDate": Supplement(
        "until when the passport is available (yyyy-mm-dd); the Regulation sets no date, the "
        "passport ceases when the battery is recycled",
        "date",
        True,
    ),
    "/metadata/backupReference": Supplement(
        "a reference to the passport's backup copy", "text", False
    ),
    "/metadata/registrationIdentifier": Supplement(
        "the passport's identifier in the Commission's registry", "text", False
    ),
    "/identification/identification/dataCarrier/carrierLayout": Supplement(
        "where the QR code sits on the battery", "text", False
    ),
    "/performance/rated/roundTripEfficiency/depthOfDischarge": Supplement(
        "depth of discharge (%) of the round-trip efficiency test", "number", True
    ),
    "/performance/rated/lifetime/cycleLifeTesting/temperature": Supplement(
        "temperature (°C) of the cycle-life test", "number", True
    ),
    "/performance/rated/lifetime/cycleLifeTesting/depthOfDischarge": Supplement(
        "depth of discharge (%) of the cycle-life test", "number", True
    ),
}
"""The Catena-X pointers a supplement may fill; nothing else can be supplied."""

_CATEGORY = {"ev": "EV", "lmt": "LMT", "industrial": "industrial", "stationary": "industrial"}
_STATUS = {s: s for s in ("original", "repurposed", "re-used", "remanufactured", "waste")}
_STATUS["recycled"] = "waste"
_STAGES = (
    ("rawMaterialAcquisition", "raw material acquisition and pre-processing"),
    ("mainProduction", "main product production"),
    ("distribution", "distribution"),
    ("endOfLifeAndRecycling", "end of life and recycling"),
)
_ACTIVE = ("nickel", "lithium", "cobalt")
_CAS = {
    "cobalt": "7440-48-4",
    "lithium": "7439-93-2",
    "nickel": "7440-02-0",
    "lead": "7439-92-1",
    "manganese": "7439-96-5",
    "graphite": "7782-42-5",
    "cadmium": "7440-43-9",
    "mercury": "7439-97-6",
}


@dataclass
class CatenaXExport:
    """The battery_pass payload, and what the mapping could not carry."""

    payload: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    supplied: list[str] = field(default_factory=list)
    """The Catena-X pointers filled from export-time supplements."""


def _num(value: Any) -> int | float:
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else float(d)


def _date(value: Any) -> str:
    return str(value)[:10]


def _doc(content: Any, header: str, content_type: str = "URL") -> dict[str, str]:
    return {"content": str(content), "contentType": content_type, "header": header}


def _docs(url: Any, header: str) -> list[dict[str, str]]:
    return [_doc(url, header)] if url else []


class _Reader:
    """Reads the passport document, collecting every value the payload needs but lacks."""

    def __init__(self, document: Mapping[str, Any], supplements: Mapping[str, Any]) -> None:
        self.doc = document
        self.supplements = supplements
        self.gaps: list[dict[str, str]] = []
        self.notes: list[str] = []

    def get(self, pointer: str, why: str) -> Any:
        value = get_at(self.doc, pointer)
        if value is None:
            self.gaps.append({"pointer": pointer, "message": f"required by battery_pass: {why}"})
        return value

    def num(self, pointer: str, why: str) -> int | float:
        value = self.get(pointer, why)
        return 0 if value is None else _num(value)

    def opt(self, pointer: str) -> Any:
        return get_at(self.doc, pointer)

    def ev_only(self, pointer: str, target: str) -> int | float:
        """A value Annex XIII asks of EV batteries only (1(s), 4(b)) that battery_pass 6.1.0
        requires of every category, with no way to say "not applicable": a passport of another
        category exports only if it states the value (optional for it)."""
        category = self.opt("/point1/category")
        why = (
            f"{target} (Annex XIII asks it of EV batteries only)"
            if category == "ev"
            else f"{target}: battery_pass 6.1.0 requires it of every category and cannot say "
            f"'not applicable', though Annex XIII asks it of EV batteries only; state it in "
            f"this {category} passport to export it"
        )
        return self.num(pointer, why)

    def catenax_only(self, target: str) -> Any:
        """The supplement for ``target``, or a gap if the schema requires it (None otherwise)."""
        if target in self.supplements:
            return self.supplements[target]
        spec = SUPPLEMENTS[target]
        if spec.required:
            self.gaps.append(
                {
                    "pointer": target,
                    "message": f"Catena-X only, not held by the passport: {spec.description}; "
                    f"supply it at export time (--set {target}=VALUE)",
                }
            )
        return None


def _uuid(passport_id: str) -> str:
    """``urn:bpass:<32 hex>`` re-spelt as a ``urn:uuid:`` (the same 128 bits, reversibly)."""
    m = _PASSPORT_ID.match(passport_id)
    if m is None:
        return passport_id
    h = m.group(1)
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _identification(r: _Reader) -> dict[str, Any]:
    ident = r.get("/point1/identification", "identification") or {}
    chemistry = r.get("/point1/chemistry", "identification.chemistry") or {}
    category = r.get("/point1/category", "identification.category")
    if category == "stationary":
        r.notes.append(
            "identification.category: stationary battery energy storage systems are industrial "
            "batteries (Art. 3(1)(14)); exported as industrial"
        )
    layout = r.supplements.get("/identification/identification/dataCarrier/carrierLayout")
    if layout is None:
        r.notes.append(
            "identification.identification.dataCarrier.carrierLayout: the QR code's position is "
            "not held; left empty"
        )
    gtin = ident.get("gtin", "")
    inner: dict[str, Any] = {
        "serial": [{"key": "partInstanceId", "value": str(ident.get("serialNumber", ""))}],
        "type": {"manufacturerPartId": gtin, "nameAtManufacturer": ident.get("modelName", "")},
        "codes": [{"key": "GTIN", "value": gtin}],
        "dataCarrier": {"carrierType": "QR", "carrierLayout": str(layout or "")},
        "classification": [],
    }
    if ident.get("batchNumber"):
        inner["batch"] = [{"key": "batchId", "value": ident["batchNumber"]}]
    return {
        "category": _CATEGORY.get(str(category), str(category)),
        "idDmc": r.get("/batteryId", "identification.idDmc"),
        "chemistry": f"{chemistry.get('clearName', '')} ({chemistry.get('shortName', '')})",
        "identification": inner,
    }


def _operation(r: _Reader) -> dict[str, Any]:
    manufacturer = r.supplements.get("/operation/manufacturer/manufacturer")
    held = str(r.opt("/point1/manufacturer/identifier") or "")
    if manufacturer is None and _BPNL.match(held):
        manufacturer = held
    elif manufacturer is None:
        manufacturer = r.catenax_only("/operation/manufacturer/manufacturer")
    out: dict[str, Any] = {
        "manufacturer": {
            "facility": list(r.supplements.get("/operation/manufacturer/facility", [])),
            "manufacturer": manufacturer,
            "manufacturingDate": _date(
                r.get("/point1/manufacturing/date", "operation.manufacturer.manufacturingDate")
            ),
        }
    }
    into_service = r.opt("/point4/puttingIntoService")
    if into_service:
        out["intoServiceDate"] = _date(into_service)
    return out


def _characteristics(r: _Reader) -> dict[str, Any]:
    return {
        "warranty": {
            "lifeValue": r.num(
                "/point1/performance/warrantyPeriodMonths", "characteristics.warranty"
            ),
            "lifeUnit": "unit:month",
        },
        "physicalDimension": {
            "weight": {
                "value": r.num("/point1/massKg", "physicalDimension.weight"),
                "unit": "unit:kilogram",
            }
        },
    }


def _sustainability(r: _Reader) -> dict[str, Any]:
    eol = "/point1/endOfLife"
    cf = "/point1/carbonFootprint"
    status = r.get("/status", "sustainability.status")
    if status == "recycled":
        r.notes.append(
            "sustainability.status: the battery was recycled and its passport ceased; "
            "battery_pass has no such status, exported as waste"
        )
    declaration = _docs(r.opt(f"{cf}/declarationUrl"), "Carbon footprint declaration")
    plants = list(r.supplements.get("/operation/manufacturer/facility", []))
    klass = r.opt(f"{cf}/performanceClass")
    footprint: list[dict[str, Any]] = []
    for ours, lifecycle in (*_STAGES, ("total", "total")):
        footprint.append(
            {
                "value": r.num(f"{cf}/perKWh/{ours}", "sustainability.carbonFootprint"),
                "rulebook": [],
                "lifecycle": lifecycle,
                "unit": "kg CO2e / kWh",
                "type": "Climate Change Total",
                "manufacturingPlant": plants,
                "declaration": declaration,
            }
        )
    footprint.append(
        {
            "value": r.num(f"{cf}/absoluteKg/total", "sustainability.carbonFootprint"),
            "rulebook": [],
            "lifecycle": "total",
            "unit": "kg CO2e",
            "type": "Climate Change Total",
            "manufacturingPlant": plants,
            "declaration": declaration,
        }
    )
    if klass and klass != "placeholder-unsettled":
        footprint[4]["performanceClass"] = str(klass)
    r.notes.append(
        "sustainability.carbonFootprint.rulebook: the methodology is the Commission's delegated "
        "act, not a document the passport links; left empty"
    )
    separate = [
        *_docs(r.opt(f"{eol}/separateCollectionUrl"), "Separate collection"),
        *_docs(r.opt(f"{eol}/collectionInformationUrl"), "Collection and take-back points"),
    ]
    return {
        "documents": {
            "separateCollection": separate,
            "wastePrevention": _docs(r.opt(f"{eol}/wastePreventionUrl"), "Waste prevention"),
        },
        "carbonFootprint": footprint,
        "status": _STATUS.get(str(status), "original"),
    }


class _Materials:
    """The element-level view of points 1 and 2: where an element is, whether it is critical, its
    recycled share."""

    def __init__(self, r: _Reader) -> None:
        self.r = r
        self.recycled = r.opt("/point1/recycledContent") or {}
        self.masses = r.opt("/point2/elementMassesKg") or {}
        self.components = r.opt("/point2/composition") or []
        self.critical = {
            str(c.get("name", "")).lower() for c in (r.opt("/point1/criticalRawMaterials") or [])
        }

    def location(self, element: str) -> str:
        """The components whose materials name the element (derived from point 2)."""
        found = [
            str(c.get("component", ""))
            for c in self.components
            if any(element in str(m.get("name", "")).lower() for m in c.get("materials", []))
        ]
        return ", ".join(dict.fromkeys(found))

    def is_critical(self, element: str) -> bool:
        return any(element in name for name in self.critical)

    def recycled_share(self, element: str) -> int | float:
        """Pre- plus post-consumer recycled share; 0 for an element the battery does not contain
        in its active materials (no element mass), a gap otherwise."""
        share = self.recycled.get(element)
        if isinstance(share, Mapping):
            return _num(
                Decimal(str(share.get("preConsumerPercent", "0")))
                + Decimal(str(share.get("postConsumerPercent", "0")))
            )
        mass = self.masses.get(element)
        if mass is None or Decimal(str(mass)) == 0:
            self.r.notes.append(
                f"materials.active.{element}.recycled: the battery holds no {element} in its "
                "active materials (no element mass); exported as 0"
            )
            return 0
        self.r.gaps.append(
            {
                "pointer": f"/point1/recycledContent/{element}",
                "message": f"required by battery_pass: materials.active.{element}.recycled",
            }
        )
        return 0

    def active(self, element: str) -> dict[str, Any]:
        return {
            "location": self.location(element),
            "recycled": self.recycled_share(element),
            "documentation": [],
            "critical": self.is_critical(element),
        }


def _heavy(r: _Reader, m: _Materials, metal: str, *, recycled: bool) -> dict[str, Any]:
    pointer = f"/point1/heavyMetals/{metal}Percent"
    out: dict[str, Any] = {
        "impactOfSubstances": [],
        "concentration": r.num(pointer, f"materials.hazardous.{metal}.concentration"),
        "location": m.location(metal),
        "materialUnit": "unit:percent",
        "critical": m.is_critical(metal),
        "documentation": [],
    }
    if not out["location"]:
        r.notes.append(
            f"materials.*.{metal}.location: no component of point 2 names {metal}; left empty"
        )
    if recycled:
        out["recycled"] = m.recycled_share(metal)
    return out


def _materials(r: _Reader) -> dict[str, Any]:
    m = _Materials(r)
    active: dict[str, Any] = {element: m.active(element) for element in _ACTIVE}
    active["lead"] = _heavy(r, m, "lead", recycled=True)
    others = [e for e in m.recycled if e not in (*_ACTIVE, "lead")]
    if others:
        active["other"] = [
            {
                **m.active(element),
                "materialIdentification": [
                    {"id": _CAS.get(element, ""), "type": "CAS", "name": element}
                ],
            }
            for element in others
        ]
    hazardous: dict[str, Any] = {
        "cadmium": _heavy(r, m, "cadmium", recycled=False),
        "mercury": _heavy(r, m, "mercury", recycled=False),
        "lead": _heavy(r, m, "lead", recycled=True),
    }
    substances = r.opt("/point1/hazardousSubstances") or []
    if substances:
        hazardous["other"] = [
            {
                "impactOfSubstances": [
                    _doc(impact, h.get("hazardClass", ""), "text/plain")
                    for impact in h.get("impacts", [])
                ],
                "materialUnit": "unit:percent",
                "concentration": _num(h["concentrationPercent"]),
                "materialIdentification": [
                    {"id": h["casNumber"], "type": "CAS", "name": h["name"]}
                ],
                "documentation": [],
                "critical": False,
                "location": str(h.get("location", {}).get("component", "")),
            }
            for h in substances
        ]
    r.notes.append(
        "materials.composition: battery_pass asks each material's recycled and renewable share, "
        "which the passport does not hold per material; left empty (point 2's composition and "
        "point 1's recycled content per element are mapped to materials.active)"
    )
    return {"active": active, "hazardous": hazardous, "composition": []}


_PERF = "/point1/performance"
_SOH = "/point4/stateOfHealth"
_USE = "/point4/usage"


def _at_soc(r: _Reader, pointer: str, soc: int, why: str) -> int | float:
    for entry in r.opt(pointer) or []:
        if Decimal(str(entry.get("atSocPercent", "-1"))) == soc:
            return _num(entry["powerW"])
    r.gaps.append(
        {"pointer": pointer, "message": f"required by battery_pass: {why} (at {soc} % SoC)"}
    )
    return 0


def _ohm(milliohm: Any) -> int | float:
    return _num(Decimal(str(milliohm)) / 1000)


def _rated(r: _Reader) -> dict[str, Any]:
    p = _PERF
    resistance = r.get(f"{p}/internalResistance", "performance.rated.resistance") or {}
    rated: dict[str, Any] = {
        "voltage": {
            "min": r.num(f"{p}/voltage/minimumV", "rated.voltage.min"),
            "max": r.num(f"{p}/voltage/maximumV", "rated.voltage.max"),
            "nominal": r.num(f"{p}/voltage/nominalV", "rated.voltage.nominal"),
        },
        "roundTripEfficiency": {
            "depthOfDischarge": r.catenax_only(
                "/performance/rated/roundTripEfficiency/depthOfDischarge"
            ),
            "initial": r.num(f"{p}/roundTripEfficiency/initialPercent", "rated RTE initial"),
            "50PercentLife": r.num(
                f"{p}/roundTripEfficiency/at50PercentCycleLifePercent", "rated RTE 50PercentLife"
            ),
        },
        "energy": {"value": r.num(f"{p}/ratedEnergyKWh", "rated.energy")},
        "resistance": {},
        "power": {
            "value": r.num(f"{p}/power/ratedMaximumPowerW", "rated.power.value"),
            "at20SoC": _at_soc(r, f"{p}/power/originalPowerCapability", 20, "rated.power"),
            "at80SoC": _at_soc(r, f"{p}/power/originalPowerCapability", 80, "rated.power"),
        },
        "capacity": {
            "value": r.num(f"{p}/ratedCapacityAh", "rated.capacity.value"),
            "thresholdExhaustion": r.ev_only(
                f"{p}/capacityThresholdForExhaustionPercent", "rated.capacity.thresholdExhaustion"
            ),
        },
        "temperature": {
            "lower": r.num(f"{p}/temperatureRangeIdle/minimumC", "rated.temperature"),
            "upper": r.num(f"{p}/temperatureRangeIdle/maximumC", "rated.temperature"),
        },
        "selfDischargingRate": r.num(
            f"{p}/initialSelfDischargePercentPerMonth", "rated.selfDischargingRate"
        ),
        "lifetime": {
            "expectedYears": r.num(f"{p}/expectedLifetime/years", "lifetime.expectedYears"),
            "report": _docs(r.opt(f"{p}/expectedLifetime/referenceTestUrl"), "Cycle-life test"),
            "cycleLifeTesting": {
                "temperature": r.catenax_only(
                    "/performance/rated/lifetime/cycleLifeTesting/temperature"
                ),
                "cycles": r.num(f"{p}/expectedLifetime/cycles", "cycleLifeTesting.cycles"),
                "depthOfDischarge": r.catenax_only(
                    "/performance/rated/lifetime/cycleLifeTesting/depthOfDischarge"
                ),
                "appliedChargeRate": r.num(
                    f"{p}/expectedLifetime/cRateOfTest", "cycleLifeTesting.appliedChargeRate"
                ),
                "appliedDischargeRate": r.num(
                    f"{p}/expectedLifetime/cRateOfTest", "cycleLifeTesting.appliedDischargeRate"
                ),
            },
        },
    }
    for ours, theirs in (("cellMilliohm", "cell"), ("moduleMilliohm", "module")):
        if ours in resistance:
            rated["resistance"][theirs] = _ohm(resistance[ours])
    for ours, theirs in (("cellMilliohm", "cell"), ("packMilliohm", "pack")):
        if ours not in resistance:
            r.gaps.append(
                {
                    "pointer": f"{p}/internalResistance/{ours}",
                    "message": f"required by battery_pass: rated.resistance.{theirs}",
                }
            )
    if "packMilliohm" in resistance:
        rated["resistance"]["pack"] = _ohm(resistance["packMilliohm"])
    reports = r.opt("/point3/testReports") or []
    if reports:
        rated["testReport"] = [
            _doc(t["reportUrl"], str(t.get("title", "Test report")))
            for t in reports
            if t.get("reportUrl")
        ]
    r.notes.append(
        "rated.lifetime.cycleLifeTesting: the passport states one C-rate of the cycle-life test "
        "(Annex IV); exported as both the applied charge and discharge rate"
    )
    r.notes.append(
        "rated.resistance, dynamic.resistance.remaining: in ohm (the passport: milliohm)"
    )
    return rated


def _timed(value: int | float, time: Any) -> dict[str, Any]:
    return {"value": value, "time": str(time)}


def _resistance_dynamic(r: _Reader, measured: Any) -> dict[str, Any]:
    """Increase per component as measured; a component the measurements omit is 0 only while the
    state of health is still the one at issue (a new battery's by definition), a gap otherwise.
    The remaining resistance is derived: initial resistance x (1 + increase)."""
    initial = r.opt(f"{_PERF}/internalResistance") or {}
    increases = {
        str(x.get("component")): Decimal(str(x["increasePercent"]))
        for x in (r.opt(f"{_SOH}/internalResistanceIncrease") or [])
    }
    at_issue = measured is not None and measured == r.opt("/issuedAt")
    out: dict[str, Any] = {"increase": {}, "remaining": {}}
    for component in ("pack", "cell", "module"):
        increase = increases.get(component)
        if increase is None and at_issue:
            increase = Decimal(0)
            r.notes.append(
                f"dynamic.resistance.increase.{component}: not measured since issue; 0 for a "
                "new battery by definition"
            )
        if increase is None:
            if component != "module":
                r.gaps.append(
                    {
                        "pointer": f"{_SOH}/internalResistanceIncrease",
                        "message": "required by battery_pass: dynamic.resistance.increase."
                        f"{component}",
                    }
                )
            continue
        out["increase"][component] = _timed(_num(increase), measured)
        base = initial.get(f"{component}Milliohm")
        if base is not None:
            out["remaining"][component] = _timed(
                _ohm(Decimal(str(base)) * (1 + increase / 100)), measured
            )
    return out


def _dynamic(r: _Reader) -> dict[str, Any]:
    soh, use = _SOH, _USE
    measured = r.get(f"{soh}/measuredAt", "dynamic values' time")
    recorded = r.get(f"{use}/recordedAt", "dynamic values' time")
    remaining_power = r.opt(f"{soh}/remainingPowerCapability") or []
    if not remaining_power:
        r.gaps.append(
            {
                "pointer": f"{soh}/remainingPowerCapability",
                "message": "required by battery_pass: dynamic.power.remaining",
            }
        )
    elif len(remaining_power) > 1:
        r.notes.append(
            "dynamic.power.remaining: battery_pass takes one value; exported the first state of "
            "charge's"
        )
    dynamic: dict[str, Any] = {
        "stateOfCharge": _timed(
            r.num(f"{use}/stateOfChargePercent", "dynamic.stateOfCharge"), recorded
        ),
        "fullCycles": _timed(r.num(f"{use}/fullCycles", "dynamic.fullCycles"), recorded),
        "selfDischargingRate": r.num(
            f"{soh}/selfDischargeRatePercentPerMonth", "dynamic.selfDischargingRate"
        ),
        "power": {
            "fade": _timed(r.num(f"{soh}/powerFadePercent", "dynamic.power.fade"), measured),
            "remaining": _timed(
                _num(remaining_power[0]["powerW"]) if remaining_power else 0, measured
            ),
        },
        "capacity": {
            "fade": _timed(r.num(f"{soh}/capacityFadePercent", "dynamic.capacity.fade"), measured),
            "throughput": _timed(
                r.num(f"{use}/capacityThroughputAh", "dynamic.capacity.throughput"), recorded
            ),
            "capacity": _timed(
                r.num(f"{soh}/remainingCapacityAh", "dynamic.capacity.capacity"), measured
            ),
        },
        "roundTripEfficiency": {
            "fade": _timed(
                r.num(f"{soh}/roundTripEfficiencyFadePercent", "dynamic RTE fade"), measured
            ),
            "remaining": _timed(
                r.num(f"{soh}/remainingRoundTripEfficiencyPercent", "dynamic RTE remaining"),
                measured,
            ),
        },
        "resistance": _resistance_dynamic(r, measured),
        "energy": {
            "soce": _timed(
                r.ev_only(f"{soh}/stateOfCertifiedEnergyPercent", "dynamic.energy.soce"), measured
            ),
            "remaining": _timed(
                r.num(f"{soh}/remainingEnergyKWh", "dynamic.energy.remaining"), measured
            ),
        },
    }
    throughput = r.opt(f"{use}/energyThroughputKWh")
    if throughput is not None:
        dynamic["energy"]["throughput"] = _timed(_num(throughput), recorded)
    events = r.opt(f"{use}/negativeEvents") or []
    if events:
        dynamic["negativeEvents"] = [
            _doc(
                f"{e['occurredAt']}" + (f": {e['description']}" if e.get("description") else ""),
                str(e["event"]),
                "text/plain",
            )
            for e in events
        ]
    return dynamic


def _conformity(r: _Reader) -> dict[str, Any]:
    rs = "/point1/responsibleSourcing"
    return {
        "declarationOfConformity": _docs(
            r.get("/point1/declarationOfConformityUrl", "conformity.declarationOfConformity"),
            "EU declaration of conformity",
        ),
        "resultOfTestReport": [
            _doc(t["reportUrl"], str(t.get("title", "Test report")))
            for t in (r.opt("/point3/testReports") or [])
            if t.get("reportUrl")
        ],
        "thirdPartyAssurance": _docs(
            r.opt(f"{rs}/thirdPartyAssurancesUrl"), "Third-party verification"
        ),
        "dueDiligencePolicy": _docs(r.opt(f"{rs}/reportUrl"), "Supply chain due diligence report"),
    }


def _safety(r: _Reader) -> dict[str, Any]:
    agents = r.opt("/point1/extinguishingAgents") or []
    if agents:
        r.notes.append(
            "safety.usableExtinguishAgent.fireClass: the passport names the agents, not the fire "
            "classes; left empty"
        )
    measures = r.opt("/point2/safetyMeasures") or {}
    return {
        "usableExtinguishAgent": [{"media": str(a), "fireClass": ""} for a in agents],
        "safetyMeasures": [
            *_docs(measures.get("instructionsUrl"), "Safety instructions"),
            *(_doc(text, "Safety measure", "text/plain") for text in measures.get("measures", [])),
        ],
        "meaningOfLabels": [
            _doc(label["symbolUrl"], str(label.get("meaning", "")))
            for label in (r.opt("/point1/labels") or [])
        ],
        "dismantling": [
            _doc(d["url"], str(d.get("documentType", "Dismantling")))
            for d in (r.opt("/point2/dismantling") or [])
        ],
    }


def _metadata(r: _Reader) -> dict[str, Any]:
    operator = r.supplements.get("/metadata/economicOperatorId")
    held = str(r.opt("/economicOperator/id") or "")
    if operator is None and _BPNL.match(held):
        operator = held
    elif operator is None:
        operator = r.catenax_only("/metadata/economicOperatorId")
    predecessor = r.opt("/predecessor")
    backup = r.supplements.get("/metadata/backupReference")
    if backup is None:
        r.notes.append("metadata.backupReference: no backup reference is held; left empty")
    passport_id = str(r.get("/passportId", "metadata.passportIdentifier"))
    out: dict[str, Any] = {
        "version": str(r.get("/schemaVersion", "metadata.version")),
        "expirationDate": r.catenax_only("/metadata/expirationDate"),
        "issueDate": _date(r.get("/issuedAt", "metadata.issueDate")),
        "economicOperatorId": operator,
        "passportIdentifier": _uuid(passport_id),
        "predecessor": _uuid(str(predecessor)) if predecessor else NO_PREDECESSOR,
        "backupReference": str(backup or ""),
        "lastModification": _date(r.get("/lastUpdated", "metadata.lastModification")),
    }
    if _PASSPORT_ID.match(passport_id):
        r.notes.append(
            "metadata.passportIdentifier: urn:bpass:<32 hex> re-spelt as urn:uuid: (same 128 bits)"
        )
    if "/metadata/registrationIdentifier" in r.supplements:
        out["registrationIdentifier"] = r.supplements["/metadata/registrationIdentifier"]
    return out


def _handling(r: _Reader) -> dict[str, Any]:
    parts = [
        {"manufacturerPartId": str(p["partNumber"]), "nameAtManufacturer": str(p["partName"])}
        for p in (r.opt("/point2/partNumbers") or [])
    ]
    return {
        "content": {
            "producer": list(r.supplements.get("/handling/content/producer", [])),
            "sparePart": parts,
        },
        "applicable": bool(parts),
    }


def _sources(r: _Reader) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    study = r.opt("/point1/carbonFootprint/studyUrl")
    if study:
        out.append(
            {
                "content": str(study),
                "category": "Environmental Impact",
                "type": "URL",
                "header": "Carbon footprint study",
            }
        )
    web = r.opt("/point1/manufacturer/webUrl")
    if web:
        out.append(
            {
                "content": str(web),
                "category": "Manufacturer Information",
                "type": "URL",
                "header": "Manufacturer",
            }
        )
    return out


def _check_supplements(supplements: Mapping[str, Any]) -> dict[str, Any]:
    problems: list[dict[str, str]] = []
    out: dict[str, Any] = {}
    for pointer, value in supplements.items():
        spec = SUPPLEMENTS.get(pointer)
        if spec is None:
            problems.append(
                {
                    "pointer": pointer,
                    "message": "not a Catena-X-only value (passport data is never overridden); "
                    f"one of {', '.join(SUPPLEMENTS)}",
                }
            )
            continue
        ok = {
            "bpnl": isinstance(value, str) and bool(_BPNL.match(value)),
            "date": isinstance(value, str) and bool(_DATE.match(value)),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "text": isinstance(value, str),
            "bpna-list": isinstance(value, list)
            and all(
                isinstance(v, dict) and set(v) == {"facility"} and _BPNA.match(str(v["facility"]))
                for v in value
            ),
            "bpnl-list": isinstance(value, list)
            and all(
                isinstance(v, dict) and set(v) == {"id"} and _BPNL.match(str(v["id"]))
                for v in value
            ),
        }[spec.kind]
        if not ok:
            problems.append(
                {"pointer": pointer, "message": f"malformed ({spec.kind}): {spec.description}"}
            )
        out[pointer] = copy.deepcopy(value)
    if problems:
        raise ExportSupplementError(problems)
    return out


def parse_supplement(text: str) -> tuple[str, Any]:
    """``POINTER=VALUE``: the value is taken as a JSON number or list if it parses as one, as
    text otherwise (so ``/metadata/expirationDate=2040-12-31`` is the date text)."""
    pointer, sep, raw = text.partition("=")
    if not sep or not pointer.startswith("/"):
        raise ExportSupplementError(
            [{"pointer": pointer or text, "message": "expected POINTER=VALUE, e.g. /metadata/..."}]
        )
    try:
        value: Any = json.loads(raw)
    except ValueError:
        return pointer, raw
    if isinstance(value, list) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return pointer, value
    return pointer, raw


def export_catenax(
    document: Mapping[str, Any], *, supplements: Mapping[str, Any] | None = None
) -> CatenaXExport:
    """The ``io.catenax.battery.battery_pass`` 6.1.0 payload of a full passport document; refuses
    (listing every gap) if the schema requires a value neither the passport nor a supplement
    gives."""
    given = _check_supplements(supplements or {})
    r = _Reader(document, given)
    payload: dict[str, Any] = {
        "specVersion": SPEC_VERSION,
        "identification": _identification(r),
        "operation": _operation(r),
        "characteristics": _characteristics(r),
        "sustainability": _sustainability(r),
        "materials": _materials(r),
        "performance": {"rated": _rated(r), "dynamic": _dynamic(r)},
        "conformity": _conformity(r),
        "safety": _safety(r),
        "sources": _sources(r),
        "metadata": _metadata(r),
        "commercial": {"purpose": ["automotive"] if r.opt("/point1/category") == "ev" else []},
        "handling": _handling(r),
    }
    if not payload["commercial"]["purpose"]:
        r.notes.append(
            "commercial.purpose: only an EV battery is automotive by its category; left empty"
        )
    for pointer in given:
        node: Any = payload
        keys = parts_of(pointer)
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = copy.deepcopy(given[pointer])
    if r.gaps:
        unique = {(g["pointer"], g["message"]): g for g in r.gaps}
        raise ExportIncompleteError(
            sorted(unique.values(), key=lambda g: g["pointer"]), "the Catena-X battery_pass export"
        )
    notes = list(dict.fromkeys(r.notes))
    notes.append(
        "the payload holds all four partitions (points 2 to 4 included): for the economic "
        "operator's data-space exchange, not for serving to a reader"
    )
    return CatenaXExport(payload=payload, notes=notes, supplied=sorted(given))
