"""The proof configuration of eddsa-jcs-2022 is the proof options as they are (W3C vc-di-eddsa,
Recommendation 2025-05-15, §3.3.5): the document's ``@context`` is part of it only when the proof
carries it (§3.3.1 step 2 puts it there when signing; §3.3.2 step 4 checks it when verifying).

The vectors are made here from the published W3C test key (``w3c-vc-di-eddsa/keyPair.json``) by
a signer written from the Recommendation's text alone (it does not use ``signing.proofs``):

- with proof ``@context``: must reproduce the published ``signedJCS.json`` byte for byte;
- without proof ``@context`` (a conforming signer may omit §3.3.1 step 2): must verify;
- without proof ``@context`` but hashed *as if* it carried the document's: no conforming verifier
  accepts it, so ours must refuse it.

They go through the public interface (``bpass credential verify``) and the browser's verifier.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from signing.jcs import canonicalize
from signing.multikey import decode_secret_multikey, encode_multibase_signature
from signing.proofs import create_proof, verify_proof
from tests.helpers.vectors import load_json

KEY_PAIR = load_json("w3c-vc-di-eddsa/keyPair.json")
UNSIGNED: dict[str, Any] = load_json("w3c-vc-di-eddsa/unsigned.json")
SIGNED: dict[str, Any] = load_json("w3c-vc-di-eddsa/eddsa-jcs-2022/signedJCS.json")
DID = f"did:key:{KEY_PAIR['publicKeyMultibase']}"
VM = f"{DID}#{KEY_PAIR['publicKeyMultibase']}"
CREATED = SIGNED["proof"]["created"]
STATIC = Path(__file__).resolve().parents[2] / "api" / "static"


def _sign(document: dict[str, Any], options: dict[str, Any], *, hashed_config: Any = None) -> Any:
    """§3.3.1 without its step 2 (the caller decides what ``options`` carries): the signature
    over SHA-256(JCS(config)) || SHA-256(JCS(document)) (§3.3.4), config = ``options`` (§3.3.5)
    unless ``hashed_config`` overrides it (to forge a proof hashed with another config)."""
    import hashlib

    config = options if hashed_config is None else hashed_config
    message = (
        hashlib.sha256(canonicalize(config)).digest()
        + hashlib.sha256(canonicalize(document)).digest()
    )
    seed = decode_secret_multikey(KEY_PAIR["privateKeyMultibase"])
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(message)
    return {**document, "proof": {**options, "proofValue": encode_multibase_signature(signature)}}


def _options(**extra: Any) -> dict[str, Any]:
    return {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": CREATED,
        "verificationMethod": VM,
        "proofPurpose": "assertionMethod",
        **extra,
    }


def _ours() -> dict[str, Any]:
    """The W3C credential issued by the key's own did:key, so the issuer binding holds."""
    return {**UNSIGNED, "issuer": DID}


def with_context() -> Any:
    return _sign(_ours(), _options(**{"@context": UNSIGNED["@context"]}))


def without_context() -> Any:
    """A conforming proof without ``@context`` (§3.3.1 step 2 left out, as the note allows)."""
    return _sign(_ours(), _options())


def hashed_with_a_context_it_does_not_carry() -> Any:
    """No ``@context`` in the proof, yet signed over a configuration holding the document's."""
    return _sign(_ours(), _options(), hashed_config=_options(**{"@context": UNSIGNED["@context"]}))


def bpass(tmp_path: Path, doc: Any, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "cli", "credential", "verify", str(path), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_independent_signer_reproduces_the_published_vector() -> None:
    """The signer above is right: with proof @context it makes W3C's signedJCS.json exactly."""
    assert _sign(UNSIGNED, _options(**{"@context": UNSIGNED["@context"]})) == SIGNED


def test_a_proof_with_its_context_verifies(tmp_path: Path) -> None:
    done = bpass(tmp_path, with_context())
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("valid")


def test_a_conforming_proof_without_context_verifies(tmp_path: Path) -> None:
    done = bpass(tmp_path, without_context())
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("valid")


def test_a_proof_hashed_with_a_context_it_does_not_carry_is_refused(tmp_path: Path) -> None:
    done = bpass(tmp_path, hashed_with_a_context_it_does_not_carry())
    assert done.returncode == 1, done.stdout + done.stderr
    assert "invalid: signature: signature does not verify" in done.stdout


def test_the_published_w3c_credential_verifies_without_the_issuer_binding(tmp_path: Path) -> None:
    done = bpass(tmp_path, SIGNED, "--no-issuer-binding")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"valid (signed by {VM}; issuer binding not checked)")
    # With the ledger's binding (the default), it says why not: the issuer is an https URL.
    bound = bpass(tmp_path, SIGNED)
    assert bound.returncode == 1, bound.stdout + bound.stderr
    assert "invalid: controller:" in bound.stdout
    assert "https://vc.example/issuers/5678" in bound.stdout and DID in bound.stdout
    assert "--no-issuer-binding" in bound.stdout
    assert bpass(tmp_path, SIGNED, "--issuer-binding").returncode == 1


def test_our_own_proofs_carry_the_context_and_hash_it() -> None:
    """Our signer always puts the document's @context in the proof (§3.3.1 step 2), so the
    configuration it hashed and the one §3.3.5 rebuilds from the proof are the same: records
    already in ledgers verify as before."""
    ours = create_proof(_ours(), _key(), VM, created=CREATED)
    assert ours["proof"]["@context"] == UNSIGNED["@context"]
    assert ours == with_context()
    verify_proof(ours)


def _key() -> Any:
    from signing.keys import SigningKey

    return SigningKey.from_seed(decode_secret_multikey(KEY_PAIR["privateKeyMultibase"]))


@pytest.fixture(scope="module")
def page() -> Any:
    from tests.helpers.browser import browser_page, static_server

    with static_server(STATIC) as base, browser_page() as pg:
        pg.goto(f"{base}/bpass-verify.js")
        pg.evaluate("async () => { window.V = await import('/bpass-verify.js'); }")
        yield pg
        assert pg.errors == []


_VERDICT = """async (arg) => {
  try { await window.V.verifyDataIntegrity(arg.doc, window.V.decodeMultikey(arg.pub)); return 'ok'; }
  catch (e) { return e.check + ': ' + e.message; }
}"""


def test_the_browser_verifier_builds_the_same_configuration(page: Any) -> None:
    pub = KEY_PAIR["publicKeyMultibase"]
    assert page.evaluate(_VERDICT, {"doc": with_context(), "pub": pub}) == "ok"
    assert page.evaluate(_VERDICT, {"doc": without_context(), "pub": pub}) == "ok"
    forged = hashed_with_a_context_it_does_not_carry()
    assert page.evaluate(_VERDICT, {"doc": forged, "pub": pub}).startswith("signature")
