"""Confidential provenance: a record's confidential members replaced by salted digests (issue #21).

Each kind's schema declares in ``x-bpass-public`` the members of ``credentialSubject`` anyone may
read: an array of member names, or ``"all"`` for the kinds with nothing confidential (actors,
keys, passports). Every other member is confidential: deny by default.

A *redacted* record is signed over a ``credentialSubject`` that keeps its public members and
lists the digests of the others' RFC 9901 Disclosures in ``_sd``, with ``_sd_alg: "sha-256"``
(:mod:`signing.disclosures`). Its bytes, hash, proof and log leaf are those of the redacted
form; the Disclosures travel beside it and never enter the log. The node checks them against
the digests and runs the kind's schema and rules on the *revealed* subject.

Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

import orjson

import schemas
from passport.errors import ConcealmentError, MalformedRecordError, UndisclosedMemberError
from signing.disclosures import (
    ARRAY_DIGEST,
    SALT_BYTES,
    SD,
    SD_ALG,
    SHA_256,
    Disclosure,
    conceal,
    parse_disclosure,
    reveal,
)
from signing.errors import CanonicalizationError
from signing.jcs import canonicalize, parse_json
from signing.keys import SigningKey

__all__ = [
    "ALL_PUBLIC",
    "PUBLIC_ANNOTATION",
    "Confidential",
    "SaltFor",
    "by_member",
    "check_concealment",
    "conceal_subject",
    "derived_salts",
    "is_redacted",
    "new_lot_id",
    "public_members",
    "reveal_checked",
    "reveal_subject",
    "submission",
    "unwrap",
]

PUBLIC_ANNOTATION = "x-bpass-public"
"""The kind schema's annotation naming the subject's public members."""
ALL_PUBLIC = "all"
"""The annotation's value for a kind whose members are all public."""

_FROM_URL = bytes.maketrans(b"-_", b"+/")
_DIGEST = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of 32 bytes, unpadded


class Confidential(NamedTuple):
    """A signed redacted record and the Disclosures of its concealed members (their encoded
    strings, in the subject's member order): what a confidential signer hands to the node."""

    record: dict[str, Any]
    disclosures: tuple[str, ...]


@cache
def public_members(kind: str) -> frozenset[str] | None:
    """The public members of ``kind``'s subject, or None when all are public.

    A schema without the annotation is refused (ValueError): every kind must declare it, so no
    member is ever published by omission.
    """
    schema = schemas.load(f"records/{kind}.schema.json")
    declared = schema.get(PUBLIC_ANNOTATION)
    if declared == ALL_PUBLIC:
        return None
    if not isinstance(declared, list) or not all(isinstance(m, str) for m in declared):
        raise ValueError(f"{kind}.schema.json declares no {PUBLIC_ANNOTATION} member list")
    return frozenset(declared)


def is_redacted(subject: Mapping[str, Any]) -> bool:
    """True if the subject conceals members (it carries ``_sd`` or ``_sd_alg``)."""
    return SD in subject or SD_ALG in subject


SaltFor = Callable[[str, Any], str]
"""The salt of the Disclosure of a member, given its name and value."""


def derived_salts(key: SigningKey, context: Any) -> SaltFor:
    """Salts derived from the signer's private key instead of drawn at random: the salt of a
    member is the first 128 bits of :meth:`signing.keys.SigningKey.derive_secret` over the
    canonical JSON of ``[context, name, value]``. As unpredictable as random salts to anyone
    without the key (RFC 9901 §9.3 asks salts no one else can guess, unique per claim: the
    context names the record, the value is in the label), and the same on every signing, so a
    signer re-signing the same record — an import resumed after a failure, a sample rebuilt
    from its seed — gets the very same redacted record and hash, as Ed25519 signatures are
    deterministic too."""

    def salt(name: str, value: Any) -> str:
        label = b"disclosure salt\x00" + canonicalize([context, name, value])
        raw = key.derive_secret(label)[:SALT_BYTES]
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    return salt


