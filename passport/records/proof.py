"""Append step 2a on its own: a ledger record's proof verifies under the key its verification
method names (``passport.ledger.pipeline``, design: "The append pipeline").

Kept in a module that imports nothing but ``signing``: the ledger's append pipeline and the
bundle verifier (``passport.verify.bundle_proofs``, which prepares proofs here and leaves their
signatures to ``passport.verify.proof_worker``) share it without the rest of the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signing.multikey import decode_multikey_cached
from signing.proofs import PreparedProof, prepare_proof, verify_proof

__all__ = ["check_record_proof", "key_of_method", "prepare_record_proof"]


def key_of_method(vm: str) -> bytes:
    """The public key a ledger record's verification method ``issuer#<multikey>`` names.

    The key is in the id itself. Whether the key may sign for the issuer is the ledger's
    question (step 2), answered under the lock from the key history.
    """
    return decode_multikey_cached(vm.rsplit("#", 1)[1])


def check_record_proof(
    doc: Mapping[str, Any], canonical: bytes, canonical_by_orjson: bool = False
) -> None:
    """Step 2a for a record ``doc`` whose canonical bytes are ``canonical``: raises
    :class:`signing.errors.ProofError` (or another :class:`signing.errors.BpassError` for a key
    that does not resolve) as :func:`signing.proofs.verify_proof` does."""
    # canonical is canonicalize(doc): the proof check reuses those bytes.
    verify_proof(
        doc,
        resolve_key=key_of_method,
        canonical=canonical,
        canonical_by_orjson=canonical_by_orjson,
    )


def prepare_record_proof(
    doc: Mapping[str, Any], canonical: bytes, canonical_by_orjson: bool = False
) -> PreparedProof:
    """Step 2a up to the signature (:func:`signing.proofs.prepare_proof`): what is left is
    :func:`signing.proof_signature.proof_value_verifies` on the result. Raises what
    :func:`check_record_proof` raises for every failure but the proof value's and the
    signature's."""
    return prepare_proof(
        doc,
        resolve_key=key_of_method,
        canonical=canonical,
        canonical_by_orjson=canonical_by_orjson,
    )
