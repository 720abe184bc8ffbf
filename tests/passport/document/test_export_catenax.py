"""Export to Catena-X ``io.catenax.battery.battery_pass`` 6.1.0: the payload validates against the
published draft-04 schema (tests/data/external-schemas/catenax-battery-pass-6.1.0, see its
SOURCES.md); Catena-X-only values come from explicit supplements; missing required values refuse
the export, every gap listed; the share of required fields filled from passport data is measured."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from passport.document.exports.catenax import (
    NO_PREDECESSOR,
    SPEC_VERSION,
    SUPPLEMENTS,
    export_catenax,
    parse_supplement,
)
from passport.errors import ExportIncompleteError, ExportSupplementError
from passport.ledger.pipeline import Ledger
from passport.service.lifecycle import update_passport
from passport.service.views import full_document
from signing.keys import SigningKey
from tests.helpers.passport import issue_sample
from tests.helpers.sample_passports import CATEGORIES, sample_document

FOLDER = (
    Path(__file__).resolve().parents[2] / "data" / "external-schemas" / "catenax-battery-pass-6.1.0"
)
BPNL = "BPNL00000003ELBE"
SUPPLIED: dict[str, Any] = {
    "/metadata/economicOperatorId": BPNL,
    "/operation/manufacturer/manufacturer": BPNL,
    "/metadata/expirationDate": "2040-12-31",
    "/performance/rated/roundTripEfficiency/depthOfDischarge": 80,
    "/performance/rated/lifetime/cycleLifeTesting/temperature": 25,
    "/performance/rated/lifetime/cycleLifeTesting/depthOfDischarge": 80,
}
"""The six Catena-X-only values the schema requires and no passport holds."""


@cache
def upstream_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (FOLDER / "BatteryPass-schema.json").read_text(encoding="utf-8")
    )
    return schema


@cache
def validator() -> Draft4Validator:
    Draft4Validator.check_schema(upstream_schema())
    return Draft4Validator(upstream_schema())


def schema_errors(payload: Any) -> list[str]:
    as_sent = json.loads(json.dumps(payload))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(as_sent)]


def gaps(err: pytest.ExceptionInfo[ExportIncompleteError]) -> list[str]:
    return [p["pointer"] for p in err.value.details["problems"]]


# -- the required fields of the schema, and how an export fills them ------------------------------
def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    defs = upstream_schema()["components"]["schemas"]
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


_DOCUMENT = {"content", "contentType", "header"}


def required_leaves(node: dict[str, Any] | None = None, path: str = "") -> list[str]:
    """Every leaf reachable from the root through required members only (``*``: array items; a
    list of documents, ``{content, contentType, header}``, counts as one field)."""
    node = _resolve(node if node is not None else upstream_schema())
    if node.get("type") == "object":
        return [
            leaf
            for key in node.get("required", [])
            for leaf in required_leaves(node["properties"][key], f"{path}/{key}")
        ]
    if node.get("type") == "array":
        items = _resolve(node["items"])
        if set(items.get("required", [])) == _DOCUMENT:
            return [path]  # a list of documents is one field
        if items.get("type") in ("object", "array"):
            return required_leaves(node["items"], f"{path}/*")
    return [path]


def values_at(doc: Any, pattern: str) -> list[Any]:
    nodes = [doc]
    for key in pattern.split("/")[1:]:
        if key == "*":
            nodes = [item for n in nodes if isinstance(n, list) for item in n]
        else:
            nodes = [n[key] for n in nodes if isinstance(n, dict) and key in n]
    return nodes


def coverage(payload: dict[str, Any], supplied: list[str]) -> dict[str, list[str]]:
    """Each required leaf as filled from the passport, supplied at export, or left absent (in an
    empty list) or empty (blank text)."""
    out: dict[str, list[str]] = {"passport": [], "supplied": [], "empty list": [], "empty text": []}
    for leaf in required_leaves():
        values = values_at(payload, leaf)
        if any(leaf == s or leaf.startswith(s + "/") for s in supplied):
            out["supplied"].append(leaf)
        elif not values or values == [[]] * len(values):
            out["empty list"].append(leaf)
        elif all(v == "" for v in values):
            out["empty text"].append(leaf)
        else:
            out["passport"].append(leaf)
    return out


# -- the upstream copies ---------------------------------------------------------------------------
def test_the_upstream_schema_is_draft04_and_its_example_validates() -> None:
    schema = upstream_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema"
    assert (
        schema["x-samm-aspect-model-urn"]
        == "urn:samm:io.catenax.battery.battery_pass:6.1.0#BatteryPass"
    )
    example = json.loads((FOLDER / "BatteryPass.json").read_text(encoding="utf-8"))
    assert example["specVersion"] == SPEC_VERSION
    assert schema_errors(example) == []
    assert "commit" in (FOLDER / "SOURCES.md").read_text(encoding="utf-8").lower()


# -- the sample EV passport ------------------------------------------------------------------------
def test_ev_sample_exports_a_valid_payload_with_the_catenax_only_values_supplied() -> None:
    exported = export_catenax(sample_document("ev"), supplements=SUPPLIED)
    assert schema_errors(exported.payload) == []
    assert exported.supplied == sorted(SUPPLIED)
    assert exported.payload["specVersion"] == SPEC_VERSION


def test_without_supplements_the_export_lists_exactly_the_catenax_only_gaps() -> None:
    with pytest.raises(ExportIncompleteError) as err:
        export_catenax(sample_document("ev"))
    assert gaps(err) == sorted(SUPPLIED)
    assert err.value.code == "export_incomplete"
    assert "Catena-X battery_pass export" in err.value.message
    assert all(SUPPLEMENTS[p].required for p in SUPPLIED)


def test_mapping_of_key_figures() -> None:
    doc = sample_document("ev")
    p = export_catenax(doc, supplements=SUPPLIED).payload
    ident = p["identification"]
    assert (ident["category"], ident["idDmc"]) == ("EV", doc["batteryId"])
    assert ident["identification"]["serial"] == [{"key": "partInstanceId", "value": "P75-000001"}]
    assert ident["identification"]["codes"] == [{"key": "GTIN", "value": "09506000134352"}]
    meta = p["metadata"]
    assert meta["passportIdentifier"] == "urn:uuid:00000000-0000-0000-0000-000000000001"
    assert meta["predecessor"] == NO_PREDECESSOR
    assert (meta["issueDate"], meta["economicOperatorId"]) == ("2026-11-05", BPNL)
    assert p["operation"]["intoServiceDate"] == "2026-11-02"
    assert p["characteristics"]["warranty"] == {"lifeValue": 96, "lifeUnit": "unit:month"}
    assert p["characteristics"]["physicalDimension"]["weight"]["value"] == 452.5
    footprint = {(f["lifecycle"], f["unit"]): f for f in p["sustainability"]["carbonFootprint"]}
    assert footprint["total", "kg CO2e / kWh"]["value"] == 0.0375
    assert footprint["total", "kg CO2e / kWh"]["performanceClass"] == "B"
    assert footprint["total", "kg CO2e"]["value"] == 5625
    assert footprint["main product production", "kg CO2e / kWh"]["value"] == 0.0123
    active = p["materials"]["active"]
    assert active["cobalt"] == {
        "location": "cathode",
        "recycled": 18,  # 4 % pre- plus 14 % post-consumer
        "documentation": [],
        "critical": True,
    }
    assert active["lithium"]["location"] == "cathode, electrolyte"
    assert {o["materialIdentification"][0]["name"] for o in active["other"]} == {
        "manganese",
        "graphite",
    }  # richer than Battery Pass 1.2, whose recycledMaterial lists Co, Ni, Li, Pb only
    hazardous = p["materials"]["hazardous"]
    assert hazardous["lead"]["concentration"] == 0.0008
    assert hazardous["cadmium"]["concentration"] == 0
    assert hazardous["other"][0]["materialIdentification"][0]["id"] == "21324-40-3"
    rated = p["performance"]["rated"]
    assert rated["resistance"] == {"cell": 0.0009, "module": 0.0085, "pack": 0.095}
    assert (rated["power"]["at20SoC"], rated["power"]["at80SoC"]) == (150000, 250000)
    dynamic = p["performance"]["dynamic"]
    assert dynamic["resistance"]["remaining"]["pack"]["value"] == 0.095  # no increase yet
    assert dynamic["energy"]["soce"]["value"] == 100
    assert p["commercial"]["purpose"] == ["automotive"]
    assert p["handling"]["content"]["sparePart"][0]["manufacturerPartId"] == "VLT-M75-12"


def test_held_bpns_are_used_and_supplements_never_override_passport_data() -> None:
    doc = sample_document("ev")
    doc["point1"]["manufacturer"]["identifier"] = "BPNL0000000MAKER"
    rest = {k: v for k, v in SUPPLIED.items() if k != "/operation/manufacturer/manufacturer"}
    payload = export_catenax(doc, supplements=rest).payload
    assert payload["operation"]["manufacturer"]["manufacturer"] == "BPNL0000000MAKER"
    with pytest.raises(ExportSupplementError) as err:
        export_catenax(doc, supplements={**SUPPLIED, "/metadata/issueDate": "2020-01-01"})
    assert [p["pointer"] for p in err.value.details["problems"]] == ["/metadata/issueDate"]
    bad = {
        **SUPPLIED,
        "/metadata/economicOperatorId": "Elbe",
        "/operation/manufacturer/facility": [{"facility": "x"}],
    }
    with pytest.raises(ExportSupplementError) as err:
        export_catenax(doc, supplements=bad)
    assert len(err.value.details["problems"]) == 2


def test_supplied_facilities_are_the_manufacturing_plant_too() -> None:
    plants = [{"facility": "BPNA000000LEIPZG"}]
    payload = export_catenax(
        sample_document("ev"),
        supplements={**SUPPLIED, "/operation/manufacturer/facility": plants},
    ).payload
    assert schema_errors(payload) == []
    assert payload["operation"]["manufacturer"]["facility"] == plants
    assert all(
        f["manufacturingPlant"] == plants for f in payload["sustainability"]["carbonFootprint"]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/metadata/expirationDate=2040-12-31", "2040-12-31"),
        ("/performance/rated/lifetime/cycleLifeTesting/temperature=25", 25),
        ("/metadata/economicOperatorId=BPNL00000003ELBE", "BPNL00000003ELBE"),
        (
            '/operation/manufacturer/facility=[{"facility": "BPNA000000LEIPZG"}]',
            [{"facility": "BPNA000000LEIPZG"}],
        ),
    ],
)
def test_supplements_parse_as_numbers_lists_or_text(text: str, expected: Any) -> None:
    assert parse_supplement(text)[1] == expected
    with pytest.raises(ExportSupplementError):
        parse_supplement("expirationDate 2040")


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "ev"])
def test_other_categories_are_refused_naming_the_ev_only_values(category: str) -> None:
    """battery_pass 6.1.0 admits LMT and industrial batteries (a stationary one is industrial)
    but requires the EV-only values (capacity threshold for exhaustion, state of certified
    energy) of every category: a passport without them is refused, exactly those named, and
    the message says why."""
    doc = sample_document(category)
    with pytest.raises(ExportIncompleteError) as err:
        export_catenax(doc, supplements=SUPPLIED)
    assert gaps(err) == [
        "/point1/performance/capacityThresholdForExhaustionPercent",
        "/point4/stateOfHealth/stateOfCertifiedEnergyPercent",
    ]
    for problem in err.value.details["problems"]:
        assert "requires it of every category" in problem["message"]
        assert "EV batteries only" in problem["message"]
        assert f"state it in this {category} passport" in problem["message"]


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "ev"])
def test_other_categories_export_when_they_state_the_ev_only_values(category: str) -> None:
    doc = sample_document(category)
    doc["point1"]["performance"]["capacityThresholdForExhaustionPercent"] = "60"
    doc["point4"]["stateOfHealth"]["stateOfCertifiedEnergyPercent"] = "100"
    exported = export_catenax(doc, supplements=SUPPLIED)
    assert schema_errors(exported.payload) == []
    expected = "LMT" if category == "lmt" else "industrial"
    assert exported.payload["identification"]["category"] == expected
    assert exported.payload["commercial"]["purpose"] == []


# -- issued passports on a ledger ------------------------------------------------------------------
def test_a_fresh_passport_not_yet_in_service_exports(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    """Unlike Battery Pass 1.2, battery_pass 6.1.0 does not require the date of putting into
    service: a passport just issued exports; the date appears once point 4 records it."""
    chain, issued = issue_sample(ledger, operator_key)
    fresh = export_catenax(full_document(ledger, issued.passport_id), supplements=SUPPLIED)
    assert schema_errors(fresh.payload) == []
    assert "intoServiceDate" not in fresh.payload["operation"]
    assert fresh.payload["metadata"]["passportIdentifier"].startswith("urn:uuid:")
    update_passport(
        ledger,
        chain.keys["oem"],
        issued.passport_id,
        {"puttingIntoService": issued.document["issuedAt"]},
    )
    used = export_catenax(full_document(ledger, issued.passport_id), supplements=SUPPLIED)
    assert schema_errors(used.payload) == []
    assert used.payload["operation"]["intoServiceDate"] == issued.document["issuedAt"][:10]


def test_a_measured_state_of_health_without_the_cell_increase_is_a_gap(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    """At issue, every component's resistance increase is 0 by definition; once the state of
    health is measured, a component it omits is unknown, never assumed."""
    chain, issued = issue_sample(ledger, operator_key)
    soh = dict(issued.document["point4"]["stateOfHealth"])
    soh["measuredAt"] = "2026-12-01T00:00:00Z"
    soh["internalResistanceIncrease"] = [{"component": "pack", "increasePercent": "2"}]
    update_passport(ledger, chain.keys["oem"], issued.passport_id, {"stateOfHealth": soh})
    with pytest.raises(ExportIncompleteError) as err:
        export_catenax(full_document(ledger, issued.passport_id), supplements=SUPPLIED)
    assert gaps(err) == ["/point4/stateOfHealth/internalResistanceIncrease"]
    soh["internalResistanceIncrease"].append({"component": "cell", "increasePercent": "3"})
    update_passport(ledger, chain.keys["oem"], issued.passport_id, {"stateOfHealth": soh})
    payload = export_catenax(
        full_document(ledger, issued.passport_id), supplements=SUPPLIED
    ).payload
    assert schema_errors(payload) == []
    remaining = payload["performance"]["dynamic"]["resistance"]["remaining"]
    assert remaining["pack"] == {"value": 0.0969, "time": "2026-12-01T00:00:00Z"}  # 95 mΩ x 1.02
    assert "module" not in remaining


# -- how much of the schema the passport fills -----------------------------------------------------
def test_required_field_coverage_of_the_ev_sample() -> None:
    """The numbers docs/interop.md states (section "Catena-X battery_pass 6.1.0")."""
    exported = export_catenax(sample_document("ev"), supplements=SUPPLIED)
    filled = coverage(exported.payload, exported.supplied)
    counts = {k: len(v) for k, v in filled.items()}
    assert sum(counts.values()) == len(required_leaves()) == 150
    assert counts == {"passport": 110, "supplied": 6, "empty list": 27, "empty text": 7}
    assert filled["empty text"] == [
        "/identification/identification/dataCarrier/carrierLayout",
        "/materials/active/lead/location",
        "/materials/hazardous/cadmium/location",
        "/materials/hazardous/mercury/location",
        "/materials/hazardous/lead/location",
        "/safety/usableExtinguishAgent/*/fireClass",
        "/metadata/backupReference",
    ]
    assert {leaf.split("/*/")[0] for leaf in filled["empty list"] if "/*/" in leaf} == {
        "/identification/identification/classification",
        "/operation/manufacturer/facility",
        "/sustainability/carbonFootprint",  # its manufacturingPlant (BPNAs)
        "/materials/composition",
        "/handling/content/producer",
    }


# -- the CLI and the API ---------------------------------------------------------------------------
def _sets() -> list[str]:
    return [
        f"{pointer}={value}" if not isinstance(value, list) else f"{pointer}={json.dumps(value)}"
        for pointer, value in SUPPLIED.items()
    ]


def test_bpass_passport_export_format_catenax(
    ledger: Ledger, operator_key: SigningKey, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from cli import app

    _, issued = issue_sample(ledger, operator_key)
    common = [issued.passport_id, "--format", "catenax", "--db", str(ledger.repo.url)]
    common += ["--home", str(tmp_path / "home")]
    runner = CliRunner()
    refused = runner.invoke(app, ["passport", "export", *common])
    assert refused.exit_code != 0 and "export_incomplete" in refused.output
    assert "/metadata/economicOperatorId" in refused.output
    sets = [arg for s in _sets() for arg in ("--set", s)]
    out = tmp_path / "cx"
    done = runner.invoke(app, ["passport", "export", *common, *sets, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "wrote the battery_pass 6.1.0 payload" in done.output and "note:" in done.output
    payload = json.loads((out / "BatteryPass.json").read_text(encoding="utf-8"))
    assert schema_errors(payload) == []
    assert payload["metadata"]["economicOperatorId"] == BPNL
    wrong = runner.invoke(
        app, ["passport", "export", *common[:1], "--format", "batterypass", *sets[:2], *common[3:]]
    )
    assert wrong.exit_code != 0 and "catenax only" in wrong.output


@pytest.mark.parametrize("chemistry", ["NMC811", "LFP"])
def test_the_demo_passports_export_with_bpass_passport_export(
    chemistry: str, tmp_path: Path
) -> None:
    """The demo's model files (samples/models) state Hg, Cd and Pb content, so each passport
    the demo issues exports to battery_pass 6.1.0 with only the Catena-X-only values set."""
    from typer.testing import CliRunner

    from cli import app
    from tests.helpers.passport import sample_world

    with sample_world(tmp_path / "db", packs=1, chemistry=chemistry) as (ledger, summary):
        (pack,) = summary.packs
        assert pack.passport_id is not None
        args = [pack.passport_id, "--format", "catenax", "--db", str(ledger.repo.url)]
        args += ["--home", str(tmp_path / "home"), "--out", str(tmp_path / "cx")]
        args += [arg for s in _sets() for arg in ("--set", s)]
        done = CliRunner().invoke(app, ["passport", "export", *args])
        assert done.exit_code == 0, done.output
        payload = json.loads((tmp_path / "cx" / "BatteryPass.json").read_text(encoding="utf-8"))
        assert schema_errors(payload) == []
        model = json.loads((Path("samples/models") / summary.model_file.name).read_text("utf-8"))
        held = model["point1"]["heavyMetals"]
        assert payload["materials"]["hazardous"]["lead"]["concentration"] == float(
            held["leadPercent"]
        )


def test_api_export_format_catenax(ledger: Ledger, operator_key: SigningKey) -> None:
    from tests.helpers.api import assert_problem, bearer, login, make_client

    chain, issued = issue_sample(ledger, operator_key)
    url = f"/passports/{issued.passport_id}/export"
    oem = chain.keys["oem"]
    with make_client(ledger) as client:
        headers = bearer(login(client, oem.did, oem))
        body = assert_problem(
            client.get(url, params={"format": "catenax"}, headers=headers),
            422,
            "export_incomplete",
        )
        assert [p["pointer"] for p in body["problems"]] == sorted(SUPPLIED)
        params: dict[str, Any] = {"format": "catenax", "set": _sets()}
        response = client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "private, no-store"
        exported = response.json()
        assert exported["format"] == "catenax" and exported["performanceVersion"] is None
        assert list(exported["aspects"]) == ["BatteryPass"]
        assert schema_errors(exported["aspects"]["BatteryPass"]) == []
        assert exported["notes"]
        assert_problem(
            client.get(
                url, params={"format": "catenax", "set": ["/status=waste"]}, headers=headers
            ),
            422,
            "export_supplement_invalid",
        )
        assert_problem(
            client.get(url, params={"set": _sets()[:1]}, headers=headers),
            422,
            "export_supplement_invalid",
        )
        assert_problem(
            client.get(url, params={"format": "catenax", "set": _sets()}), 403, "export_forbidden"
        )


# -- the model addition: point1.heavyMetals --------------------------------------------------------
@pytest.mark.parametrize(
    ("metal", "percent", "label", "problem"),
    [
        ("mercury", "0.0005", None, None),
        ("mercury", "0.0006", None, "exceeds Annex I's limit of 0.0005 %"),
        ("cadmium", "0.002", None, None),
        ("cadmium", "0.0021", None, "must carry the cadmium label"),
        ("cadmium", "0.0021", "cadmium", None),
        ("lead", "0.0041", None, "must carry the lead label"),
        ("lead", "0.0041", "lead", None),
    ],
)
def test_heavy_metal_content_is_checked_against_annex_i_and_art_13_4(
    metal: str, percent: str, label: str | None, problem: str | None
) -> None:
    from passport.document.validation import validate

    doc = sample_document("ev")
    doc["point1"]["heavyMetals"][f"{metal}Percent"] = percent
    if label:
        doc["point1"]["labels"].append(
            {"subject": label, "symbolUrl": "https://example.test/l.svg", "meaning": "Contains it."}
        )
    found = [p for p in validate(doc) if p.pointer == f"/point1/heavyMetals/{metal}Percent"]
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0].message
