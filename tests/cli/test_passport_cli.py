"""`bpass passport …` run as a user runs it: issue, show per role, verify, check, update, export,
status with a successor, list; bad input exits non-zero listing every problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from passport.ledger.keystore import load_key, save_key
from passport.ledger.pipeline import Ledger
from passport.settings import Settings
from tests.helpers.passport import BATTERYPASS_SCHEMAS, external_validator
from tests.helpers.sample_passports import build_sample_chain, sample_model

BPASS = [sys.executable, "-m", "cli"]


def bpass(*args: str, cwd: Path, db: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    full = [*BPASS, *args, "--db", db, "--home", str(cwd / "home")]
    env = {**os.environ, "BPASS_PUBLIC_BASE_URL": "https://id.voltaris.example"}
    proc = subprocess.run(full, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"bpass {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


def test_passport_commands(tmp_path: Path, db_url: str) -> None:
    bpass("init", cwd=tmp_path, db=db_url)
    home = tmp_path / "home"
    ledger = Ledger.open(Settings(database_url=db_url, home=home))
    chain = build_sample_chain(ledger, load_key(home / "operator.key"))
    ledger.close()
    for who in ("oem", "repairer", "authority"):
        save_key(chain.keys[who], tmp_path / f"{who}.pem")
    model = sample_model("ev")
    (tmp_path / "model.json").write_text(json.dumps(model))

    # a bad model is refused, every problem listed, exit 1
    bad = json.loads(json.dumps(model))
    bad["point1"]["massKg"] = "-1"
    bad["point1"]["performance"]["voltage"]["nominalV"] = "500"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    refused = bpass(
        "passport",
        "issue",
        "--pack",
        chain.pack_lot,
        "--model",
        "bad.json",
        "--key",
        "oem.pem",
        "--serial",
        "P1",
        cwd=tmp_path,
        db=db_url,
        check=False,
    )
    assert refused.returncode == 1
    assert "[passport_invalid] refusing to issue" in refused.stderr
    assert "/point1/massKg: must not be negative" in refused.stderr
    assert "/point1/performance/voltage/maximumV" in refused.stderr

    out = bpass(
        "passport",
        "issue",
        "--pack",
        chain.pack_lot,
        "--model",
        "model.json",
        "--key",
        "oem.pem",
        "--serial",
        "P75-1",
        "--json",
        cwd=tmp_path,
        db=db_url,
    )
    issued = json.loads(out.stdout)
    pid = issued["passportId"]
    assert issued["batteryId"] == "https://id.voltaris.example/01/09506000134352/21/P75-1"

    views: dict[str, Any] = {}
    for role in ("public", "legitimate-interest", "authority"):
        views[role] = json.loads(
            bpass("passport", "show", pid, "--role", role, "--json", cwd=tmp_path, db=db_url).stdout
        )
    assert set(views["public"]["evidence"]["partitions"]) == {"1"}
    assert set(views["legitimate-interest"]["evidence"]["partitions"]) == {"1", "2", "4"}
    assert set(views["authority"]["evidence"]["partitions"]) == {"1", "2", "3"}
    text = bpass(
        "passport", "show", issued["batteryId"], "--role", "authority", cwd=tmp_path, db=db_url
    ).stdout
    assert "== Annex XIII point 3" in text and "== Annex XIII point 4" not in text, text
    version = views["public"]["version"]
    assert f"version 1 (BatteryPassport): {version['hash']}" in text
    assert views["authority"]["versions"] == [version]
    assert "salt:" not in text
    wrong = bpass("passport", "show", pid, "--role", "oem", cwd=tmp_path, db=db_url, check=False)
    assert wrong.returncode == 1 and "access_role_unknown" in wrong.stderr

    (tmp_path / "view.json").write_text(json.dumps(views["authority"]))
    offline = bpass("passport", "verify-view", "view.json", cwd=tmp_path, db=db_url)
    assert "partitions 1, 2, 3 match the signed records and the log" in offline.stdout
    views["authority"]["passport"]["point3"]["testReports"][0]["result"] = "fail"
    (tmp_path / "forged.json").write_text(json.dumps(views["authority"]))
    forged = bpass("passport", "verify-view", "forged.json", cwd=tmp_path, db=db_url, check=False)
    assert forged.returncode == 1 and "partition_unverified" in forged.stderr

    verified = bpass("passport", "verify", pid, cwd=tmp_path, db=db_url)
    assert "verified" in verified.stdout and "FAILED" not in verified.stdout

    # complete (the date of putting into service is not yet applicable), but not ok: the
    # sample misses the 2036 recycled-content minimums and has partial due diligence: exit 1
    checked = bpass("passport", "check", pid, "--json", cwd=tmp_path, db=db_url, check=False)
    report = json.loads(checked.stdout)
    assert checked.returncode == 1 and report["ok"] is False and report["findings"]
    assert report["completeness"]["complete"]
    assert [g["pointer"] for g in report["completeness"]["notYetApplicable"]] == [
        "/point4/puttingIntoService"
    ]
    assert {(r["element"], r["year"]): r["status"] for r in report["recycledContent"]}[
        ("cobalt", "2031")
    ] == "pass"
    check_run = bpass("passport", "check", pid, cwd=tmp_path, db=db_url, check=False)
    check_text = check_run.stdout
    assert check_run.returncode == 1 and "ok: NO" in check_text
    assert "PROVISIONAL" in check_text and "margin" in check_text
    assert "not yet applicable: 4: date of putting into service" in check_text

    # complete for the check, so the export works too: puttingIntoService is left out
    fresh = bpass(
        "passport",
        "export",
        pid,
        "--format",
        "batterypass",
        "--out",
        "fresh",
        cwd=tmp_path,
        db=db_url,
    )
    assert "puttingIntoService: left out" in fresh.stderr
    general = json.loads((tmp_path / "fresh" / "GeneralProductInformation.json").read_text())
    assert "puttingIntoService" not in general
    assert json.loads((tmp_path / "fresh" / "passport-version.json").read_text()) == version
    assert f"passport version 1: {version['hash']}" in fresh.stderr
    (tmp_path / "service.json").write_text(
        json.dumps({"puttingIntoService": views["public"]["passport"]["issuedAt"]})
    )
    bpass(
        "passport",
        "update",
        pid,
        "--key",
        "oem.pem",
        "--data",
        "service.json",
        cwd=tmp_path,
        db=db_url,
    )
    repair = (
        "passport",
        "update",
        pid,
        "--key",
        "repairer.pem",
        "--event",
        "accident@2026-11-20T10:00:00Z:rear collision",
    )
    unmandated = bpass(*repair, cwd=tmp_path, db=db_url, check=False)
    assert unmandated.returncode == 1 and "mandated" in unmandated.stderr
    repairer_did = chain.did("repairer")
    granted = bpass(
        "passport",
        "mandate",
        pid,
        "--to",
        repairer_did,
        "--key",
        "oem.pem",
        cwd=tmp_path,
        db=db_url,
    )
    assert f"mandated {repairer_did}" in granted.stdout
    bpass(*repair, cwd=tmp_path, db=db_url)
    denied = bpass(
        "passport",
        "update",
        pid,
        "--key",
        "authority.pem",
        "--data",
        "service.json",
        cwd=tmp_path,
        db=db_url,
        check=False,
    )
    assert denied.returncode == 1 and "role_forbidden" in denied.stderr
    exported = bpass(
        "passport", "export", pid, "--format", "batterypass", "--out", "bp", cwd=tmp_path, db=db_url
    )
    assert (
        "wrote 7 aspects, BatteryPassSupplement.json" in exported.stdout
        and "note:" in exported.stderr
    )
    for name, path in BATTERYPASS_SCHEMAS.items():
        payload = json.loads((tmp_path / "bp" / f"{name}.json").read_text())
        errors = [
            e.message
            for e in external_validator(path).iter_errors(payload)
            if e.message != "'warrentyPeriod' is a required property"  # 96 months: no --MM
        ]
        assert errors == [], name
    supplement = json.loads((tmp_path / "bp" / "BatteryPassSupplement.json").read_text())
    assert supplement["warranty"]["period"] == "P96M" and supplement["warranty"]["endDate"]

    moved = json.loads(
        bpass(
            "passport",
            "status",
            pid,
            "--to",
            "repurposed",
            "--key",
            "repairer.pem",
            "--reason",
            "home storage",
            "--json",
            cwd=tmp_path,
            db=db_url,
        ).stdout
    )
    successor = moved["successor"]["passportId"]
    illegal = bpass(
        "passport",
        "status",
        successor,
        "--to",
        "recycled",
        "--key",
        "repairer.pem",
        cwd=tmp_path,
        db=db_url,
        check=False,
    )
    assert illegal.returncode == 1 and "passport_transition_illegal" in illegal.stderr
    listed = {
        p["passportId"]: p
        for p in json.loads(bpass("passport", "list", "--json", cwd=tmp_path, db=db_url).stdout)
    }
    assert listed[pid]["successor"] == successor and listed[successor]["predecessor"] == pid
    assert bpass("passport", "verify", successor, cwd=tmp_path, db=db_url).returncode == 0


def test_check_exit_code_follows_ok(monkeypatch: Any) -> None:
    """`bpass passport check` exits 0 when its report is ok and 1 when it is not, in text and
    JSON alike (the report and the ledger are stubbed: only the exit rule is under test)."""
    from typer.testing import CliRunner

    import cli.passports as commands
    import passport.document.compliance as compliance
    import passport.service.views as views
    from cli import app

    findings: list[str] = []

    def report(document: Any, class_table: Any = None) -> dict[str, Any]:
        return {
            "passportId": "urn:bpass:" + "0" * 32,
            "status": "original",
            "completeness": {
                "category": "ev",
                "complete": True,
                "checked": 1,
                "missing": [],
                "notYetApplicable": [],
            },
            "recycledContent": [],
            "carbonFootprint": {
                "kgCO2ePerKWh": "1",
                "class": "A",
                "declaredClass": "A",
                "table": "t",
                "provisional": False,
                "note": "",
            },
            "dueDiligence": [],
            "findings": list(findings),
            "ok": not findings,
            "okMeans": compliance.OK_MEANS,
        }

    monkeypatch.setattr(compliance, "compliance_report", report)
    monkeypatch.setattr(views, "full_document", lambda ledger, pid: {})
    monkeypatch.setattr(views, "resolve", lambda ledger, ident: ident)
    monkeypatch.setattr(commands, "_ledger", lambda db, home, write: None)
    runner = CliRunner()
    pid = "urn:bpass:" + "0" * 32
    for args in (["passport", "check", pid], ["passport", "check", pid, "--json"]):
        findings.clear()
        ok = runner.invoke(app, args)
        assert ok.exit_code == 0, ok.output
        findings.append("missing something")
        not_ok = runner.invoke(app, args)
        assert not_ok.exit_code == 1, not_ok.output
    assert "ok: NO" in not_ok.output or '"ok": false' in not_ok.output
