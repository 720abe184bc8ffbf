"""Tests for signing.keys, signing.multikey and signing.did."""

from __future__ import annotations

from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from signing.did import (
    did_key_document,
    did_key_from_public_key,
    did_key_verification_method,
    did_web_document,
    did_web_from_domain,
    public_key_from_did_key,
    resolve_verification_method,
)
from signing.errors import KeyFormatError, ProofError
from signing.keys import SigningKey
from signing.multikey import (
    ED25519_PRIV_HEADER,
    ED25519_PUB_HEADER,
    decode_multibase,
    decode_multibase_signature,
    decode_multikey,
    decode_secret_multikey,
    encode_multibase,
    encode_multibase_signature,
    encode_multikey,
    encode_secret_multikey,
    public_key_from_jwk,
    public_key_to_jwk,
    varint,
)
from tests.helpers.vectors import load_json

W3C_KEYPAIR = load_json("w3c-vc-di-eddsa/keyPair.json")
RFC8032_TEST1 = load_json("ed25519/rfc8032-7.1-ed25519.json")["vectors"][0]
# RFC 8037 Appendix A.2: the public JWK of the RFC 8032 §7.1 TEST 1 key.
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

KEY = SigningKey.from_seed(bytes(range(32)))
OTHER = SigningKey.from_seed(bytes(range(1, 33)))


# ---------------------------------------------------------------------------------------------
# SigningKey
# ---------------------------------------------------------------------------------------------


def test_pem_round_trip_without_passphrase() -> None:
    pem = KEY.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = SigningKey.from_pem(pem)
    assert loaded.public_key_bytes == KEY.public_key_bytes
    assert loaded.sign(b"m") == KEY.sign(b"m")
    assert SigningKey.from_pem(pem.decode("ascii")).did == KEY.did  # str accepted too


def test_pem_round_trip_with_passphrase() -> None:
    pem = KEY.to_pem(b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert b"PRIVATE KEY" in pem
    assert KEY.to_pem() not in pem
    loaded = SigningKey.from_pem(pem, b"correct horse")
    assert loaded.public_key_bytes == KEY.public_key_bytes


def test_pem_wrong_passphrase() -> None:
    pem = KEY.to_pem(b"correct horse")
    with pytest.raises(KeyFormatError):
        SigningKey.from_pem(pem, b"battery staple")


def test_pem_missing_passphrase() -> None:
    with pytest.raises(KeyFormatError):
        SigningKey.from_pem(KEY.to_pem(b"secret"))


def test_pem_passphrase_for_unencrypted_key() -> None:
    with pytest.raises(KeyFormatError):
        SigningKey.from_pem(KEY.to_pem(), b"secret")


def test_pem_empty_passphrase_refused() -> None:
    with pytest.raises(KeyFormatError):
        KEY.to_pem(b"")


def test_pem_non_ed25519_key() -> None:
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyFormatError, match="not an Ed25519"):
        SigningKey.from_pem(other)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"\xff\xfe\x00",
    ],
)
def test_pem_garbage(data: bytes) -> None:
    with pytest.raises(KeyFormatError):
        SigningKey.from_pem(data)


def test_signing_key_identifiers() -> None:
    mk = KEY.multikey
    assert mk.startswith("z6Mk")
    assert decode_multikey(mk) == KEY.public_key_bytes
    assert KEY.did == "did:key:" + mk
    assert KEY.verification_method == f"did:key:{mk}#{mk}"
    assert len(KEY.public_key_bytes) == 32
    assert KEY.did not in repr(OTHER)
    assert KEY.did in repr(KEY)
    assert bytes(range(32)).hex() not in repr(KEY)


def test_generate_gives_distinct_keys() -> None:
    a, b = SigningKey.generate(), SigningKey.generate()
    assert a.public_key_bytes != b.public_key_bytes


@pytest.mark.parametrize("seed", [b"", b"\x00" * 31, b"\x00" * 33, "0" * 32])
def test_from_seed_rejects_bad_seed(seed: Any) -> None:
    with pytest.raises(KeyFormatError):
        SigningKey.from_seed(seed)


def test_w3c_keypair_public_matches_secret() -> None:
    seed = decode_secret_multikey(W3C_KEYPAIR["privateKeyMultibase"])
    key = SigningKey.from_seed(seed)
    assert decode_multikey(W3C_KEYPAIR["publicKeyMultibase"]) == key.public_key_bytes
    assert key.multikey == W3C_KEYPAIR["publicKeyMultibase"]
    assert encode_secret_multikey(seed) == W3C_KEYPAIR["privateKeyMultibase"]


