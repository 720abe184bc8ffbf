"""Results on stdout, diagnostics on stderr: a script reads `--json` from stdout alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.test_cli import bpass
from tests.cli.test_sign_ahead import due_diligence, supplier

__all__ = ["supplier"]


def test_record_new_json_is_the_result_on_stdout(supplier: dict[str, Any]) -> None:
    cwd, db, did = supplier["cwd"], supplier["db"], supplier["did"]
    due_diligence(cwd / "s1.json", did, 1)
    new = bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "s1.json",
                "--append", "--json", *db, cwd=cwd)  # fmt: skip
    result = json.loads(new.stdout)
    assert new.stderr == ""
    assert result["record"]["issuer"] == did
    assert result["receipt"]["recordHash"] == result["recordHash"]
    # the same record, appended again through `append --json`: stdout is one JSON document
    # (a confidential record, so the file is {record, disclosures}, as POST /records takes)
    resubmitted = {"record": result["record"], "disclosures": result["disclosures"]}
    (cwd / "r.json").write_text(json.dumps(resubmitted))
    again = bpass("append", "r.json", "--json", *db, cwd=cwd)
    assert again.stderr == ""
    (receipt,) = json.loads(again.stdout)
    assert receipt["existing"] is True and receipt["recordHash"] == result["recordHash"]

    # without --json: the record to --out, the receipt's chatter to stderr, nothing on stdout
    due_diligence(cwd / "s2.json", did, 2)
    text = bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "s2.json",
                 "--append", *db, cwd=cwd)  # fmt: skip
    assert text.stdout == "" and '"leafIndex"' in text.stderr
    written = bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "s2.json",
                    "--out", "s3.signed.json", "--json", *db, cwd=cwd)  # fmt: skip
    on_disk = json.loads((cwd / "s3.signed.json").read_text())
    assert json.loads(written.stdout)["record"] == on_disk["record"]  # {record, disclosures}
    assert "receipt" not in written.stdout


def test_a_rejected_append_keeps_stdout_for_the_receipts(
    supplier: dict[str, Any], tmp_path: Path
) -> None:
    cwd, db = supplier["cwd"], supplier["db"]
    (cwd / "junk.json").write_text("{}")
    proc = bpass("append", "junk.json", "--json", *db, cwd=cwd, check=False)
    assert proc.returncode == 1 and json.loads(proc.stdout) == []
    assert "rejected junk.json" in proc.stderr


def test_verify_bundle_verdict_is_on_stdout(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text('{"type": "BatteryPassportBundle"}')
    proc = bpass("verify", "b.json", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "NOT verified" in proc.stdout and proc.stderr == ""
    as_json = bpass("verify", "b.json", "--json", cwd=tmp_path, check=False)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["ok"] is False
