"""Multibase, Multikey and JWK encodings of Ed25519 keys and signatures.

* Multibase (draft-multiformats-multibase; W3C Controlled Identifiers v1.0, section "Multibase"):
  only the base58btc alphabet, header ``z``, is produced or accepted.
* Multikey (Controlled Identifiers v1.0, section "Multikey"): an Ed25519 public key is the
  multicodec ``ed25519-pub`` header (0xed, unsigned-varint encoded as ``0xed 0x01``) followed by
  the 32 raw key bytes, base58btc-multibase encoded: always ``z6Mk…``. The secret key form uses
  multicodec ``ed25519-priv`` (0x1300, varint ``0x80 0x26``): ``z3u2…``.
* JWK (RFC 8037 §2): ``{"kty": "OKP", "crv": "Ed25519", "x": base64url(public key)}``.
* Data Integrity ``proofValue`` (vc-di-eddsa §3.3.1 step 6): base58btc multibase of the 64-byte
  signature.

Pure module: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from functools import lru_cache

import base58

from signing.errors import KeyFormatError, ProofError

__all__ = [
    "ED25519_PRIV_HEADER",
    "ED25519_PUB_HEADER",
    "decode_multibase",
    "decode_multibase_signature",
    "decode_multikey",
    "decode_secret_multikey",
    "encode_multibase",
    "encode_multibase_signature",
    "encode_multikey",
    "encode_secret_multikey",
    "public_key_from_jwk",
    "public_key_to_jwk",
    "varint",
]

#: Multibase header for base58btc (multibase table: ``z`` = base58btc).
MULTIBASE_BASE58BTC = "z"

# The Bitcoin base58 alphabet (no 0, O, I, l). Multibase's base58btc uses exactly this alphabet.
_BASE58_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE64URL_RE = re.compile(r"[A-Za-z0-9_-]*")

_KEY_SIZE = 32
_SIGNATURE_SIZE = 64


def varint(value: int) -> bytes:
    """Encode a non-negative integer as a multiformats unsigned varint (LEB128, 7 bits a byte)."""
    if value < 0:
        raise ValueError("varint values are non-negative")
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


#: Multicodec ``ed25519-pub`` (0xed) as a varint: ``b"\xed\x01"``.
ED25519_PUB_HEADER = varint(0xED)
#: Multicodec ``ed25519-priv`` (0x1300) as a varint: ``b"\x80\x26"``.
ED25519_PRIV_HEADER = varint(0x1300)


def encode_multibase(data: bytes) -> str:
    """Return ``"z" + base58btc(data)`` (multibase base58btc)."""
    return MULTIBASE_BASE58BTC + base58.b58encode(bytes(data)).decode("ascii")


# base58btc decoding without a per-character Python loop. ``_B58_DIGITS`` maps each alphabet
# byte to its digit value and every other byte to 0xFF. ``int.from_bytes`` of the digit bytes
# packs digit i into bits [8i, 8i + 8); each level of ``_b58_levels`` then merges neighbouring
# fields of w bits (each holding the value of 2**k base-58 digits, below 58**(2**k) < 2**(w * 0.74))
# into one field of 2w bits: high * 58**(2**k) + low, all fields at once with big-integer
# shifts, masks, one multiplication and one addition. A field never overflows because 58 < 2**8.
_B58_DIGITS = bytes(
    _BASE58_ALPHABET.index(byte) if byte in _BASE58_ALPHABET else 0xFF for byte in range(256)
)
_B58_MAX_LEVELS = 10  # up to 1024 digits per pass; longer text is folded by the same method


@lru_cache(maxsize=_B58_MAX_LEVELS + 1)
def _b58_levels(count: int) -> tuple[tuple[int, int, int], ...]:
    """(field width w, mask of the low w bits of every 2w-bit field, 58**(w / 8)) per level."""
    total_bits = 8 << count
    levels = []
    for level in range(count):
        width = 8 << level
        field = (1 << width) - 1
        mask = 0
        for shift in range(0, total_bits, 2 * width):
            mask |= field << shift
        levels.append((width, mask, 58 ** (1 << level)))
    return tuple(levels)


def _b58_digits_value(digits: bytes) -> int:
    """The integer whose base-58 digits (values 0..57, most significant first) are ``digits``."""
    chunk = 1 << _B58_MAX_LEVELS
    if len(digits) > chunk:  # beyond the precomputed masks: combine 1024-digit blocks
        head = len(digits) % chunk or chunk
        value = _b58_digits_value(digits[:head])
        scale = 58**chunk
        for start in range(head, len(digits), chunk):
            value = value * scale + _b58_digits_value(digits[start : start + chunk])
        return value
    value = int.from_bytes(digits, "big")
    for width, mask, factor in _b58_levels((len(digits) - 1).bit_length() if digits else 0):
        value = ((value >> width) & mask) * factor + (value & mask)
    return value


def _b58decode_strict(text: str) -> bytes | None:
    """Decode base58btc text, or ``None`` if it holds a character outside the alphabet.

    Unlike ``base58.b58decode`` nothing is stripped: whitespace and look-alikes are rejected.
    Each leading ``1`` becomes one leading zero byte (base58 convention), and the rest is the
    big-endian integer without leading zero bytes, so decoding inverts ``base58.b58encode``
    exactly (checked against the ``base58`` package in tests/test_base58.py).
    """
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        return None
    digits = raw.translate(_B58_DIGITS)
    if b"\xff" in digits:
        return None
    zeros = len(raw) - len(raw.lstrip(b"1"))
    number = _b58_digits_value(digits)
    return b"\x00" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def decode_multibase(value: str) -> bytes:
    """Decode a base58btc multibase string (``z…``); raise KeyFormatError for anything else."""
    if not isinstance(value, str) or not value.startswith(MULTIBASE_BASE58BTC):
        raise KeyFormatError("expected a base58btc multibase value starting with 'z'")
    decoded = _b58decode_strict(value[1:])
    if decoded is None:
        raise KeyFormatError("multibase value is not valid base58btc")
    return decoded


def encode_multikey(public_key: bytes) -> str:
    """Encode a 32-byte Ed25519 public key as a Multikey ``publicKeyMultibase`` (``z6Mk…``)."""
    if len(public_key) != _KEY_SIZE:
        raise KeyFormatError("an Ed25519 public key is exactly 32 bytes", length=len(public_key))
    return encode_multibase(ED25519_PUB_HEADER + bytes(public_key))


def decode_multikey(value: str) -> bytes:
    """Decode a Multikey ``publicKeyMultibase`` to the 32 raw Ed25519 public key bytes.

    Raises :class:`~signing.errors.KeyFormatError` when the value is not base58btc multibase, its
    multicodec header is not ``ed25519-pub`` (this also refuses a secret key published by mistake,
    vc-di-eddsa §2.1.1 "Multikey") or the key is not 32 bytes.
    """
    raw = decode_multibase(value)
    if raw[:2] != ED25519_PUB_HEADER:
        raise KeyFormatError("multikey is not an Ed25519 public key (multicodec 0xed01)")
    if len(raw) != 2 + _KEY_SIZE:
        raise KeyFormatError("an Ed25519 multikey holds exactly 32 key bytes", length=len(raw) - 2)
    return raw[2:]


@lru_cache(maxsize=1 << 14)
def decode_multikey_cached(value: str) -> bytes:
    """:func:`decode_multikey`, remembering recent answers (a ledger meets the same signing and
    named keys record after record; failures are not remembered, they raise every time)."""
    return decode_multikey(value)


def encode_secret_multikey(seed: bytes) -> str:
    """Encode a 32-byte Ed25519 private key as a ``secretKeyMultibase`` (``z3u2…``)."""
    if len(seed) != _KEY_SIZE:
        raise KeyFormatError("an Ed25519 private key is exactly 32 bytes")
    return encode_multibase(ED25519_PRIV_HEADER + bytes(seed))


def decode_secret_multikey(value: str) -> bytes:
    """Decode an Ed25519 ``secretKeyMultibase`` (multicodec 0x1300) to the 32-byte private key."""
    raw = decode_multibase(value)
    if raw[:2] != ED25519_PRIV_HEADER:
        raise KeyFormatError("multikey is not an Ed25519 private key (multicodec 0x1300)")
    if len(raw) != 2 + _KEY_SIZE:
        raise KeyFormatError("an Ed25519 secret multikey holds exactly 32 key bytes")
    return raw[2:]


def encode_multibase_signature(signature: bytes) -> str:
    """Encode a 64-byte Ed25519 signature as a base58btc multibase ``proofValue``."""
    if len(signature) != _SIGNATURE_SIZE:
        raise ProofError(
            "an Ed25519 signature is exactly 64 bytes",
            reason="proof_value",
            length=len(signature),
        )
    return encode_multibase(signature)


def decode_multibase_signature(value: object) -> bytes:
    """Decode a ``proofValue`` to 64 signature bytes.

    Raises :class:`~signing.errors.ProofError` with ``reason="proof_value"`` if the value is not a
    string, not base58btc multibase (header ``z``), or does not decode to exactly 64 bytes.
    """
    if not isinstance(value, str) or not value.startswith(MULTIBASE_BASE58BTC):
        raise ProofError("proofValue must be base58btc multibase ('z…')", reason="proof_value")
    decoded = _b58decode_strict(value[1:])
    if decoded is None:
        raise ProofError("proofValue is not valid base58btc", reason="proof_value")
    if len(decoded) != _SIGNATURE_SIZE:
        raise ProofError(
            "proofValue must decode to a 64-byte Ed25519 signature",
            reason="proof_value",
            length=len(decoded),
        )
    return decoded


def _b64url_encode(data: bytes) -> str:
    """RFC 7515 §2 base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Strict base64url-without-padding decoding (RFC 7515 §2); rejects non-canonical input."""
    if not _BASE64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise KeyFormatError("JWK member is not base64url without padding")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise KeyFormatError("JWK member is not base64url without padding") from None
    # Non-zero unused trailing bits would give a second spelling of the same key: refuse it.
    if _b64url_encode(data) != text:
        raise KeyFormatError("JWK member is not canonical base64url")
    return data


def public_key_to_jwk(public_key: bytes) -> dict[str, str]:
    """Return the RFC 8037 §2 public JWK of an Ed25519 key: ``kty`` OKP, ``crv`` Ed25519, ``x``."""
    if len(public_key) != _KEY_SIZE:
        raise KeyFormatError("an Ed25519 public key is exactly 32 bytes", length=len(public_key))
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url_encode(bytes(public_key))}


def public_key_from_jwk(jwk: Mapping[str, object]) -> bytes:
    """Return the 32-byte Ed25519 public key of an RFC 8037 OKP JWK.

    Raises :class:`~signing.errors.KeyFormatError` unless ``kty`` is ``OKP``, ``crv`` is
    ``Ed25519`` and ``x`` is canonical base64url of exactly 32 bytes. A private member ``d``, if
    present, is ignored (only the public key is read).
    """
    if not isinstance(jwk, Mapping):
        raise KeyFormatError("a JWK is a JSON object")
    # RFC 8037 §2: "kty" MUST be "OKP"; "crv" names the subtype of key.
    if jwk.get("kty") != "OKP":
        raise KeyFormatError("JWK kty must be 'OKP'", kty=jwk.get("kty"))
    if jwk.get("crv") != "Ed25519":
        raise KeyFormatError("JWK crv must be 'Ed25519'", crv=jwk.get("crv"))
    x = jwk.get("x")
    if not isinstance(x, str):
        raise KeyFormatError("JWK 'x' member is missing")
    key = _b64url_decode(x)
    if len(key) != _KEY_SIZE:
        raise KeyFormatError("JWK 'x' must hold exactly 32 bytes", length=len(key))
    return key
