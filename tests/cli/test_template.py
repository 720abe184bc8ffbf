"""`bpass record template KIND [--csv]`: examples and headers read from the kinds' schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from passport.errors import KindNameError
from passport.records.envelope import known_kinds, schema_errors
from passport.records.tabular import csv_columns, example, members, resolve_kind, unflatten
from tests.cli.test_cli import bpass


def test_csv_header_is_flattened_from_the_schema(tmp_path: Path) -> None:
    out = bpass("record", "template", "extraction", "--csv", cwd=tmp_path).stdout.strip()
    assert out.startswith("lot,material,product,depositType,miningMethod,facility,country,")
    assert "massGrams,elements.Li,elements.Ni,elements.Co,elements.Mn,elements.C" in out
    assert "period.start,period.end" in out and out.endswith(",@validFrom")
    transformation = csv_columns("Transformation")
    assert "inputs.0.lot" in transformation and "inputs.0.record" not in transformation
    assert "outputs.0.claims.0.grams" in transformation


def test_template_prints_an_example_and_every_member(tmp_path: Path) -> None:
    out = bpass("record", "template", "TRANSFER", cwd=tmp_path).stdout
    body = out[out.index("{") : out.index("}") + 1]
    assert set(json.loads(body)) == {"lot", "record", "massGrams", "buyer", "reference"}
    assert "massGrams  (integer, required, confidential)" in out
    assert "Mass in grams (integer)" in out
    assert "reference  (string, optional, confidential)" in out
    assert "lot  (string, required, public)" in out
    assert "filled in by `bpass import` from the lot id" in out
    assert "Signed confidential by default" in out and "--public signs the record plain" in out
    registration = bpass("record", "template", "ActorRegistration", cwd=tmp_path).stdout
    assert "name  (string, required, public)" in registration
    assert "facilities.N.latitude  (string, optional, confidential)" in registration
    rotation = bpass("record", "template", "KeyRotation", cwd=tmp_path).stdout
    assert "confidential" not in rotation and "nextKey  (string, required)" in rotation


@pytest.mark.parametrize(
    "kind", sorted(k for k in known_kinds() if k not in ("BatteryPassport", "Transformation"))
)
def test_examples_validate_and_round_trip_through_columns(kind: str) -> None:
    subject = example(kind)
    assert schema_errors(f"records/{kind}.schema.json", subject) == []
    cells = {m.column: m for m in members(kind)}
    assert cells  # every kind has members


def test_kind_names_are_case_insensitive_and_typos_suggested(tmp_path: Path) -> None:
    assert resolve_kind("carbonfootprint") == "CarbonFootprint"
    with pytest.raises(KindNameError) as caught:
        resolve_kind("Extractoin")
    assert caught.value.suggestions[0] == "Extraction"
    assert "Transformation" in caught.value.known
    proc = bpass("record", "template", "Trnasfer", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "[kind_name_unknown]" in proc.stderr and "did you mean 'Transfer'" in proc.stderr


def test_unflatten_reads_cells_as_their_schema_types() -> None:
    subject, problems = unflatten(
        "Transformation",
        {"inputs.0.lot": "urn:lot:a", "inputs.0.massGrams": "5", "inputs.1.lot": "urn:lot:b",
         "outputs.0.elements.Ni": "120", "emissions.main-production": "1.50", "custody": ""},
    )  # fmt: skip
    assert problems == []
    assert subject == {
        "inputs": [{"lot": "urn:lot:a", "massGrams": 5}, {"lot": "urn:lot:b"}],
        "outputs": [{"elements": {"Ni": 120}}],
        "emissions": {"main-production": "1.50"},
    }
    _, gaps = unflatten(
        "Transformation", {"inputs.1.lot": "urn:lot:b", "inputs.0.massGrams": "1e3"}
    )
    assert [c for c, _ in gaps] == ["inputs.0.massGrams", "inputs"]  # the bad cell, then the gap
    _, gap = unflatten("Transformation", {"inputs.2.lot": "urn:lot:b"})
    assert gap and "number them 0, 1, 2" in gap[0][1]
