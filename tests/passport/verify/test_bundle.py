"""The offline verification bundle: built from a sample ledger, verified with no database, and
refused when anything in it changes or anything is left out."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passport.ledger import log as translog
from passport.ledger.accept import LedgerInfo, accept_record
from passport.ledger.pipeline import Ledger
from passport.records.envelope import parse_record, record_hash
from passport.service.bundle import build_bundle
from passport.store.sql.repository import Repository
from passport.trace.rollup import compute_rollup
from passport.verify import bundle as bundle_module
from passport.verify import bundle_proofs as bundle_checks
from passport.verify import proof_worker
from passport.verify.bundle import verify_bundle
from passport.verify.provenance_set import PASSPORT_KINDS
from samples.generate import SampleSummary
from signing import merkle
from signing.errors import CanonicalizationError
from signing.jcs import canonicalize, parse_json
from signing.keys import SigningKey
from signing.note import Checkpoint, sign_checkpoint, verifier_key
from tests.conftest import _new_db_url
from tests.helpers.mirror import _keys, trace_state
from tests.helpers.passport import sample_world


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, SampleSummary]]:
    with sample_world(tmp_path_factory.mktemp("bundle"), packs=2) as world:
        yield world


@pytest.fixture(scope="module")
def bundle(sample: tuple[Ledger, SampleSummary]) -> dict[str, Any]:
    ledger, summary = sample
    passport_id = summary.packs[0].passport_id
    assert passport_id is not None
    # the sample's provenance is confidential: the authority bundle carries the Disclosures, so
    # everything is replayed (the public tier: tests/passport/verify/test_tiers.py)
    return build_bundle(ledger, passport_id, access_role="authority")


def kinds(bundle: dict[str, Any]) -> list[str]:
    return [e["record"]["type"][1] for e in bundle["records"]]


def first_failure(bundle: dict[str, Any], **kw: Any) -> str | None:
    report = verify_bundle(bundle, **kw)
    failure = report.first_failure
    return failure.name if failure else None


def test_bundle_verifies_offline_for_every_role(
    sample: tuple[Ledger, SampleSummary], bundle: dict[str, Any]
) -> None:
    ledger, summary = sample
    report = verify_bundle(json.loads(json.dumps(bundle)), log_vkey=ledger.info().log_vkey)
    assert report.ok, report.to_dict()
    assert [c.name for c in report.checks] == [
        "format",
        "checkpoint",
        "records",
        "chains",
        "keys",
        "passport-checkpoint",
        "passport",
        "completeness",
        "provenance",
        "roll-ups",
        "assurance",
    ]
    assert report.complete and report.replayed and report.limits == []
    # the provenance reaches back to extraction: every material's mine is in the bundle
    assert kinds(bundle).count("Extraction") >= 6
    assert {"Transformation", "Certification", "CarbonFootprint", "BatteryPassport"} <= set(
        kinds(bundle)
    )
    for role, shown in (("legitimate-interest", ["1", "2", "4"]), ("authority", ["1", "2", "3"])):
        restricted = build_bundle(ledger, str(summary.packs[1].passport_id), access_role=role)
        assert sorted(restricted["view"]["evidence"]["partitions"]) == shown
        assert verify_bundle(restricted).ok


def test_a_pinned_log_key_must_match(bundle: dict[str, Any]) -> None:
    other = verifier_key("test.example/log", SigningKey.generate().public_key_bytes)
    assert first_failure(bundle, log_vkey=other) == "checkpoint"


@pytest.mark.parametrize("kind", ["Retraction", "Certification", "CarbonFootprint", "DueDiligence"])
def test_an_omitted_attestation_that_counts_changes_the_roll_ups(
    bundle: dict[str, Any], kind: str
) -> None:
    """Leaving out an attestation (or a retraction) the figures rest on leaves every signature
    valid, but the figures recomputed from what remains no longer equal the passport's. (An
    attestation the figures do not rest on, e.g. an upstream footprint shadowed by an attested
    cradle-to-gate one downstream, can be left out without changing anything it proves.)"""
    failures = []
    for i in [i for i, k in enumerate(kinds(bundle)) if k == kind][:6]:
        b = copy.deepcopy(bundle)
        del b["records"][i]
        failures.append(first_failure(b))
        if failures[-1] is not None:
            break
    assert failures[-1] == "completeness", failures


def test_an_omitted_upstream_step_is_named_by_the_completeness_check(
    bundle: dict[str, Any],
) -> None:
    b = copy.deepcopy(bundle)
    victim = next(i for i, k in enumerate(kinds(b)) if k == "Extraction")
    missing = record_hash(canonicalize(b["records"][victim]["record"]))
    del b["records"][victim]
    report = verify_bundle(b)
    failure = report.first_failure
    assert failure is not None and failure.name == "completeness"
    assert f"record {missing}, in the passport's provenance set, is not in this bundle" == (
        failure.detail
    )


def test_an_omitted_key_history_record_is_caught(bundle: dict[str, Any]) -> None:
    b = copy.deepcopy(bundle)
    regs = [i for i, k in enumerate(kinds(b)) if k == "ActorRegistration"]
    del b["records"][regs[1]]
    assert first_failure(b) == "keys"


def test_a_role_label_cannot_be_changed(bundle: dict[str, Any]) -> None:
    b = copy.deepcopy(bundle)
    b["view"]["role"] = b["passport"]["role"] = "public"
    assert first_failure(b) == "passport"


def _sections(bundle: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Every part of the bundle, so the property test flips bytes in each, not only in records."""
    parts = [(k, canonicalize(v)) for k, v in bundle.items() if k != "records"]
    parts += [
        ("records", canonicalize(bundle["records"][i]))
        for i in (0, 1, len(bundle["records"]) // 2, -1)
    ]
    return parts


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_changed_byte_makes_the_bundle_fail(
    bundle: dict[str, Any], data: st.DataObject
) -> None:
    raw = canonicalize(bundle)
    sections = _sections(bundle)
    name, part = data.draw(st.sampled_from(sections), label="section")
    start = raw.find(part)
    assert start >= 0, name
    offset = start + data.draw(st.integers(0, len(part) - 1), label="offset")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[offset]), label="byte")
    mutated = raw[:offset] + bytes([new]) + raw[offset + 1 :]
    try:
        doc = parse_json(mutated)
    except CanonicalizationError:
        return  # no longer JSON: refused before any check
    assert not verify_bundle(doc).ok, f"a changed byte at {offset} in {name} went unnoticed"


