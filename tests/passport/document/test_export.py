"""Export to the Battery Pass Data Model v1.2: the seven aspects validate against the upstream
draft-04 schemas; richer data stays in the passport; missing required values refuse the export."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from passport.document.compliance import ANNEX_XIII_ITEMS, completeness
from passport.document.exports.batterypass import ASPECTS, export_batterypass
from passport.errors import ExportIncompleteError
from passport.ledger.pipeline import Ledger
from passport.service.lifecycle import update_passport
from passport.service.views import full_document
from signing.keys import SigningKey
from tests.helpers.passport import (
    ABSENT_AS_ALLOWED,
    BATTERYPASS_SCHEMAS,
    PERFORMANCE_120,
    allowed_absences,
    external_validator,
    issue_sample,
    schema_errors,
)
from tests.helpers.sample_passports import CATEGORIES, sample_document


def test_the_upstream_schemas_load_and_their_known_defects_hold() -> None:
    """The copies are draft-04 (read with utf-8-sig: SOURCES.md says one may carry a BOM); the
    payload examples are random and MaterialComposition's fails its own schema."""
    from tests.helpers.passport import EXTERNAL

    assert set(BATTERYPASS_SCHEMAS) == set(ASPECTS)
    for path in (*BATTERYPASS_SCHEMAS.values(), PERFORMANCE_120):
        schema = external_validator(path).schema
        assert not isinstance(schema, bool)  # a document, not a boolean schema
        assert schema["$schema"].startswith("http://json-schema.org/draft-04/")
    example = json.loads(
        (
            EXTERNAL
            / "io.BatteryPass.MaterialComposition/1.2.0/gen/MaterialComposition-payload.json"
        ).read_text(encoding="utf-8-sig")
    )
    assert schema_errors("MaterialComposition", example)  # '7439-93-2 ' has a trailing space


@pytest.mark.parametrize("performance_version", ["1.2.1", "1.2.0"])
def test_ev_sample_exports_seven_valid_aspects(performance_version: str) -> None:
    doc = sample_document("ev")
    exported = export_batterypass(doc, performance_version=performance_version)
    assert list(exported.aspects) == list(ASPECTS)
    assert allowed_absences(doc) == {"warrentyPeriod": "over 12 months: --MM cannot hold it"}
    for name, payload in exported.aspects.items():
        assert schema_errors(name, payload, performance_version, document=doc) == [], name
    # the only member left out is the warranty, which --MM cannot hold for 96 months
    assert "warrentyPeriod" not in exported.aspects["GeneralProductInformation"]


def test_a_warranty_of_up_to_twelve_months_is_exported_as_the_format_says() -> None:
    doc = sample_document("ev")
    doc["point1"]["performance"]["warrantyPeriodMonths"] = 6
    exported = export_batterypass(doc)
    assert exported.aspects["GeneralProductInformation"]["warrentyPeriod"] == "--06"
    assert exported.supplement["warranty"] == {
        "months": 6,
        "period": "P6M",
        "startsAt": "puttingIntoService",
        "endDate": "2027-05-02",
    }
    for name, payload in exported.aspects.items():
        assert schema_errors(name, payload) == [], name  # strictly valid


def test_mapping_of_key_figures() -> None:
    doc = sample_document("ev")
    a = export_batterypass(doc).aspects
    gpi = a["GeneralProductInformation"]
    assert (
        gpi["productIdentifier"] == doc["batteryId"]
        and gpi["batteryPassportIdentifier"] == doc["passportId"]
    )
    assert (gpi["batteryCategory"], gpi["batteryStatus"], gpi["batteryMass"]) == (
        "ev",
        "Original",
        452.5,
    )
    cf = a["CarbonFootprintForBatteries"]
    assert cf["batteryCarbonFootprint"] == 0.0375 and cf["absoluteCarbonFootprint"] == 5625
    assert [s["lifecycleStage"] for s in cf["carbonFootprintPerLifecycleStage"]] == [
        "RawMaterialExtraction",
        "MainProduction",
        "Distribution",
        "Recycling",
    ]
    assert sum(
        s["carbonFootprint"] for s in cf["carbonFootprintPerLifecycleStage"]
    ) == pytest.approx(0.0375)
    recycled = {r["recycledMaterial"]: r for r in a["Circularity"]["recycledContent"]}
    assert set(recycled) == {"Cobalt", "Lithium", "Nickel"}
    assert recycled["Cobalt"] == {
        "recycledMaterial": "Cobalt",
        "preConsumerShare": 4,
        "postConsumerShare": 14,
    }
    perf = a["PerformanceAndDurability"]
    assert perf["batteryTechicalProperties"]["temperatureRangeIdleState"] == {
        "minimum": -20,
        "maximum": 45,
    }
    assert perf["batteryCondition"]["stateOfCertifiedEnergy"]["stateOfCertifiedEnergyValue"] == 100
    assert (
        a["SupplyChainDueDiligence"]["supplyChainDueDiligenceReport"]
        == doc["point1"]["responsibleSourcing"]["reportUrl"]
    )


