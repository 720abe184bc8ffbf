"""The in-browser verifier (api/static/bpass-verify.js) in real Chromium, against the same
published vectors the Python layer passes, and against a real ledger receipt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from passport.ledger.pipeline import Ledger
from signing.keys import SigningKey
from tests.helpers.browser import browser_page, static_server
from tests.helpers.vectors import VECTORS_DIR, load_json

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"


@pytest.fixture(scope="module")
def page() -> Any:
    with static_server(STATIC) as base, browser_page() as pg:
        pg.goto(f"{base}/bpass-verify.js")  # same origin, so the module can be imported
        pg.evaluate("async () => { window.V = await import('/bpass-verify.js'); }")
        yield pg
        assert pg.errors == []


def run(page: Any, script: str, arg: Any = None) -> Any:
    return page.evaluate(f"async (arg) => {{ const V = window.V; {script} }}", arg)


def test_jcs_vectors(page: Any) -> None:
    root = VECTORS_DIR / "jcs-rfc8785"
    for path in sorted((root / "input").glob("*.json")):
        source = path.read_text(encoding="utf-8")
        expected = (root / "output" / path.name).read_bytes().decode("utf-8")
        got = run(page, "return V.canonicalize(JSON.parse(arg));", source)
        assert got == expected, path.name


def test_w3c_eddsa_jcs_2022_vector_verifies_and_tampering_fails(page: Any) -> None:
    signed = load_json("w3c-vc-di-eddsa/eddsa-jcs-2022/signedJCS.json")
    pub = load_json("w3c-vc-di-eddsa/keyPair.json")["publicKeyMultibase"]
    script = "return await V.verifyDataIntegrity(arg.doc, V.decodeMultikey(arg.pub));"
    assert run(page, script, {"doc": signed, "pub": pub}) is True
    tampered = json.loads(json.dumps(signed))
    tampered["credentialSubject"]["alumniOf"] = "Evil University"
    failing = "try { await V.verifyDataIntegrity(arg.doc, V.decodeMultikey(arg.pub)); return 'ok'; } catch (e) { return e.check; }"
    assert run(page, failing, {"doc": tampered, "pub": pub}) == "signature"
    tampered = json.loads(json.dumps(signed))
    tampered["proof"]["created"] = "2000-01-01T00:00:00Z"
    assert run(page, failing, {"doc": tampered, "pub": pub}) == "signature"


def _inclusion_cases() -> list[tuple[str, dict[str, Any]]]:
    root = VECTORS_DIR / "merkle-rfc6962" / "inclusion"
    return [
        (str(p.relative_to(root)), load_json(str(p.relative_to(VECTORS_DIR))))
        for p in sorted(root.rglob("*.json"))
    ]


def test_rfc6962_inclusion_vectors(page: Any) -> None:
    cases = _inclusion_cases()
    assert len(cases) > 20
    script = """
      const out = [];
      for (const c of arg) {
        try {
          const b = (s) => s === null ? null : V.fromBase64(s);
          await V.verifyInclusion(b(c.leafHash), c.leafIdx, c.treeSize, (c.proof || []).map(b), b(c.root));
          out.push(true);
        } catch (e) { out.push(false); }
      }
      return out;
    """
    results = run(page, script, [c for _, c in cases])
    for (name, case), ok in zip(cases, results, strict=True):
        assert ok is (not case["wantErr"]), name


def test_signed_note_example(page: Any) -> None:
    ex = load_json("signed-note/signed-note-example.json")
    text = run(page, "return await V.openNote(arg.note, arg.vkey);", ex)
    assert text == ex["note"].split("\n\n")[0] + "\n"
    bad = dict(ex, note=ex["note"].replace("example message", "exemplary message"))
    failing = (
        "try { await V.openNote(arg.note, arg.vkey); return 'ok'; } catch (e) { return e.check; }"
    )
    assert run(page, failing, bad) == "checkpoint"


def test_a_ledger_record_and_receipt_verify_in_the_browser(
    page: Any, ledger: Ledger, operator_key: SigningKey
) -> None:
    for i in range(6):
        subject = {"id": SigningKey.generate().did, "name": f"A{i}", "roles": ["miner"]}
        record = ledger.sign_new(operator_key, "ActorRegistration", subject)
        receipt = ledger.append(record).to_dict()
    vkey = ledger.info().log_vkey
    script = "return await V.verifyRecordWithReceipt(arg.record, arg.receipt, arg.vkey, arg.mk);"
    results = run(
        page,
        script,
        {"record": record, "receipt": receipt, "vkey": vkey, "mk": operator_key.multikey},
    )
    assert [r["check"] for r in results] == ["signature", "issuer key", "checkpoint", "inclusion"]
    assert all(r["ok"] for r in results), results
    # one changed value in the record: the signature and the inclusion both fail
    record["credentialSubject"]["name"] = "B"
    results = run(
        page,
        script,
        {"record": record, "receipt": receipt, "vkey": vkey, "mk": operator_key.multikey},
    )
    failed = {r["check"] for r in results if not r["ok"]}
    assert failed == {"signature", "inclusion"}
    # a forged checkpoint (other log key) fails the checkpoint check
    other = SigningKey.generate()
    from signing.note import verifier_key

    results = run(
        page,
        script,
        {
            "record": record,
            "receipt": receipt,
            "vkey": verifier_key("test.example/log", other.public_key_bytes),
            "mk": operator_key.multikey,
        },
    )
    assert {r["check"] for r in results if not r["ok"]} >= {"checkpoint"}
