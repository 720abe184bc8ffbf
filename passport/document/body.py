"""The passport document: assembled from the OEM's model data and the ledger's roll-ups at issue,
and reassembled from the ledger records and signed partitions whenever it is read.

The document's layout is the JSON schema's (``schemas/battery-passport.schema.json``): passport
metadata at the top, then ``point1`` … ``point4``. The model data file (``bpass passport issue
--model``) has the same layout without metadata and without the figures the ledger owns
(:data:`LEDGER_FIGURES`), so a problem's JSON pointer reads the same in both.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from passport.document.ids import new_salt
from passport.document.partitions import PARTITION_FIELD, SALTED_PARTITIONS

SCHEMA_VERSION = "1.0.0"

LEDGER_FIGURES: tuple[str, ...] = (
    "/point1/carbonFootprint/perKWh",
    "/point1/carbonFootprint/absoluteKg",
    "/point1/carbonFootprint/primaryDataSharePercent",
    "/point1/carbonFootprint/performanceClass",
    "/point1/carbonFootprint/classTable",
    "/point1/recycledContent",
    "/point1/responsibleSourcing/dueDiligence",
    "/point1/responsibleSourcing/materials",
    "/point1/responsibleSourcing/graphite",
    "/point1/responsibleSourcing/certifications",
    "/point1/responsibleSourcing/riskFlags",
    "/point2/elementMassesKg",
    "/point3/supplyChainEvidence",
)
"""Pointers of the figures rolled up from the ledger's provenance records, never typed in."""

MODEL_FIELDS = frozenset({"point1", "point2", "point3", "point4", "economicOperator"})


def parts_of(pointer: str) -> list[str]:
    """The keys along an RFC 6901 pointer."""
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def get_at(doc: Any, pointer: str) -> Any:
    """The value at ``pointer`` (object keys only), or None."""
    node = doc
    for key in parts_of(pointer):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def set_at(doc: dict[str, Any], pointer: str, value: Any) -> None:
    """Set the value at ``pointer``, creating objects along the way (non-objects are left alone)."""
    keys = parts_of(pointer)
    node: Any = doc
    for key in keys[:-1]:
        if not isinstance(node, dict):
            return
        if not isinstance(node.get(key), dict):
            if key in node:
                return
            node[key] = {}
        node = node[key]
    if isinstance(node, dict):
        node[keys[-1]] = value


def deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` applied: objects merge recursively, anything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def initial_point4(point1: Any, given: Any, at: str) -> dict[str, Any]:
    """Point 4 at placing on the market: what the model data gives, completed with the values a
    new battery has by definition (no fade, no cycles, no throughput, no events, remaining = rated).

    The state of charge at delivery is not known by definition; the model data must give it.
    """
    perf = point1.get("performance", {}) if isinstance(point1, dict) else {}
    perf = perf if isinstance(perf, dict) else {}
    rte = perf.get("roundTripEfficiency", {})
    power = perf.get("power", {})
    new_battery: dict[str, Any] = {
        "stateOfHealth": {
            "measuredAt": at,
            "capacityFadePercent": "0",
            "powerFadePercent": "0",
            "roundTripEfficiencyFadePercent": "0",
            "internalResistanceIncrease": [{"component": "pack", "increasePercent": "0"}],
        },
        "usage": {
            "recordedAt": at,
            "fullCycles": 0,
            "energyThroughputKWh": "0",
            "capacityThroughputAh": "0",
            "temperature": {
                "timeExtremeHighHours": "0",
                "timeExtremeLowHours": "0",
                "timeExtremeHighChargingHours": "0",
                "timeExtremeLowChargingHours": "0",
            },
            "negativeEvents": [],
        },
    }
    soh = new_battery["stateOfHealth"]
    for target, source in (
        ("remainingCapacityAh", perf.get("ratedCapacityAh")),
        ("remainingEnergyKWh", perf.get("ratedEnergyKWh")),
        (
            "remainingRoundTripEfficiencyPercent",
            rte.get("initialPercent") if isinstance(rte, dict) else None,
        ),
        ("selfDischargeRatePercentPerMonth", perf.get("initialSelfDischargePercentPerMonth")),
        (
            "remainingPowerCapability",
            power.get("originalPowerCapability") if isinstance(power, dict) else None,
        ),
    ):
        if source is not None:
            soh[target] = copy.deepcopy(source)
    if isinstance(point1, dict) and point1.get("category") == "ev":
        soh["stateOfCertifiedEnergyPercent"] = "100"
    return deep_merge(new_battery, given if isinstance(given, Mapping) else {})


def new_document(
    model: Mapping[str, Any],
    figures: Mapping[str, Any],
    *,
    passport_id: str,
    battery_id: str,
    issued_at: str,
    operator: Mapping[str, Any],
    status: str = "original",
    predecessor: str | None = None,
) -> dict[str, Any]:
    """A complete passport document for issue: model data, ledger figures, metadata, fresh salts.

    A figure the model data also gives is left as the model says, so that validation against the
    roll-ups reports the difference instead of silently overwriting it.
    """
    doc: dict[str, Any] = {
        "passportId": passport_id,
        "schemaVersion": SCHEMA_VERSION,
        "batteryId": battery_id,
        "status": status,
        "issuedAt": issued_at,
        "lastUpdated": issued_at,
        "economicOperator": dict(operator),
    }
    if predecessor is not None:
        doc["predecessor"] = predecessor
    for number in (1, 2, 3):
        field = PARTITION_FIELD[number]
        doc[field] = copy.deepcopy(model.get(field, {}))
    doc["point4"] = initial_point4(doc["point1"], model.get("point4"), issued_at)
    for pointer, value in figures.items():
        if get_at(doc, pointer) is None:
            set_at(doc, pointer, copy.deepcopy(value))
    for number in sorted(SALTED_PARTITIONS):
        part = doc[PARTITION_FIELD[number]]
        if isinstance(part, dict):
            part["salt"] = new_salt()
    return doc


def document_from(
    passport_subject: Mapping[str, Any],
    issued_at: str,
    parts: Mapping[int, Mapping[str, Any]],
    *,
    status: str,
    last_updated: str,
    successor: str | None = None,
    ceased_at: str | None = None,
) -> dict[str, Any]:
    """The passport document from its BatteryPassport record's subject, its current status and the
    data of the partitions at hand (a role's view has only some of them)."""
    doc: dict[str, Any] = {
        "passportId": passport_subject["passportId"],
        "schemaVersion": passport_subject["schemaVersion"],
        "batteryId": passport_subject["batteryId"],
        "status": status,
        "issuedAt": issued_at,
        "lastUpdated": last_updated,
        "economicOperator": copy.deepcopy(passport_subject["economicOperator"]),
    }
    predecessor = passport_subject.get("predecessor")
    if predecessor:
        doc["predecessor"] = predecessor["passportId"]
    if successor:
        doc["successor"] = successor
    if ceased_at:
        doc["ceasedAt"] = ceased_at
    for number, data in sorted(parts.items()):
        doc[PARTITION_FIELD[number]] = copy.deepcopy(dict(data))
    return doc