def test_cli_bundle_and_verify(sample: tuple[Ledger, SampleSummary], tmp_path: Path) -> None:
    ledger, summary = sample
    url = ledger.repo.url
    cmd = [sys.executable, "-m", "cli"]
    pid = str(summary.packs[0].passport_id)
    out = tmp_path / "b.json"
    subprocess.run(
        [*cmd, "passport", "bundle", pid, "--out", str(out), "--db", url],
        check=True,
        capture_output=True,
    )
    vkey = ledger.info().log_vkey
    ok = subprocess.run(
        [*cmd, "verify", str(out), "--log-key", vkey], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "verified: passport" in ok.stdout
    doc = json.loads(out.read_text())
    doc["records"][3]["acceptedAt"] = "2020-01-01T00:00:00.000000Z"
    out.write_text(json.dumps(doc))
    bad = subprocess.run([*cmd, "verify", str(out)], capture_output=True, text=True)
    assert bad.returncode == 1 and "FAILED records" in bad.stdout
    out.write_text("{ not json")
    assert subprocess.run([*cmd, "verify", str(out)], capture_output=True).returncode == 2


_VERIFY_AND_LIST_MODULES = """
import sys
from cli import main
sys.argv = ["bpass", "verify", sys.argv[1]]
try:
    main()
finally:
    print(sorted(m for m in NOT_LOADED if m in sys.modules))
"""
NOT_LOADED = ("alembic", "jsonschema", "sqlalchemy", "sqlmodel", "pydantic_settings", "fastapi")
"""What offline verification never needs: the migration tool, the reference validator, the
database libraries, the settings loader and the web framework (about 0.8 s of imports)."""


def test_bpass_verify_loads_no_database_library_and_no_reference_validator(
    sample: tuple[Ledger, SampleSummary], tmp_path: Path
) -> None:
    """Offline verification opens no database, reads no settings and lists no schema errors of a
    valid bundle: ``bpass verify`` must run without importing any of :data:`NOT_LOADED` (the
    replay's rules see storage through ``passport.store.state`` only)."""
    ledger, summary = sample
    out = tmp_path / "b.json"
    out.write_text(json.dumps(build_bundle(ledger, str(summary.packs[0].passport_id))))
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            f"NOT_LOADED = {NOT_LOADED!r}\n{_VERIFY_AND_LIST_MODULES}",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "verified: passport" in run.stdout
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout


# -- the fast paths of checks 3 and 8 must find exactly what the plain checks find -------------
def _flip_proof(bundle: dict[str, Any], index: int) -> None:
    """Break the signature of record ``index`` (its proofValue, still valid multibase)."""
    proof = bundle["records"][index]["record"]["proof"]
    value = proof["proofValue"]
    proof["proofValue"] = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]