# ---------------------------------------------------------------------------------------------
# Multibase / Multikey / JWK
# ---------------------------------------------------------------------------------------------


def test_multicodec_headers() -> None:
    assert ED25519_PUB_HEADER == b"\xed\x01"
    assert ED25519_PRIV_HEADER == b"\x80\x26"
    assert varint(0) == b"\x00"
    assert varint(127) == b"\x7f"
    assert varint(128) == b"\x80\x01"
    with pytest.raises(ValueError, match="non-negative"):
        varint(-1)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_multikey_did_jwk_round_trips(public_key: bytes) -> None:
    mk = encode_multikey(public_key)
    assert mk.startswith("z6Mk")
    assert decode_multikey(mk) == public_key
    did = did_key_from_public_key(public_key)
    assert did == "did:key:" + mk
    assert public_key_from_did_key(did) == public_key
    jwk = public_key_to_jwk(public_key)
    assert set(jwk) == {"kty", "crv", "x"}
    assert public_key_from_jwk(jwk) == public_key


@given(st.binary(max_size=80))
def test_multibase_round_trip(data: bytes) -> None:
    encoded = encode_multibase(data)
    assert encoded.startswith("z")
    assert decode_multibase(encoded) == data
    assert encoded[1:] == base58.b58encode(data).decode()


@given(st.binary(min_size=64, max_size=64))
def test_multibase_signature_round_trip(signature: bytes) -> None:
    assert decode_multibase_signature(encode_multibase_signature(signature)) == signature


def test_rfc8037_jwk_example() -> None:
    public_key = bytes.fromhex(RFC8032_TEST1["publicKey"])
    assert public_key_to_jwk(public_key) == {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}
    assert public_key_from_jwk({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}) == public_key


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "Ed25519", "x": RFC8037_X},
        {"kty": "OKP", "crv": "X25519", "x": RFC8037_X},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": 5},
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X + "="},  # padding
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X[:-1] + "p"},  # non-zero unused bits
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X[:-2]},  # wrong length
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "OKP", "crv": "Ed25519", "x": "A"},
    ],
)
def test_bad_jwk(jwk: dict[str, Any]) -> None:
    with pytest.raises(KeyFormatError):
        public_key_from_jwk(jwk)


def test_jwk_not_a_mapping() -> None:
    with pytest.raises(KeyFormatError):
        public_key_from_jwk(["OKP"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "z",
        "6Mk" + KEY.multikey[4:],  # no multibase header
        "u" + "7QE" + "A" * 43,  # base64url multibase, not base58btc
        KEY.multikey + " ",  # trailing whitespace
        KEY.multikey[:-1] + "0",  # '0' is not in the base58 alphabet
        KEY.multikey[:-1] + "l",  # nor is 'l'
        KEY.multikey[:-2],  # too short
        encode_multibase(ED25519_PUB_HEADER + b"\x01" * 33),  # too long
        encode_multibase(b"\x12\x00" + b"\x01" * 32),  # wrong multicodec (0x12 = sha2-256)
        encode_multibase(b"\x80\x24" + b"\x02" * 33),  # P-256 public key (0x1200)
        encode_secret_multikey(b"\x01" * 32),  # a secret key published by mistake
    ],
)
def test_bad_multikey(value: str) -> None:
    with pytest.raises(KeyFormatError):
        decode_multikey(value)


def test_bad_secret_multikey() -> None:
    with pytest.raises(KeyFormatError):
        decode_secret_multikey(KEY.multikey)
    with pytest.raises(KeyFormatError):
        decode_secret_multikey(encode_multibase(ED25519_PRIV_HEADER + b"\x01" * 31))
    with pytest.raises(KeyFormatError):
        encode_secret_multikey(b"\x01" * 31)


def test_encode_multikey_wrong_length() -> None:
    with pytest.raises(KeyFormatError):
        encode_multikey(b"\x01" * 31)
    with pytest.raises(KeyFormatError):
        public_key_to_jwk(b"\x01" * 33)


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "z",
        "u" + "A" * 86,
        "Z" + encode_multibase(b"\x01" * 64)[1:],
        encode_multibase(b"\x01" * 63),
        encode_multibase(b"\x01" * 65),
        encode_multibase(b"\x01" * 64)[:-1] + "O",
    ],
)
def test_bad_multibase_signature(value: Any) -> None:
    with pytest.raises(ProofError) as info:
        decode_multibase_signature(value)
    assert info.value.details["reason"] == "proof_value"


