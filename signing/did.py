"""did:key and did:web identifiers, their documents, and offline verification-method resolution.

* did:key (W3C CCG did:key Method v0.9): ``did:key:<publicKeyMultibase>``; the one verification
  method is ``did:key:<mb>#<mb>``, a Multikey whose controller is the DID (section "Document
  Creation Algorithm").
* did:web (W3C CCG did:web Method, section "Create"): ``did:web:<domain>[%3A<port>][:<path>…]``.
* Documents follow W3C Controlled Identifiers v1.0 / DID v1.0: ``verificationMethod`` entries of
  type ``Multikey`` and verification relationships (``assertionMethod`` …) that reference them.

Resolution is offline: did:key is decoded from the identifier itself; did:web is looked up only in
a caller-supplied mapping of DID -> document (fetching ``did.json`` is the caller's job: ``signing``
does no I/O).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from signing.errors import KeyFormatError, ProofError
from signing.multikey import decode_multikey, encode_multikey

__all__ = [
    "DID_CONTEXT",
    "MULTIKEY_CONTEXT",
    "did_key_document",
    "did_key_from_public_key",
    "did_key_verification_method",
    "did_web_document",
    "did_web_from_domain",
    "public_key_from_did_key",
    "resolve_verification_method",
]

#: DID v1.0 JSON-LD context.
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
#: Context defining the ``Multikey`` type and ``publicKeyMultibase`` (used by did:key documents).
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"

_DID_KEY_PREFIX = "did:key:"
_DID_WEB_PREFIX = "did:web:"

# did:key relationships (did:key spec, "Document Creation Algorithm": the signature key is used
# for authentication, assertionMethod, capabilityInvocation and capabilityDelegation).
_DID_KEY_RELATIONSHIPS = frozenset(
    {"authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation"}
)

# DID Core §3.1 "DID Syntax": idchar = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded.
_IDCHARS = r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+"
_DID_WEB_RE = re.compile(rf"did:web:{_IDCHARS}(?::{_IDCHARS})*")
# A host name (RFC 1123 labels) or IPv4 literal, with an optional port.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_FRAGMENT_RE = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@/?-]+")


# ---------------------------------------------------------------------------------------------
# did:key
# ---------------------------------------------------------------------------------------------


def did_key_from_public_key(public_key: bytes) -> str:
    """Return ``did:key:z6Mk…`` for a 32-byte Ed25519 public key (did:key "Format")."""
    return _DID_KEY_PREFIX + encode_multikey(public_key)


@lru_cache(maxsize=4096)
def _did_key_public_key(did: str) -> bytes:
    """Decode a did:key (memoised: the mapping is a pure function of the string)."""
    if not did.startswith(_DID_KEY_PREFIX):
        raise KeyFormatError("not a did:key identifier", did=did)
    return decode_multikey(did[len(_DID_KEY_PREFIX) :])


def public_key_from_did_key(did: str) -> bytes:
    """Return the 32-byte Ed25519 public key encoded in a did:key DID (no fragment).

    Raises :class:`~signing.errors.KeyFormatError` when ``did`` is not ``did:key:`` followed by an
    Ed25519 Multikey (``z6Mk…``), e.g. another key type, a bad base58btc value or a DID URL.
    """
    if not isinstance(did, str):
        raise KeyFormatError("a DID is a string")
    return _did_key_public_key(did)


def did_key_verification_method(did: str) -> str:
    """Return the verification method id of a did:key: ``did:key:<mb>#<mb>``."""
    public_key_from_did_key(did)  # validate
    return did + "#" + did[len(_DID_KEY_PREFIX) :]


def _multikey_method(vm_id: str, controller: str, public_key: bytes) -> dict[str, Any]:
    """A Multikey verification method (Controlled Identifiers v1.0, section "Multikey")."""
    return {
        "id": vm_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": encode_multikey(public_key),
    }


