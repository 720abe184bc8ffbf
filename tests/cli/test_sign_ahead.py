"""Signing ahead: `bpass record new --out` continues from the last record the key signed here
(KEY.chain), so records signed offline append later in order; conflicts are refused. The records
are DueDiligence reports, confidential by default: KEY.chain names the redacted record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from passport.errors import ChainStateConflictError
from passport.records.envelope import dumps, record_hash
from passport.service.chainstate import ChainState, resolve_head
from signing.keys import SigningKey
from tests.cli.test_cli import bpass


def signed(path: Path) -> dict[str, Any]:
    """The signed (redacted) record of a `record new` output file: {record, disclosures}."""
    wrapped = json.loads(path.read_text())
    assert set(wrapped) == {"record", "disclosures"} and wrapped["disclosures"]
    record: dict[str, Any] = wrapped["record"]
    return record


@pytest.fixture
def supplier(tmp_path: Path, db_url: str) -> dict[str, Any]:
    db = ["--db", db_url]
    bpass("init", *db, cwd=tmp_path)
    did = bpass("keys", "new", "--out", "s.key", cwd=tmp_path).stdout.strip()
    bpass("actor", "add", "--did", did, "--name", "S", "--role", "certifier", *db, cwd=tmp_path)
    return {"db": db, "did": did, "cwd": tmp_path}


def due_diligence(path: Path, did: str, n: int) -> None:
    path.write_text(json.dumps({
        "subject": {"type": "actor", "actor": did}, "framework": "OECD-DDG",
        "reportRef": f"report {n}", "reportHash": "sha256:" + "ab" * 32, "stepsCovered": [1, 2],
        "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2027-01-01T00:00:00Z",
        "riskFindings": [],
    }))  # fmt: skip


def test_three_signed_ahead_then_appended_in_order(supplier: dict[str, Any]) -> None:
    cwd, db, did = supplier["cwd"], supplier["db"], supplier["did"]
    for n in (1, 2, 3):
        due_diligence(cwd / f"s{n}.json", did, n)
        bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", f"s{n}.json",
              "--out", f"r{n}.json", *db, cwd=cwd)  # fmt: skip
    sequences = [signed(cwd / f"r{n}.json")["chain"]["sequence"] for n in (1, 2, 3)]
    assert sequences == [1, 2, 3]
    state = json.loads((cwd / "s.key.chain").read_text())
    assert state["issuer"] == did and state["sequence"] == 3
    assert state["hash"] == record_hash(dumps(signed(cwd / "r3.json")))
    done = bpass("append", "r1.json", "r2.json", "r3.json", *db, cwd=cwd)
    assert done.stdout.count("appended as leaf") == 3
    # Back in step: the next record continues from the ledger and the state alike.
    due_diligence(cwd / "s4.json", did, 4)
    nxt = bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "s4.json",
                "--append", *db, cwd=cwd)  # fmt: skip
    assert '"leafIndex": 5' in nxt.stderr


def test_offline_signing_from_local_state(supplier: dict[str, Any]) -> None:
    cwd, db, did = supplier["cwd"], supplier["db"], supplier["did"]
    due_diligence(cwd / "s.json", did, 1)
    refused = bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "s.json",
                    "--offline", "--out", "r0.json", cwd=cwd, check=False)  # fmt: skip
    assert refused.returncode == 2 and "sign one record" in refused.stderr
    bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "s.json", "--out",
          "r1.json", *db, cwd=cwd)  # fmt: skip
    # No ledger reachable at all: the state alone.
    offline = ["--db", "postgresql://127.0.0.1:1/none"]
    for n in (2, 3):
        bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "s.json", "--offline",
              "--out", f"r{n}.json", *offline, cwd=cwd)  # fmt: skip
    assert signed(cwd / "r3.json")["chain"]["sequence"] == 3
    done = bpass("append", "r1.json", "r2.json", "r3.json", *db, cwd=cwd)
    assert done.stdout.count("appended as leaf") == 3


def test_ledger_ahead_wins_and_a_fork_is_refused(supplier: dict[str, Any]) -> None:
    cwd, db, did = supplier["cwd"], supplier["db"], supplier["did"]
    due_diligence(cwd / "s.json", did, 1)
    bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "s.json", "--out",
          "r1.json", *db, cwd=cwd)  # fmt: skip
    state = cwd / "s.key.chain"
    kept = state.read_text()
    # Signed elsewhere (another machine with the same key) and appended: the ledger is ahead.
    state.unlink()
    due_diligence(cwd / "other.json", did, 9)
    bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "other.json", "--append",
          *db, cwd=cwd)  # fmt: skip
    state.write_text(kept)
    fork = bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "s.json", "--out",
                 "r2.json", *db, cwd=cwd, check=False)  # fmt: skip
    assert fork.returncode == 1 and "[chain_state_conflict]" in fork.stderr
    assert json.loads(kept)["hash"] in fork.stderr
    fresh = bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "s.json",
                  "--out", "r2.json", "--from-ledger", *db, cwd=cwd)  # fmt: skip
    assert fresh.returncode == 0
    assert signed(cwd / "r2.json")["chain"]["sequence"] == 2
    bpass("append", "r2.json", *db, cwd=cwd)


def test_resolve_head_rules() -> None:
    did = SigningKey.generate().did
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    state = ChainState(did, 3, a)
    assert resolve_head(None, did, (2, b)) == (2, b)
    assert resolve_head(state, "did:key:other", (1, b)) == (1, b)
    assert resolve_head(state, did, (5, b)) == (5, b)  # the ledger is ahead
    assert resolve_head(state, did, (1, b)) == (3, a)  # signed ahead, not yet appended
    assert resolve_head(state, did, (3, a)) == (3, a)
    with pytest.raises(ChainStateConflictError) as caught:
        resolve_head(state, did, (3, b))
    assert a in caught.value.message and b in caught.value.message


def test_a_refused_append_leaves_no_gap(supplier: dict[str, Any]) -> None:
    """`record new --append` names its record in KEY.chain only once the ledger accepted it: a
    record the rules refuse must not make the next one skip its sequence (a chain_gap)."""
    cwd, db, did = supplier["cwd"], supplier["db"], supplier["did"]
    stranger = SigningKey.from_seed(b"\x07" * 32).did  # no registered actor
    due_diligence(cwd / "bad.json", stranger, 1)
    refused = bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "bad.json",
                    "--append", *db, cwd=cwd, check=False)  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    due_diligence(cwd / "good.json", did, 2)
    done = bpass("record", "new", "DueDiligence", "--key", "s.key", "--data", "good.json",
                 "--append", *db, cwd=cwd, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((cwd / "s.key.chain").read_text())["sequence"] == 1