def test_encode_signature_wrong_length() -> None:
    with pytest.raises(ProofError):
        encode_multibase_signature(b"\x00" * 63)


def test_leading_zero_bytes_survive() -> None:
    signature = b"\x00\x00" + b"\xff" * 62
    encoded = encode_multibase_signature(signature)
    assert encoded.startswith("z11")
    assert decode_multibase_signature(encoded) == signature
    assert decode_multibase("z111") == b"\x00\x00\x00"


# ---------------------------------------------------------------------------------------------
# did:key
# ---------------------------------------------------------------------------------------------


def test_did_key_document() -> None:
    did = KEY.did
    vm = did_key_verification_method(did)
    assert vm == KEY.verification_method
    doc = did_key_document(did)
    assert doc["id"] == did
    assert doc["@context"][0] == "https://www.w3.org/ns/did/v1"
    assert doc["verificationMethod"] == [
        {"id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": KEY.multikey}
    ]
    for relationship in ("authentication", "assertionMethod"):
        assert doc[relationship] == [vm]


@pytest.mark.parametrize(
    "did",
    [
        "did:web:example.com",
        "did:key:",
        "did:key:" + KEY.multikey[:-1],
        KEY.verification_method,  # a DID URL, not a DID
        "did:key:" + encode_multibase(b"\x80\x24" + b"\x02" * 33),
        "DID:KEY:" + KEY.multikey,
    ],
)
def test_bad_did_key(did: str) -> None:
    with pytest.raises(KeyFormatError):
        public_key_from_did_key(did)


def test_public_key_from_did_key_type() -> None:
    with pytest.raises(KeyFormatError):
        public_key_from_did_key(b"did:key:z6Mk")  # type: ignore[arg-type]


def test_resolve_did_key() -> None:
    assert resolve_verification_method(KEY.verification_method) == KEY.public_key_bytes
    assert (
        resolve_verification_method(KEY.verification_method, relationship="authentication")
        == KEY.public_key_bytes
    )


def test_resolve_did_key_wrong_fragment() -> None:
    with pytest.raises(ProofError) as info:
        resolve_verification_method(f"{KEY.did}#{OTHER.multikey}")
    assert info.value.details["reason"] == "unresolvable_key"


def test_resolve_did_key_unsupported_relationship() -> None:
    with pytest.raises(ProofError) as info:
        resolve_verification_method(KEY.verification_method, relationship="keyAgreement")
    assert info.value.details["reason"] == "proof_purpose"


# ---------------------------------------------------------------------------------------------
# did:web
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "path", "expected"),
    [
        ("w3c-ccg.github.io", None, "did:web:w3c-ccg.github.io"),
        ("example.com:3000", None, "did:web:example.com%3A3000"),
        ("w3c-ccg.github.io", "user/alice", "did:web:w3c-ccg.github.io:user:alice"),
        ("w3c-ccg.github.io", "/user/alice/", "did:web:w3c-ccg.github.io:user:alice"),
        ("Example.COM", None, "did:web:example.com"),
        ("example.com:8443", "a b/c:d", "did:web:example.com%3A8443:a%20b:c%3Ad"),
    ],
)
def test_did_web_from_domain(domain: str, path: str | None, expected: str) -> None:
    assert did_web_from_domain(domain, path) == expected


@pytest.mark.parametrize(
    ("domain", "path"),
    [
        ("", None),
        ("exa mple.com", None),
        ("example.com:", None),
        ("example.com:abc", None),
        ("example.com:0", None),
        ("example.com:70000", None),
        ("-example.com", None),
        ("example..com", None),
        ("example.com/path", None),
        ("example.com", "a//b"),
        ("example.com", "/"),
    ],
)
def test_did_web_from_domain_rejects(domain: str, path: str | None) -> None:
    with pytest.raises(KeyFormatError):
        did_web_from_domain(domain, path)


DID_WEB = "did:web:refinery.example.com"


def _web_docs() -> dict[str, dict[str, Any]]:
    doc = did_web_document(DID_WEB, [("key-1", KEY.public_key_bytes)])
    return {DID_WEB: doc}


