"""Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite (W3C vc-di-eddsa §3.3).

A proof is created over the JCS-canonical (RFC 8785) unsecured document and the JCS-canonical
proof configuration; the signed message is ``SHA-256(proofConfig) || SHA-256(document)``
(§3.3.4) and the Ed25519 signature is stored as a base58btc multibase ``proofValue``.

Only a single proof object is supported (no proof sets or chains). On top of the cryptosuite's own
checks, :func:`verify_proof` binds the key to the credential: the verification method's DID must
be the document's ``issuer`` (VC Data Model 2.0 §4.7 "Issuer"; the check can be switched off for
non-credential documents).

Every verification failure is a :class:`~signing.errors.ProofError` whose ``details["reason"]``
is one of: ``missing_proof``, ``proof_type``, ``cryptosuite``, ``proof_purpose``, ``created``,
``proof_value``, ``context_mismatch``, ``controller``, ``unresolvable_key``, ``signature``.

Pure module: no I/O (the optional clock read for ``created`` aside).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from signing import ed25519
from signing.did import resolve_verification_method
from signing.errors import BpassError, ProofError
from signing.jcs import canonicalize
from signing.multikey import decode_multibase_signature, encode_multibase_signature
from signing.proof_signature import signature_verifies

if TYPE_CHECKING:  # only create_proof's annotation: a verifier need not import cryptography
    from signing.keys import SigningKey

__all__ = [
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "PreparedProof",
    "VerifiedProof",
    "create_proof",
    "hash_data",
    "prepare_proof",
    "proof_configuration",
    "verify_proof",
]

#: vc-di-eddsa §3.3: ``type`` of every eddsa-jcs-2022 proof.
PROOF_TYPE = "DataIntegrityProof"
#: vc-di-eddsa §3.3: ``cryptosuite`` identifier.
CRYPTOSUITE = "eddsa-jcs-2022"

# XML Schema 1.1 Part 2 §3.4.28 dateTimeStamp (a dateTime whose time zone is mandatory), as
# required for ``created`` by vc-di-eddsa §3.3.5 step 3 / VC Data Integrity §2.1.
_DATETIME_STAMP = re.compile(
    r"-?(?:[1-9][0-9]{3,}|0[0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?|24:00:00(?:\.0+)?)"
    r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)

_sha256 = hashlib.sha256
_ONLY_STR = frozenset({str})
_orjson_dumps = orjson.dumps
_ORJSON_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """What a successful :func:`verify_proof` established.

    Attributes:
        verification_method: the proof's ``verificationMethod`` (a DID URL).
        controller: the DID controlling that method (the DID URL without its fragment).
        created: the proof's ``created`` timestamp, or ``None`` when absent.
        public_key: the 32-byte Ed25519 key the signature verified under.
    """

    verification_method: str
    controller: str
    created: str | None
    public_key: bytes


def _fail(reason: str, message: str, **details: Any) -> ProofError:
    """Build the ProofError for ``reason`` (one of the stable strings in the module docstring)."""
    return ProofError(message, reason=reason, **details)


def _context_starts_with(document_context: Any, proof_context: Any) -> bool:
    """True if ``document_context`` starts with every value of ``proof_context``, in order.

    A single string or object ``@context`` counts as a one-element list (JSON-LD 1.1 §3.1).
    """
    if type(document_context) is not list:
        document_context = [document_context]
    if type(proof_context) is not list:
        proof_context = [proof_context]
    return bool(document_context[: len(proof_context)] == proof_context)


def proof_configuration(proof: Mapping[str, Any]) -> dict[str, Any]:
    """Return the proof configuration of ``proof`` (vc-di-eddsa §3.3.5), not yet canonicalised.

    Step 1: a copy of the proof options (here: the proof without ``proofValue``), as they are.
    Step 2: ``type`` must be ``DataIntegrityProof`` and ``cryptosuite`` ``eddsa-jcs-2022``
    (ProofError ``proof_type`` / ``cryptosuite``). Step 3: ``created``, when set, must be an
    XMLSCHEMA11-2 dateTimeStamp (ProofError ``created``). The caller canonicalises the result
    with JCS (step 4).

    The document's ``@context`` is part of the configuration only when the proof carries it
    (the W3C Recommendation of 2025-05-15; a Candidate Recommendation copied the document's
    ``@context`` in here, which made a proof hashed with a context it does not carry verify and
    a conforming proof without one fail).
    """
    # §3.3.5 step 2.
    if proof.get("type") != PROOF_TYPE:
        raise _fail("proof_type", f"proof type must be {PROOF_TYPE!r}", type=proof.get("type"))
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise _fail(
            "cryptosuite",
            f"cryptosuite must be {CRYPTOSUITE!r}",
            cryptosuite=proof.get("cryptosuite"),
        )
    return _checked_configuration(proof)


def _checked_configuration(proof: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`proof_configuration` after its step 2, which the caller has already checked."""
    # §3.3.5 step 1: proofConfig is a clone of the options (here: the proof minus proofValue),
    # with its own @context if it has one and no other.
    config = dict(proof)
    config.pop("proofValue", None)
    # §3.3.5 step 3.
    created = config.get("created")
    if created is not None and not (
        isinstance(created, str) and _DATETIME_STAMP.fullmatch(created)
    ):
        raise _fail("created", "proof 'created' is not an XMLSCHEMA11-2 dateTimeStamp")
    return config


