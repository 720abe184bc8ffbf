"""signing.jws: compact EdDSA JWS (RFC 7515, RFC 8037) and JWTs on top of it."""

from __future__ import annotations

import json

import pytest

from signing.errors import JwsError
from signing.jws import (
    MAX_TOKEN_LENGTH,
    b64url_decode,
    b64url_encode,
    decode_jwt,
    encode_jwt,
    sign_compact,
    verify_compact,
)
from signing.keys import SigningKey

# RFC 8037 Appendix A.1 (key) and A.4 (JWS of "Example of Ed25519 signing").
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

KEY = SigningKey.from_seed(b"\x07" * 32)


def test_rfc8037_a4_vector_signs_and_verifies() -> None:
    key = SigningKey.from_seed(b64url_decode(RFC8037_D))
    assert b64url_encode(key.public_key_bytes) == RFC8037_X
    assert sign_compact({}, b"Example of Ed25519 signing", key) == RFC8037_JWS
    header, payload = verify_compact(RFC8037_JWS, b64url_decode(RFC8037_X))
    assert header == {"alg": "EdDSA"} and payload == b"Example of Ed25519 signing"


def test_jwt_round_trip_and_key_lookup() -> None:
    claims = {"sub": "did:key:z6Mk", "exp": 1_900_000_000, "roles": ["authority"]}
    token = encode_jwt(claims, KEY, kid="k1")
    assert decode_jwt(token, KEY.public_key_bytes) == claims

    def lookup(header: object) -> bytes:
        assert isinstance(header, dict) and header["kid"] == "k1" and header["typ"] == "JWT"
        return KEY.public_key_bytes

    assert decode_jwt(token, lookup) == claims
    assert encode_jwt(claims, KEY, kid="k1") == token  # deterministic


def _part(obj: object) -> str:
    return b64url_encode(json.dumps(obj).encode())


def test_tampering_and_other_keys_are_rejected() -> None:
    token = encode_jwt({"sub": "a"}, KEY)
    head, _payload, sig = token.split(".")
    forged = f"{head}.{_part({'sub': 'b'})}.{sig}"
    for bad in (forged, token[:-2] + ("AA" if token[-2:] != "AA" else "BA")):
        with pytest.raises(JwsError):
            decode_jwt(bad, KEY.public_key_bytes)
    with pytest.raises(JwsError, match="does not verify"):
        decode_jwt(token, SigningKey.generate().public_key_bytes)


@pytest.mark.parametrize(
    "header",
    [{"alg": "none"}, {"alg": "HS256"}, {"alg": "EdDSA", "crit": ["exp"]}, {}, ["EdDSA"]],
)
def test_only_plain_eddsa_headers_are_accepted(header: object) -> None:
    token = encode_jwt({"sub": "a"}, KEY)
    _, payload, sig = token.split(".")
    with pytest.raises(JwsError):
        verify_compact(f"{_part(header)}.{payload}.{sig}", KEY.public_key_bytes)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "e30.e30.e30=",  # padding
        "e3+.e30.e30",  # not the URL-safe alphabet
        "e31.e30.e30",  # non-canonical trailing bits
        "x" * (MAX_TOKEN_LENGTH + 1),
    ],
)
def test_malformed_tokens_are_rejected(token: str) -> None:
    with pytest.raises(JwsError):
        verify_compact(token, KEY.public_key_bytes)


def test_claims_must_be_a_strict_json_object() -> None:
    for payload in (b"[1]", b'{"a":1,"a":2}', b"not json"):
        token = sign_compact({"typ": "JWT"}, payload, KEY)
        with pytest.raises(JwsError):
            decode_jwt(token, KEY.public_key_bytes)
