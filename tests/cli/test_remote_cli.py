"""`--server URL` on the reading commands, run as a reader on another machine runs them (no
database, only keys): each answers what the same command answers on the node's own ledger; the
commands that cannot work remotely say so in their help."""

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
from passport.service.issue import issue_passport
from passport.settings import Settings
from passport.timefmt import format_ts, now
from tests.api.test_serve import Server, server
from tests.helpers.sample_passports import build_sample_chain, sample_model

__all__ = ["server"]

CLI = str(Path(sys.executable).parent / "bpass")


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def world(server: Server, db_url: str, tmp_path: Path) -> dict[str, Any]:
    """The sample chain and its pack's passport on the node; the OEM's key on the reader's side."""
    ledger = Ledger.open(Settings(database_url=db_url, home=server.home))
    chain = build_sample_chain(ledger, load_key(server.home / "operator.key"))
    issued = issue_passport(
        ledger,
        chain.keys["oem"],
        pack_lot=chain.pack_lot,
        model=sample_model("ev"),
        base_url=server.url,
        serial="P-REMOTE",
    )
    ledger.close()
    here = tmp_path / "reader"
    here.mkdir()
    save_key(chain.keys["oem"], here / "oem.key")
    save_key(chain.keys["li-au"], here / "miner.key")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPASS_")}
    remote_env = {**env, "BPASS_HOME": str(here / "no-ledger-here")}
    local_env = {**env, "BPASS_HOME": str(server.home), "BPASS_DATABASE_URL": db_url}
    return {
        "here": here,
        "lot": chain.pack_lot,
        "passport": issued.passport_id,
        "record": issued.record_hash,
        "battery": issued.battery_id,
        "miner": chain.keys["li-au"].did,
        "certifier": chain.keys["certifier"].did,
        "settings": Settings(database_url=db_url, home=server.home),
        "remote": lambda *a: run(*a, "--server", server.url, cwd=here, env=remote_env),
        "local": lambda *a: run(*a, cwd=here, env=local_env),
    }


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, proc.stderr
    return proc


def test_reads_over_server_equal_the_local_answers(world: dict[str, Any]) -> None:
    remote, local, pid, lot = world["remote"], world["local"], world["passport"], world["lot"]
    actors = json.loads(ok(remote("actor", "list", "--json")).stdout)
    assert actors == json.loads(ok(local("actor", "list", "--json")).stdout) and len(actors) > 5

    at = ("--at", format_ts(now(), micro=False))
    rollup = ok(remote("trace", lot, *at, "--json", "--key", "oem.key"))  # the pack's holder
    assert rollup.stderr == ""
    assert json.loads(rollup.stdout) == json.loads(ok(local("trace", lot, *at, "--json")).stdout)
    assert f"lot {lot}" in ok(remote("trace", lot, "--key", "oem.key")).stdout
    figure = json.loads(rollup.stdout)["figures"][0]
    trail = json.loads(
        ok(remote("trace", lot, *at, "--explain", figure, "--json", "--key", "oem.key")).stdout
    )
    assert trail == json.loads(ok(local("trace", lot, *at, "--explain", figure, "--json")).stdout)

    shown = json.loads(ok(remote("record", "show", world["record"])).stdout)
    assert shown == json.loads(ok(local("record", "show", world["record"])).stdout)
    assert shown["credentialSubject"]["passportId"] == pid
    missing = remote("record", "show", "sha256:" + "0" * 64)
    assert missing.returncode == 1 and "[not_found]" in missing.stderr

    view = json.loads(ok(remote("passport", "show", pid, "--json")).stdout)
    mine = json.loads(ok(local("passport", "show", pid, "--json")).stdout)
    assert view["passport"] == mine["passport"] and view["role"] == "public"
    assert f"passport {pid} as seen by: public" in ok(remote("passport", "show", pid)).stdout


def test_the_node_decides_what_a_remote_reader_sees(world: dict[str, Any]) -> None:
    remote, pid, here = world["remote"], world["passport"], world["here"]
    refused = remote("passport", "show", pid, "--role", "legitimate-interest")
    assert refused.returncode == 1 and "[access_not_entitled]" in refused.stderr
    shown = ok(remote("passport", "show", pid, "--role", "legitimate-interest", "--key", "oem.key"))
    assert "== Annex XIII point 2" in shown.stdout

    checked = remote("passport", "check", pid, "--json", "--key", "oem.key")
    report = json.loads(checked.stdout)
    assert report["passportId"] == pid and report["role"] == "legitimate-interest"
    assert checked.returncode == (0 if report["ok"] else 1), checked.stderr

    exported = json.loads(ok(remote("passport", "export", pid, "--key", "oem.key")).stdout)
    local = json.loads(ok(world["local"]("passport", "export", pid)).stdout)
    assert exported == local
    no_key = remote("passport", "export", pid)
    assert no_key.returncode == 2 and "--server needs --key" in no_key.stderr

    ok(remote("passport", "bundle", pid, "--out", "b.json"))
    verified = ok(world["local"]("verify", str(here / "b.json"), "--json"))
    assert json.loads(verified.stdout)["ok"] is True

    (here / "view.json").write_text(
        ok(remote("passport", "show", pid, "--json")).stdout, encoding="utf-8"
    )
    checked = ok(remote("passport", "verify-view", "view.json"))
    assert "match the signed records and the log" in checked.stdout

    link = remote("passport", "show", world["battery"])
    assert link.returncode == 2 and "with --server give the passport id" in link.stderr


def test_a_supplier_grants_its_disclosures_over_server(world: dict[str, Any]) -> None:
    """`record grant-disclosures --server`: signed on the supplier's machine, continuing its
    chain as the node holds it, and appended on the node, which then counts the certifier
    among the readers of the supplier's Extractions."""
    from passport.records.envelope import parse_record
    from passport.service.disclosures import granted_readers

    remote, certifier = world["remote"], world["certifier"]
    args = ("--key", "miner.key", "--to", certifier, "--kind", "Extraction")
    granted = json.loads(ok(remote("record", "grant-disclosures", *args, "--json")).stdout)
    ledger = Ledger.open(world["settings"])
    try:
        stored = ledger.record(granted["record"])
        record = parse_record(stored.body)
        assert (record.kind, record.issuer) == ("DisclosureGrant", world["miner"])
        assert record.subject["grantee"] == certifier
        assert record.subject["kinds"] == ["Extraction"]
        with ledger.repo.read() as tx:
            rows = tx.records_by_issuer(world["miner"])
            extraction = next(row for row in rows if row.kind == "Extraction")
            moment = format_ts(now())
            assert granted_readers(tx, extraction, certifier, moment) == frozenset({certifier})
            assert granted_readers(tx, extraction, world["miner"], moment) == frozenset()
    finally:
        ledger.close()
    again = remote("record", "grant-disclosures", *args)  # a second grant continues the chain
    assert again.returncode == 0 and "granted" in again.stdout, again.stderr


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["passport", "verify"], "Not over --server"),
        (["audit"], "Not over --server"),
        (["init"], "Not over --server"),
        (["passport", "list"], "Not over --server"),
        (["passport", "issue"], "Not over --server"),
    ],
)
def test_local_only_commands_say_so(command: list[str], said: str, tmp_path: Path) -> None:
    text = run(*command, "-h", cwd=tmp_path, env=dict(os.environ)).stdout
    assert said in " ".join(text.split()), text