def _cut_unsecured(
    canonical: bytes,
    document: Mapping[str, Any],
    unsecured: dict[str, Any],
    proof: Mapping[str, Any],
) -> bytes | None:
    """``canonicalize(unsecured)`` cut out of ``canonical`` = ``canonicalize(document)``.

    RFC 8785 serializes an object as its members in sorted order, each one independently, so
    the secured form is the unsecured one with ``"proof":<canonical proof>`` inserted before
    the members whose names sort after ``proof``. Those members and the proof are serialized
    here (they are small) and must end ``canonical`` exactly. ``None`` (serialize as usual)
    when they do not, or when the proof's ``@context`` replaced the document's (§3.3.2 step 4)
    with a value that is not the same list of strings. Names are compared with ``"proof"`` in
    code point order, which against an ASCII name equals the UTF-16 order of RFC 8785 §3.2.3.
    """
    if type(canonical) is not bytes:
        return None
    if "@context" in proof:
        ours, theirs = unsecured["@context"], document["@context"]
        if not (
            type(ours) is list
            and type(theirs) is list
            and _ONLY_STR.issuperset(map(type, ours))
            and _ONLY_STR.issuperset(map(type, theirs))
            and ours == theirs
        ):
            return None
    tail = canonicalize({name: value for name, value in unsecured.items() if name > "proof"})
    after = b"}" if tail == b"{}" else b"," + tail[1:]
    suffix = b'"proof":' + canonicalize(proof) + after
    if not canonical.endswith(suffix):
        return None
    head = canonical[: len(canonical) - len(suffix)]
    if head == b"{":
        return tail
    if not (head.startswith(b"{") and head.endswith(b",")):
        return None
    return head[:-1] + after


def _agrees_with_orjson(canonical: bytes, document: Mapping[str, Any]) -> bool:
    """True if orjson (sorted keys) serializes ``document`` to ``canonical`` = JCS(document).

    JSON text is self-delimiting, so two serializers that give a whole object the same bytes
    gave each member the same bytes, in the same order. Then every value inside the document
    (the proof, its members, the ``@context``) is serialized by orjson exactly as by RFC 8785,
    and so is any object made of the document's own members in their order: the unsecured
    document (§3.3.2 step 1) and the proof configuration (§3.3.5). Both are then one orjson
    call each instead of a checked canonicalization (or a cut) apiece. A document it does not
    agree on (a float that orjson writes differently, say) takes the general path.
    """
    if type(canonical) is not bytes or type(document) is not dict:
        return False
    try:
        return bool(_orjson_dumps(document, option=_ORJSON_SORTED) == canonical)
    except orjson.JSONEncodeError:
        return False


