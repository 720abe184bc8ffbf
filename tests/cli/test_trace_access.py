"""`bpass trace` under the read policy (issue #21 point 3): with ``--server`` the node decides,
as the actor ``--key`` signs for (an unentitled reader gets the node's message and exit 1, an
anonymous one is told a token would help); with ``--db`` the operator reads its own database,
trails whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from passport.ledger.keystore import load_key, save_key
from passport.ledger.pipeline import Ledger
from passport.settings import Settings
from passport.store.sql.repository import Repository
from signing.disclosures import parse_disclosure
from tests.api.test_serve import Server, server
from tests.cli.test_cli import bpass
from tests.helpers.confidential_chain import ConfidentialWorld, build_confidential_world

__all__ = ["server"]


@pytest.fixture
def world(server: Server, db_url: str) -> tuple[ConfidentialWorld, Path]:
    """The confidential world, appended to the served ledger, and a folder with its keys."""
    ledger = Ledger.open(Settings(home=server.home, database_url=db_url))
    try:
        built = build_confidential_world(ledger, load_key(server.home / "operator.key"))
    finally:
        ledger.close()
    keys = server.home.parent / "keys"
    keys.mkdir()
    for name in built.parties:
        save_key(built.key(name), keys / f"{name}.key")
    return built, keys


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPASS_")}
    env["BPASS_HOME"] = str(cwd / "no-ledger-here")
    cli = str(Path(sys.executable).parent / "bpass")
    return subprocess.run([cli, *args], env=env, capture_output=True, text=True, cwd=cwd)


def test_the_oem_reads_its_pack_through_the_node(
    server: Server, world: tuple[ConfidentialWorld, Path]
) -> None:
    w, keys = world
    pack = w.lots["pack"]
    done = run(keys, "trace", pack, "--server", server.url, "--key", "oem.key", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["lot"] == pack
    trail = run(keys, "trace", pack, "--explain", "Ni.mass", "--server", server.url,
                "--key", "oem.key", "--json")  # fmt: skip
    assert trail.returncode == 0, trail.stderr
    entries: list[dict[str, Any]] = json.loads(trail.stdout)["entries"]
    amounts = {e["record"]: e["amount"] for e in entries}
    assert amounts == {w.records["ore"].hash: None}  # the miner's grams: withheld
    text = run(keys, "trace", pack, "--explain", "Ni.mass", "--server", server.url,
               "--key", "oem.key")  # fmt: skip
    assert text.returncode == 0 and "withheld" in text.stdout, text.stderr


def test_an_unentitled_reader_gets_the_nodes_message_and_exit_1(
    server: Server, world: tuple[ConfidentialWorld, Path]
) -> None:
    w, keys = world
    pack = w.lots["pack"]
    refused = run(keys, "trace", pack, "--server", server.url, "--key", "supplier.key")
    assert refused.returncode == 1
    assert "[lot_not_entitled]" in refused.stderr and refused.stdout == ""
    anonymous = run(keys, "trace", pack, "--server", server.url)
    assert anonymous.returncode == 1
    assert "[lot_not_entitled]" in anonymous.stderr and "bearer token" in anonymous.stderr
    assert "7654321" not in refused.stderr + anonymous.stderr


def test_the_operator_reads_its_own_database_whole(
    server: Server, db_url: str, world: tuple[ConfidentialWorld, Path]
) -> None:
    w, keys = world
    done = run(keys, "trace", w.lots["pack"], "--explain", "Ni.mass", "--db", db_url, "--json")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)["entries"]
    assert entries and all(isinstance(e["amount"], int) for e in entries)


def test_actor_add_confidential_conceals_the_facilities(tmp_path: Path, db_url: str) -> None:
    """The operator registers an actor with its facilities concealed: the signed record keeps
    DID, name, roles and key; the Disclosure is the operator's to read from its database; the
    actor still signs (its key is found from the redacted registration)."""

    db = ["--db", db_url]
    bpass("init", *db, cwd=tmp_path)
    did = bpass("keys", "new", "--out", "m.key", cwd=tmp_path).stdout.strip()
    site = {"id": "site-x", "name": "Mine X", "country": "CA", "latitude": "61.1234567"}
    (tmp_path / "facilities.json").write_text(json.dumps([site]))
    done = bpass("actor", "add", "--did", did, "--name", "M", "--role", "miner", "--country",
                 "CA", "--facilities", "facilities.json", "--confidential", *db, cwd=tmp_path)  # fmt: skip
    record_hash = done.stdout.split("(record ")[1].split(",")[0]
    repo = Repository(db_url)
    try:
        with repo.read() as tx:
            row = tx.record_by_hash(record_hash)
            assert row is not None
            body = json.loads(row.body)
            actor = tx.actor(did)
            assert actor is not None  # the revealed subject (with its FacilityUpdate history)
            assert [{k: v for k, v in f.items() if k != "history"} for f in actor.facilities] == [
                site
            ]
    finally:
        repo.dispose()
    assert set(body["credentialSubject"]) == {"id", "name", "country", "roles", "_sd", "_sd_alg"}
    assert "61.1234567" not in row.body.decode()
    shown = bpass("record", "disclosures", record_hash, *db, cwd=tmp_path)
    assert [parse_disclosure(d).value for d in json.loads(shown.stdout)] == [[site]]
    (tmp_path / "e.json").write_text(json.dumps({
        "lot": "urn:lot:conf-reg-1", "material": "nickel", "depositType": "sulfidic",
        "miningMethod": "industrial", "facility": "site-x", "country": "CA", "massGrams": 10,
        "elements": {"Ni": 20_000},
        "period": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-10T00:00:00Z"},
    }))  # fmt: skip
    bpass("record", "new", "Extraction", "--key", "m.key", "--data", "e.json", "--append",
          *db, cwd=tmp_path)  # fmt: skip
    assert "audit ok" in bpass("audit", *db, cwd=tmp_path).stdout  # the key, from the redacted one
