"""An ``Assurance`` shown (issue #21): in the passport's public view (which the offline view
verifier recomputes), on the consumer page, in ``bpass passport show`` and in the offline
bundle's ``assurance`` check; a tampered Assurance makes the view and the bundle fail."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app
from passport.errors import DisclosuresNotEntitledError, PartitionUnverifiedError
from passport.ledger.keystore import save_key
from passport.service.bundle import build_bundle
from passport.service.disclosures import read_disclosures
from passport.service.views import show_passport
from passport.verify.bundle import verify_bundle
from passport.verify.view import verify_view
from tests.helpers.api import make_client
from tests.helpers.api_passport import LOG
from tests.helpers.assurance import CERTIFIER_NAME, HOLDS, World, assurance_subject, sign, world

__all__ = ["world"]


def _assure(w: World) -> str:
    return w.ledger.append(sign(w, "certifier", "Assurance", assurance_subject(w))).record_hash


def test_the_public_view_shows_the_assurance_and_verifies(world: World) -> None:
    w = world
    before = show_passport(w.ledger, w.passport_id, "public").to_dict()
    assert before["assurances"] == []
    h = _assure(w)
    view = show_passport(w.ledger, w.passport_id, "public").to_dict()
    (entry,) = view["assurances"]
    assert entry["record"] == h and entry["issuer"] == w.did("certifier")
    assert entry["holds"] == HOLDS and entry["fails"][0]["reason"] == "report expired"
    verify_view(json.loads(json.dumps(view)), log_vkey=w.ledger.info().log_vkey)
    # the view may not claim more than the signed record states
    forged = copy.deepcopy(view)
    forged["assurances"][0]["holds"].append("/point1/responsibleSourcing/materials")
    with pytest.raises(PartitionUnverifiedError, match="assurances"):
        verify_view(forged)
    # nor show one no signed record states
    invented = copy.deepcopy(before)
    invented["assurances"] = view["assurances"]
    with pytest.raises(PartitionUnverifiedError, match="assurances"):
        verify_view(invented)


def test_the_page_says_who_checked_what(world: World) -> None:
    w = world
    _assure(w)
    battery = w.summary.packs[0].battery_id
    path = "/" + battery.split("/", 3)[3]
    with make_client(w.ledger) as client:
        page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    text = page.text
    assert f"Checked by {CERTIFIER_NAME.replace('Ü', '&#220;')}" in text or (
        f"Checked by {CERTIFIER_NAME}" in text
    )
    assert "carbon footprint per kWh, recycled content hold." in text
    assert "due diligence coverage does <strong>not</strong> hold (report expired)" in text
    assert "this page and you did not" in text


def test_bpass_passport_show_prints_the_assurance(world: World) -> None:
    w = world
    _assure(w)
    url = str(w.ledger.repo.url)
    result = CliRunner().invoke(app, ["passport", "show", w.passport_id, "--db", url])
    assert result.exit_code == 0, result.output
    assert f"checked by {CERTIFIER_NAME}" in result.output
    assert "carbon footprint per kWh, recycled content hold" in result.output
    assert "due diligence coverage does NOT hold: report expired" in result.output


def _bundle(w: World) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(json.dumps(build_bundle(w.ledger, w.passport_id)))
    return bundle


def test_the_bundle_reports_the_assurance_and_fails_when_it_is_tampered(world: World) -> None:
    w = world
    vkey = w.ledger.info().log_vkey
    plain = verify_bundle(_bundle(w), log_vkey=vkey, workers=0)
    assert plain.ok, plain.to_dict()
    assert "no assurance" in plain.checks[-1].detail
    h = _assure(w)
    bundle = _bundle(w)
    report = verify_bundle(bundle, log_vkey=vkey, workers=0)
    assert report.ok, report.to_dict()
    last = report.checks[-1]
    assert last.name == "assurance"
    assert CERTIFIER_NAME in last.detail and "recycled content" in last.detail
    assert "fails due diligence coverage (report expired)" in last.detail
    # tamper with the signed Assurance: claim one more figure holds
    for item in bundle["records"]:
        if item["record"]["credentialSubject"].get("version") and item["record"]["type"][1] == (
            "Assurance"
        ):
            item["record"]["credentialSubject"]["holds"].append(
                "/point1/responsibleSourcing/materials"
            )
    tampered = verify_bundle(bundle, log_vkey=vkey, workers=0)
    assert not tampered.ok
    failure = tampered.first_failure
    assert failure is not None and failure.name in ("records", "passport"), failure
    assert h  # the record the bundle carried


def test_the_cli_assures_and_grants(world: World, tmp_path: Path) -> None:
    w = world
    save_key(w.key("notified"), tmp_path / "notified.key")
    save_key(w.key("miner"), tmp_path / "miner.key")
    save_key(LOG, tmp_path / "home" / "log.key")
    where = ["--db", str(w.ledger.repo.url), "--home", str(tmp_path / "home")]
    args = ["passport", "assure", w.passport_id, "--key", str(tmp_path / "notified.key"), *where]
    runner = CliRunner()
    result = runner.invoke(
        app, [*args, "--holds", "perKWh,recycledContent", "--fails", "dueDiligence:expired"]
    )
    assert result.exit_code == 0, result.output
    view = show_passport(w.ledger, w.passport_id, "public")
    assert view.assurances[-1]["holds"] == HOLDS
    assert view.assurances[-1]["issuer"] == w.did("notified")
    bad = runner.invoke(app, [*args, "--holds", "perKWh", "--fails", "perKWh:no"])
    assert bad.exit_code != 0 and "both to hold and to fail" in bad.output
    record, notified = w.extraction["miner"], w.did("notified")
    with pytest.raises(DisclosuresNotEntitledError):
        read_disclosures(w.ledger, record, notified)
    granted = runner.invoke(
        app,
        ["record", "grant-disclosures", "--key", str(tmp_path / "miner.key"), "--to", notified,
         "--kind", "Extraction", *where],
    )  # fmt: skip
    assert granted.exit_code == 0, granted.output
    assert read_disclosures(w.ledger, record, notified)


def test_the_bundle_check_refuses_an_unregistered_assurer_or_another_root(world: World) -> None:
    from passport.errors import AssuranceError
    from passport.records.envelope import parse_record
    from passport.verify.assurance import check_bundle_assurances

    w = world
    _assure(w)
    bundle = _bundle(w)
    records = [
        parse_record(item["record"], max_bytes=1 << 30, redacted=True) for item in bundle["records"]
    ]
    (passport,) = [r for r in records if r.kind == "BatteryPassport"]
    (assurance,) = [r for r in records if r.kind == "Assurance"]
    cp = assurance.subject["checkpoint"]
    fine = check_bundle_assurances(records, passport, {cp["size"]: cp["rootHash"]}, replayed=True)
    assert "root checked against this bundle's log" in fine
    unchecked = check_bundle_assurances(records, passport, {}, replayed=True)
    assert "not offline" in unchecked
    other_root = ("A" if cp["rootHash"][0] != "A" else "B") + cp["rootHash"][1:]
    with pytest.raises(AssuranceError, match="root"):
        check_bundle_assurances(records, passport, {cp["size"]: other_root}, replayed=True)
    certifier = w.did("certifier")
    unregistered = [
        r
        for r in records
        if not (r.kind == "ActorRegistration" and r.subject.get("id") == certifier)
    ]
    with pytest.raises(AssuranceError, match="does not register"):
        check_bundle_assurances(unregistered, passport, {}, replayed=True)
    without_version = [r for r in records if r.hash != assurance.subject["version"]]
    with pytest.raises(AssuranceError, match="no version"):
        check_bundle_assurances(without_version, passport, {}, replayed=True)