def hash_data(canonical_proof_config: bytes, canonical_document: bytes) -> bytes:
    """Return ``SHA-256(canonical proof config) || SHA-256(canonical document)`` (§3.3.4).

    The 64-byte result is the message that Ed25519 signs (§3.3.6) and verifies (§3.3.7).
    """
    return _sha256(canonical_proof_config).digest() + _sha256(canonical_document).digest()


def _utc_now() -> str:
    """Current UTC time as ``YYYY-MM-DDThh:mm:ssZ``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_proof(
    document: Mapping[str, Any],
    key: SigningKey,
    verification_method: str,
    *,
    created: str | None = None,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """Sign ``document`` with eddsa-jcs-2022 (vc-di-eddsa §3.3.1); return a new secured document.

    The result is a new top-level dict: the members of ``document`` plus ``proof``. ``document``
    itself is not modified (nested values are shared, not copied). ``created`` defaults to the
    current UTC time, to the second.

    Raises:
        ProofError: ``document`` already has a ``proof`` (proof sets are not supported; reason
            ``proof_type``), or ``created`` is not a dateTimeStamp (reason ``created``).
        CanonicalizationError: ``document`` is not canonicalisable JSON.
    """
    if "proof" in document:
        raise _fail("proof_type", "document already has a proof (proof sets are not supported)")
    # §3.3.1 step 1: proof = clone of the options; step 2: when the unsecured document has an
    # @context, the proof repeats it (a verifier then detects @context changes, §3.3.2 step 4,
    # and the configuration hashed, §3.3.5, holds it because the proof does).
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": _utc_now() if created is None else created,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if "@context" in document:
        context = document["@context"]
        proof["@context"] = list(context) if isinstance(context, list) else context
    # §3.3.1 -> §3.3.5 Proof Configuration (the proof as built, with its @context), with JCS.
    canonical_config = canonicalize(proof_configuration(proof))
    # §3.3.1 -> §3.3.3 Transformation: JCS of the unsecured document.
    canonical_document = canonicalize(document if type(document) is dict else dict(document))
    # §3.3.1 -> §3.3.4 Hashing, then §3.3.6 Proof Serialization (Ed25519 sign of hashData).
    signature = key.sign(hash_data(canonical_config, canonical_document))
    # §3.3.1: proof.proofValue = base58btc multibase of the signature bytes.
    proof["proofValue"] = encode_multibase_signature(signature)
    secured = dict(document)
    secured["proof"] = proof
    return secured


def _issuer_id(document: Mapping[str, Any]) -> Any:
    """The issuer's identifier: ``issuer`` itself, or its ``id`` when it is an object."""
    issuer = document.get("issuer")
    if type(issuer) is not str and isinstance(issuer, Mapping):
        return issuer.get("id")
    return issuer