def test_did_web_document_shape() -> None:
    doc = did_web_document(
        DID_WEB, [("key-1", KEY.public_key_bytes), ("key-2", OTHER.public_key_bytes)]
    )
    assert doc["id"] == DID_WEB
    assert doc["assertionMethod"] == [f"{DID_WEB}#key-1", f"{DID_WEB}#key-2"]
    assert doc["verificationMethod"][1] == {
        "id": f"{DID_WEB}#key-2",
        "type": "Multikey",
        "controller": DID_WEB,
        "publicKeyMultibase": OTHER.multikey,
    }


@pytest.mark.parametrize(
    ("did", "keys"),
    [
        ("did:key:" + KEY.multikey, [("k", KEY.public_key_bytes)]),
        ("did:web:", [("k", KEY.public_key_bytes)]),
        (DID_WEB, [("", KEY.public_key_bytes)]),
        (DID_WEB, [("a#b", KEY.public_key_bytes)]),
        (DID_WEB, [("k", KEY.public_key_bytes), ("k", OTHER.public_key_bytes)]),
        (DID_WEB, [("k", b"\x01" * 31)]),
    ],
)
def test_did_web_document_rejects(did: str, keys: list[tuple[str, bytes]]) -> None:
    with pytest.raises(KeyFormatError):
        did_web_document(did, keys)


def test_resolve_did_web() -> None:
    docs = _web_docs()
    assert resolve_verification_method(f"{DID_WEB}#key-1", docs) == KEY.public_key_bytes


def test_resolve_did_web_relative_references() -> None:
    doc = _web_docs()[DID_WEB]
    doc["verificationMethod"][0]["id"] = "#key-1"
    doc["assertionMethod"] = ["#key-1"]
    assert resolve_verification_method(f"{DID_WEB}#key-1", {DID_WEB: doc}) == KEY.public_key_bytes


def test_resolve_did_web_embedded_method() -> None:
    doc = _web_docs()[DID_WEB]
    doc["assertionMethod"] = [doc.pop("verificationMethod")[0]]
    assert resolve_verification_method(f"{DID_WEB}#key-1", {DID_WEB: doc}) == KEY.public_key_bytes


def _reason(vm: str, docs: Any = None, **kwargs: Any) -> str:
    with pytest.raises(ProofError) as info:
        resolve_verification_method(vm, docs, **kwargs)
    return str(info.value.details["reason"])


def test_resolve_did_web_failures() -> None:
    docs = _web_docs()
    assert _reason(f"{DID_WEB}#key-1") == "unresolvable_key"  # no documents (offline)
    assert _reason(f"{DID_WEB}#key-1", {}) == "unresolvable_key"
    assert _reason(f"{DID_WEB}#key-9", docs) == "unresolvable_key"
    assert _reason(f"{DID_WEB}#key-1", docs, relationship="authentication") == "proof_purpose"

    wrong_id = {DID_WEB: {**docs[DID_WEB], "id": "did:web:evil.example"}}
    assert _reason(f"{DID_WEB}#key-1", wrong_id) == "unresolvable_key"

    not_listed = {DID_WEB: {**docs[DID_WEB], "assertionMethod": []}}
    assert _reason(f"{DID_WEB}#key-1", not_listed) == "proof_purpose"

    foreign = _web_docs()
    foreign[DID_WEB]["verificationMethod"][0]["controller"] = "did:web:evil.example"
    assert _reason(f"{DID_WEB}#key-1", foreign) == "controller"

    assert _reason("did:example:123#key-1") == "unresolvable_key"
    assert _reason(f"{DID_WEB}#key-1", {DID_WEB: "not a document"}) == "unresolvable_key"


def test_resolve_did_web_bad_key_material() -> None:
    docs = _web_docs()
    docs[DID_WEB]["verificationMethod"][0]["type"] = "JsonWebKey"
    with pytest.raises(KeyFormatError):
        resolve_verification_method(f"{DID_WEB}#key-1", docs)
    docs = _web_docs()
    docs[DID_WEB]["verificationMethod"][0]["publicKeyMultibase"] = "zzz"
    with pytest.raises(KeyFormatError):
        resolve_verification_method(f"{DID_WEB}#key-1", docs)
    docs = _web_docs()
    del docs[DID_WEB]["verificationMethod"][0]["publicKeyMultibase"]
    with pytest.raises(KeyFormatError):
        resolve_verification_method(f"{DID_WEB}#key-1", docs)


@pytest.mark.parametrize(
    "vm",
    [KEY.did, "", "did:web:bad host#k", "did:key:z6Mk#z6Mk", 7],
)
def test_resolve_malformed_ids(vm: Any) -> None:
    with pytest.raises(KeyFormatError):
        resolve_verification_method(vm)
