"""The compliance report on constructed figures: Annex XIII completeness per category, Art. 8
minimums with margins, carbon class from the class table, due-diligence coverage."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from passport.document.compliance import (
    completeness,
    compliance_report,
    due_diligence,
    recycled_content,
)
from passport.document.regulation import PLACEHOLDER_CLASS_TABLE, parse_class_table
from tests.helpers.sample_passports import CATEGORIES, sample_document


def _rows(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["element"], r["year"]): r for r in recycled_content(doc)}


@pytest.mark.parametrize("category", CATEGORIES)
def test_complete_samples_are_complete(category: str) -> None:
    gaps = completeness(sample_document(category))
    assert gaps["complete"], gaps["missing"]
    assert gaps["category"] == category


def test_missing_items_are_named_for_the_category() -> None:
    ev = sample_document("ev")
    del ev["point1"]["performance"]["capacityThresholdForExhaustionPercent"]
    del ev["point4"]["stateOfHealth"]["stateOfCertifiedEnergyPercent"]
    ev["point3"]["testReports"] = []
    gaps = completeness(ev)
    assert not gaps["complete"]
    assert [g["pointer"] for g in gaps["missing"]] == [
        "/point1/performance/capacityThresholdForExhaustionPercent",
        "/point3/testReports",
        "/point4/stateOfHealth/stateOfCertifiedEnergyPercent",
    ]
    lmt = sample_document("lmt")
    assert "capacityThresholdForExhaustionPercent" not in lmt["point1"]["performance"]
    assert completeness(lmt)["complete"]  # EV-only items are not asked of an LMT battery
    del lmt["point4"]["stateOfHealth"]["remainingCapacityAh"]
    assert [g["pointer"] for g in completeness(lmt)["missing"]] == [
        "/point4/stateOfHealth/remainingCapacityAh"
    ]


def test_recycled_content_minimums_pass_and_fail_with_margins() -> None:
    doc = sample_document("ev")
    doc["point1"]["recycledContent"]["cobalt"] = {
        "preConsumerPercent": "10.00",
        "postConsumerPercent": "8.00",
    }
    doc["point1"]["recycledContent"]["lithium"] = {
        "preConsumerPercent": "0",
        "postConsumerPercent": "6",
    }
    doc["point1"]["recycledContent"]["nickel"] = {
        "preConsumerPercent": "15.5",
        "postConsumerPercent": "0",
    }
    rows = _rows(doc)
    assert rows[("cobalt", "2031")] | {} == {
        "element": "cobalt",
        "year": "2031",
        "appliesFrom": "2031-08-18",
        "requiredPercent": "16.00",
        "status": "pass",
        "preConsumerPercent": "10.00",
        "postConsumerPercent": "8.00",
        "actualPercent": "18.00",
        "marginPercent": "+2.00",
    }
    assert (rows[("cobalt", "2036")]["status"], rows[("cobalt", "2036")]["marginPercent"]) == (
        "fail",
        "-8.00",
    )
    assert (rows[("lithium", "2031")]["status"], rows[("lithium", "2031")]["marginPercent"]) == (
        "pass",
        "+0.00",
    )
    assert (rows[("lithium", "2036")]["status"], rows[("lithium", "2036")]["marginPercent"]) == (
        "fail",
        "-6.00",
    )
    assert (rows[("nickel", "2031")]["status"], rows[("nickel", "2036")]["status"]) == (
        "pass",
        "pass",
    )
    assert rows[("nickel", "2036")]["marginPercent"] == "+0.50"
    assert (
        rows[("lead", "2031")]["status"] == "not-applicable"
    )  # a lithium-ion battery holds no lead
    assert rows[("lead", "2031")]["reason"] == "the battery holds no lead"


def test_art8_minimums_do_not_apply_to_lmt_batteries() -> None:
    # Art. 8(1)-(3) name EV, industrial (> 2 kWh) and SLI batteries; LMT batteries are not among them.
    doc = sample_document("lmt")
    assert doc["point1"]["recycledContent"], "the LMT sample declares recycled content"
    rows = _rows(doc)
    assert {row["status"] for row in rows.values()} == {"not-applicable"}
    assert rows[("cobalt", "2031")]["reason"] == "Art. 8 minimums do not apply to lmt batteries"
    for category in ("ev", "industrial", "stationary"):
        statuses = {row["status"] for row in _rows(sample_document(category)).values()}
        assert statuses & {"pass", "fail"}, category


def test_lead_and_absent_elements() -> None:
    doc = sample_document("industrial")  # LFP: no cobalt, no nickel
    doc["point1"]["recycledContent"]["lead"] = {
        "preConsumerPercent": "40",
        "postConsumerPercent": "45",
    }
    rows = _rows(doc)
    assert (
        rows[("cobalt", "2031")]["status"] == rows[("nickel", "2036")]["status"] == "not-applicable"
    )
    assert (rows[("lead", "2031")]["status"], rows[("lead", "2031")]["marginPercent"]) == (
        "pass",
        "+0.00",
    )
    assert (rows[("lead", "2036")]["actualPercent"], rows[("lead", "2036")]["requiredPercent"]) == (
        "85.00",
        "85.00",
    )


def test_carbon_class_from_the_class_table() -> None:
    doc = sample_document("ev")
    report = compliance_report(doc)
    cf = report["carbonFootprint"]
    assert cf["kgCO2ePerKWh"] == "0.0375"
    assert (cf["class"], cf["declaredClass"], cf["status"]) == ("B", "B", "consistent")
    assert (
        cf["provisional"]
        and "PLACEHOLDER" in cf["note"]
        and cf["table"] == PLACEHOLDER_CLASS_TABLE.id
    )
    strict = parse_class_table(
        {
            "id": "da-2028",
            "provisional": False,
            "classes": [
                {"class": "A", "maxKgCO2ePerKWh": "0.02"},
                {"class": "B", "maxKgCO2ePerKWh": "0.03"},
                {"class": "C"},
            ],
        }
    )
    cf = compliance_report(doc, class_table=strict)["carbonFootprint"]
    assert (cf["class"], cf["status"], cf["provisional"]) == ("C", "differs", False)
    assert any(
        "declared carbon class B differs from class C" in f
        for f in compliance_report(doc, class_table=strict)["findings"]
    )
    assert strict.classify(Decimal("0.02")) == "A"  # bounds are inclusive


def test_due_diligence_coverage() -> None:
    doc = sample_document("ev")
    rows = {r["material"]: r for r in due_diligence(doc)}
    assert [r["material"] for r in due_diligence(doc)] == [
        "cobalt",
        "naturalGraphite",
        "lithium",
        "nickel",
    ]
    assert rows["cobalt"]["status"] == "covered"
    assert (rows["naturalGraphite"]["status"], rows["naturalGraphite"]["coveragePercent"]) == (
        "partial",
        "85.00",
    )
    assert rows["nickel"]["status"] == "partial"
    doc["point1"]["responsibleSourcing"]["dueDiligence"]["lithium"]["coveragePercent"] = "0"
    del doc["point1"]["responsibleSourcing"]["dueDiligence"]["cobalt"]
    rows = {r["material"]: r for r in due_diligence(doc)}
    assert rows["lithium"]["status"] == "uncovered" and rows["cobalt"]["status"] == "unknown"
    lfp = {r["material"]: r for r in due_diligence(sample_document("stationary"))}
    assert (lfp["cobalt"]["status"], lfp["nickel"]["present"]) == ("not-present", False)


def test_report_findings_and_verdict() -> None:
    report = compliance_report(sample_document("ev"))
    assert report["completeness"]["complete"]
    assert not report["ok"]  # the sample misses the 2031 lithium and nickel minimums
    assert any(
        f.startswith("recycled lithium 7.50 % is below the 2036 minimum")
        for f in report["findings"]
    )
    assert "due diligence covers 85.00 % of naturalGraphite" in report["findings"]
    doc = sample_document("ev")
    rc = doc["point1"]["recycledContent"]
    for element in ("cobalt", "lithium", "nickel"):
        rc[element] = {"preConsumerPercent": "13", "postConsumerPercent": "13"}
    for material in doc["point1"]["responsibleSourcing"]["dueDiligence"].values():
        material["coveragePercent"] = "100"
    good = compliance_report(doc)
    assert good["findings"] == [] and good["ok"]