def verify_proof(
    document: Mapping[str, Any],
    *,
    resolve_key: Callable[[str], bytes] | None = None,
    expected_purpose: str = "assertionMethod",
    check_issuer: bool = True,
    canonical: bytes | None = None,
    canonical_by_orjson: bool = False,
) -> VerifiedProof:
    """Verify the single eddsa-jcs-2022 proof of a secured document (vc-di-eddsa §3.3.2).

    ``resolve_key`` maps a ``verificationMethod`` to its 32-byte public key; by default only
    did:key methods resolve (see :func:`signing.did.resolve_verification_method`, which also
    handles did:web from pinned documents). With ``check_issuer`` (default), the method's DID
    must equal the document's ``issuer`` (a string, or an object's ``id``).

    ``canonical``, optional, must be ``canonicalize(document)`` when given (a ledger has these
    bytes already: they are what it stores). The canonical form of the unsecured document is
    then cut out of them instead of being serialized again; the part after the proof member is
    checked against the document, and when it does not match the document is serialized as
    usual. Passing bytes of another document is a misuse: the signature is then checked over
    those bytes. ``canonical_by_orjson`` says ``canonical`` is orjson's sorted serialization of
    ``document``, as :func:`signing.jcs.canonical_form` reports it (it is then not checked
    again); saying so of other bytes is the same misuse.

    Returns a :class:`VerifiedProof`; raises :class:`~signing.errors.ProofError` whose
    ``details["reason"]`` says which check failed (see the module docstring). A document that
    cannot be canonicalised raises :class:`~signing.errors.CanonicalizationError`.

    It runs the checks of :func:`prepare_proof` and
    :func:`signing.proof_signature.proof_value_verifies`, with the ``proofValue`` decoded
    first among the proof's own members (so its reason comes before the key's).
    """
    proof = _proof_of(document, expected_purpose)
    # §3.3.2 step 3: proofBytes = multibase-decode(proofValue); must be 64 bytes (§3.3.7).
    signature = decode_multibase_signature(proof.get("proofValue"))
    prepared = _prepared(
        document, proof, resolve_key, expected_purpose, check_issuer, canonical, canonical_by_orjson
    )
    # §3.3.2 step 8 -> §3.3.4 hashing and §3.3.7 proof verification.
    if not signature_verifies(
        prepared.public_key, signature, prepared.canonical_config, prepared.canonical_document
    ):
        raise _fail(
            "signature",
            "signature does not verify",
            verification_method=prepared.verification_method,
        )
    return VerifiedProof(
        verification_method=prepared.verification_method,
        controller=prepared.controller,
        created=prepared.created,
        public_key=prepared.public_key,
    )


class PreparedProof(NamedTuple):
    """A proof whose checks passed up to its signature (vc-di-eddsa §3.3.2 steps 1-7): what
    :func:`signing.proof_signature.proof_value_verifies` takes to finish the check.

    Attributes:
        verification_method, controller, created, public_key: as in :class:`VerifiedProof`.
        proof_value: the proof's ``proofValue``, not yet decoded (§3.3.2 step 3).
        canonical_config: the JCS form of the proof configuration (§3.3.5).
        canonical_document: the JCS form of the unsecured document (§3.3.3).
    """

    verification_method: str
    controller: str
    created: str | None
    public_key: bytes
    proof_value: Any
    canonical_config: bytes
    canonical_document: bytes


def prepare_proof(
    document: Mapping[str, Any],
    *,
    resolve_key: Callable[[str], bytes] | None = None,
    expected_purpose: str = "assertionMethod",
    check_issuer: bool = True,
    canonical: bytes | None = None,
    canonical_by_orjson: bool = False,
) -> PreparedProof:
    """:func:`verify_proof` up to the signature: every check but the ``proofValue``'s decoding
    and the signature's, which :func:`signing.proof_signature.proof_value_verifies` runs on the
    result, perhaps in another process. Together they accept exactly what :func:`verify_proof`
    accepts; a document failing several checks may be refused for another reason first.
    Arguments and errors as :func:`verify_proof`.
    """
    proof = _proof_of(document, expected_purpose)
    return _prepared(
        document, proof, resolve_key, expected_purpose, check_issuer, canonical, canonical_by_orjson
    )


