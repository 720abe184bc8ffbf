"""The passport schema and validation: complete samples per category, category rules, every
problem reported at once with its JSON pointer, the semantic rules, identifiers, class tables."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from passport.document.figures import carbon_figures
from passport.document.ids import (
    digital_link,
    gtin_check_digit,
    parse_digital_link,
    valid_cas,
    valid_gtin14,
)
from passport.document.partitions import FIELD_PARTITIONS
from passport.document.regulation import (
    CLASS_TABLE_ENV,
    PLACEHOLDER_CLASS_TABLE,
    load_class_table,
    parse_class_table,
)
from passport.document.validation import ensure_valid, schema, validate
from passport.errors import ConfigurationError, PassportInvalidError
from tests.helpers.passport import complete_document, copy_doc
from tests.helpers.sample_passports import CATEGORIES, sample_document, sample_figures


def problems_of(doc: Any, expected: dict[str, Any] | None = None) -> dict[str, str]:
    return {p.pointer: p.message for p in validate(doc, expected)}


def test_schema_is_draft_2020_12_with_versioned_id() -> None:
    s = schema()
    Draft202012Validator.check_schema(s)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["$id"].endswith("/battery-passport/1.0.0")
    assert s["properties"]["schemaVersion"] == {"const": "1.0.0", "x-partition": 1}


def test_schema_groups_fields_by_partition_like_the_mapping() -> None:
    s = schema()
    assert set(s["properties"]) == set(FIELD_PARTITIONS)
    for field, number in FIELD_PARTITIONS.items():
        node = s["properties"][field]
        if "$ref" in node and "x-partition" not in node:
            node = s["$defs"][node["$ref"].removeprefix("#/$defs/")]
        assert node["x-partition"] == number, field


def test_every_quantity_names_its_unit() -> None:
    """Every decimal or integer quantity carries an x-unit annotation (stage values: on the group)."""
    s = schema()
    quantities = ("#/$defs/amount", "#/$defs/percent", "#/$defs/signedDecimal", "#/$defs/stages")
    missing = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            quantity = node.get("$ref") in quantities or node.get("type") == "integer"
            if quantity and "x-unit" not in node and not path.endswith("/provenanceRecords"):
                missing.append(path)
            for key, sub in node.items():
                walk(sub, f"{path}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{path}/{i}")

    walk(s["properties"], "/properties")
    walk({k: v for k, v in s["$defs"].items() if k != "stages"}, "/$defs")
    assert missing == []


@pytest.mark.parametrize("category", CATEGORIES)
def test_complete_sample_passport_of_each_category_is_valid(category: str) -> None:
    doc = sample_document(category)
    assert validate(doc) == []
    assert validate(doc, sample_figures(category)) == []
    ensure_valid(doc)


def test_complete_document_covers_every_schema_field() -> None:
    from tests.helpers.passport import doc_leaves, schema_leaves

    doc = complete_document()
    assert doc_leaves(doc) == schema_leaves(schema())
    assert [p for p in validate(doc) if p.pointer != "/ceasedAt"] == []


@pytest.mark.parametrize(
    ("category", "remove", "pointer"),
    [
        (
            "ev",
            ("point1", "performance", "capacityThresholdForExhaustionPercent"),
            "/point1/performance/capacityThresholdForExhaustionPercent",
        ),
        (
            "ev",
            ("point4", "stateOfHealth", "stateOfCertifiedEnergyPercent"),
            "/point4/stateOfHealth/stateOfCertifiedEnergyPercent",
        ),
        (
            "lmt",
            ("point4", "stateOfHealth", "remainingCapacityAh"),
            "/point4/stateOfHealth/remainingCapacityAh",
        ),
        (
            "stationary",
            ("point4", "stateOfHealth", "powerFadePercent"),
            "/point4/stateOfHealth/powerFadePercent",
        ),
        (
            "industrial",
            ("point1", "performance", "roundTripEfficiency", "at50PercentCycleLifePercent"),
            "/point1/performance/roundTripEfficiency/at50PercentCycleLifePercent",
        ),
        (
            "stationary",
            ("point1", "performance", "internalResistance", "packMilliohm"),
            "/point1/performance/internalResistance/packMilliohm",
        ),
    ],
)
def test_category_rules(category: str, remove: tuple[str, ...], pointer: str) -> None:
    doc = sample_document(category)
    node = doc
    for key in remove[:-1]:
        node = node[key]
    del node[remove[-1]]
    found = problems_of(doc)
    assert list(found) == [pointer]
    assert "is required but missing for" in found[pointer]


def test_non_ev_needs_no_capacity_threshold() -> None:
    doc = sample_document("lmt")
    assert "capacityThresholdForExhaustionPercent" not in doc["point1"]["performance"]
    assert validate(doc) == []


def test_every_problem_is_reported_at_once_with_its_pointer() -> None:
    doc = sample_document("ev")
    p1 = doc["point1"]
    p1["massKg"] = "-452.5"  # negative amount
    p1["carbonFootprint"]["perKWh"]["total"] = "0.0500"  # stages do not add up
    p1["recycledContent"]["cobalt"] = {
        "preConsumerPercent": "60",
        "postConsumerPercent": "50",
    }  # > 100 %
    p1["manufacturing"]["date"] = "2026-12-01"  # after issue
    p1["identification"]["gtin"] = "09506000134353"  # check digit
    p1["voltage"] = "x"  # unknown field
    del p1["performance"]["capacityThresholdForExhaustionPercent"]  # EV rule
    p1["performance"]["voltage"]["minimumV"] = "400"  # above nominal
    doc["point2"]["composition"] = [
        c for c in doc["point2"]["composition"] if c["component"] != "anode"
    ]
    doc["point4"]["usage"]["stateOfChargePercent"] = "101"
    doc["lastUpdated"] = "2026-11-01T00:00:00Z"  # before issue
    found = problems_of(doc)
    expected = {
        "/point1/massKg": "must not be negative",
        "/point1/carbonFootprint/perKWh/total": "add up to 0.0375, but the total says 0.05",
        "/point1/recycledContent/cobalt": "pre-consumer 60 % plus post-consumer 50 % exceeds 100 %",
        "/issuedAt": "issued before the battery was made",
        "/point1/identification/gtin": "check digit",
        "/point1/voltage": "is not a field",
        "/point1/performance/capacityThresholdForExhaustionPercent": "required but missing for electric-vehicle",
        "/point1/performance/voltage/minimumV": "exceeds nominal",
        "/point2/composition": "must include an entry for the anode",
        "/point4/usage/stateOfChargePercent": "percentage from 0 to 100",
        "/lastUpdated": "earlier than issuedAt",
        "/batteryId": "but the passport's identification says GTIN 09506000134353",
    }
    for pointer, words in expected.items():
        assert pointer in found, pointer
        assert words in found[pointer], (pointer, found[pointer])
    with pytest.raises(PassportInvalidError) as err:
        ensure_valid(doc)
    listed = {p["pointer"] for p in err.value.details["problems"]}
    assert set(expected) <= listed
    assert err.value.code == "passport_invalid"
    for pointer in expected:
        assert pointer in err.value.message  # the message spells out every problem too


def test_carbon_per_kwh_must_follow_from_absolute_and_service_life_energy() -> None:
    doc = sample_document("ev")
    doc["point1"]["carbonFootprint"]["serviceLifeEnergyKWh"] = "100000"
    found = problems_of(doc)
    assert "/point1/carbonFootprint/perKWh/rawMaterialAcquisition" in found
    assert (
        "3600 kg CO2e over 100000 kWh"
        in found["/point1/carbonFootprint/perKWh/rawMaterialAcquisition"]
    )
    doc["point1"]["carbonFootprint"]["serviceLifeEnergyKWh"] = "0"
    assert "greater than zero" in problems_of(doc)["/point1/carbonFootprint/serviceLifeEnergyKWh"]


def test_absolute_stages_must_add_up() -> None:
    doc = sample_document("ev")
    doc["point1"]["carbonFootprint"]["absoluteKg"]["total"] = "5624.999"
    assert "add up to 5625" in problems_of(doc)["/point1/carbonFootprint/absoluteKg/total"]


def test_shares_that_partition_a_whole_add_up_to_100() -> None:
    doc = sample_document("ev")
    rs = doc["point1"]["responsibleSourcing"]
    rs["materials"]["lithium"]["unknownOriginPercent"] = "6.00"
    rs["graphite"]["unknownPercent"] = "9.00"
    rs["materials"]["nickel"]["originByCountry"].append({"country": "ID", "sharePercent": "0.00"})
    found = problems_of(doc)
    assert "add up to 101 %" in found["/point1/responsibleSourcing/materials/lithium"]
    assert "add up to 99 %" in found["/point1/responsibleSourcing/graphite"]
    assert "more than once" in found["/point1/responsibleSourcing/materials/nickel/originByCountry"]


def test_dates_must_be_real_and_in_order() -> None:
    doc = sample_document("ev")
    doc["point1"]["manufacturing"]["date"] = "2026-02-30"
    doc["point3"]["testReports"][0]["date"] = "2026-12-01"
    doc["point4"]["usage"]["negativeEvents"] = [
        {"event": "accident", "occurredAt": "2020-01-01T00:00:00Z"}
    ]
    doc["point4"]["stateOfHealth"]["measuredAt"] = "2027-01-01T00:00:00Z"
    found = problems_of(doc)
    assert "not a real calendar date" in found["/point1/manufacturing/date"]
    assert "after the passport was issued" in found["/point3/testReports/0/date"]
    assert "after the passport's last update" in found["/point4/stateOfHealth/measuredAt"]
    doc["point1"]["manufacturing"]["date"] = "2026-10-01"
    assert (
        "before the battery was made"
        in problems_of(doc)["/point4/usage/negativeEvents/0/occurredAt"]
    )


def test_identifiers_and_substances() -> None:
    doc = sample_document("ev")
    doc["point1"]["hazardousSubstances"][0]["casNumber"] = "21324-40-4"
    doc["point1"]["hazardousSubstances"].append(
        {**doc["point1"]["hazardousSubstances"][0], "name": "Lead", "casNumber": "7439-92-1"}
    )
    doc["point1"]["identification"]["serialNumber"] = "OTHER"
    found = problems_of(doc)
    assert "wrong check digit" in found["/point1/hazardousSubstances/0/casNumber"]
    assert "lead is declared through its own label" in found["/point1/hazardousSubstances/1"]
    assert "serial OTHER" in found["/batteryId"]


def test_industrial_and_stationary_passports_are_above_2_kwh() -> None:
    doc = sample_document("industrial")
    doc["point1"]["performance"]["ratedEnergyKWh"] = "2"
    assert "only above 2 kWh" in problems_of(doc)["/point1/performance/ratedEnergyKWh"]


def test_status_links_and_cessation() -> None:
    doc = sample_document("ev")
    doc["status"] = "recycled"
    found = problems_of(doc)
    assert "needs ceasedAt" in found["/ceasedAt"]
    doc = sample_document("ev")
    doc["predecessor"] = doc["passportId"]
    found = problems_of(doc)
    assert "has no predecessor" in found["/predecessor"]
    doc["status"] = "waste"
    doc["successor"] = "urn:bpass:" + "3" * 32
    found = problems_of(doc)
    assert "cannot be its own predecessor" in found["/predecessor"]
    assert "successor passport" in found["/successor"]


def test_figures_must_equal_the_ledger_roll_ups() -> None:
    doc = sample_document("ev")
    figures = sample_figures("ev")
    assert validate(doc, figures) == []
    figures["/point1/recycledContent"] = {
        **figures["/point1/recycledContent"],
        "cobalt": {"preConsumerPercent": "4.00", "postConsumerPercent": "15.00"},
    }
    figures["/point2/elementMassesKg"] = {**figures["/point2/elementMassesKg"], "lead": "1.000"}
    found = problems_of(doc, figures)
    assert (
        found["/point1/recycledContent/cobalt/postConsumerPercent"]
        == "is '14.00', but the ledger's roll-up gives '15.00'"
    )
    assert (
        "is missing, but the ledger's roll-up gives '1.000'"
        in found["/point2/elementMassesKg/lead"]
    )
    # equal decimals in another spelling are equal
    doc["point1"]["recycledContent"]["cobalt"]["postConsumerPercent"] = "15"
    assert "/point1/recycledContent/cobalt/postConsumerPercent" not in problems_of(doc, figures)


def test_non_object_and_empty_documents_report_plainly() -> None:
    assert [p.message for p in validate([])] == ["must be of type object; got list []"]
    found = problems_of({})
    assert found["/passportId"] == "is required but missing"
    assert len(found) == 11


# -- identifiers ----------------------------------------------------------------------------------
def test_gtin_and_digital_link() -> None:
    assert gtin_check_digit("0950600013435") == 2
    assert valid_gtin14("09506000134352") and not valid_gtin14("09506000134353")
    assert not valid_gtin14("0950600013435")
    link = digital_link("https://id.example/", "09506000134352", "P-1")
    assert link == "https://id.example/01/09506000134352/21/P-1"
    assert parse_digital_link(link) == ("09506000134352", "P-1")
    assert parse_digital_link("https://id.example/other") is None
    with pytest.raises(ValueError, match="check digit"):
        digital_link("https://id.example", "09506000134353", "P-1")
    with pytest.raises(ValueError, match="serial"):
        digital_link("https://id.example", "09506000134352", "P 1")


def test_cas_check_digits() -> None:
    for good in ("7439-93-2", "7440-48-4", "7440-02-0", "7782-42-5", "21324-40-3", "96-49-1"):
        assert valid_cas(good), good
    assert not valid_cas("7439-93-3")
    assert not valid_cas("7439932")


# -- figures and class tables ------------------------------------------------------------------------
def test_carbon_figures_round_stages_and_sum_totals() -> None:
    third = {
        s: Decimal(1) / 3
        for s in (
            "rawMaterialAcquisition",
            "mainProduction",
            "distribution",
            "endOfLifeAndRecycling",
        )
    }
    out = carbon_figures(third, service_life_energy_kwh=Decimal(1), table=PLACEHOLDER_CLASS_TABLE)
    absolute = out["/point1/carbonFootprint/absoluteKg"]
    assert absolute["rawMaterialAcquisition"] == "0.333"
    assert absolute["total"] == "1.332"  # the sum of the rounded stages, so the stages add up
    assert out["/point1/carbonFootprint/perKWh"]["total"] == "1.3320"
    assert out["/point1/carbonFootprint/performanceClass"] == "E"
    with pytest.raises(ValueError, match="positive"):
        carbon_figures(third, service_life_energy_kwh=Decimal(0), table=PLACEHOLDER_CLASS_TABLE)


def test_placeholder_class_table_is_labelled_and_configurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = load_class_table()
    assert table is PLACEHOLDER_CLASS_TABLE
    assert table.provisional and "PLACEHOLDER" in table.note and "delegated act" in table.note
    assert [table.classify(Decimal(x)) for x in ("0.03", "0.0301", "0.2")] == ["A", "B", "E"]
    custom = {
        "id": "da-2027",
        "provisional": False,
        "classes": [{"class": "A", "maxKgCO2ePerKWh": "0.05"}, {"class": "B"}],
    }
    path = tmp_path / "table.json"
    path.write_text(json.dumps(custom))
    assert load_class_table(path).to_dict()["classes"] == custom["classes"]
    monkeypatch.setenv(CLASS_TABLE_ENV, str(path))
    assert load_class_table().id == "da-2027"


def test_bad_class_tables_are_refused_with_every_defect() -> None:
    with pytest.raises(ConfigurationError) as err:
        parse_class_table(
            {
                "classes": [
                    {"class": "A", "maxKgCO2ePerKWh": "0.05"},
                    {"class": "B", "maxKgCO2ePerKWh": "0.04"},
                    {"class": "cc"},
                    {"class": "D", "maxKgCO2ePerKWh": "x"},
                ]
            }
        )
    problems = err.value.details["problems"]
    assert any("id" in p for p in problems)
    assert any("must exceed the previous" in p for p in problems)
    assert any("one capital letter" in p for p in problems)
    assert any("not a decimal" in p for p in problems)


def test_documents_are_not_mutated_by_validation() -> None:
    doc = sample_document("ev")
    before = copy_doc(doc)
    validate(doc, sample_figures("ev"))
    assert doc == before
