"""Confidential records from a terminal (issue #21): `bpass record new --confidential` writes the
body POST /records accepts, {"record", "disclosures"}; `bpass append` appends such a file with its
Disclosures; a tampered file is refused with its typed error and nothing is written; `bpass
record disclosures` prints them. The remote client sends the same body."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.client import RemoteLedger
from passport.errors import DisclosuresNotEntitledError
from passport.ledger.keystore import load_key, save_key
from passport.ledger.pipeline import Ledger
from passport.records.confidential import new_lot_id
from passport.store.sql.repository import Repository
from signing.disclosures import make_disclosure, parse_disclosure
from signing.errors import DisclosureMismatchError
from signing.keys import SigningKey
from tests.api.test_serve import Server, server
from tests.cli.test_cli import bpass
from tests.conftest import Actors
from tests.helpers.api import client
from tests.helpers.chain import Chain

__all__ = ["client", "server"]

MASS = 7_654_321
FACILITY = {"id": "site-1", "name": "Mine 1", "country": "CA"}


def extraction(lot: str) -> dict[str, Any]:
    return {
        "lot": lot, "material": "nickel", "depositType": "sulfidic", "miningMethod": "industrial",
        "facility": FACILITY["id"], "country": "CA", "massGrams": MASS, "elements": {"Ni": 20_000},
        "period": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-10T00:00:00Z"},
    }  # fmt: skip


@pytest.fixture
def miner(tmp_path: Path, db_url: str) -> dict[str, Any]:
    db = ["--db", db_url]
    bpass("init", *db, cwd=tmp_path)
    did = bpass("keys", "new", "--out", "m.key", cwd=tmp_path).stdout.strip()
    (tmp_path / "facilities.json").write_text(json.dumps([FACILITY]))
    bpass("actor", "add", "--did", did, "--name", "M", "--role", "miner", "--country", "CA",
          "--facilities", "facilities.json", *db, cwd=tmp_path)  # fmt: skip
    return {"db": db, "did": did, "cwd": tmp_path, "url": db_url}


def stored(db_url: str) -> tuple[int, int, list[bytes]]:
    """Log size, kept Disclosure rows and every stored record body."""
    repo = Repository(db_url)
    try:
        with repo.read() as tx:
            size, _ = tx.log_size()
            bodies = [r.body for r in tx.records_range(0, size)]
            return size, tx.count_disclosures(), bodies
    finally:
        repo.dispose()


def appended_hash(stdout: str) -> str:
    return stdout.strip().rsplit(", ", 1)[1]


def test_sign_confidential_append_and_audit(miner: dict[str, Any]) -> None:
    cwd, db, url = miner["cwd"], miner["db"], miner["url"]
    lot = new_lot_id()
    (cwd / "e.json").write_text(json.dumps(extraction(lot)))
    bpass("record", "new", "Extraction", "--key", "m.key", "--data", "e.json", "--confidential",
          "--out", "e.signed.json", *db, cwd=cwd)  # fmt: skip
    wrapped = json.loads((cwd / "e.signed.json").read_text())
    assert set(wrapped) == {"record", "disclosures"}
    assert set(wrapped["record"]["credentialSubject"]) == {"lot", "material", "_sd", "_sd_alg"}
    assert str(MASS) not in json.dumps(wrapped["record"])
    # signed ahead: KEY.chain names the redacted record, the one the ledger will hold
    assert json.loads((cwd / "m.key.chain").read_text())["sequence"] == 1

    done = bpass("append", "e.signed.json", *db, cwd=cwd)
    assert "appended as leaf" in done.stdout
    h_ext = appended_hash(done.stdout)

    # appended at once with its Disclosures, continuing the chain
    buyer = bpass("keys", "new", "--out", "b.key", cwd=cwd).stdout.strip()
    bpass("actor", "add", "--did", buyer, "--name", "B", "--role", "refiner", *db, cwd=cwd)
    (cwd / "t.json").write_text(json.dumps(
        {"lot": lot, "record": h_ext, "massGrams": 1_000_000, "buyer": buyer}
    ))  # fmt: skip
    # (confidential by default: no flag needed)
    receipt = bpass("record", "new", "Transfer", "--key", "m.key", "--data", "t.json",
                    "--append", *db, cwd=cwd)  # fmt: skip
    assert json.loads((cwd / "m.key.chain").read_text())["sequence"] == 2
    h_tr = json.loads(receipt.stderr)["recordHash"]

    _, kept, bodies = stored(url)
    assert kept == len(wrapped["disclosures"]) + 2
    confidential = [body for body in bodies if b'"_sd"' in body]
    assert len(confidential) == 2
    for body in confidential:
        for secret in (str(MASS), "1000000", "sulfidic", '"CA"', FACILITY["id"], buyer):
            assert secret.encode() not in body
    assert "audit ok" in bpass("audit", *db, cwd=cwd).stdout

    # the operator reads them from its own database
    shown = bpass("record", "disclosures", h_ext, *db, cwd=cwd).stdout
    assert sorted(json.loads(shown)) == sorted(wrapped["disclosures"])
    names = {parse_disclosure(d).name for d in json.loads(
        bpass("record", "disclosures", h_tr, *db, cwd=cwd).stdout
    )}  # fmt: skip
    assert names == {"massGrams", "buyer"}
    revealed = json.loads(
        bpass("record", "disclosures", h_tr, "--reveal", *db, cwd=cwd).stdout
    )  # fmt: skip
    assert revealed == {"lot": lot, "record": h_ext, "massGrams": 1_000_000, "buyer": buyer}

    # a plain record appends as before
    assert bpass("append", "e.signed.json", *db, cwd=cwd).stdout.count("already in the ledger")


def test_a_tampered_disclosures_file_is_refused_and_nothing_is_written(
    miner: dict[str, Any],
) -> None:
    cwd, db, url = miner["cwd"], miner["db"], miner["url"]
    (cwd / "e.json").write_text(json.dumps(extraction(new_lot_id())))
    bpass("record", "new", "Extraction", "--key", "m.key", "--data", "e.json", "--confidential",
          "--out", "e.signed.json", *db, cwd=cwd)  # fmt: skip
    wrapped = json.loads((cwd / "e.signed.json").read_text())
    mass = next(
        parse_disclosure(d)
        for d in wrapped["disclosures"]
        if parse_disclosure(d).name == "massGrams"
    )
    forged = make_disclosure("massGrams", MASS * 10, mass.salt).encoded
    wrapped["disclosures"] = [forged if d == mass.encoded else d for d in wrapped["disclosures"]]
    (cwd / "bad.json").write_text(json.dumps(wrapped))
    before = stored(url)
    refused = bpass("append", "bad.json", *db, cwd=cwd, check=False)
    assert refused.returncode == 1
    assert f"rejected bad.json: [{DisclosureMismatchError.code}]" in refused.stderr
    assert stored(url) == before
    # missing Disclosures are refused as well
    wrapped["disclosures"] = [d for d in wrapped["disclosures"] if d != forged]
    (cwd / "short.json").write_text(json.dumps(wrapped))
    refused = bpass("append", "short.json", *db, cwd=cwd, check=False)
    assert refused.returncode == 1 and "[disclosure_missing]" in refused.stderr
    assert stored(url) == before


def test_the_remote_client_sends_the_disclosures(
    client: TestClient, ledger: Ledger, operator_key: SigningKey, actors: Actors
) -> None:
    chain = Chain(ledger, operator_key)
    Chain.created.remove(chain)  # the mirror replays stored bytes, without Disclosures
    miner = chain.party("miner", country="CA")
    remote = RemoteLedger("http://testserver", client=client, log_vkey=ledger.info().log_vkey)
    subject = chain.extraction_subject(miner, new_lot_id(), MASS, {"Ni": 20_000})
    signed = ledger.sign_new(miner.key, "Extraction", subject, confidential=True)
    receipt = remote.append(signed)
    assert not receipt.existing
    assert remote.append(signed.record, signed.disclosures).existing
    assert str(MASS).encode() not in remote.record(receipt.record_hash)
    assert sorted(remote.disclosures(receipt.record_hash, miner.key)) == sorted(signed.disclosures)
    with pytest.raises(DisclosuresNotEntitledError):
        remote.disclosures(receipt.record_hash, actors.add("refiner"))


def test_remote_cli_signs_appends_and_reads_confidential_records(
    server: Server, tmp_path: Path
) -> None:
    """A supplier's machine: no database, only keys and ``--server``."""
    here = tmp_path / "supplier"
    here.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPASS_")}
    env["BPASS_HOME"] = str(here / "no-ledger-here")
    cli = str(Path(sys.executable).parent / "bpass")

    def remote_bpass(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cli, *args, "--server", server.url], env=env, capture_output=True, text=True, cwd=here
        )

    operator = load_key(server.home / "operator.key")
    remote = RemoteLedger(server.url)
    keys = {name: SigningKey.generate() for name in ("miner", "buyer", "rival")}
    for name, key in keys.items():
        role = "miner" if name == "miner" else "refiner"
        subject: dict[str, Any] = {"id": key.did, "name": name, "roles": [role], "country": "CA"}
        if name == "miner":
            subject["facilities"] = [FACILITY]
        remote.append(remote.sign_new(operator, "ActorRegistration", subject))
        save_key(key, here / f"{name}.key")
    remote.close()

    lot = new_lot_id()
    (here / "e.json").write_text(json.dumps(extraction(lot)))
    done = remote_bpass("record", "new", "Extraction", "--key", "miner.key", "--data", "e.json",
                        "--confidential", "--append")  # fmt: skip
    assert done.returncode == 0, done.stderr
    h_ext = json.loads(done.stderr)["recordHash"]
    (here / "t.json").write_text(json.dumps(
        {"lot": lot, "record": h_ext, "massGrams": 1_000_000, "buyer": keys["buyer"].did}
    ))  # fmt: skip
    signed = remote_bpass("record", "new", "Transfer", "--key", "miner.key", "--data", "t.json",
                          "--confidential", "--out", "t.signed.json")  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    appended = remote_bpass("append", "t.signed.json")
    assert "appended as leaf" in appended.stdout, appended.stderr
    h_tr = appended_hash(appended.stdout)
    assert b"1000000" not in httpx.get(f"{server.url}/records/{h_tr}").content

    wrapped = json.loads((here / "t.signed.json").read_text())
    for reader in ("miner", "buyer"):
        shown = remote_bpass("record", "disclosures", h_tr, "--key", f"{reader}.key")
        assert shown.returncode == 0, shown.stderr
        assert sorted(json.loads(shown.stdout)) == sorted(wrapped["disclosures"])
    refused = remote_bpass("record", "disclosures", h_tr, "--key", "rival.key")
    assert refused.returncode != 0 and "[disclosures_not_entitled]" in refused.stderr


