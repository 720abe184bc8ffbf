"""`bpass import`: CSV, JSON Lines and XLSX rows checked in full, signed in chain order, appended
in batches, resumed after a failure; and the same import through a remote node's API. Records are
confidential by default (redacted in the log, their Disclosures kept by the node), plain with
--public."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.client import RemoteLedger
from passport.ledger.pipeline import Ledger
from passport.records.tabular import csv_columns
from passport.service.imports import run_import
from passport.store.sql.repository import Repository
from tests.cli.test_cli import bpass
from tests.conftest import Actors
from tests.helpers.api import client
from tests.helpers.imports import extraction_row

__all__ = ["client"]

FACILITY = {"id": "mine-1", "name": "Salar mine", "country": "CL"}


@pytest.fixture
def miner(tmp_path: Path, db_url: str) -> dict[str, Any]:
    """An initialised ledger with a registered miner (key file miner.key) and refiner."""
    db = ["--db", db_url]
    bpass("init", *db, cwd=tmp_path)
    did = bpass("keys", "new", "--out", "miner.key", cwd=tmp_path).stdout.strip()
    buyer = bpass("keys", "new", "--out", "refiner.key", cwd=tmp_path).stdout.strip()
    (tmp_path / "fac.json").write_text(json.dumps([FACILITY]))
    bpass("actor", "add", "--did", did, "--name", "Mine Co", "--role", "miner",
          "--country", "CL", "--facilities", "fac.json", *db, cwd=tmp_path)  # fmt: skip
    bpass("actor", "add", "--did", buyer, "--name", "Refiner", "--role", "refiner", *db,
          cwd=tmp_path)  # fmt: skip
    return {"db": db, "did": did, "buyer": buyer, "cwd": tmp_path, "url": db_url}


def stored(url: str) -> tuple[dict[str, int], int]:
    """Stored records by kind and form (``Kind`` or ``Kind redacted``), and Disclosure rows."""
    repo = Repository(url)
    try:
        with repo.read() as tx:
            forms: Counter[str] = Counter()
            for r in tx.records_range(0, tx.log_size()[0]):
                forms[r.kind + (" redacted" if b'"_sd"' in r.body else "")] += 1
            return dict(forms), tx.count_disclosures()
    finally:
        repo.dispose()


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def tree_size(m: dict[str, Any]) -> int:
    return int(bpass("log", "checkpoint", *m["db"], cwd=m["cwd"]).stdout.split("\n")[1])


def test_csv_import_then_transfers_by_lot_id(miner: dict[str, Any]) -> None:
    cwd, db = miner["cwd"], miner["db"]
    write_csv(cwd / "lots.csv", [extraction_row(i) for i in range(3)], csv_columns("Extraction"))
    out = bpass("import", "lots.csv", "--kind", "extraction", "--key", "miner.key", *db, cwd=cwd)
    assert "3 rows, 3 appended, 0 already in the ledger" in out.stdout
    assert tree_size(miner) == 6
    # Transfers name lots by id only: the importer fills in each lot's creating record.
    transfers = [{"lot": f"urn:lot:mine:{i:05d}", "massGrams": "1000", "buyer": miner["buyer"]}
                 for i in range(3)]  # fmt: skip
    write_csv(cwd / "transfers.csv", transfers)
    done = bpass("import", "transfers.csv", "--kind", "Transfer", "--key", "miner.key",
                 "--json", *db, cwd=cwd)  # fmt: skip
    result = json.loads(done.stdout)
    assert result["appended"] == 3 and result["chainHead"]["sequence"] == 6
    assert bpass("audit", *db, cwd=cwd).returncode == 0
    again = bpass("import", "transfers.csv", "--kind", "Transfer", "--key", "miner.key", *db,
                  cwd=cwd)  # fmt: skip
    assert "3 rows, 0 appended, 3 already in the ledger" in again.stdout
    assert tree_size(miner) == 9


def test_jsonl_import_nested_or_flattened(miner: dict[str, Any]) -> None:
    cwd, db = miner["cwd"], miner["db"]
    nested = {**extraction_row(0), "massGrams": 5000, "elements": {"Li": 2000},
              "period": {"start": "2026-10-01T00:00:00Z", "end": "2026-10-02T00:00:00Z"},
              "@validFrom": "2026-11-01T00:00:00Z"}  # fmt: skip
    for k in ("elements.Li", "period.start", "period.end"):
        del nested[k]
    flat = {**extraction_row(1), "massGrams": 6000, "elements.Li": 1500}
    del flat["emissions.raw-material-acquisition"]
    (cwd / "lots.jsonl").write_text(json.dumps(nested) + "\n\n" + json.dumps(flat) + "\n")
    out = bpass("import", "lots.jsonl", "--kind", "Extraction", "--key", "miner.key", "--json",
                *db, cwd=cwd)  # fmt: skip
    assert json.loads(out.stdout)["appended"] == 2
    assert tree_size(miner) == 5


def test_xlsx_import(miner: dict[str, Any]) -> None:
    from openpyxl import Workbook

    cwd, db = miner["cwd"], miner["db"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    rows = [extraction_row(i) for i in range(2)]
    sheet.append(list(rows[0]))
    for row in rows:  # numbers as spreadsheet numbers, as a user's sheet holds them
        sheet.append([int(v) if v.isdigit() else v for v in row.values()])
    book.save(cwd / "lots.xlsx")
    out = bpass("import", "lots.xlsx", "--kind", "Extraction", "--key", "miner.key", *db, cwd=cwd)
    assert "2 rows, 2 appended" in out.stdout


def test_every_bad_row_is_reported_and_nothing_appended(miner: dict[str, Any]) -> None:
    cwd, db = miner["cwd"], miner["db"]
    rows = [
        extraction_row(0),
        extraction_row(1, massGrams="12.5"),
        extraction_row(2, **{"elements.Li": "600000", "elements.Co": "600000"}),
        extraction_row(3, country="chile"),
    ]
    write_csv(cwd / "lots.csv", rows, [*rows[2], "colour"])
    before = tree_size(miner)
    bad = bpass("import", "lots.csv", "--kind", "Extraction", "--key", "miner.key", *db,
                cwd=cwd, check=False)  # fmt: skip
    assert bad.returncode == 1, bad.stderr
    assert "[import_invalid]" in bad.stderr and "nothing signed or appended" in bad.stderr
    assert "row 1, column colour: no such member of Extraction" in bad.stderr
    assert "row 3, column massGrams: expected an integer" in bad.stderr
    assert "row 4, column elements: element contents sum to 1200000 ppm" in bad.stderr
    assert "row 5, column country:" in bad.stderr
    write_csv(
        cwd / "t.csv", [{"lot": "urn:lot:nowhere", "massGrams": "1", "buyer": miner["buyer"]}]
    )
    unknown = bpass("import", "t.csv", "--kind", "Transfer", "--key", "miner.key", *db,
                    cwd=cwd, check=False)  # fmt: skip
    assert unknown.returncode == 1
    assert "row 2, column lot: unknown lot 'urn:lot:nowhere'" in unknown.stderr
    assert tree_size(miner) == before
    typo = bpass("import", "t.csv", "--kind", "Transfr", "--key", "miner.key", *db,
                 cwd=cwd, check=False)  # fmt: skip
    assert typo.returncode == 2 and "did you mean 'Transfer'" in typo.stderr


def test_a_failed_import_resumes_with_the_rest(miner: dict[str, Any]) -> None:
    cwd, db = miner["cwd"], miner["db"]
    rows = [extraction_row(i) for i in range(1200)]
    rows[799]["facility"] = "nowhere"  # passes the checks; the ledger rejects it (batch 2)
    write_csv(cwd / "lots.csv", rows)
    before = tree_size(miner)
    first = bpass("import", "lots.csv", "--kind", "Extraction", "--key", "miner.key", *db,
                  cwd=cwd, check=False)  # fmt: skip
    assert first.returncode == 1
    assert "row 801 rejected by the ledger: [unknown_facility]" in first.stderr
    assert tree_size(miner) == before + 500
    rows[799]["facility"] = "mine-1"
    write_csv(cwd / "lots.csv", rows)
    second = bpass("import", "lots.csv", "--kind", "Extraction", "--key", "miner.key", "--json",
                   *db, cwd=cwd)  # fmt: skip
    result = json.loads(second.stdout)
    assert (result["appended"], result["alreadyInLedger"], result["resumed"]) == (700, 500, True)
    assert tree_size(miner) == before + 1200
    third = bpass("import", "lots.csv", "--kind", "Extraction", "--key", "miner.key", *db,
                  cwd=cwd)  # fmt: skip
    assert "1200 rows, 0 appended, 1200 already in the ledger" in third.stdout
    assert bpass("audit", *db, cwd=cwd).returncode == 0
    # Confidential by default: the resumed run re-signed the same redacted records (their
    # Disclosure salts come from the key and chain position), so the hashes matched.
    assert result["confidential"] is True
    forms, kept = stored(miner["url"])
    assert forms["Extraction redacted"] == 1200 and "Extraction" not in forms
    assert kept == 1200 * 8  # depositType … emissions: every non-public member, one row each


def test_public_imports_plain_records(miner: dict[str, Any]) -> None:
    cwd, db = miner["cwd"], miner["db"]
    write_csv(cwd / "lots.csv", [extraction_row(i) for i in range(3)])
    out = bpass("import", "lots.csv", "--kind", "Extraction", "--key", "miner.key", "--public",
                "--json", *db, cwd=cwd)  # fmt: skip
    assert json.loads(out.stdout)["confidential"] is False
    forms, kept = stored(miner["url"])
    assert forms["Extraction"] == 3 and "Extraction redacted" not in forms and kept == 0


def test_ten_thousand_rows(miner: dict[str, Any]) -> None:
    cwd, db = miner["cwd"], miner["db"]
    write_csv(cwd / "lots.csv", [extraction_row(i) for i in range(10_000)])
    out = bpass("import", "lots.csv", "--kind", "Extraction", "--key", "miner.key", *db, cwd=cwd)
    assert "10000 rows, 10000 appended" in out.stdout
    assert tree_size(miner) == 10_003


@pytest.fixture
def remote(client: TestClient, ledger: Ledger) -> Iterator[RemoteLedger]:
    r = RemoteLedger("http://testserver", client=client, log_vkey=ledger.info().log_vkey)
    yield r
    r.close()


def test_import_through_a_remote_node(
    remote: RemoteLedger, ledger: Ledger, actors: Actors, tmp_path: Path
) -> None:
    from passport.ledger.keystore import save_key

    key = actors.add("miner", country="CL", facilities=[FACILITY])
    save_key(key, tmp_path / "miner.key")
    remote.read_as(key)  # lot lookups read roll-ups: as the importing actor (bpass import does so)
    write_csv(tmp_path / "lots.csv", [extraction_row(i) for i in range(4)])
    result = run_import(remote, key, tmp_path / "miner.key", tmp_path / "lots.csv", "Extraction",
                        batch_size=3)  # fmt: skip
    assert (result.appended, result.skipped) == (4, 0)
    assert ledger.lot_record("urn:lot:mine:00002") == remote.lot_record("urn:lot:mine:00002")
    assert remote.lot_record("urn:lot:none") is None
    buyer = actors.add("refiner")
    write_csv(tmp_path / "t.csv", [{"lot": "urn:lot:mine:00001", "massGrams": "5",
                                    "buyer": buyer.did}])  # fmt: skip
    moved = run_import(remote, key, tmp_path / "miner.key", tmp_path / "t.csv", "Transfer")
    assert moved.appended == 1 and ledger.chain_head(key.did)[0] == 5
    again = run_import(remote, key, tmp_path / "miner.key", tmp_path / "lots.csv", "Extraction")
    assert (again.appended, again.skipped) == (0, 4)
    # sent with their Disclosures through POST /records/batch: logged redacted, revealed to the node
    body = ledger.record(ledger.lot_record("urn:lot:mine:00002") or "").body
    assert b'"_sd"' in body and b"massGrams" not in body
    with ledger.repo.read() as tx:
        assert tx.count_disclosures() == 4 * 8 + 2  # the Transfer conceals massGrams and buyer