def did_key_document(did: str) -> dict[str, Any]:
    """Return the DID document of an Ed25519 did:key (did:key "Document Creation Algorithm").

    One ``Multikey`` verification method controlled by the DID itself, referenced from
    ``authentication``, ``assertionMethod``, ``capabilityInvocation`` and
    ``capabilityDelegation``. (The optional X25519 ``keyAgreement`` key is not derived.)
    """
    public_key = public_key_from_did_key(did)
    vm_id = did_key_verification_method(did)
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [_multikey_method(vm_id, did, public_key)],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }


# ---------------------------------------------------------------------------------------------
# did:web
# ---------------------------------------------------------------------------------------------


def did_web_from_domain(domain: str, path: str | None = None) -> str:
    """Return the did:web DID for ``domain`` (host with optional ``:port``) and optional path.

    did:web "Create": the port colon is percent-encoded (``example.com:3000`` ->
    ``did:web:example.com%3A3000``) and each path segment is appended after a ``:``
    (``user/alice`` -> ``…:user:alice``); segments are percent-encoded. The host is lower-cased
    (host names are case-insensitive, RFC 4343). Raises KeyFormatError for a malformed domain,
    a non-numeric port or an empty path segment.
    """
    if not isinstance(domain, str) or not domain:
        raise KeyFormatError("did:web needs a domain name")
    host, sep, port = domain.partition(":")
    if not _HOST_RE.fullmatch(host) or len(host) > 253:
        raise KeyFormatError("invalid did:web domain name", domain=domain)
    if sep and (not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536):
        raise KeyFormatError("invalid did:web port", domain=domain)
    did = _DID_WEB_PREFIX + host.lower() + (f"%3A{port}" if sep else "")
    if path is not None:
        segments = path.strip("/").split("/")
        if any(not segment for segment in segments):
            raise KeyFormatError("did:web path segments must not be empty", path=path)
        did += "".join(":" + quote(segment, safe="") for segment in segments)
    return did


def _check_did_web(did: str) -> None:
    """Raise KeyFormatError unless ``did`` is syntactically a did:web DID."""
    if not isinstance(did, str) or not _DID_WEB_RE.fullmatch(did):
        raise KeyFormatError("not a did:web identifier", did=did if isinstance(did, str) else None)


def did_web_document(did: str, keys: Sequence[tuple[str, bytes]]) -> dict[str, Any]:
    """Build a did:web DID document (the ``did.json`` to publish) for Ed25519 keys.

    ``keys`` are ``(fragment, public_key)`` pairs; each becomes a ``Multikey`` verification method
    ``<did>#<fragment>`` whose ``controller`` is ``did``, and every one is listed under
    ``assertionMethod`` (the relationship Data Integrity proofs of credentials use). Raises
    KeyFormatError for an invalid DID, an empty/invalid or duplicate fragment, or a bad key.
    """
    _check_did_web(did)
    methods: list[dict[str, Any]] = []
    seen: set[str] = set()
    for fragment, public_key in keys:
        if not isinstance(fragment, str) or not _FRAGMENT_RE.fullmatch(fragment):
            raise KeyFormatError("invalid verification method fragment", fragment=fragment)
        if fragment in seen:
            raise KeyFormatError("duplicate verification method fragment", fragment=fragment)
        seen.add(fragment)
        methods.append(_multikey_method(f"{did}#{fragment}", did, public_key))
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


# ---------------------------------------------------------------------------------------------
# Resolution
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _resolve_did_key(vm_id: str, relationship: str) -> bytes:
    """Resolve a did:key verification method locally (memoised, pure)."""
    did, _, fragment = vm_id.partition("#")
    public_key = public_key_from_did_key(did)
    # did:key "Document Creation Algorithm": the only method's fragment is the multibase value.
    if fragment != did[len(_DID_KEY_PREFIX) :]:
        raise ProofError(
            "did:key verification method fragment must equal the key's multibase value",
            reason="unresolvable_key",
            verification_method=vm_id,
        )
    if relationship not in _DID_KEY_RELATIONSHIPS:
        raise ProofError(
            f"did:key methods are not authorised for {relationship!r}",
            reason="proof_purpose",
            verification_method=vm_id,
        )
    return public_key


