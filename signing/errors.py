"""The project's single error hierarchy.

Every error raised on purpose by ``signing``, ``passport`` or ``api`` derives from
:class:`BpassError`.
Each class carries a stable machine-readable ``code`` (used as the RFC 9457 problem ``code`` by the
API and printed by the CLI) and a ``category`` that the outer layers map to an HTTP status or exit
code. The base lives in ``signing`` because it is the lowest layer: the domain may import it, while
``signing`` never imports the domain.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

Category = Literal[
    "invalid", "unverified", "forbidden", "not_found", "conflict", "too_large", "unavailable"
]


class BpassError(Exception):
    """Base of every deliberate error in the project."""

    code: ClassVar[str] = "error"
    category: ClassVar[Category] = "invalid"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """Machine-readable form: stable code, category, message and details."""
        return {
            "code": self.code,
            "category": self.category,
            "message": self.message,
            **self.details,
        }


class SigningError(BpassError):
    """Base for errors of the pure trust primitives."""

    code = "signing_error"


class CanonicalizationError(SigningError):
    """Input cannot be canonicalised per RFC 8785 (NaN, lone surrogate, duplicate key, bad type)."""

    code = "canonicalization_error"


class KeyFormatError(SigningError):
    """A key, multikey, JWK or DID is malformed or of an unsupported type."""

    code = "key_format_error"


class SignatureError(SigningError):
    """A signature does not verify."""

    code = "signature_invalid"
    category = "unverified"


class ProofError(SigningError):
    """A Data Integrity proof is malformed or does not verify; ``reason`` says which check."""

    code = "proof_invalid"
    category = "unverified"


class MerkleProofError(SigningError):
    """An inclusion or consistency proof is malformed or does not verify."""

    code = "merkle_proof_invalid"
    category = "unverified"


class NoteError(SigningError):
    """A signed note (checkpoint) is malformed or its signature does not verify."""

    code = "note_invalid"
    category = "unverified"


class JwsError(SigningError):
    """A compact JWS or JWT is malformed, uses another algorithm, or does not verify."""

    code = "jws_invalid"
    category = "unverified"


class DisclosureError(SigningError):
    """A selective disclosure (RFC 9901 adapted to the ledger's JSON records) is malformed, or
    does not answer a digest of the record it is presented with."""

    code = "disclosure_invalid"


class DisclosureMismatchError(DisclosureError):
    """A disclosure whose digest the record does not contain: tampered, guessed, or taken from
    another record (RFC 9901 §7.1 step 5: every disclosure must be referenced)."""

    code = "disclosure_mismatch"
