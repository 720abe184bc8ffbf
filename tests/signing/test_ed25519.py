"""Tests for signing.ed25519 (RFC 8032 Ed25519) against Wycheproof and RFC 8032 §7.1 vectors."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from signing import ed25519
from signing.errors import KeyFormatError, SignatureError
from signing.keys import SigningKey
from tests.helpers.vectors import load_json

WYCHEPROOF = load_json("ed25519/wycheproof/ed25519_test.json")
RFC8032 = load_json("ed25519/rfc8032-7.1-ed25519.json")["vectors"]


def _wycheproof_cases() -> list[Any]:
    cases = []
    for group in WYCHEPROOF["testGroups"]:
        public_key = bytes.fromhex(group["publicKey"]["pk"])
        for test in group["tests"]:
            case_id = f"{test['tcId']}-{test['comment'] or 'no comment'}"
            cases.append(
                pytest.param(
                    public_key,
                    bytes.fromhex(test["msg"]),
                    bytes.fromhex(test["sig"]),
                    test["result"],
                    id=case_id,
                )
            )
    return cases


WYCHEPROOF_CASES = _wycheproof_cases()


def test_wycheproof_file_is_complete() -> None:
    assert len(WYCHEPROOF_CASES) == WYCHEPROOF["numberOfTests"] == 151
    results = [case.values[3] for case in WYCHEPROOF_CASES]
    assert results.count("valid") == 88
    assert results.count("invalid") == 63


@pytest.mark.parametrize(("public_key", "message", "signature", "result"), WYCHEPROOF_CASES)
def test_wycheproof(public_key: bytes, message: bytes, signature: bytes, result: str) -> None:
    assert result in {"valid", "invalid"}  # the file has no "acceptable" Ed25519 cases
    if result == "valid":
        ed25519.verify(public_key, message, signature)
        assert ed25519.is_valid(public_key, message, signature)
    else:
        with pytest.raises(SignatureError):
            ed25519.verify(public_key, message, signature)
        assert not ed25519.is_valid(public_key, message, signature)


@pytest.mark.parametrize("vector", RFC8032, ids=[v["name"] for v in RFC8032])
def test_rfc8032_sign_and_verify(vector: dict[str, str]) -> None:
    seed = bytes.fromhex(vector["secretKey"])
    public_key = bytes.fromhex(vector["publicKey"])
    message = bytes.fromhex(vector["message"])
    signature = bytes.fromhex(vector["signature"])

    derived_public, secret = ed25519.keypair_from_seed(seed)
    assert derived_public == public_key
    assert secret == seed + public_key
    assert ed25519.sign(secret, message) == signature

    key = SigningKey.from_seed(seed)
    assert key.public_key_bytes == public_key
    assert key.sign(message) == signature  # deterministic: reproduces RFC 8032 exactly

    ed25519.verify(public_key, message, signature)
    assert ed25519.is_valid(public_key, message, signature)
    assert not ed25519.is_valid(public_key, message + b"\x00", signature)


@pytest.mark.parametrize(
    ("pk_len", "sig_len"), [(31, 64), (33, 64), (0, 64), (32, 63), (32, 65), (32, 0)]
)
def test_wrong_lengths_are_rejected(pk_len: int, sig_len: int) -> None:
    vector = RFC8032[0]
    public_key = bytes.fromhex(vector["publicKey"]).ljust(pk_len, b"\x00")[:pk_len]
    signature = bytes.fromhex(vector["signature"]).ljust(sig_len, b"\x00")[:sig_len]
    with pytest.raises(SignatureError):
        ed25519.verify(public_key, b"", signature)
    assert not ed25519.is_valid(public_key, b"", signature)


def test_signature_error_is_typed() -> None:
    vector = RFC8032[1]
    signature = bytearray.fromhex(vector["signature"])
    signature[0] ^= 1
    with pytest.raises(SignatureError) as info:
        ed25519.verify(bytes.fromhex(vector["publicKey"]), b"\x72", bytes(signature))
    assert info.value.code == "signature_invalid"
    assert info.value.category == "unverified"


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_keypair_from_seed_rejects_wrong_length(length: int) -> None:
    with pytest.raises(KeyFormatError):
        ed25519.keypair_from_seed(b"\x01" * length)


def test_sign_rejects_short_secret() -> None:
    with pytest.raises(KeyFormatError):
        ed25519.sign(b"\x01" * 32, b"message")


@settings(max_examples=60, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=256))
def test_agrees_with_openssl(seed: bytes, message: bytes) -> None:
    """Differential check: libsodium signatures verify under OpenSSL and vice versa."""
    key = SigningKey.from_seed(seed)
    signature = key.sign(message)
    Ed25519PublicKey.from_public_bytes(key.public_key_bytes).verify(signature, message)
    ed25519.verify(key.public_key_bytes, message, signature)
    flipped = bytes([signature[0] ^ 0x80]) + signature[1:]
    assert not ed25519.is_valid(key.public_key_bytes, message, flipped)
