"""``POST /imports/validate``, the supplier page's server side: the uploaded file's rows checked as
``bpass import`` checks them, and the unsigned drafts that, signed as the page signs them, are
exactly the records ``bpass import`` signs. Nothing is changed by a check."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from passport.ledger.pipeline import Ledger
from passport.records.envelope import dumps, record_hash, sign_record
from passport.records.tabular import csv_columns
from passport.service.imports import check_table, parse_table, sign_rows
from signing.keys import SigningKey
from tests.conftest import Actors
from tests.helpers.api import assert_problem, bearer, client, login, make_client
from tests.helpers.imports import FACILITY, csv_bytes, extraction_row, transformation_rows

__all__ = ["client"]

CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def miner(actors: Actors) -> SigningKey:
    return actors.add("miner", name="Mine Co", country="CL", facilities=[FACILITY])


def sign_drafts(report: dict[str, Any], key: SigningKey) -> list[dict[str, Any]]:
    """What the page's script does with the drafts (api/static/supplier.js ``signDrafts``),
    without concealment: fill ``chain.previous`` and pending lot references, add the proof."""
    created: dict[str, str] = {}
    previous = report["chainHead"]["hash"]
    out = []
    for draft in report["drafts"]:
        record = draft["record"]
        if previous is not None:
            record["chain"]["previous"] = previous
        for ref in draft["pending"]:
            node = record["credentialSubject"]
            for part in ref["path"][:-1]:
                node = node[part]
            node[ref["path"][-1]] = created[ref["lot"]]
        signed = sign_record(record, key, created=record["validFrom"])
        assert signed["proof"]["verificationMethod"] == report["verificationMethod"]
        previous = record_hash(dumps(signed))
        for lot in draft["creates"]:
            created.setdefault(lot, previous)
        out.append(signed)
    return out


def test_a_check_needs_a_token(client: TestClient, miner: SigningKey) -> None:
    response = client.post(
        "/imports/validate?kind=Extraction", content=csv_bytes([extraction_row(0)]), headers=CSV
    )
    assert_problem(response, 401, "authentication_required")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    bad = client.post(
        "/imports/validate?kind=Extraction",
        content=csv_bytes([extraction_row(0)]),
        headers={**CSV, **bearer("not-a-token")},
    )
    assert_problem(bad, 401, "token_invalid")


def test_drafts_signed_as_the_page_signs_are_the_records_bpass_import_signs(
    client: TestClient, ledger: Ledger, miner: SigningKey
) -> None:
    token = login(client, miner.did, miner)
    data = csv_bytes([extraction_row(i) for i in range(3)], csv_columns("Extraction"))
    size = ledger.info().size
    response = client.post(
        "/imports/validate?kind=extraction&name=lots.csv",
        content=data,
        headers={**CSV, **bearer(token)},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["kind"] == "Extraction" and report["issuer"] == miner.did
    assert report["verificationMethod"] == miner.verification_method
    assert report["chainHead"] == {"sequence": 0, "hash": None}
    assert report["public"] == ["lot", "material"]
    assert [d["row"] for d in report["drafts"]] == [2, 3, 4]
    assert [d["record"]["chain"] for d in report["drafts"]] == [
        {"sequence": 1},
        {"sequence": 2},
        {"sequence": 3},
    ]
    assert ledger.info().size == size  # a check appends nothing
    table = parse_table(data, "csv", "lots.csv")
    rows = check_table(table, "Extraction", "lots.csv", ledger.lot_record)
    expected, _ = sign_rows(
        miner,
        "Extraction",
        rows,
        issuer=miner.did,
        anchor=(0, None),
        valid_from=report["validFrom"],
    )
    signed = sign_drafts(report, miner)
    assert [dumps(r) for r in signed] == [dumps(r) for r in expected]
    appended = client.post("/records/batch", json=signed)
    assert appended.status_code == 201, appended.text
    # the next check continues the chain from its new head
    transfers = [{"lot": f"urn:lot:mine:{i:05d}", "massGrams": "1000", "buyer": miner.did}
                 for i in range(2)]  # fmt: skip
    again = client.post(
        "/imports/validate?kind=Transfer",
        content=csv_bytes(transfers),
        headers={**CSV, **bearer(token)},
    ).json()
    assert again["chainHead"] == {"sequence": 3, "hash": record_hash(dumps(signed[-1]))}
    assert again["drafts"][0]["record"]["chain"]["previous"] == again["chainHead"]["hash"]
    lot0 = again["drafts"][0]["record"]["credentialSubject"]
    assert lot0["record"] == record_hash(dumps(signed[0]))  # the lot's creating record, found


def test_every_invalid_row_is_reported_and_nothing_changes(
    client: TestClient, ledger: Ledger, miner: SigningKey
) -> None:
    token = login(client, miner.did, miner)
    rows = [
        extraction_row(0),
        extraction_row(1, massGrams="12.5"),
        extraction_row(2, country="Chile"),
    ]
    size = ledger.info().size
    response = client.post(
        "/imports/validate?kind=Extraction",
        content=csv_bytes(rows),
        headers={**CSV, **bearer(token)},
    )
    body = assert_problem(response, 422, "import_invalid")
    assert {(p["row"], p["column"]) for p in body["problems"]} == {(3, "massGrams"), (4, "country")}
    assert ledger.info().size == size


@pytest.mark.parametrize(
    ("query", "content", "headers", "code"),
    [
        ("kind=Extracton", b"lot\n", CSV, "kind_name_unknown"),
        ("kind=Extraction&format=xlsx", b"not a workbook", {}, "import_unreadable"),
        ("kind=Extraction&format=pdf", b"x", {}, "import_unreadable"),
        ("kind=Extraction", b"lot\n", {"Content-Type": "application/pdf"}, "import_unreadable"),
        ("kind=Extraction", b"lot\n\xff\xfe\n", CSV, "import_unreadable"),
        ("kind=Extraction", b"lot,material\n", CSV, "import_invalid"),
    ],
)
def test_a_bad_file_or_kind_is_refused(
    client: TestClient,
    miner: SigningKey,
    query: str,
    content: bytes,
    headers: dict[str, str],
    code: str,
) -> None:
    token = login(client, miner.did, miner)
    response = client.post(
        f"/imports/validate?{query}", content=content, headers={**headers, **bearer(token)}
    )
    assert_problem(response, 422, code)


def test_a_file_over_the_limit_is_refused_before_it_is_read(
    ledger: Ledger, miner: SigningKey
) -> None:
    with make_client(ledger, max_import_bytes=4096) as small:
        token = login(small, miner.did, miner)
        rows = [extraction_row(i) for i in range(40)]
        data = csv_bytes(rows)
        assert len(data) > 4096
        response = small.post(
            "/imports/validate?kind=Extraction", content=data, headers={**CSV, **bearer(token)}
        )
        body = assert_problem(response, 413, "request_too_large")
        assert body["limit"] == 4096
        fits = small.post(
            "/imports/validate?kind=Extraction",
            content=csv_bytes(rows[:5]),
            headers={**CSV, **bearer(token)},
        )
        assert fits.status_code == 200, fits.text


def test_the_page_is_served_under_a_strict_policy(client: TestClient) -> None:
    response = client.get("/supplier")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert '<script type="module" src="/static/supplier.js">' in response.text
    assert client.get("/static/supplier.js").status_code == 200


def test_an_xlsx_upload_gets_the_drafts_of_its_rows(
    client: TestClient, ledger: Ledger, miner: SigningKey
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    rows = [extraction_row(i) for i in range(2)]
    sheet.append(list(rows[0]))
    for row in rows:  # numbers as spreadsheet numbers, as a user's sheet holds them
        sheet.append([int(v) if v.isdigit() else v for v in row.values()])
    data = io.BytesIO()
    book.save(data)
    token = login(client, miner.did, miner)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = client.post(
        "/imports/validate?kind=Extraction",
        content=data.getvalue(),
        headers={"Content-Type": media, **bearer(token)},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["format"] == "xlsx"
    subjects = [d["record"]["credentialSubject"] for d in report["drafts"]]
    assert [s["massGrams"] for s in subjects] == [1_000_000, 1_000_001]
    appended = client.post("/records/batch", json=sign_drafts(report, miner))
    assert appended.status_code == 201, appended.text


def test_a_row_consuming_a_lot_an_earlier_row_creates_gets_its_hash(
    client: TestClient, ledger: Ledger, miner: SigningKey
) -> None:
    token = login(client, miner.did, miner)
    headers = {**CSV, **bearer(token)}
    lots = client.post(
        "/imports/validate?kind=Extraction", content=csv_bytes([extraction_row(0)]), headers=headers
    ).json()
    assert client.post("/records/batch", json=sign_drafts(lots, miner)).status_code == 201
    data = csv_bytes(transformation_rows("urn:lot:mine:00000"))
    report = client.post("/imports/validate?kind=Transformation", content=data, headers=headers)
    assert report.status_code == 200, report.text
    drafts = report.json()["drafts"]
    assert drafts[0]["pending"] == [] and drafts[0]["creates"] == ["urn:lot:mine:00000:c1"]
    assert drafts[1]["pending"] == [
        {"path": ["inputs", 0, "record"], "lot": "urn:lot:mine:00000:c1"}
    ]
    signed = sign_drafts(report.json(), miner)
    rows = check_table(
        parse_table(data, "csv", "t.csv"), "Transformation", "t.csv", ledger.lot_record
    )
    expected, hashes = sign_rows(
        miner, "Transformation", rows, issuer=miner.did, anchor=ledger.chain_head(miner.did),
        valid_from=report.json()["validFrom"],
    )  # fmt: skip
    assert [dumps(r) for r in signed] == [dumps(r) for r in expected]
    assert signed[1]["credentialSubject"]["inputs"][0]["record"] == hashes[0]
    appended = client.post("/records/batch", json=signed)
    assert appended.status_code == 201, appended.text
