"""Ed25519 signing keys: generation, deterministic signing, PKCS#8 PEM, did:key identifiers.

Signing goes through :mod:`signing.ed25519` (libsodium, see that module for the backend choice);
the libsodium expanded secret key is derived once and cached on the object, so :meth:`sign` is a
single C call. ``cryptography`` is used only to read and write PKCS#8 PEM (RFC 5958, RFC 8410 §7).

Pure module: bytes in, bytes out; reading the PEM file is the caller's business.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from signing import ed25519
from signing.errors import KeyFormatError
from signing.multikey import encode_multikey

__all__ = ["SigningKey"]


class SigningKey:
    """An Ed25519 private key (RFC 8032 §5.1.5) with its derived identifiers.

    Attributes:
        public_key_bytes: the 32-byte public key ``A``.
    """

    __slots__ = ("_multikey", "_secret", "_seed", "public_key_bytes")

    def __init__(self, seed: bytes) -> None:
        """Wrap a 32-byte private key (prefer :meth:`from_seed` / :meth:`generate`)."""
        public_key, secret = ed25519.keypair_from_seed(seed)
        self._seed = bytes(seed)
        self._secret = secret
        self.public_key_bytes: bytes = public_key
        self._multikey = encode_multikey(public_key)

    @classmethod
    def generate(cls) -> SigningKey:
        """Return a new key from 32 bytes of the operating system's CSPRNG (RFC 8032 §5.1.5)."""
        return cls(os.urandom(ed25519.SEED_SIZE))

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """Return the key whose RFC 8032 32-byte private key is ``seed`` (KeyFormatError if not)."""
        if not isinstance(seed, bytes | bytearray) or len(seed) != ed25519.SEED_SIZE:
            raise KeyFormatError("an Ed25519 private key (seed) is exactly 32 bytes")
        return cls(bytes(seed))

    def sign(self, message: bytes) -> bytes:
        """Return the deterministic 64-byte Ed25519 signature of ``message`` (RFC 8032 §5.1.6)."""
        return ed25519.sign(self._secret, message)

    def derive_secret(self, label: bytes) -> bytes:
        """A 32-byte secret derived from the private key for the purpose named by ``label``:
        HMAC-SHA256 keyed with the private key (the HKDF-Extract step of RFC 5869 §2.2, with
        the label as domain separation). Deterministic, and as secret as the key: what a
        signer needs to make the same confidential record twice (salts of its Disclosures)
        without keeping state. A different label gives an independent secret."""
        if not label:
            raise ValueError("a derived secret needs a non-empty label")
        return hmac.new(self._seed, b"bpass derived secret\x00" + label, hashlib.sha256).digest()

    @property
    def multikey(self) -> str:
        """The public key as a Multikey ``publicKeyMultibase`` value (``z6Mk…``)."""
        return self._multikey

    @property
    def did(self) -> str:
        """The did:key DID of the public key: ``did:key:z6Mk…``."""
        return "did:key:" + self._multikey

    @property
    def verification_method(self) -> str:
        """The did:key verification method id: ``did:key:z6Mk…#z6Mk…``."""
        return "did:key:" + self._multikey + "#" + self._multikey

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """Serialise as PKCS#8 PEM (RFC 8410 §7), encrypted when ``passphrase`` is given.

        Encryption uses ``cryptography``'s ``BestAvailableEncryption`` (PBES2 with a memory-hard
        or iterated KDF and AES-256). An empty passphrase is refused with KeyFormatError.
        """
        encryption: serialization.KeySerializationEncryption
        if passphrase is None:
            encryption = serialization.NoEncryption()
        else:
            if not passphrase:
                raise KeyFormatError("the PEM passphrase must not be empty")
            encryption = serialization.BestAvailableEncryption(bytes(passphrase))
        private = Ed25519PrivateKey.from_private_bytes(self._seed)
        return private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def from_pem(cls, data: bytes | str, passphrase: bytes | None = None) -> SigningKey:
        """Load a PKCS#8 PEM Ed25519 private key.

        Raises :class:`~signing.errors.KeyFormatError` for a wrong or missing passphrase, a
        passphrase given for an unencrypted key, a key that is not Ed25519, or unparseable data.
        """
        pem = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        try:
            private = serialization.load_pem_private_key(pem, password=passphrase)
        except TypeError as exc:
            # cryptography: password given for an unencrypted key, or missing for an encrypted one.
            raise KeyFormatError("PEM passphrase mismatch", detail=str(exc)) from None
        except (ValueError, UnsupportedAlgorithm) as exc:
            # Wrong passphrase, corrupt or non-PEM data, or an algorithm OpenSSL cannot load.
            raise KeyFormatError("cannot load PEM private key", detail=str(exc)) from None
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyFormatError("PEM key is not an Ed25519 key", key_type=type(private).__name__)
        seed = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return cls(seed)

    def __repr__(self) -> str:
        """Show the public identifier only; never the private key."""
        return f"SigningKey({self.did})"
