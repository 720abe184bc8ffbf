"""Shared helpers of the passport tests (no tests here): sample issuance, ledger state snapshots,
schema and document leaf enumeration, the external Battery Pass schemas."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

from passport.document.body import get_at
from passport.document.exports.batterypass import BatteryPassExport, export_batterypass
from passport.ledger.pipeline import Ledger
from passport.service.issue import IssuedPassport, issue_passport
from passport.service.lifecycle import mandate, update_passport
from passport.service.views import current_version, full_document
from passport.store.sql.repository import Repository
from samples.generate import SampleSummary, build_sample_ledger
from signing.keys import SigningKey
from tests.conftest import _new_db_url
from tests.helpers.sample_passports import (
    SampleChain,
    build_sample_chain,
    sample_document,
    sample_model,
)

BASE = "https://id.voltaris.example"
EXTERNAL = Path(__file__).resolve().parents[1] / "data" / "external-schemas" / "batterypass-1.2"
BATTERYPASS_SCHEMAS = {
    "GeneralProductInformation": "io.BatteryPass.GeneralProductInformation/1.2.0/gen/GeneralProductInformation-schema.json",
    "CarbonFootprintForBatteries": "io.BatteryPass.CarbonFootprint/1.2.0/gen/CarbonFootprintForBatteries-schema.json",
    "Circularity": "io.BatteryPass.Circularity/1.2.0/gen/Circularity-schema.json",
    "Labeling": "io.BatteryPass.Labels/1.2.0/gen/Labeling-schema.json",
    "MaterialComposition": "io.BatteryPass.MaterialComposition/1.2.0/gen/MaterialComposition-schema.json",
    "PerformanceAndDurability": "io.BatteryPass.Performance/1.2.1/gen/PerformanceAndDurability.schema",
    "SupplyChainDueDiligence": "io.BatteryPass.SupplyChainDueDiligence/1.2.0/gen/SupplyChainDueDiligence-schema.json",
}
PERFORMANCE_120 = "io.BatteryPass.Performance/1.2.0/gen/PerformanceAndDurability-schema.json"
ABSENT_AS_ALLOWED: dict[str, tuple[str, tuple[str, ...]]] = {
    "puttingIntoService": ("GeneralProductInformation", ()),
    "warrentyPeriod": ("GeneralProductInformation", ()),
    "capacityThresholdForExhaustion": ("PerformanceAndDurability", ("batteryTechicalProperties",)),
    "stateOfCertifiedEnergy": ("PerformanceAndDurability", ("batteryCondition",)),
}
"""Battery Pass members the upstream schemas list as required with no way to say "absent" (no
null, no empty value): member -> (aspect, the object that holds it). Each may be missing only
when :func:`allowed_absences` says so for the exported passport, and nowhere else
(tests/data/external-schemas/SOURCES.md, docs/interop.md "Left out")."""


def allowed_absences(document: Mapping[str, Any]) -> dict[str, str]:
    """The members of :data:`ABSENT_AS_ALLOWED` this passport may export without, and why: the
    date of putting into service before it is recorded ("where appropriate", DIN DKE SPEC 99100
    6.1.3.3); the capacity threshold for exhaustion and the state of certified energy of a
    non-EV battery that does not state them (Annex XIII 1(s), 4(b): EV only); the warranty
    over 12 months (``warrentyPeriod`` is an xsd:gMonth, ``--MM``, which cannot hold it)."""
    out: dict[str, str] = {}
    if get_at(document, "/point4/puttingIntoService") is None:
        out["puttingIntoService"] = "not yet put into service"
    if get_at(document, "/point1/category") != "ev":
        if get_at(document, "/point1/performance/capacityThresholdForExhaustionPercent") is None:
            out["capacityThresholdForExhaustion"] = "EV only"
        if get_at(document, "/point4/stateOfHealth/stateOfCertifiedEnergyPercent") is None:
            out["stateOfCertifiedEnergy"] = "EV only"
    months = get_at(document, "/point1/performance/warrantyPeriodMonths")
    if isinstance(months, int) and months > 12:
        out["warrentyPeriod"] = "over 12 months: --MM cannot hold it"
    return out


def schema_errors(
    name: str,
    payload: Any,
    performance_version: str = "1.2.1",
    *,
    document: Mapping[str, Any] | None = None,
) -> list[str]:
    """The upstream schema's errors for one aspect. Given the exported ``document``, a member
    :func:`allowed_absences` allows it to lack is not an error, if missing exactly where
    :data:`ABSENT_AS_ALLOWED` places it (the upstream schemas cannot say "absent")."""
    path = (
        PERFORMANCE_120
        if name == "PerformanceAndDurability" and performance_version == "1.2.0"
        else BATTERYPASS_SCHEMAS[name]
    )
    allowed = allowed_absences(document) if document is not None else {}
    excused = {
        (ABSENT_AS_ALLOWED[m][1], f"'{m}' is a required property")
        for m in allowed
        if ABSENT_AS_ALLOWED[m][0] == name
    }
    as_sent = json.loads(json.dumps(payload))
    return [
        f"{list(e.absolute_path)}: {e.message}"
        for e in external_validator(path).iter_errors(as_sent)
        if not (e.validator == "required" and (tuple(e.absolute_path), e.message) in excused)
    ]


def aspect_errors(
    document: Mapping[str, Any], exported: Any, performance_version: str = "1.2.1"
) -> list[str]:
    """Every aspect's :func:`schema_errors` (aspect name first), with the document's allowed
    absences."""
    return [
        f"{name} {error}"
        for name, payload in exported.aspects.items()
        for error in schema_errors(name, payload, performance_version, document=document)
    ]


@cache
def external_validator(relpath: str) -> Draft4Validator:
    """A draft-04 validator of one Battery Pass schema (files may carry a UTF-8 BOM)."""
    schema = json.loads((EXTERNAL / relpath).read_text(encoding="utf-8-sig"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def issue_sample(
    ledger: Ledger,
    operator_key: SigningKey,
    *,
    serial: str = "P75-000001",
    tag: str = "s1",
    mandate_repairer: bool = True,
) -> tuple[SampleChain, IssuedPassport]:
    """The sample supply chain and the OEM's passport for its pack (by default with a mandate
    for the chain's repairer to update point 4)."""
    chain = build_sample_chain(ledger, operator_key, tag=tag)
    issued = issue_passport(
        ledger,
        chain.keys["oem"],
        pack_lot=chain.pack_lot,
        model=sample_model("ev"),
        base_url=BASE,
        serial=serial,
    )
    if mandate_repairer:
        mandate(ledger, chain.keys["oem"], issued.passport_id, chain.did("repairer"))
    return chain, issued


