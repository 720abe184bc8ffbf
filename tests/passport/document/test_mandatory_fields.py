"""Every mandatory field of an EV battery passport (tests/data/batterypass-mandatory-ev.json: its
source says how the list was derived) is filled for the sample EV pack and present, or absent as
allowed, in the Battery Pass export of a fresh passport (not yet put into service)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from passport.document.body import get_at
from passport.document.exports.batterypass import BatteryPassExport, export_batterypass
from passport.ledger.pipeline import Ledger
from passport.service.views import full_document
from signing.keys import SigningKey
from tests.helpers.passport import (
    BATTERYPASS_SCHEMAS,
    external_validator,
    fresh_and_in_service,
    issue_sample,
)

LIST = Path(__file__).resolve().parents[2] / "data" / "batterypass-mandatory-ev.json"
FIELDS: list[dict[str, str]] = json.loads(LIST.read_text(encoding="utf-8"))["fields"]


def _filled(value: Any) -> bool:
    return value is not None and value != ""


def _in_passport(doc: dict[str, Any], exported: BatteryPassExport, where: str) -> Any:
    if where.startswith("notApplicable:"):
        item = where.split(":", 1)[1]
        return [e for e in doc["point1"].get("notApplicable", []) if e["item"] == item] or None
    if where == "derived":
        return "derived"
    return get_at(doc, where)


def _in_export(exported: BatteryPassExport, path: str) -> Any:
    head, _, rest = path.partition("/")
    node: Any = exported.supplement if head == "supplement" else exported.aspects[head]
    return get_at(node, "/" + rest)


def test_the_list_holds_every_required_member_of_the_battery_pass_schemas() -> None:
    """The 'BatteryPass 1.2' rows are exactly the upstream schemas' required members (aspect
    level, and the technical properties and condition of PerformanceAndDurability 1.2.1)."""
    required: set[str] = set()
    for name, path in BATTERYPASS_SCHEMAS.items():
        schema = external_validator(path).schema
        assert not isinstance(schema, bool)
        if name == "PerformanceAndDurability":
            defs = schema["components"]["schemas"]
            required |= set(defs["BatteryTechnicalPropertiesEntity"]["required"])
            required |= set(defs["BatteryConditionEntity"]["required"])
        else:
            required |= set(schema["required"])
    listed = {f["field"].split(" ")[0] for f in FIELDS if f["source"] == "BatteryPass 1.2"}
    assert listed == required
    assert len(FIELDS) == len({f["field"] for f in FIELDS}) == 77


def test_every_mandatory_field_is_filled_and_exported(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    sample = fresh_and_in_service(ledger, operator_key)
    fresh_export = sample.fresh_export
    in_service, in_service_export = sample.in_service, sample.in_service_export
    unfilled, unexported, fresh_wrong = [], [], []
    for f in FIELDS:
        value = _in_passport(in_service, in_service_export, f["passport"])
        empty_ok = f["passport"] == "/point4/usage/negativeEvents"  # none recorded is an answer
        if not (_filled(value) and (empty_ok or value not in ([], {}))):
            unfilled.append(f["field"])
        if not _filled(_in_export(in_service_export, f["export"])):
            unexported.append(f["field"])
        fresh_value = _in_export(fresh_export, f["export"])
        if "fresh" in f:
            if _filled(fresh_value):
                fresh_wrong.append(f"{f['field']}: present before service")
        elif not _filled(fresh_value):
            fresh_wrong.append(f"{f['field']}: missing")
    assert unfilled == [] and unexported == [] and fresh_wrong == []
    # the absences of the fresh export are said, not silent
    assert any(n.startswith("puttingIntoService: left out") for n in fresh_export.notes)
    assert "endDateNote" in fresh_export.supplement["warranty"]
    assert {e["item"] for e in fresh_export.supplement["notApplicable"]} == {
        "recycledLeadShare",
        "cadmiumSymbol",
        "leadSymbol",
    }


@pytest.mark.parametrize("component", ["cell", "module", "pack"])
def test_internal_resistance_is_exported_in_ohm(component: str) -> None:
    from tests.helpers.sample_passports import sample_document

    doc = sample_document("ev")
    ours = doc["point1"]["performance"]["internalResistance"][f"{component}Milliohm"]
    exported = export_batterypass(doc).aspects["PerformanceAndDurability"]
    rows = exported["batteryTechicalProperties"]["initialInternalResistance"]
    value = next(r["ohmicResistance"] for r in rows if r["batteryComponent"] == component)
    assert value == pytest.approx(float(ours) / 1000)


def test_the_carbon_class_is_marked_provisional_in_export_view_and_page(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    from api.pages import passport_page
    from passport.service.views import show_passport

    _, issued = issue_sample(ledger, operator_key)
    doc = full_document(ledger, issued.passport_id)
    declared = doc["point1"]["carbonFootprint"]["performanceClass"]
    exported = export_batterypass(doc)
    assert (
        exported.aspects["CarbonFootprintForBatteries"]["carbonFootprintPerformanceClass"]
        == f"{declared} (provisional)"
    )
    assert exported.supplement["carbonFootprintPerformanceClass"]["provisional"] is True
    view = show_passport(ledger, issued.passport_id, "public", with_receipts=False).to_dict()
    marked = view["annotations"]["carbonFootprintClass"]
    assert marked["class"] == declared and marked["provisional"] and "NOT LAW" in marked["note"]
    html = passport_page(view["passport"], [])
    assert "— provisional: the EU has not yet set the class boundaries." in html
    assert "About the class table: PLACEHOLDER, NOT LAW" in html