def test_record_new_is_confidential_by_default_and_plain_with_public(
    miner: dict[str, Any],
) -> None:
    cwd, db = miner["cwd"], miner["db"]
    (cwd / "e.json").write_text(json.dumps(extraction(new_lot_id())))
    bpass("record", "new", "Extraction", "--key", "m.key", "--data", "e.json", "--out",
          "default.json", *db, cwd=cwd)  # fmt: skip
    default = json.loads((cwd / "default.json").read_text())
    assert set(default) == {"record", "disclosures"} and len(default["disclosures"]) == 7
    assert "massGrams" not in default["record"]["credentialSubject"]
    bpass("record", "new", "Extraction", "--key", "m.key", "--data", "e.json", "--public",
          "--out", "plain.json", *db, cwd=cwd)  # fmt: skip
    plain = json.loads((cwd / "plain.json").read_text())
    assert plain["type"][1] == "Extraction" and plain["credentialSubject"]["massGrams"] == MASS
    assert "_sd" not in plain["credentialSubject"]
    # a kind with nothing confidential is signed plain without asking
    (cwd / "a.json").write_text(json.dumps({"nextKey": SigningKey.generate().multikey}))
    bpass("record", "new", "KeyRotation", "--key", "m.key", "--data", "a.json", "--out",
          "rot.json", *db, cwd=cwd)  # fmt: skip
    assert json.loads((cwd / "rot.json").read_text())["type"][1] == "KeyRotation"