def _absolute(ref: str, did: str) -> str:
    """Resolve a relative DID URL (``#frag``) against ``did`` (Controlled Identifiers: ids)."""
    return did + ref if ref.startswith("#") else ref


def _resolve_in_document(
    vm_id: str, did: str, document: Mapping[str, Any], relationship: str
) -> bytes:
    """Find ``vm_id`` in a DID document, check relationship and controller, return its key."""
    if not isinstance(document, Mapping) or document.get("id") != did:
        raise ProofError(
            "DID document id does not match the DID", reason="unresolvable_key", did=did
        )
    # The method may be embedded in the relationship itself or referenced from it.
    candidates: list[Any] = []
    listed = False
    entries = document.get(relationship, [])
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str):
            listed = listed or _absolute(entry, did) == vm_id
        elif isinstance(entry, Mapping) and _absolute(str(entry.get("id", "")), did) == vm_id:
            listed = True
            candidates.append(entry)
    methods = document.get("verificationMethod", [])
    for method in methods if isinstance(methods, list) else []:
        if isinstance(method, Mapping) and _absolute(str(method.get("id", "")), did) == vm_id:
            candidates.append(method)
    if not candidates:
        raise ProofError(
            "verification method not found in the DID document",
            reason="unresolvable_key",
            verification_method=vm_id,
        )
    if not listed:
        # Controlled Identifiers "Verification Relationships": a method may be used for a
        # purpose only when the controller lists it under that relationship.
        raise ProofError(
            f"verification method is not listed under {relationship!r}",
            reason="proof_purpose",
            verification_method=vm_id,
        )
    method = candidates[0]
    if method.get("controller") != did:
        raise ProofError(
            "verification method controller is not the DID",
            reason="controller",
            verification_method=vm_id,
            controller=method.get("controller"),
        )
    if method.get("type") != "Multikey":
        raise KeyFormatError("verification method is not a Multikey", type=method.get("type"))
    multibase = method.get("publicKeyMultibase")
    if not isinstance(multibase, str):
        raise KeyFormatError("verification method has no publicKeyMultibase")
    return decode_multikey(multibase)


def resolve_verification_method(
    vm_id: str,
    documents: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    relationship: str = "assertionMethod",
) -> bytes:
    """Return the Ed25519 public key of a verification method, without any network access.

    * ``did:key:<mb>#<mb>`` is decoded from the identifier itself (``documents`` is not used).
    * ``did:web:…#<fragment>`` is looked up in ``documents`` (DID -> DID document, e.g. a pinned
      ``did.json``): the method must be present, listed under ``relationship`` (default
      ``assertionMethod``), controlled by the DID, and a ``Multikey`` Ed25519 key.

    Raises :class:`~signing.errors.KeyFormatError` for a malformed identifier or key, and
    :class:`~signing.errors.ProofError` with ``reason`` ``"unresolvable_key"`` (unsupported
    method, unknown DID or method), ``"proof_purpose"`` (not listed under the relationship) or
    ``"controller"`` (method controlled by someone else).
    """
    if not isinstance(vm_id, str) or "#" not in vm_id:
        raise KeyFormatError("a verification method id is a DID URL with a fragment")
    if vm_id.startswith(_DID_KEY_PREFIX):
        return _resolve_did_key(vm_id, relationship)
    did = vm_id.partition("#")[0]
    if did.startswith(_DID_WEB_PREFIX):
        _check_did_web(did)
        document = (documents or {}).get(did)
        if document is None:
            raise ProofError(
                "no DID document available for this did:web (resolution is offline)",
                reason="unresolvable_key",
                did=did,
            )
        return _resolve_in_document(vm_id, did, document, relationship)
    raise ProofError(
        "unsupported DID method (only did:key and did:web)",
        reason="unresolvable_key",
        verification_method=vm_id,
    )
