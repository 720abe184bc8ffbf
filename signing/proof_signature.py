"""The last step of an eddsa-jcs-2022 proof check (vc-di-eddsa §3.3.2 step 8): hash the two
canonical byte strings (§3.3.4) and verify the Ed25519 signature over the result (§3.3.7).

:func:`signing.proofs.verify_proof` ends here, after its checks of the proof and the document
(steps 1-7, :func:`signing.proofs.prepare_proof`). Kept apart because it imports no JSON
library: a process that only verifies the signatures of proofs prepared elsewhere
(``passport.verify.proof_worker``) starts in half the time.

Pure module: no I/O.
"""

from __future__ import annotations

import hashlib

from signing import ed25519
from signing.multikey import decode_multibase_signature

__all__ = ["proof_value_verifies", "signature_verifies"]

_sha256 = hashlib.sha256


def signature_verifies(
    public_key: bytes, signature: bytes, canonical_config: bytes, canonical_document: bytes
) -> bool:
    """§3.3.4 then §3.3.7: ``signature`` verifies under ``public_key`` over
    ``SHA-256(canonical_config) || SHA-256(canonical_document)``."""
    message = _sha256(canonical_config).digest() + _sha256(canonical_document).digest()
    return ed25519.is_valid(public_key, message, signature)


def proof_value_verifies(
    public_key: bytes, proof_value: str, canonical_config: bytes, canonical_document: bytes
) -> bool:
    """§3.3.2 step 3 (the multibase ``proofValue`` decodes to 64 bytes), then
    :func:`signature_verifies`. Raises :class:`signing.errors.ProofError` (reason
    ``proof_value``) for a value that does not decode."""
    signature = decode_multibase_signature(proof_value)
    return signature_verifies(public_key, signature, canonical_config, canonical_document)