def _relogged(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle's records as the whole of a new log signed with the ledger's log key: what a
    rogue operator could serve, every record included whatever its proof (the passport's own
    checkpoint then differs: check 6 fails, after the proofs)."""
    key = SigningKey.from_seed(b"\x02" * 32)
    origin = bundle["log"]["origin"]
    records = bundle["records"]
    leaves = [
        translog.leaf_hash(record_hash(canonicalize(e["record"])), e["acceptedAt"]) for e in records
    ]
    tree = merkle.MemoryTree(leaves)
    for i, entry in enumerate(records):
        entry["leafIndex"] = i
        proof = merkle.inclusion_proof(i, len(leaves), tree.reader)
        entry["inclusionProof"] = [translog.b64(p) for p in proof]
    root = merkle.root(len(leaves), tree.reader)
    checkpoint = Checkpoint(origin=origin, size=len(leaves), root_hash=root)
    bundle["checkpoint"] = sign_checkpoint(checkpoint, origin, key)
    return bundle


def _mutants(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Bundles whose first failure is a proof, or another failure around a bad proof."""
    middle = len(bundle["records"]) // 2
    extraction = next(i for i, kind in enumerate(kinds(bundle)) if kind == "Extraction")

    def bad_proof(*at: int, schema: int | None = None, drop: int | None = None) -> dict[str, Any]:
        b = copy.deepcopy(bundle)
        for i in at:
            _flip_proof(b, i)
        if schema is not None:
            b["records"][schema]["record"]["credentialSubject"] = {"x": 1}
        if drop is not None:
            del b["records"][drop]
        return _relogged(b)

    def bad_inclusion(b: dict[str, Any], i: int) -> dict[str, Any]:
        b["records"][i]["inclusionProof"][0] = b["records"][i]["inclusionProof"][1]
        return b

    last = len(bundle["records"]) - 1
    dropped = copy.deepcopy(bundle)
    del dropped["records"][extraction]
    return [
        bad_proof(middle),  # 0: one bad proof halfway
        bad_proof(last),  # 1: the last record's
        bad_proof(middle, middle + 3, schema=middle + 2),  # 2: the proof before the schema
        bad_proof(middle, schema=middle - 2),  # 3: the schema before the proof
        bad_inclusion(bad_proof(middle), middle),  # 4: a record's proof before its inclusion
        bad_inclusion(bad_proof(middle), middle - 1),  # 5: an inclusion before a later proof
        bad_proof(last, drop=extraction),  # 6: a bad proof hides the later checks' failures
        _relogged(copy.deepcopy(bundle)),  # 7: no bad proof: check 6 fails
        dropped,  # 8: no bad proof: the completeness check fails
        copy.deepcopy(bundle),  # 9: nothing wrong
    ]


@pytest.fixture
def shared_work(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, int, int]]:
    """Every bundle's proofs go to a worker process, in chunks of 4 records; per bundle: whether
    they were handed over, the chunks this process checked, and all chunks."""
    monkeypatch.setattr(bundle_checks, "PARALLEL_PROOFS_MIN", 1)
    monkeypatch.setattr(bundle_checks, "CHUNK", 4)
    seen: list[tuple[bool, int, int]] = []
    original = bundle_checks.ProofChecks.close

    def close(self: bundle_checks.ProofChecks) -> None:
        if self.records:
            seen.append((self.parallel, self.checked_here, -(-len(self.records) // 4)))
        original(self)

    monkeypatch.setattr(bundle_checks.ProofChecks, "close", close)
    return seen


def test_pool_workers_find_the_records_the_serial_checks_find(
    bundle: dict[str, Any], shared_work: list[tuple[bool, int, int]]
) -> None:
    """Check 3's proofs, shared between a worker process and this one, report the same first
    failure, naming the same record, as the checks run one by one in this process, whatever
    fails around them; and a bad proof hides every later check's verdict."""
    mutants = _mutants(bundle)
    serial = [verify_bundle(m, workers=0).to_dict() for m in mutants]
    assert [handed for handed, _, _ in shared_work] == [False] * len(mutants), "workers=0"
    shared_work.clear()
    shared = [verify_bundle(m, workers=1).to_dict() for m in mutants]
    assert [handed for handed, _, _ in shared_work] == [True] * len(mutants)
    assert any(here < chunks for _, here, chunks in shared_work), "the worker checked chunks"
    assert shared == serial
    failures = [r["checks"][-1] for r in serial]
    middle = len(bundle["records"]) // 2

    def record_at(m: int, i: int) -> str:
        return record_hash(canonicalize(mutants[m]["records"][i]["record"]))

    bad_signature = f"record {record_at(0, middle)} at leaf {middle}: record {record_at(0, middle)}"
    assert failures[0] == {"check": "records", "ok": False, "detail": failures[0]["detail"]}
    assert failures[0]["detail"].startswith(bad_signature), failures[0]
    last = len(bundle["records"]) - 1
    assert failures[1]["detail"].startswith(f"record {record_at(1, last)} at leaf {last}")
    assert failures[2]["detail"] == failures[0]["detail"]  # the proof before the schema
    assert "credentialSubject" in failures[3]["detail"]  # the schema before the proof
    assert failures[4]["detail"] == failures[0]["detail"]  # the proof before the inclusion
    assert failures[5]["detail"].startswith(f"record {record_at(5, middle - 1)} at leaf")
    assert "inclusion" in failures[5]["detail"]
    assert failures[6]["check"] == "records"  # not a later check
    assert failures[7]["check"] == "passport-checkpoint"
    assert failures[8]["check"] == "completeness"
    assert serial[9]["ok"]


def test_a_bad_proof_is_found_in_this_process_too(bundle: dict[str, Any]) -> None:
    b = copy.deepcopy(bundle)
    _flip_proof(b, 3)
    report = verify_bundle(b, workers=0)
    failure = report.first_failure
    assert failure is not None and failure.name == "records"
    assert record_hash(canonicalize(b["records"][3]["record"])) in failure.detail
    assert [c.name for c in report.checks] == ["format", "checkpoint", "records"]


def test_the_replay_in_memory_holds_what_a_database_replay_holds(
    bundle: dict[str, Any], tmp_path: Path
) -> None:
    """Check 9 replays into memory (``passport.store.memory``): the same replay through a
    database on the backend under test ends with every traceability query answered the same,
    and check 10's roll-up equal."""
    verifier = bundle_module._Verifier(bundle, None, 0)
    for name, check in bundle_module.CHECKS:
        assert verifier.step(name, check), verifier.report.to_dict()
        if name == "provenance":
            break
    memory = verifier.replay
    url, drop = _new_db_url(tmp_path)
    repo = Repository(url)
    try:
        repo.migrate()
        info = LedgerInfo("replay", "", verifier.operator or "", 0)
        with repo.write() as tx:  # the rules' rows only, as the replay keeps no record rows
            revealed, still_redacted = verifier._reveal()  # the entries the replay ran on
            assert still_redacted == 0
            for e in revealed:
                if e.parsed.kind not in PASSPORT_KINDS:
                    accept_record(tx, e.parsed, info, e.accepted_at, e.leaf, check_chain=False)
        with repo.read() as tx:
            keys = _keys(tx)
            assert keys[0] and keys[1] and keys[3], "lots, steps and attestations were replayed"
            assert trace_state(memory, keys) == trace_state(tx, keys)
        lot = verifier.passport_record.subject["pack"]["lot"]
        at = verifier.as_of
        from_memory, from_db = compute_rollup(memory, lot, at=at), compute_rollup(repo, lot, at=at)
        assert from_memory.model_dump() == from_db.model_dump()
        assert from_memory.trails == from_db.trails  # every figure's trail too
    finally:
        repo.dispose()
        drop()


_CLAIM_ALL_AND_DIE = """
import mmap, os, struct, sys
from passport.verify import proof_worker as pw
fd = int(sys.argv[1])
sys.stdin.buffer.read()  # until the verifier has filled every chunk and closed the input
with mmap.mmap(fd, os.fstat(fd).st_size) as shared:
    n, chunk, chunks, data = pw.HEADER.unpack_from(shared, 0)
    for k in range(chunks):
        shared[pw.CLAIMS_AT + k] = 1
os._exit(9)
"""


def test_a_worker_that_dies_leaves_its_records_to_this_process(
    bundle: dict[str, Any],
    shared_work: list[tuple[bool, int, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker claims every chunk and dies before a verdict: this process checks them all,
    and finds the failure the one-by-one checks find."""
    monkeypatch.setattr(
        bundle_checks,
        "_worker_command",
        lambda fd: [sys.executable, "-c", _CLAIM_ALL_AND_DIE, str(fd)],
    )
    for at in (None, 5, len(bundle["records"]) - 1):
        b = copy.deepcopy(bundle)
        if at is not None:
            _flip_proof(b, at)
        parsed = [parse_record(e["record"], max_bytes=10**9, redacted=True) for e in b["records"]]
        checks = bundle_checks.ProofChecks(len(parsed), workers=1)
        try:
            checks.submit(parsed)
            assert checks._procs[0].wait() == 9  # claimed everything, gave no verdict
            found = checks.first_failure()
        finally:
            checks.close()
        assert (found and found[0]) == at, found
        assert bundle_checks._serial(parsed, 0, len(parsed)) == found
        assert checks.checked_here == 0


def test_a_worker_that_cannot_start_leaves_the_checks_to_this_process(
    bundle: dict[str, Any],
    shared_work: list[tuple[bool, int, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bundle_checks, "_worker_command", lambda fd: ["/nonexistent/python"])
    bad = _mutants(bundle)[0]
    assert verify_bundle(bad, workers=1).to_dict() == verify_bundle(bad, workers=0).to_dict()
    assert [handed for handed, _, _ in shared_work] == [False, False]


def test_the_worker_gives_each_record_its_verdict(
    bundle: dict[str, Any],
    shared_work: list[tuple[bool, int, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``passport.verify.proof_worker.run``, in this process, on the shared file of a bundle with a bad
    signature, a proof value that is not a signature, a proof that fails before its signature (left
    to this process by the preparation) and packed bytes that are not a proof: OK for the others,
    each verdict right, and every chunk claimed."""
    monkeypatch.setattr(bundle_checks, "_worker_command", lambda fd: [sys.executable, "-c", ""])
    b = copy.deepcopy(bundle)
    _flip_proof(b, 5)
    b["records"][9]["record"]["proof"]["proofValue"] = "z" + "2" * 100  # not 64 bytes
    parsed = [parse_record(e["record"], max_bytes=10**9, redacted=True) for e in b["records"]]
    wrong_purpose = copy.deepcopy(parsed[11].doc)
    wrong_purpose["proof"]["proofPurpose"] = "authentication"  # (the schema refuses it)
    parsed[11] = parsed[11]._replace(doc=wrong_purpose)
    checks = bundle_checks.ProofChecks(len(parsed), workers=1)
    try:
        checks.submit(parsed)
        shared, ends = checks._shared, checks._ends
        assert checks.parallel and shared is not None and ends is not None
        n = len(parsed)
        _, verdicts, _, data = proof_worker.layout(n, bundle_checks.CHUNK)
        assert shared[verdicts + 11] == proof_worker.FAILED, "its preparation failed"
        shared[data + ends[7] + 32 : data + ends[7] + 34] = b"\xff\xff"  # a proof value too long
        control, announce = os.pipe()
        os.write(announce, (-(-n // bundle_checks.CHUNK)).to_bytes(8, "little"))
        os.close(announce)
        try:
            proof_worker.run(checks._fd, control)
        finally:
            os.close(control)
        got = list(shared[verdicts : verdicts + n])
        expected = [proof_worker.OK] * n
        expected[5] = expected[9] = expected[11] = proof_worker.FAILED
        expected[7] = proof_worker.RAISED
        assert got == expected
        chunks = -(-n // bundle_checks.CHUNK)
        assert shared[proof_worker.CLAIMS_AT : proof_worker.CLAIMS_AT + chunks] == b"\x01" * chunks
        found = checks.first_failure()
        assert found is not None and found[0] == 5
        assert found == bundle_checks._serial(parsed, 0, n)
        assert checks.checked_here == 0
    finally:
        checks.close()


def test_announcing_chunks_never_waits_for_a_worker_that_does_not_read(
    bundle: dict[str, Any],
    shared_work: list[tuple[bool, int, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker that reads nothing until it exits: announcing more chunks than its input holds
    does not wait for it, and this process checks every chunk it left, finding what the
    one-by-one checks find."""
    monkeypatch.setattr(
        bundle_checks,
        "_worker_command",
        lambda fd: [sys.executable, "-c", "import time; time.sleep(1)"],
    )
    b = copy.deepcopy(bundle)
    _flip_proof(b, 6)
    parsed = [parse_record(e["record"], max_bytes=10**9, redacted=True) for e in b["records"]]
    checks = bundle_checks.ProofChecks(len(parsed), workers=1)
    try:
        for i in range(20_000):  # 160 KB of announcements: more than a pipe holds
            checks._announce(i)
        checks.submit(parsed)
        found = checks.first_failure()
        assert found is not None and found[0] == 6
        assert found == bundle_checks._serial(parsed, 0, len(parsed))
        assert checks.checked_here == -(-len(parsed) // bundle_checks.CHUNK)
    finally:
        checks.close()


def test_records_that_do_not_fit_the_shared_file_are_checked_here(
    bundle: dict[str, Any],
    shared_work: list[tuple[bool, int, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With room for a fraction of the packed proofs, the rest are left to this process, and
    the verdicts are the one-by-one checks' (a bad proof early, in the packed part, and late)."""
    monkeypatch.setattr(bundle_checks, "SPACE_PER_RECORD", 300)
    last = len(bundle["records"]) - 1
    for at in (2, last):
        b = copy.deepcopy(bundle)
        _flip_proof(b, at)
        assert verify_bundle(b, workers=1).to_dict() == verify_bundle(b, workers=0).to_dict()
    assert verify_bundle(bundle, workers=1).ok
    assert [handed for handed, _, _ in shared_work] == [True, False, True, False, True]