@dataclass(frozen=True)
class FreshAndInService:
    """The sample passport's full document and Battery Pass export as issued (``fresh``), and
    again once the OEM put the battery into service."""

    chain: SampleChain
    fresh: dict[str, Any]
    fresh_export: BatteryPassExport
    in_service: dict[str, Any]
    in_service_export: BatteryPassExport


def fresh_and_in_service(ledger: Ledger, operator_key: SigningKey) -> FreshAndInService:
    """Issue the sample passport, export it, put it into service (a PassportUpdate of
    ``puttingIntoService``) and export it again."""
    chain, issued = issue_sample(ledger, operator_key)
    fresh = full_document(ledger, issued.passport_id)
    fresh_export = export_batterypass(fresh, version=current_version(ledger, issued.passport_id))
    update_passport(
        ledger,
        chain.keys["oem"],
        issued.passport_id,
        {"puttingIntoService": issued.document["issuedAt"]},
    )
    in_service = full_document(ledger, issued.passport_id)
    return FreshAndInService(chain, fresh, fresh_export, in_service, export_batterypass(in_service))


def snapshot(ledger: Ledger) -> tuple[Any, ...]:
    """Everything a rejected append must leave unchanged."""
    with ledger.repo.read() as tx:
        size, _ = tx.log_size()
        cp = tx.latest_checkpoint()
        rows = tx.passports().all_passports(limit=10_000)
        parts = sum(len(tx.passports().partitions_of(r.passport_id)) for r in rows)
        events = sum(len(tx.passports().events(r.passport_id)) for r in rows)
        return size, tx.count_records(), cp.note if cp else "", rows, parts, events


def complete_document() -> dict[str, Any]:
    """A schema-valid document holding every field the schema defines (for leaf enumeration)."""
    doc = sample_document("ev")
    doc["status"] = "repurposed"
    doc["predecessor"] = "urn:bpass:" + "1" * 32
    doc["successor"] = "urn:bpass:" + "2" * 32
    doc["ceasedAt"] = "2026-11-06T00:00:00Z"
    for origin in doc["point1"]["responsibleSourcing"]["materials"].values():
        origin.setdefault("artisanalPercent", "0.00")
        origin.setdefault("cahraPercent", "0.00")
        origin.setdefault("oreTypes", [{"oreType": "sedimentary", "sharePercent": "100.00"}])
    doc["point1"]["recycledContent"]["lead"] = {
        "preConsumerPercent": "0",
        "postConsumerPercent": "0",
    }
    doc["point4"]["usage"]["negativeEvents"] = [
        {
            "event": "accident",
            "occurredAt": "2026-11-03T10:00:00Z",
            "description": "minor collision",
        }
    ]
    doc["point4"]["stateOfHealth"]["remainingCapacityAh"] = "199"
    return doc


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_leaves(
    schema: dict[str, Any], node: dict[str, Any] | None = None, path: str = ""
) -> set[str]:
    """Every leaf field the schema defines, as pointer patterns (``*`` for array items)."""
    node = _resolve(schema, node if node is not None else schema)
    if "properties" in node:
        out: set[str] = set()
        for key, sub in node["properties"].items():
            out |= schema_leaves(schema, sub, f"{path}/{key}")
        return out
    if isinstance(node.get("items"), dict):
        return schema_leaves(schema, node["items"], f"{path}/*")
    return {path}


def doc_leaves(value: Any, path: str = "") -> set[str]:
    """Every leaf of a document, as pointer patterns (``*`` for array items)."""
    if isinstance(value, dict):
        out: set[str] = set()
        for key, sub in value.items():
            out |= doc_leaves(sub, f"{path}/{key}")
        return out
    if isinstance(value, list):
        out = set()
        for item in value:
            out |= doc_leaves(item, f"{path}/*")
        return out
    return {path}


def copy_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """A deep copy (tests mutate documents)."""
    return copy.deepcopy(doc)


@contextmanager
def sample_world(
    folder: Path, packs: int, chemistry: str = "NMC811"
) -> Iterator[tuple[Ledger, SampleSummary]]:
    """The sample supply chain of ``samples/`` with ``packs`` issued passports of the
    ``chemistry`` design, on a fresh database of the backend under test (dropped afterwards)."""
    url, drop = _new_db_url(folder)
    ledger = Ledger(Repository(url), log_key=SigningKey.from_seed(b"\x02" * 32), workers=1)
    operator = SigningKey.from_seed(b"\x01" * 32)
    ledger.initialise(operator, "test.example/log", "Operator")
    try:
        yield (
            ledger,
            build_sample_ledger(
                ledger,
                packs=packs,
                chemistry=chemistry,
                operator_key=operator,
                base_url="https://id.example",
            ),
        )
    finally:
        ledger.close()
        drop()
