"""QR codes: what a phone would read. The PNG served by the API (and written by ``bpass qr``) is
decoded with a real decoder (zxing-cpp), must hold the battery's GS1 Digital Link URI with error
correction level Q or H, and following that URI against the API lands on the passport."""

from __future__ import annotations

import io
from pathlib import Path
from xml.etree import ElementTree

import zxingcpp
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from cli import app
from tests.helpers.api import BASE_URL
from tests.helpers.api_passport import Sample, sample

__all__ = ["sample"]


def _decode(png: bytes) -> tuple[str, str]:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, results
    (found,) = results
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    return found.text, found.ec_level


def test_the_qr_png_decodes_to_the_digital_link_and_leads_to_the_passport(sample: Sample) -> None:
    png = sample.client.get(f"/passports/{sample.passport_id}/qr.png").content
    text, level = _decode(png)
    assert level in ("Q", "H")
    assert text == sample.summary.packs[0].battery_id
    assert text.startswith(BASE_URL + "/01/")
    landed = sample.client.get(text.removeprefix(BASE_URL), headers={"Accept": "application/json"})
    assert landed.status_code == 200
    assert landed.json()["passport"]["passportId"] == sample.passport_id
    page = sample.client.get(text.removeprefix(BASE_URL), headers={"Accept": "text/html"})
    assert page.status_code == 200 and sample.passport_id in page.text


def test_the_qr_code_survives_wear(sample: Sample) -> None:
    """Level Q: a scratch across part of the symbol still decodes."""
    png = sample.client.get(f"/passports/{sample.passport_id}/qr.png").content
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    draw = ImageDraw.Draw(image)
    draw.line([(width * 0.3, height * 0.55), (width * 0.75, height * 0.62)], fill="white", width=12)
    draw.rectangle([width * 0.55, height * 0.3, width * 0.62, height * 0.4], fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    assert _decode(out.getvalue())[0] == sample.summary.packs[0].battery_id


def test_the_svg_is_well_formed_and_scalable(sample: Sample) -> None:
    svg = sample.client.get(f"/passports/{sample.passport_id}/qr.svg")
    root = ElementTree.fromstring(svg.content)
    assert root.tag.endswith("svg") and root.get("viewBox")
    assert svg.headers["cache-control"].startswith("public")


def test_bpass_qr_writes_png_or_svg_by_extension(sample: Sample, tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(sample.ledger.repo.url)
    png, svg = tmp_path / "pack.png", tmp_path / "pack.svg"
    for out, ident in ((png, sample.passport_id), (svg, sample.summary.packs[0].battery_id)):
        result = runner.invoke(
            app, ["qr", ident, "--out", str(out), "--db", db, "--home", str(tmp_path)]
        )
        assert result.exit_code == 0, result.output
        assert "level Q" in result.stdout
    text, level = _decode(png.read_bytes())
    assert text == sample.summary.packs[0].battery_id and level == "Q"
    assert png.read_bytes() == sample.client.get(f"/passports/{sample.passport_id}/qr.png").content
    assert ElementTree.fromstring(svg.read_bytes()).get("viewBox")
    bad = runner.invoke(
        app,
        ["qr", sample.passport_id, "--out", str(tmp_path / "x.jpg"), "--db", db],
    )
    assert bad.exit_code == 2 and ".png or .svg" in bad.output
    missing = runner.invoke(
        app, ["qr", "urn:bpass:" + "0" * 32, "--out", str(png), "--db", db, "--home", str(tmp_path)]
    )
    assert missing.exit_code == 1 and "passport_not_found" in missing.output