def test_richer_data_stays_in_the_passport_and_is_noted() -> None:
    doc = sample_document("ev")
    exported = export_batterypass(doc)
    circularity = json.dumps(exported.aspects["Circularity"]).lower()
    assert "graphite" not in circularity and "manganese" not in circularity
    assert any("graphite, manganese kept in the passport only" in n for n in exported.notes)
    assert any("warrentyPeriod" in n and "96-month" in n for n in exported.notes)
    assert exported.supplement["warranty"]["period"] == "P96M"
    assert doc["point1"]["recycledContent"]["graphite"]  # still in our passport


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "ev"])
def test_non_ev_export_leaves_out_the_ev_only_values(category: str) -> None:
    """The check calls a non-EV passport complete without the EV-only items; the export agrees:
    it leaves them out (noted) instead of refusing or inventing them."""
    doc = sample_document(category)
    assert completeness(doc)["complete"]
    exported = export_batterypass(doc)
    perf = exported.aspects["PerformanceAndDurability"]
    assert "capacityThresholdForExhaustion" not in perf["batteryTechicalProperties"]
    assert "stateOfCertifiedEnergy" not in perf["batteryCondition"]
    assert any(
        n.startswith("stateOfCertifiedEnergy") and f"not applicable to {category}" in n
        for n in exported.notes
    )
    for version in ("1.2.1", "1.2.0"):
        exported = export_batterypass(doc, performance_version=version)
        for name, payload in exported.aspects.items():
            assert schema_errors(name, payload, version, document=doc) == [], (category, name)


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "ev"])
def test_non_ev_export_validates_when_the_optional_values_are_given(category: str) -> None:
    doc = sample_document(category)
    doc["point1"]["performance"]["capacityThresholdForExhaustionPercent"] = "60"
    doc["point4"]["stateOfHealth"]["stateOfCertifiedEnergyPercent"] = "100"
    for version in ("1.2.1", "1.2.0"):
        exported = export_batterypass(doc, performance_version=version)
        for name, payload in exported.aspects.items():
            assert schema_errors(name, payload, version, document=doc) == [], (category, name)


def _required_reads(doc: dict[str, Any]) -> set[str]:
    import passport.document.exports.batterypass as bp

    seen: list[set[str]] = []

    class Spy(bp._Reader):
        def __init__(self, document: Any) -> None:
            super().__init__(document)
            seen.append(self.required)

    original = bp._Reader
    bp._Reader = Spy  # type: ignore[misc]
    try:
        bp.export_batterypass(doc)
    finally:
        bp._Reader = original  # type: ignore[misc]
    return seen[0]


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_value_the_export_requires_is_a_completeness_item(category: str) -> None:
    """So the check and the export cannot disagree: whatever the export needs, the one
    completeness function checks."""
    items = {i.pointer for i in ANNEX_XIII_ITEMS}
    assert _required_reads(sample_document(category)) - items == set()


@pytest.mark.parametrize(
    "pointer", sorted({i.pointer for i in ANNEX_XIII_ITEMS if "ev" in i.categories})
)
def test_check_and_export_agree_on_a_missing_item(pointer: str) -> None:
    """Remove one item from the EV sample: the check and the export name the same gaps (or,
    for a value the battery cannot have yet, both call the passport complete)."""
    doc = sample_document("ev")
    keys = pointer.split("/")[1:]
    node: Any = doc
    for key in keys[:-1]:
        node = node[key]
    del node[keys[-1]]
    report = completeness(doc)
    expected = [g["pointer"] for g in report["missing"]]
    if report["complete"]:
        assert pointer in {g["pointer"] for g in report["notYetApplicable"]}
        export_batterypass(doc)  # does not raise
        return
    with pytest.raises(ExportIncompleteError) as err:
        export_batterypass(doc)
    assert [p["pointer"] for p in err.value.details["problems"]] == expected