def conceal_subject(
    kind: str, subject: Mapping[str, Any], *, salt: SaltFor | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The redacted subject of ``kind`` and its Disclosures: every member the kind does not
    declare public is concealed, each with a random salt or, given ``salt``, the salt it
    gives (:func:`derived_salts`). A subject with nothing to conceal is returned as it is."""
    public = public_members(kind)
    if public is None or all(name in public for name in subject):
        return dict(subject), []
    if salt is None:
        redacted, disclosures = conceal(subject, public)
    else:
        salts = iter([salt(n, v) for n, v in subject.items() if n not in public])
        redacted, disclosures = conceal(subject, public, salt=lambda: next(salts))
    redacted[SD_ALG] = SHA_256
    return redacted, [d.encoded for d in disclosures]


def _digests(subject: Mapping[str, Any]) -> list[str]:
    if subject.get(SD_ALG) != SHA_256:
        raise ConcealmentError(f"a redacted subject names its digest algorithm: {SD_ALG} sha-256")
    digests = subject.get(SD)
    if not isinstance(digests, list) or not digests:
        raise ConcealmentError(f"a redacted subject lists its digests in a non-empty {SD} array")
    for d in digests:
        if not (isinstance(d, str) and _DIGEST.fullmatch(d)):
            raise ConcealmentError(f"{SD} holds base64url SHA-256 digests only")
    if len(set(digests)) != len(digests):
        raise ConcealmentError(f"a digest appears twice in {SD}")
    return digests


def _nested_marker(value: Any) -> bool:
    """True if ``value`` holds an ``_sd`` member or an array element digest anywhere."""
    if isinstance(value, dict):
        if SD in value or ARRAY_DIGEST in value:
            return True
        items: Iterable[Any] = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return False
    # Only containers are looked into: this runs on every member of every revealed record.
    return any(isinstance(item, (dict, list)) and _nested_marker(item) for item in items)


def _concealment(kind: str, subject: Mapping[str, Any]) -> tuple[frozenset[str], list[str]]:
    """The kind's public members and the subject's digests, once the redacted form is checked
    against the kind's declaration (:class:`ConcealmentError` if it breaks it)."""
    public = public_members(kind)
    if public is None:
        raise ConcealmentError(f"{kind} has no confidential members: nothing may be concealed")
    digests = _digests(subject)
    clear = [n for n in subject if n not in public and n not in (SD, SD_ALG)]
    if clear:
        raise ConcealmentError(
            f"confidential member(s) of {kind} in the clear: {', '.join(sorted(clear))}",
            members=sorted(clear),
        )
    if _nested_marker({n: v for n, v in subject.items() if n not in (SD, SD_ALG)}):
        raise ConcealmentError("only top-level members of a subject may be concealed")
    return public, digests


def check_concealment(kind: str, subject: Mapping[str, Any]) -> int:
    """Check a redacted subject of ``kind`` against the kind's declaration without its
    Disclosures (what anyone can check of a record stored redacted): only public members in the
    clear, a well-formed ``_sd`` and ``_sd_alg``, nothing nested. Returns how many members it
    conceals; :class:`ConcealmentError` if it breaks the declaration."""
    return len(_concealment(kind, subject)[1])


def reveal_subject(
    kind: str, subject: Mapping[str, Any], disclosures: Sequence[str]
) -> dict[str, Any]:
    """The revealed subject of a redacted record of ``kind``, checked against the kind's
    declaration: only public members in the clear, only confidential ones concealed, every
    digest answered by exactly one Disclosure and every Disclosure answering a digest.

    Raises :class:`ConcealmentError` (the redacted form breaks the declaration),
    :class:`signing.errors.DisclosureError` (a malformed Disclosure),
    :class:`signing.errors.DisclosureMismatchError` (one answering no digest: tampered,
    guessed or from another record) or :class:`UndisclosedMemberError` (a digest unanswered).
    """
    public, digests = _concealment(kind, subject)
    parsed = [parse_disclosure(d) for d in disclosures]
    _remember_names(parsed)
    revealed = reveal(subject, parsed)  # DisclosureMismatchError for a stray disclosure
    for d in parsed:
        if d.name is not None and d.name in public:
            raise ConcealmentError(
                f"the public member {d.name!r} of {kind} is concealed", members=[d.name]
            )
        if _nested_marker(d.value):
            raise ConcealmentError("a disclosed value may not conceal members of its own")
    answered = {d.digest for d in parsed}
    missing = [d for d in digests if d not in answered]
    if missing:
        raise UndisclosedMemberError(
            f"{len(missing)} concealed member(s) of this {kind} came without their disclosure",
            digests=missing,
        )
    return revealed


def reveal_checked(subject: Mapping[str, Any], disclosures: Sequence[str]) -> dict[str, Any]:
    """The revealed subject of a redacted record whose Disclosures :func:`reveal_subject`
    already accepted, in a worker process of the append pipeline (same record bytes, same
    Disclosure strings): each top-level member put back from its Disclosure, ``_sd`` and
    ``_sd_alg`` dropped. No check is made again (the worker made them all; members come back
    after the public ones). Never call it on Disclosures that were not checked."""
    revealed = {k: v for k, v in subject.items() if k not in (SD, SD_ALG)}
    for encoded in disclosures:
        padded = (encoded + "=" * (-len(encoded) % 4)).encode("ascii").translate(_FROM_URL)
        _, name, value = orjson.loads(binascii.a2b_base64(padded))
        revealed[name] = value
        _NAMES[encoded] = name
    return revealed


def unwrap(doc: Mapping[str, Any]) -> Confidential | None:
    """A confidential record's wrapped form, ``{"record": …, "disclosures": [string, …]}`` (the
    body ``POST /records`` and ``bpass append`` accept), as a :class:`Confidential`; None for a
    plain record, which never has exactly these members. A malformed wrapper:
    :class:`MalformedRecordError`."""
    if set(doc) != {"record", "disclosures"}:
        return None
    record, disclosures = doc["record"], doc["disclosures"]
    if not isinstance(record, dict) or not (
        isinstance(disclosures, list) and all(isinstance(d, str) for d in disclosures)
    ):
        raise MalformedRecordError(
            "a confidential record is sent as {record: object, disclosures: [string, ...]}"
        )
    return Confidential(record, tuple(disclosures))


def submission(raw: bytes) -> bytes | Confidential:
    """A file's bytes as an append submission: a confidential record with its Disclosures if
    they hold the wrapped form (:func:`unwrap`), else the bytes unchanged (a plain record, or
    something the append pipeline will name the problem of)."""
    if b'"disclosures"' not in raw:
        return raw
    try:
        doc = parse_json(raw)
    except CanonicalizationError:
        return raw
    wrapped = unwrap(doc) if isinstance(doc, dict) else None
    return raw if wrapped is None else wrapped


_NAMES: dict[str, str] = {}
"""Member names of Disclosures :func:`reveal_subject` parsed lately, by encoded Disclosure: the
append pipeline stores each Disclosure under its member name right after revealing its record,
and decoding it a second time cost a fifth of a confidential append (bench_confidential). Only
names (immutable strings) are kept; cleared when it grows past :data:`_NAMES_MAX`."""
_NAMES_MAX = 65_536


def _remember_names(parsed: Iterable[Disclosure]) -> None:
    if len(_NAMES) > _NAMES_MAX:
        _NAMES.clear()
    for d in parsed:
        _NAMES[d.encoded] = d.name or ""


def by_member(disclosures: Iterable[str]) -> list[str]:
    """The encoded Disclosures of a revealed record in member name order: the order the node
    keeps and serves them in, whatever order they were sent in."""
    named = []
    for encoded in disclosures:
        name = _NAMES.get(encoded)
        if name is None:
            name = parse_disclosure(encoded).name or ""
        named.append((name, encoded))
    return [encoded for _, encoded in sorted(named)]


def new_lot_id(entropy: bytes | None = None) -> str:
    """A fresh opaque lot id: ``urn:lot:`` and 128 random bits in lower-case base32 (26
    characters). Lot ids are public: they must not spell out a site, a customer or a volume.
    ``entropy`` (at least 16 bytes, e.g. a keyed hash) replaces the random bits when the id
    must be reproducible."""
    if entropy is not None and len(entropy) < 16:
        raise ValueError("an opaque lot id needs at least 16 bytes of entropy")
    bits = secrets.token_bytes(16) if entropy is None else entropy[:16]
    raw = base64.b32encode(bits).decode("ascii").rstrip("=").lower()
    return f"urn:lot:{raw}"
