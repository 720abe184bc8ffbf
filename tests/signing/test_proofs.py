"""Tests for signing.proofs: eddsa-jcs-2022 Data Integrity proofs (W3C vc-di-eddsa §3.3)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from signing.did import did_web_document, resolve_verification_method
from signing.errors import CanonicalizationError, KeyFormatError, ProofError
from signing.jcs import canonical_form, canonicalize
from signing.keys import SigningKey
from signing.multikey import decode_multibase_signature, decode_secret_multikey, encode_multibase
from signing.proof_signature import proof_value_verifies
from signing.proofs import (
    CRYPTOSUITE,
    PROOF_TYPE,
    VerifiedProof,
    create_proof,
    hash_data,
    prepare_proof,
    proof_configuration,
    verify_proof,
)
from tests.helpers.vectors import VECTORS_DIR, load_json

JCS_DIR = "w3c-vc-di-eddsa/eddsa-jcs-2022"


def _text(name: str) -> str:
    return (VECTORS_DIR / JCS_DIR / name).read_text(encoding="utf-8").strip()


def _bytes(name: str) -> bytes:
    return (VECTORS_DIR / JCS_DIR / name).read_bytes()


W3C_KEY = SigningKey.from_seed(
    decode_secret_multikey(load_json("w3c-vc-di-eddsa/keyPair.json")["privateKeyMultibase"])
)
# The eddsa-jcs-2022 vectors sign the top-level unsigned.json (canonDocJCS.txt is its JCS form).
UNSIGNED = load_json("w3c-vc-di-eddsa/unsigned.json")
PROOF_CONFIG = load_json(f"{JCS_DIR}/proofConfigJCS.json")
SIGNED = load_json(f"{JCS_DIR}/signedJCS.json")
CREATED = PROOF_CONFIG["created"]


# ---------------------------------------------------------------------------------------------
# W3C vc-di-eddsa test vectors, byte for byte
# ---------------------------------------------------------------------------------------------


def test_vector_canonical_document() -> None:
    assert canonicalize(UNSIGNED) == _bytes("canonDocJCS.txt")


def test_vector_proof_configuration() -> None:
    config = proof_configuration(PROOF_CONFIG)
    assert config == PROOF_CONFIG  # the options as they are (§3.3.5, REC 2025-05-15)
    assert canonicalize(config) == _bytes("proofCanonJCS.txt")
    # The signed proof, minus proofValue, yields the same configuration.
    assert proof_configuration(SIGNED["proof"]) == PROOF_CONFIG


def test_vector_hashes_and_signature() -> None:
    canonical_config = _bytes("proofCanonJCS.txt")
    canonical_document = _bytes("canonDocJCS.txt")
    assert hashlib.sha256(canonical_document).hexdigest() == _text("docHashJCS.txt")
    assert hashlib.sha256(canonical_config).hexdigest() == _text("proofHashJCS.txt")
    combined = hash_data(canonical_config, canonical_document)
    assert combined.hex() == _text("combinedHashJCS.txt")
    signature = W3C_KEY.sign(combined)
    assert signature.hex() == _text("sigHexJCS.txt")
    assert encode_multibase(signature) == _text("sigBTC58JCS.txt")


def test_vector_create_proof_reproduces_signed_credential() -> None:
    original = copy.deepcopy(UNSIGNED)
    signed = create_proof(UNSIGNED, W3C_KEY, W3C_KEY.verification_method, created=CREATED)
    assert signed == SIGNED
    # Same member order as the published file, too.
    assert json.dumps(signed, indent=2) == json.dumps(SIGNED, indent=2)
    assert original == UNSIGNED  # the input is untouched
    assert "proof" not in UNSIGNED


def test_vector_verifies() -> None:
    # The W3C credential's issuer is an https URL, not the did:key: skip the issuer binding.
    result = verify_proof(SIGNED, check_issuer=False)
    assert result == VerifiedProof(
        verification_method=W3C_KEY.verification_method,
        controller=W3C_KEY.did,
        created=CREATED,
        public_key=W3C_KEY.public_key_bytes,
    )
    # With the binding on, the https issuer does not match the did:key controller.
    assert _reason(SIGNED) == "controller"


# ---------------------------------------------------------------------------------------------
# A credential issued by the signing key's did:key
# ---------------------------------------------------------------------------------------------

KEY = SigningKey.from_seed(bytes(range(32)))
OTHER = SigningKey.from_seed(bytes(range(1, 33)))


def _credential(issuer: Any = None) -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://w3id.org/battery-passport/v1",
        ],
        "type": ["VerifiableCredential", "Transformation"],
        "issuer": KEY.did if issuer is None else issuer,
        "validFrom": "2025-03-14T09:26:53Z",
        "chain": {"sequence": 2, "previous": "sha256:" + "ab" * 32},
        "credentialSubject": {
            "id": "urn:lot:pCAM-1",
            "inputs": [{"id": "urn:lot:NiSO4-17", "grams": 1250000}],
            "output": {"grams": 1790000, "contentsPpm": {"Ni": 481000, "Co": 60300}},
            "note": "précurseur NCM811",
            "ratio": 0.25,
        },
    }


def _signed(key: SigningKey = KEY, **kwargs: Any) -> dict[str, Any]:
    return create_proof(_credential(), key, key.verification_method, created=CREATED, **kwargs)


def _reason(document: Any, **kwargs: Any) -> str:
    with pytest.raises(ProofError) as info:
        verify_proof(document, **kwargs)
    return str(info.value.details["reason"])


def test_round_trip() -> None:
    signed = _signed()
    result = verify_proof(signed)
    assert result.verification_method == KEY.verification_method
    assert result.controller == KEY.did
    assert result.created == CREATED
    assert result.public_key == KEY.public_key_bytes
    assert signed["proof"]["@context"] == signed["@context"]
    assert signed["proof"]["@context"] is not signed["@context"]


def test_created_defaults_to_now() -> None:
    signed = create_proof(_credential(), KEY, KEY.verification_method)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", signed["proof"]["created"])
    assert verify_proof(signed).created == signed["proof"]["created"]


def test_create_from_read_only_mapping() -> None:
    signed = create_proof(
        MappingProxyType(_credential()), KEY, KEY.verification_method, created=CREATED
    )
    assert signed == _signed()
    verify_proof(MappingProxyType(signed))


def test_document_without_context() -> None:
    document = {"issuer": KEY.did, "claim": "x"}
    signed = create_proof(document, KEY, KEY.verification_method, created=CREATED)
    assert "@context" not in signed["proof"]
    verify_proof(signed)


def test_issuer_object_with_id() -> None:
    document = _credential(issuer={"id": KEY.did, "name": "Refinery"})
    signed = create_proof(document, KEY, KEY.verification_method, created=CREATED)
    verify_proof(signed)
    signed["issuer"] = {"id": OTHER.did, "name": "Refinery"}
    assert _reason(signed) == "controller"


def test_other_purpose() -> None:
    signed = _signed(proof_purpose="authentication")
    verify_proof(signed, expected_purpose="authentication")
    assert _reason(signed) == "proof_purpose"


def test_did_web_issuer_with_pinned_document() -> None:
    did = "did:web:refinery.example.com"
    documents = {did: did_web_document(did, [("key-1", KEY.public_key_bytes)])}
    signed = create_proof(_credential(issuer=did), KEY, f"{did}#key-1", created=CREATED)

    def resolve(vm: str) -> bytes:
        return resolve_verification_method(vm, documents)

    assert verify_proof(signed, resolve_key=resolve).controller == did
    assert _reason(signed) == "unresolvable_key"  # default resolver: offline, did:key only
    rotated = {did: did_web_document(did, [("key-1", OTHER.public_key_bytes)])}
    assert _reason(signed, resolve_key=lambda vm: resolve_verification_method(vm, rotated)) == (
        "signature"
    )


def test_create_refuses_existing_proof() -> None:
    with pytest.raises(ProofError) as info:
        create_proof(_signed(), KEY, KEY.verification_method)
    assert info.value.details["reason"] == "proof_type"


def test_create_refuses_bad_created() -> None:
    with pytest.raises(ProofError) as info:
        create_proof(_credential(), KEY, KEY.verification_method, created="2025-03-14 09:00")
    assert info.value.details["reason"] == "created"


def test_create_refuses_non_json() -> None:
    document = _credential()
    document["credentialSubject"]["grams"] = float("nan")
    with pytest.raises(CanonicalizationError):
        create_proof(document, KEY, KEY.verification_method, created=CREATED)


@pytest.mark.parametrize(
    "created",
    [
        "2023-02-24T23:36:38Z",
        "2023-02-24T23:36:38.123456Z",
        "2023-02-24T23:36:38+05:30",
        "2023-02-24T23:36:38-14:00",
        "2023-02-24T24:00:00Z",
    ],
)
def test_valid_created_values(created: str) -> None:
    signed = create_proof(_credential(), KEY, KEY.verification_method, created=created)
    assert verify_proof(signed).created == created


@pytest.mark.parametrize(
    "created",
    ["2023-02-24T23:36:38", "2023-02-24", "2023-13-01T00:00:00Z", "2023-02-24T23:36:38+15:00", ""],
)
def test_proof_configuration_rejects_created(created: str) -> None:
    with pytest.raises(ProofError) as info:
        proof_configuration({**PROOF_CONFIG, "created": created})
    assert info.value.details["reason"] == "created"


def test_proof_configuration_checks_type_and_suite() -> None:
    with pytest.raises(ProofError) as info:
        proof_configuration({**PROOF_CONFIG, "type": "Ed25519Signature2020"})
    assert info.value.details["reason"] == "proof_type"
    with pytest.raises(ProofError) as info:
        proof_configuration({**PROOF_CONFIG, "cryptosuite": "eddsa-rdfc-2022"})
    assert info.value.details["reason"] == "cryptosuite"


def test_proof_configuration_does_not_mutate() -> None:
    proof = dict(SIGNED["proof"])
    config = proof_configuration(proof)
    assert "proofValue" not in config
    assert "proofValue" in proof
    assert config["@context"] == proof["@context"]
    assert proof == SIGNED["proof"]


# ---------------------------------------------------------------------------------------------
# Every failure reason
# ---------------------------------------------------------------------------------------------


def _mutated(edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    document = copy.deepcopy(_signed())
    edit(document)
    return document


def _set_proof(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        document["proof"][key] = value

    return edit


def _del_proof(key: str) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        del document["proof"][key]

    return edit


def _subject(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        document["credentialSubject"][key] = value

    return edit


def _flip_bit(proof_value: str, index: int) -> str:
    signature = bytearray(decode_multibase_signature(proof_value))
    signature[index] ^= 1
    return encode_multibase(bytes(signature))


def _proof_value(edit: Callable[[str], str]) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        document["proof"]["proofValue"] = edit(document["proof"]["proofValue"])

    return apply


MUTATIONS: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("no proof", lambda d: d.pop("proof"), "missing_proof"),
    ("proof null", lambda d: d.update(proof=None), "missing_proof"),
    ("proof set", lambda d: d.update(proof=[d["proof"]]), "proof_type"),
    ("proof string", lambda d: d.update(proof="proof"), "proof_type"),
    ("wrong type", _set_proof("type", "Ed25519Signature2020"), "proof_type"),
    ("no type", _del_proof("type"), "proof_type"),
    ("rdfc suite", _set_proof("cryptosuite", "eddsa-rdfc-2022"), "cryptosuite"),
    ("ecdsa suite", _set_proof("cryptosuite", "ecdsa-jcs-2019"), "cryptosuite"),
    ("no suite", _del_proof("cryptosuite"), "cryptosuite"),
    ("wrong purpose", _set_proof("proofPurpose", "authentication"), "proof_purpose"),
    ("no purpose", _del_proof("proofPurpose"), "proof_purpose"),
    ("no proofValue", _del_proof("proofValue"), "proof_value"),
    ("proofValue number", _set_proof("proofValue", 7), "proof_value"),
    ("truncated proofValue", _proof_value(lambda v: v[:-4]), "proof_value"),
    ("extended proofValue", _proof_value(lambda v: v + "2222"), "proof_value"),
    ("not base58", _proof_value(lambda v: v[:10] + "0OIl" + v[14:]), "proof_value"),
    ("u-prefixed", _proof_value(lambda v: "u" + v[1:]), "proof_value"),
    ("no multibase header", _proof_value(lambda v: v[1:]), "proof_value"),
    ("bad created", _set_proof("created", "yesterday"), "created"),
    ("no verificationMethod", _del_proof("verificationMethod"), "unresolvable_key"),
    (
        "proof @context reordered",
        lambda d: d["proof"].update({"@context": d["@context"][::-1]}),
        "context_mismatch",
    ),
    (
        "document @context changed",
        lambda d: d.update({"@context": ["https://www.w3.org/ns/credentials/v2"]}),
        "context_mismatch",
    ),
    ("document @context removed", lambda d: d.pop("@context"), "context_mismatch"),
    (
        "issuer swapped",
        lambda d: d.update(issuer="did:key:" + OTHER.multikey),
        "controller",
    ),
    ("issuer removed", lambda d: d.pop("issuer"), "controller"),
    (
        "vm of another did:key",
        _set_proof("verificationMethod", OTHER.verification_method),
        "controller",
    ),
    (
        "vm fragment of another key",
        _set_proof("verificationMethod", f"{KEY.did}#{OTHER.multikey}"),
        "unresolvable_key",
    ),
    ("subject value", _subject("note", "tampered"), "signature"),
    (
        "subject grams",
        lambda d: d["credentialSubject"]["output"].update(grams=1790001),
        "signature",
    ),
    ("subject key added", _subject("extra", True), "signature"),
    ("validFrom", lambda d: d.update(validFrom="2025-03-15T09:26:53Z"), "signature"),
    ("top-level member added", lambda d: d.update(name="x"), "signature"),
    ("created", _set_proof("created", "2023-02-24T23:36:39Z"), "signature"),
    ("proof member added", _set_proof("nonce", "abc"), "signature"),
    (
        "both @contexts changed alike",
        lambda d: [x.update({"@context": ["https://example.org/v9"]}) for x in (d, d["proof"])],
        "signature",
    ),
    ("signature bit flipped", _proof_value(lambda v: _flip_bit(v, 0)), "signature"),
    ("S bit flipped", _proof_value(lambda v: _flip_bit(v, 40)), "signature"),
]


@pytest.mark.parametrize(
    ("edit", "reason"), [pytest.param(e, r, id=name) for name, e, r in MUTATIONS]
)
def test_failure_reason(edit: Callable[[dict[str, Any]], object], reason: str) -> None:
    assert _reason(_mutated(edit)) == reason


def test_every_reason_is_covered() -> None:
    covered = {reason for _, _, reason in MUTATIONS}
    assert covered == {
        "missing_proof",
        "proof_type",
        "cryptosuite",
        "proof_purpose",
        "created",
        "proof_value",
        "controller",
        "unresolvable_key",
        "context_mismatch",
        "signature",
    }


def test_signed_by_another_did_key_not_the_issuer() -> None:
    # A valid signature by OTHER under its own did:key, on a credential KEY's did:key issued.
    forged = create_proof(_credential(), OTHER, OTHER.verification_method, created=CREATED)
    assert _reason(forged) == "controller"
    assert verify_proof(forged, check_issuer=False).controller == OTHER.did


def test_unsupported_did_method() -> None:
    issuer = "did:example:123"
    signed = create_proof(_credential(issuer=issuer), KEY, f"{issuer}#key-1", created=CREATED)
    assert _reason(signed) == "unresolvable_key"
    assert verify_proof(signed, resolve_key=lambda _vm: KEY.public_key_bytes).controller == issuer


def test_resolver_failures_become_unresolvable_key() -> None:
    signed = _signed()

    def broken(_vm: str) -> bytes:
        raise KeyFormatError("no such key")

    assert _reason(signed, resolve_key=broken) == "unresolvable_key"
    assert _reason(signed, resolve_key=lambda _vm: b"\x01" * 31) == "unresolvable_key"
    assert _reason(signed, resolve_key=lambda _vm: OTHER.public_key_bytes) == "signature"


def test_resolver_proof_error_reason_is_kept() -> None:
    def reasonless(_vm: str) -> bytes:
        raise ProofError("nope")

    def purpose(_vm: str) -> bytes:
        raise ProofError("not for assertions", reason="proof_purpose")

    assert _reason(_signed(), resolve_key=reasonless) == "unresolvable_key"
    assert _reason(_signed(), resolve_key=purpose) == "proof_purpose"


def test_appended_document_context_still_verifies() -> None:
    # §3.3.2: the document's @context must *start with* the proof's; it is then replaced by it.
    signed = _signed()
    signed["@context"] = [*signed["@context"], "https://example.org/extension/v1"]
    verify_proof(signed)


def test_proof_without_context_does_not_take_the_documents() -> None:
    # §3.3.5 (REC 2025-05-15): the configuration is the proof's own members; a proof signed
    # with its @context no longer verifies once that is removed (tests/test_proof_context.py).
    signed = _signed()
    del signed["proof"]["@context"]
    assert _reason(signed) == "signature"


def test_string_contexts() -> None:
    document = {**_credential(), "@context": "https://www.w3.org/ns/credentials/v2"}
    signed = create_proof(document, KEY, KEY.verification_method, created=CREATED)
    assert signed["proof"]["@context"] == "https://www.w3.org/ns/credentials/v2"
    verify_proof(signed)
    signed["@context"] = ["https://www.w3.org/ns/credentials/v2", "https://example.org/x"]
    verify_proof(signed)  # prefix rule, string treated as a one-element list
    signed["@context"] = "https://example.org/x"
    assert _reason(signed) == "context_mismatch"


def test_verify_does_not_mutate() -> None:
    signed = _signed()
    snapshot = copy.deepcopy(signed)
    verify_proof(signed)
    _reason(_mutated(_subject("note", "x")))
    assert signed == snapshot


def test_error_shape() -> None:
    with pytest.raises(ProofError) as info:
        verify_proof(_mutated(_subject("note", "x")))
    payload = info.value.to_dict()
    assert payload["code"] == "proof_invalid"
    assert payload["category"] == "unverified"
    assert payload["reason"] == "signature"


def test_constants() -> None:
    assert PROOF_TYPE == "DataIntegrityProof"
    assert CRYPTOSUITE == "eddsa-jcs-2022"


# ---------------------------------------------------------------------------------------------
# Property: any effective edit of the subject breaks the signature
# ---------------------------------------------------------------------------------------------

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
_SIGNED_FOR_PROPERTY = _signed()


@st.composite
def _subject_edits(draw: st.DrawFn) -> dict[str, Any]:
    subject = dict(_SIGNED_FOR_PROPERTY["credentialSubject"])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        action = draw(st.sampled_from(["add", "remove", "change"]))
        if action == "add" or not subject:
            subject[draw(st.text(max_size=8))] = draw(_json_values)
        elif action == "remove":
            del subject[draw(st.sampled_from(sorted(subject)))]
        else:
            subject[draw(st.sampled_from(sorted(subject)))] = draw(_json_values)
    return subject


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=_subject_edits())
def test_random_subject_edits_fail_with_signature(subject: dict[str, Any]) -> None:
    original = _SIGNED_FOR_PROPERTY["credentialSubject"]
    assume(canonicalize(subject) != canonicalize(original))  # e.g. 1 -> 1.0 is no change in JCS
    tampered = {**_SIGNED_FOR_PROPERTY, "credentialSubject": subject}
    assert _reason(tampered) == "signature"


# ---------------------------------------------------------------------------------------------
# The check in two parts (prepare_proof, then proof_value_verifies): what a bundle verifier
# splits between itself and its worker processes
# ---------------------------------------------------------------------------------------------


def _accepted_in_two_parts(
    document: Any, canonical: bytes | None = None, by_orjson: bool = False
) -> bool:
    """prepare_proof, then proof_value_verifies on what it returns: True if both pass."""
    try:
        prepared = prepare_proof(document, canonical=canonical, canonical_by_orjson=by_orjson)
        return proof_value_verifies(
            prepared.public_key,
            prepared.proof_value,
            prepared.canonical_config,
            prepared.canonical_document,
        )
    except ProofError:
        return False


def _accepted(document: Any) -> bool:
    try:
        verify_proof(document)
    except ProofError:
        return False
    return True


@pytest.mark.parametrize(
    "edit", [pytest.param(e, id=name) for name, e, _ in MUTATIONS] + [pytest.param(None, id="none")]
)
def test_the_two_parts_accept_exactly_what_verify_proof_accepts(
    edit: Callable[[dict[str, Any]], object] | None,
) -> None:
    document = _signed() if edit is None else _mutated(edit)
    expected = _accepted(document)
    assert expected == (edit is None)
    assert _accepted_in_two_parts(document) == expected
    if isinstance(document, dict):
        try:
            canonical, by_orjson = canonical_form(document)
        except CanonicalizationError:
            return
        assert _accepted_in_two_parts(document, canonical) == expected
        if by_orjson:  # what a parsed record says of its bytes (passport.records.envelope)
            assert _accepted_in_two_parts(document, canonical, by_orjson=True) == expected
            try:
                verify_proof(document, canonical=canonical, canonical_by_orjson=True)
            except ProofError:
                assert not expected
            else:
                assert expected


def test_the_prepared_parts_are_what_the_signature_covers() -> None:
    """The prepared configuration and document are the vector's canonical forms (vc-di-eddsa
    §3.3.3, §3.3.5), and the key the proof's."""
    signed = _signed()
    prepared = prepare_proof(signed)
    assert prepared.canonical_document == canonicalize(
        {k: v for k, v in signed.items() if k != "proof"}
    )
    config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    assert prepared.canonical_config == canonicalize(config)
    assert prepared.public_key == KEY.public_key_bytes
    assert prepared.proof_value == signed["proof"]["proofValue"]
    assert not proof_value_verifies(
        OTHER.public_key_bytes,
        prepared.proof_value,
        prepared.canonical_config,
        prepared.canonical_document,
    )
    assert not proof_value_verifies(
        prepared.public_key,
        prepared.proof_value,
        prepared.canonical_config,
        prepared.canonical_document + b" ",
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=_subject_edits())
def test_random_subject_edits_fail_in_two_parts(subject: dict[str, Any]) -> None:
    original = _SIGNED_FOR_PROPERTY["credentialSubject"]
    assume(canonicalize(subject) != canonicalize(original))
    tampered = {**_SIGNED_FOR_PROPERTY, "credentialSubject": subject}
    assert not _accepted_in_two_parts(tampered)
    assert not _accepted_in_two_parts(tampered, canonicalize(tampered))