def test_a_fresh_passport_exports_and_validates(ledger: Ledger, operator_key: SigningKey) -> None:
    """Not yet put into service: the check calls it complete (the date is not yet applicable)
    and the export leaves puttingIntoService out; once recorded, it is exported."""
    chain, issued = issue_sample(ledger, operator_key)
    fresh = full_document(ledger, issued.passport_id)
    report = completeness(fresh)
    assert report["complete"] and [g["pointer"] for g in report["notYetApplicable"]] == [
        "/point4/puttingIntoService"
    ]
    for version in ("1.2.1", "1.2.0"):
        exported = export_batterypass(fresh, performance_version=version)
        assert "puttingIntoService" not in exported.aspects["GeneralProductInformation"]
        assert any(n.startswith("puttingIntoService: left out") for n in exported.notes)
        for name, payload in exported.aspects.items():
            assert schema_errors(name, payload, version, document=fresh) == [], name
    update_passport(
        ledger,
        chain.keys["oem"],
        issued.passport_id,
        {"puttingIntoService": issued.document["issuedAt"]},
    )
    in_service = full_document(ledger, issued.passport_id)
    exported = export_batterypass(in_service)
    assert (
        exported.aspects["GeneralProductInformation"]["puttingIntoService"]
        == issued.document["issuedAt"]
    )
    for name, payload in exported.aspects.items():
        assert schema_errors(name, payload, document=in_service) == [], name
    start = issued.document["issuedAt"]  # put into service at issue: 96 months on
    assert exported.supplement["warranty"]["endDate"] == f"{int(start[:4]) + 8}{start[4:10]}"
    recycled = {
        r["recycledMaterial"]: r["postConsumerShare"]
        for r in exported.aspects["Circularity"]["recycledContent"]
    }
    assert recycled["Cobalt"] == pytest.approx(16.67)


def test_the_allowed_absences_are_the_upstream_required_members() -> None:
    """Each member tests may accept as missing is one the upstream schemas require where
    ABSENT_AS_ALLOWED places it: without it, a strict check reports exactly that member."""
    doc = sample_document("ev")
    doc["point1"]["performance"]["warrantyPeriodMonths"] = 6  # so --06 is exported
    exported = export_batterypass(doc)
    for member, (aspect, parent) in ABSENT_AS_ALLOWED.items():
        payload = copy.deepcopy(exported.aspects[aspect])
        holder = payload
        for key in parent:
            holder = holder[key]
        del holder[member]
        assert schema_errors(aspect, payload) == [
            f"{list(parent)}: '{member}' is a required property"
        ], member


def test_an_absence_is_excused_only_for_the_passport_it_fits() -> None:
    """The attack: an export that drops a required member the passport holds (the EV state of
    certified energy; the date of putting into service once recorded; a warranty of 6 months)
    still fails, though the same member may be missing elsewhere."""
    doc = sample_document("ev")  # in service, EV, 96-month warranty
    doc["point1"]["performance"]["warrantyPeriodMonths"] = 6
    exported = export_batterypass(doc)
    assert allowed_absences(doc) == {}
    gpi = dict(exported.aspects["GeneralProductInformation"])
    del gpi["puttingIntoService"], gpi["warrentyPeriod"]
    assert len(schema_errors("GeneralProductInformation", gpi, document=doc)) == 2
    perf = copy.deepcopy(exported.aspects["PerformanceAndDurability"])
    del perf["batteryCondition"]["stateOfCertifiedEnergy"]
    assert schema_errors("PerformanceAndDurability", perf, document=doc) == [
        "['batteryCondition']: 'stateOfCertifiedEnergy' is a required property"
    ]
    # the same member missing one level up is not the excused one either
    lmt = sample_document("lmt")
    assert "stateOfCertifiedEnergy" in allowed_absences(lmt)
    misplaced = copy.deepcopy(export_batterypass(lmt).aspects["PerformanceAndDurability"])
    del misplaced["batteryCondition"]
    assert schema_errors("PerformanceAndDurability", misplaced, document=lmt) == [
        "[]: 'batteryCondition' is a required property"
    ]


def test_each_version_has_its_canonical_hash_in_the_view_and_the_export(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    """A passport version's hash is sha256 over the RFC 8785 canonical bytes of the signed record
    that made it; the view lists every version and the export names the one it exported."""
    from passport.records.envelope import record_hash
    from passport.service.views import current_version, show_passport
    from signing.jcs import canonicalize

    chain, issued = issue_sample(ledger, operator_key)
    first = show_passport(ledger, issued.passport_id, "public", with_receipts=False).to_dict()
    record = first["evidence"]["passportRecord"]
    assert first["versions"] == [first["version"]]
    assert first["version"]["version"] == 1 and first["version"]["kind"] == "BatteryPassport"
    assert first["version"]["hash"] == record_hash(canonicalize(record))
    update_passport(
        ledger,
        chain.keys["oem"],
        issued.passport_id,
        {"puttingIntoService": issued.document["issuedAt"]},
    )
    second = show_passport(
        ledger, issued.passport_id, "legitimate-interest", with_receipts=False
    ).to_dict()
    assert [v["version"] for v in second["versions"]] == [1, 2]
    assert second["versions"][0] == first["version"]  # an old version keeps its hash
    update = second["evidence"]["lifecycleRecords"][-1]
    assert (
        second["version"]["hash"] == record_hash(canonicalize(update)) != first["version"]["hash"]
    )
    exported = export_batterypass(
        full_document(ledger, issued.passport_id),
        version=current_version(ledger, issued.passport_id),
    )
    assert exported.passport_version == second["version"]
