"""Compact JWS with EdDSA over Ed25519 (RFC 7515 §7.1, RFC 8037 §3.1), and JWTs built on it.

Only what the API's bearer tokens need, kept small and strict:

* the signing input is ``ASCII(base64url(header) || "." || base64url(payload))`` and the signature
  is Ed25519 over exactly those bytes (RFC 8037 §3.1);
* the protected header is serialised as RFC 8785 canonical JSON, so a token is deterministic;
* verification accepts ``"alg": "EdDSA"`` only (never ``none``, never an algorithm named by the
  token itself), rejects a ``crit`` header (we understand no extensions, RFC 7515 §4.1.11),
  rejects non-canonical base64url and duplicate JSON keys, and bounds the token's length.

JWT claim policy (expiry, audience) is the caller's business; :func:`decode_jwt` only verifies the
signature and returns the claims object. Pure module: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from typing import Any

from signing import ed25519
from signing.errors import CanonicalizationError, JwsError, SignatureError
from signing.jcs import canonicalize, parse_json
from signing.keys import SigningKey

__all__ = [
    "MAX_TOKEN_LENGTH",
    "b64url_decode",
    "b64url_encode",
    "decode_jwt",
    "encode_jwt",
    "sign_compact",
    "verify_compact",
]

MAX_TOKEN_LENGTH = 8192
"""Longest compact JWS accepted, in characters; longer input is refused before any decoding."""

ALG = "EdDSA"
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")

KeyLookup = Callable[[Mapping[str, Any]], bytes]
"""Given a verified-to-be-well-formed protected header, return the 32-byte public key to use."""


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding: only the URL-safe alphabet, canonical trailing bits."""
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise JwsError("not base64url without padding")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JwsError("not base64url without padding") from None
    if b64url_encode(data) != text:  # non-zero unused bits: a second spelling of the same bytes
        raise JwsError("not canonical base64url")
    return data


def sign_compact(header: Mapping[str, Any], payload: bytes, key: SigningKey) -> str:
    """A compact JWS of ``payload`` with ``header`` (``alg`` is set to EdDSA), signed by ``key``."""
    protected = dict(header)
    protected["alg"] = ALG
    signing_input = b64url_encode(canonicalize(protected)) + "." + b64url_encode(payload)
    signature = key.sign(signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(signature)


def _split(token: str) -> tuple[str, str, str]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise JwsError(f"a compact JWS is a string of at most {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError("a compact JWS has exactly three base64url parts")
    return parts[0], parts[1], parts[2]


def _header(encoded: str) -> dict[str, Any]:
    try:
        header = parse_json(b64url_decode(encoded))
    except CanonicalizationError as exc:
        raise JwsError(f"JWS header is not usable JSON: {exc.message}") from None
    if not isinstance(header, dict):
        raise JwsError("JWS header is not a JSON object")
    if header.get("alg") != ALG:
        raise JwsError("JWS alg must be EdDSA")
    if "crit" in header:
        raise JwsError("JWS crit header names extensions this verifier does not understand")
    return header


def verify_compact(token: str, public_key: bytes | KeyLookup) -> tuple[dict[str, Any], bytes]:
    """Verify a compact EdDSA JWS; return (protected header, payload bytes).

    ``public_key`` is the 32-byte Ed25519 key, or a function choosing it from the header (e.g. by
    ``kid``; it raises to refuse). Raises :class:`JwsError` for any malformed or unverified token.
    """
    head_b64, payload_b64, sig_b64 = _split(token)
    header = _header(head_b64)
    payload = b64url_decode(payload_b64)
    signature = b64url_decode(sig_b64)
    key = public_key(header) if callable(public_key) else public_key
    try:
        ed25519.verify(key, (head_b64 + "." + payload_b64).encode("ascii"), signature)
    except SignatureError:
        raise JwsError("JWS signature does not verify") from None
    return header, payload


def encode_jwt(claims: Mapping[str, Any], key: SigningKey, *, kid: str | None = None) -> str:
    """A JWT (``typ`` JWT) whose payload is the canonical JSON of ``claims``, signed by ``key``."""
    header: dict[str, Any] = {"typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return sign_compact(header, canonicalize(dict(claims)), key)


def decode_jwt(token: str, public_key: bytes | KeyLookup) -> dict[str, Any]:
    """Verify a JWT's signature and return its claims (a JSON object); claims are not checked."""
    _, payload = verify_compact(token, public_key)
    try:
        claims = parse_json(payload)
    except CanonicalizationError as exc:
        raise JwsError(f"JWT claims are not usable JSON: {exc.message}") from None
    if not isinstance(claims, dict):
        raise JwsError("JWT claims are not a JSON object")
    return claims