def _proof_of(document: Mapping[str, Any], expected_purpose: str) -> Mapping[str, Any]:
    """The document's single proof, of this cryptosuite and purpose (§3.3.2, §3.3.5 step 2)."""
    proof = document.get("proof")
    if proof is None:
        raise _fail("missing_proof", "document has no proof")
    if type(proof) is not dict and not isinstance(proof, Mapping):
        # A list is a proof set (VC Data Integrity §2.1.2), which is not supported.
        raise _fail("proof_type", "proof must be a single proof object (proof sets unsupported)")
    # §3.3.3 / §3.3.5 step 2: type and cryptosuite (checked first, for a precise reason).
    if proof.get("type") != PROOF_TYPE:
        raise _fail("proof_type", f"proof type must be {PROOF_TYPE!r}", type=proof.get("type"))
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise _fail(
            "cryptosuite",
            f"cryptosuite must be {CRYPTOSUITE!r}",
            cryptosuite=proof.get("cryptosuite"),
        )
    # VC Data Integrity §4.2 "Verify Proof" step: proofPurpose must match the expected purpose.
    if proof.get("proofPurpose") != expected_purpose:
        raise _fail(
            "proof_purpose",
            f"proofPurpose must be {expected_purpose!r}",
            proof_purpose=proof.get("proofPurpose"),
        )
    return proof


def _prepared(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    resolve_key: Callable[[str], bytes] | None,
    expected_purpose: str,
    check_issuer: bool,
    canonical: bytes | None,
    canonical_by_orjson: bool = False,
) -> PreparedProof:
    """§3.3.2 steps 1, 2 and 4-7 for ``proof``, which :func:`_proof_of` took from ``document``."""
    vm_id = proof.get("verificationMethod")
    if not isinstance(vm_id, str) or not vm_id:
        raise _fail("unresolvable_key", "proof has no verificationMethod")
    controller = vm_id.partition("#")[0]

    # §3.3.2 step 1: unsecuredDocument = securedDocument without proof (shallow: no deep copy).
    unsecured = dict(document)
    unsecured.pop("proof", None)
    # §3.3.2 step 4: if the proof carries an @context, the document's must start with it, in
    # order; the document is then processed with the proof's @context.
    if "@context" in proof:
        proof_context = proof["@context"]
        if "@context" not in document or not _context_starts_with(
            document["@context"], proof_context
        ):
            raise _fail(
                "context_mismatch", "document @context does not start with the proof's @context"
            )
        unsecured["@context"] = proof_context

    # Issuer binding (VC Data Model 2.0 §4.7): the signer must be the credential's issuer.
    if check_issuer and _issuer_id(document) != controller:
        raise _fail(
            "controller",
            "verification method is not controlled by the document's issuer",
            verification_method=vm_id,
            issuer=_issuer_id(document),
        )

    # §3.3.7: the public key comes from the verification method.
    try:
        if resolve_key is None:
            public_key = resolve_verification_method(vm_id, None, relationship=expected_purpose)
        else:
            public_key = resolve_key(vm_id)
    except ProofError as exc:
        if "reason" not in exc.details:
            exc.details["reason"] = "unresolvable_key"
        raise
    except BpassError as exc:
        raise _fail(
            "unresolvable_key", f"cannot resolve verification method: {exc.message}"
        ) from exc
    if not isinstance(public_key, bytes) or len(public_key) != ed25519.PUBLIC_KEY_SIZE:
        raise _fail("unresolvable_key", "resolved key is not a 32-byte Ed25519 public key")

    # §3.3.2 steps 5-7: transformation (§3.3.3), proof configuration (§3.3.5; its step 2 was
    # checked above); hashing (§3.3.4) is step 8's, in signing.proof_signature.
    config = _checked_configuration(proof)
    if canonical is not None and (canonical_by_orjson or _agrees_with_orjson(canonical, document)):
        # The configuration's members are the proof's own: all values inside the document.
        canonical_config = _orjson_dumps(config, option=_ORJSON_SORTED)
        canonical_document = _orjson_dumps(unsecured, option=_ORJSON_SORTED)
    else:
        canonical_config = canonicalize(config)
        cut = None if canonical is None else _cut_unsecured(canonical, document, unsecured, proof)
        canonical_document = canonicalize(unsecured) if cut is None else cut
    created = proof.get("created")
    return PreparedProof(  # a named tuple: built once per record of a bundle, so built fast
        vm_id,
        controller,
        created if isinstance(created, str) else None,
        public_key,
        proof.get("proofValue"),
        canonical_config,
        canonical_document,
    )
