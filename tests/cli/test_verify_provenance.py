"""`passport verify` re-derives the figures from the signed provenance records as well as from the
trace tables: those tables are an index the database holds, so an operator (or an intruder with
database access) who edits one before a passport is issued gets figures the tables agree with.
The replay of the signed records, as a bundle's verifier replays them, catches it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from passport.ledger.pipeline import Ledger
from passport.service.issue import issue_passport
from passport.service.verification import verify_passport
from signing.keys import SigningKey
from tests.cli.test_cli import bpass
from tests.helpers.sample_passports import build_sample_chain, sample_model


def _tampered_then_issued(ledger: Ledger, operator_key: SigningKey) -> str:
    """The sample chain, its Congolese mine moved to Finland in the trace tables only, then the
    pack's passport issued from those tables."""
    chain = build_sample_chain(ledger, operator_key)
    with ledger.repo.engine.begin() as conn:
        moved = conn.execute(text("UPDATE trace_steps SET country = 'FI' WHERE country = 'CD'"))
        assert moved.rowcount >= 1
    issued = issue_passport(
        ledger,
        chain.keys["oem"],
        pack_lot=chain.pack_lot,
        model=sample_model("ev"),
        base_url="https://id.example",
        serial="P-TAMPER",
    )
    return issued.passport_id


def test_an_edit_of_the_trace_tables_fails_passport_verify(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    passport_id = _tampered_then_issued(ledger, operator_key)
    report = verify_passport(ledger, passport_id)
    checks = {c.name: c for c in report.checks}
    # The tables agree with the figures they produced: only the replay can see the edit.
    assert checks["roll-ups"].ok
    assert not report.ok and not checks["provenance"].ok
    assert "/point1/responsibleSourcing" in checks["provenance"].message, checks["provenance"]


def test_an_untouched_passport_verifies_its_provenance(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    chain = build_sample_chain(ledger, operator_key)
    issued = issue_passport(
        ledger,
        chain.keys["oem"],
        pack_lot=chain.pack_lot,
        model=sample_model("ev"),
        base_url="https://id.example",
        serial="P-OK",
    )
    report = verify_passport(ledger, issued.passport_id)
    provenance = next(c for c in report.checks if c.name == "provenance")
    assert report.ok and provenance.ok
    assert "figures equal the roll-ups recomputed from the provenance" in provenance.message


def test_bpass_passport_verify_says_not_verified(
    tmp_path: Path, db_url: str, ledger: Ledger, operator_key: SigningKey
) -> None:
    passport_id = _tampered_then_issued(ledger, operator_key)
    proc = bpass("passport", "verify", passport_id, "--db", db_url, cwd=tmp_path, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED provenance:" in proc.stdout
    assert f"passport {passport_id}: NOT verified" in proc.stdout
