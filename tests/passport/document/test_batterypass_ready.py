"""The 79 mandatory attributes of the BatteryPass-Ready EV list (GEFEG's validation schema for
EV batteries, data model 1.0, built on DIN DKE SPEC 99100): each is filled for the sample EV
pack and carried by the Battery Pass export, and a fresh passport (not yet put into service)
exports them too, every aspect validating against the upstream schemas.

The list is read from the published schema (copied unchanged, see
tests/data/external-schemas/SOURCES.md); where each attribute sits in our passport and in the
export is tests/data/batterypass-ready-ev-mandatory.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from passport.document.body import get_at
from passport.document.exports.batterypass import BatteryPassExport, export_batterypass
from passport.ledger.pipeline import Ledger
from signing.keys import SigningKey
from tests.helpers.passport import aspect_errors, fresh_and_in_service
from tests.helpers.sample_passports import sample_document

DATA = Path(__file__).resolve().parents[2] / "data"
SCHEMA = DATA / "external-schemas" / "batterypass-ready-1.0" / "EV_batterypass_1.0.json"
SCHEMA_SHA256 = "e581ab6092b715b3ddcaca60d64df167b756670d5ff4feacd2ebfd14abe4868b"
"""The copy's hash as SOURCES.md records it: the file is the published one, unchanged."""
FIELDS: list[dict[str, str]] = json.loads(
    (DATA / "batterypass-ready-ev-mandatory.json").read_text(encoding="utf-8")
)["fields"]


def _required_by_group() -> set[tuple[str, str]]:
    """(group, attribute) for every attribute the EV schema's seven groups require."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    defs = schema["$defs"]
    master = defs["Battery_Passport_Master"]
    assert schema["required"] == ["Battery_Passport"]
    assert sorted(master["required"]) == sorted(master["properties"])  # all seven groups
    return {(group, name) for group in master["required"] for name in defs[group]["required"]}


def _select(node: Any, segment: str) -> Any:
    """``name`` or ``name[v1,v2]``: the list entries under ``name`` having one of the values
    (a subject, material, stage or item); ``None`` unless each value has its entry."""
    name, _, wanted = segment.partition("[")
    node = node.get(name) if isinstance(node, dict) else None
    if not wanted:
        return node
    values = wanted.rstrip("]").split(",")
    entries = [
        e for e in node or [] if isinstance(e, dict) and any(v in values for v in e.values())
    ]
    if len(entries) != len(values):
        return None
    return entries[0] if len(entries) == 1 else entries


def _in_export(exported: BatteryPassExport, path: str) -> Any:
    head, *rest = path.split("/")
    node: Any = exported.supplement if head == "supplement" else exported.aspects[head]
    for segment in rest:
        if segment.isdigit():
            node = node[int(segment)] if isinstance(node, list) and node else None
        elif isinstance(node, list):  # a selection of several entries: each must have it
            node = [_select(n, segment) for n in node]
            node = node if all(_filled(n) for n in node) else None
        else:
            node = _select(node, segment)
    return node


def _in_passport(doc: dict[str, Any], where: str) -> Any:
    kind, _, what = where.partition(":")
    if kind == "notApplicable":
        stated = {e["item"]: e["reason"] for e in doc["point1"].get("notApplicable", [])}
        return [stated[i] for i in what.split(",")] if set(what.split(",")) <= set(stated) else None
    if kind == "each":
        pointer, _, key = what.rpartition(":")
        impacts = [e.get(key) for e in get_at(doc, pointer) or []]
        return impacts if impacts and all(impacts) else None
    if kind == "label":
        return next((x["symbolUrl"] for x in doc["point1"]["labels"] if x["subject"] == what), None)
    return "derived" if where == "derived" else get_at(doc, where)


def _filled(value: Any) -> bool:
    return value is not None and value not in ("", {}, [])


def _held(field: dict[str, str], doc: dict[str, Any]) -> bool:
    value = _in_passport(doc, field["passport"])
    no_accident = field["attribute"] == "InformationOnAccidents" and value == []  # an answer
    return _filled(value) or no_accident


def test_the_copy_is_the_published_schema_and_the_list_is_its_79_required_attributes() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    required = _required_by_group()
    assert len(required) == 79
    listed = [(f["group"], f["attribute"]) for f in FIELDS]
    assert len(listed) == len(set(listed)) and set(listed) == required


def test_every_batterypass_ready_ev_attribute_is_filled_and_exported(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    sample = fresh_and_in_service(ledger, operator_key)
    fresh, fresh_export = sample.fresh, sample.fresh_export
    in_service, exported = sample.in_service, sample.in_service_export
    unfilled, unexported, fresh_wrong = [], [], []
    for f in FIELDS:
        if not _held(f, in_service):
            unfilled.append(f["attribute"])
        if not _filled(_in_export(exported, f["export"])):
            unexported.append(f["attribute"])
        in_fresh = _filled(_in_export(fresh_export, f["export"]))
        if in_fresh == ("fresh" in f):
            fresh_wrong.append(f["attribute"])
    assert unfilled == [] and unexported == [] and fresh_wrong == []
    # both exports are valid Battery Pass; the fresh one says why its warranty has no end yet
    for document, export in ((in_service, exported), (fresh, fresh_export)):
        assert aspect_errors(document, export) == []
    assert "endDateNote" in fresh_export.supplement["warranty"]


def test_a_removed_attribute_is_found_missing() -> None:
    """The check above can fail: without the impacts of its hazardous substance, its carbon
    footprint label and its Pb-symbol statement the sample misses three attributes."""
    doc = sample_document("ev")  # in service
    doc["point1"]["hazardousSubstances"][0]["impacts"] = []
    doc["point1"]["labels"] = [
        x for x in doc["point1"]["labels"] if x["subject"] != "carbonFootprint"
    ]
    doc["point1"]["notApplicable"] = [
        e for e in doc["point1"]["notApplicable"] if e["item"] != "leadSymbol"
    ]
    exported = export_batterypass(doc)
    missing = [
        f["attribute"]
        for f in FIELDS
        if not (_held(f, doc) and _filled(_in_export(exported, f["export"])))
    ]
    assert missing == [
        "ImpactOfSubstancesOnEnvironmentHumanHealthSafetyPersons",
        "SymbolsForCadmiumAndLead",
        "CarbonFootprintLabel",
    ]
