"""The CLI contract of the foundation and ledger issues, run as a user runs it (`bpass …`)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from passport.ledger.pipeline import Ledger
from signing.jcs import parse_json
from signing.keys import SigningKey
from signing.note import open_checkpoint
from signing.proofs import verify_proof
from tests.conftest import Actors

BPASS = [sys.executable, "-m", "cli"]


def bpass(
    *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([*BPASS, *args], cwd=cwd, capture_output=True, text=True, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"bpass {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


def test_keys_new_writes_a_private_file_and_prints_its_did(tmp_path: Path) -> None:
    out = bpass("keys", "new", "--out", "k.pem", cwd=tmp_path)
    did = out.stdout.strip()
    assert did.startswith("did:key:z6Mk")
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    assert (tmp_path / "k.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert bpass("keys", "did", "k.pem", cwd=tmp_path).stdout.strip() == did
    again = bpass("keys", "new", "--out", "k.pem", cwd=tmp_path, check=False)
    assert again.returncode != 0 and "refusing to overwrite" in again.stderr


def test_passphrase_encrypted_key(tmp_path: Path) -> None:
    env = {"BPASS_KEY_PASSPHRASE": "correct horse"}
    did = bpass("keys", "new", "--out", "k.pem", cwd=tmp_path, env=env).stdout.strip()
    assert b"ENCRYPTED" in (tmp_path / "k.pem").read_bytes()
    assert bpass("keys", "did", "k.pem", cwd=tmp_path, env=env).stdout.strip() == did
    wrong = bpass(
        "keys", "did", "k.pem", cwd=tmp_path, check=False, env={"BPASS_KEY_PASSPHRASE": "x"}
    )
    assert wrong.returncode == 2 and "configuration_error" in wrong.stderr


def test_credential_sign_and_verify_exit_codes(tmp_path: Path) -> None:
    bpass("keys", "new", "--out", "k.pem", cwd=tmp_path)
    cred = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "urn:lot:1", "massGrams": 1000},
    }
    (tmp_path / "in.json").write_text(json.dumps(cred))
    bpass("credential", "sign", "in.json", "--key", "k.pem", "--out", "signed.json", cwd=tmp_path)
    signed = parse_json((tmp_path / "signed.json").read_bytes())
    verify_proof(signed)
    ok = bpass("credential", "verify", "signed.json", cwd=tmp_path)
    assert ok.stdout.startswith("valid")
    signed["credentialSubject"]["massGrams"] = 1001
    (tmp_path / "tampered.json").write_text(json.dumps(signed))
    bad = bpass("credential", "verify", "tampered.json", cwd=tmp_path, check=False)
    assert bad.returncode == 1 and "signature" in bad.stdout
    (tmp_path / "junk.json").write_text("{not json")
    assert bpass("credential", "verify", "junk.json", cwd=tmp_path, check=False).returncode == 2
    assert bpass("credential", "verify", "missing.json", cwd=tmp_path, check=False).returncode == 2


def test_ledger_commands_end_to_end(tmp_path: Path, db_url: str) -> None:
    db = ["--db", db_url]
    init = bpass("init", *db, cwd=tmp_path).stdout
    assert "operator DID: did:key:" in init and "log origin:" in init
    assert "already initialised" in bpass("init", *db, cwd=tmp_path).stdout
    did = bpass("keys", "new", "--out", "miner.pem", cwd=tmp_path).stdout.strip()
    bpass(
        "actor",
        "add",
        "--did",
        did,
        "--name",
        "Kamoto",
        "--role",
        "miner",
        "--country",
        "CD",
        *db,
        cwd=tmp_path,
    )
    listed = json.loads(bpass("actor", "list", "--json", *db, cwd=tmp_path).stdout)
    assert any(a["did"] == did and a["roles"] == ["miner"] for a in listed)
    (tmp_path / "rot.json").write_text(json.dumps({"nextKey": SigningKey.generate().multikey}))
    bpass(
        "record",
        "new",
        "KeyRotation",
        "--key",
        "miner.pem",
        "--data",
        "rot.json",
        "--out",
        "r1.json",
        *db,
        cwd=tmp_path,
    )
    out = bpass("append", "r1.json", *db, cwd=tmp_path).stdout
    assert "appended as leaf 2" in out
    assert "already in the ledger" in bpass("append", "r1.json", *db, cwd=tmp_path).stdout
    # the same rotation again is now signed by a rotated key; a junk file is unusable: both named
    (tmp_path / "junk.json").write_text("[]")
    bpass(
        "record",
        "new",
        "KeyRotation",
        "--key",
        "miner.pem",
        "--data",
        "rot.json",
        "--out",
        "r2.json",
        *db,
        cwd=tmp_path,
    )
    bad = bpass("append", "r2.json", "junk.json", *db, cwd=tmp_path, check=False)
    assert bad.returncode == 1
    assert "rejected r2.json: [key_rotated]" in bad.stderr
    assert "rejected junk.json: [record_malformed]" in bad.stderr
    assert "audit ok: 3 of 3 records" in bpass("audit", *db, cwd=tmp_path).stdout
    note = bpass("log", "checkpoint", *db, cwd=tmp_path).stdout
    vkey = next(line.split(": ", 1)[1] for line in init.splitlines() if line.startswith("log key:"))
    assert open_checkpoint(note, [vkey.strip()]).size == 3
    r1 = parse_json((tmp_path / "r1.json").read_bytes())
    from passport.records.envelope import record_hash
    from signing.jcs import canonicalize

    receipt = json.loads(
        bpass("log", "inclusion", record_hash(canonicalize(r1)), *db, cwd=tmp_path).stdout
    )
    assert receipt["leafIndex"] == 2 and receipt["treeSize"] == 3
    proof = json.loads(bpass("log", "consistency", "1", *db, cwd=tmp_path).stdout)
    assert proof["newSize"] == 3 and len(proof["proof"]) == 2
    missing = bpass("log", "inclusion", "sha256:" + "0" * 64, *db, cwd=tmp_path, check=False)
    assert missing.returncode == 1 and "[not_found]" in missing.stderr


def test_commands_on_an_uninitialised_ledger_say_so(tmp_path: Path) -> None:
    proc = bpass("audit", "--db", f"sqlite:///{tmp_path}/none.sqlite", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "bpass init" in proc.stderr


@pytest.mark.parametrize("url", ["nonsense://", "postgresql://127.0.0.1:1/none"])
def test_unusable_database_url_is_a_clear_error(tmp_path: Path, url: str) -> None:
    proc = bpass("audit", "--db", url, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_a_failed_audit_says_how_far_it_got(tmp_path: Path, ledger: Ledger, actors: Actors) -> None:
    """A failed audit names its problems and says what it had checked before it stopped, out of
    how many records, so that "0 records" cannot read as "nothing to check"."""
    from sqlalchemy import text

    actors.add("miner")
    with ledger.repo.engine.begin() as conn:
        conn.execute(text("UPDATE tree_nodes SET hash = :v WHERE pos = 0"), {"v": b"\x00" * 32})
    proc = bpass("audit", "--db", ledger.repo.url, cwd=tmp_path, check=False)
    assert proc.returncode == 1
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("audit FAILED: 1 problem (above); checked before it stopped: ")
    assert " of 2 records, " in last
