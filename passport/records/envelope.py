"""Ledger records: building, signing and parsing the W3C VC 2.0 envelope.

A record is a Verifiable Credential with one ``eddsa-jcs-2022`` Data Integrity proof. Its hash, the
record's id, is SHA-256 over the RFC 8785 canonical bytes of the whole signed credential
(design: "A record"). The issuer's hash chain lives in ``chain``: ``sequence`` counts from 1 and
``previous`` is the hash of the issuer's previous record.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

import orjson

import schemas
from passport.errors import (
    MalformedRecordError,
    RecordTooLargeError,
    SchemaViolationError,
    UnknownKindError,
)
from passport.records import schema_gate
from passport.records.confidential import (
    Confidential,
    SaltFor,
    check_concealment,
    conceal_subject,
    derived_salts,
    is_redacted,
    reveal_checked,
    reveal_subject,
)
from passport.timefmt import format_ts, now, parse_ts
from signing.errors import CanonicalizationError, DisclosureMismatchError
from signing.jcs import canonical_form, canonicalize, parse_canonical
from signing.keys import SigningKey
from signing.proofs import create_proof

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/battery-passport/v1"]
HASH_PREFIX = "sha256:"


def record_hash(canonical: bytes) -> str:
    """``sha256:<hex>`` of a record's canonical bytes: the record's id."""
    return HASH_PREFIX + hashlib.sha256(canonical).hexdigest()


_PLAIN_ASCII = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII but '"' and '\\': JCS as is


def leaf_data(record_hash_value: str, accepted_at: str) -> bytes:
    """The bytes a log leaf commits to: the record hash and the time the ledger accepted it.

    That is the RFC 8785 form of ``{"acceptedAt": …, "record": …}``. Both values are normally
    printable ASCII without quote or backslash (a ``sha256:`` hex id and a timestamp), which
    RFC 8785 §3.2.2.2 writes unescaped: the bytes are then formatted directly; anything else
    is canonicalized in full.
    """
    if _PLAIN_ASCII.fullmatch(accepted_at) and _PLAIN_ASCII.fullmatch(record_hash_value):
        return f'{{"acceptedAt":"{accepted_at}","record":"{record_hash_value}"}}'.encode("ascii")
    return canonicalize({"acceptedAt": accepted_at, "record": record_hash_value})


class ParsedRecord(NamedTuple):
    """A record that passed step 1 of the append pipeline (size, JSON, schemas).

    A named tuple, not a frozen dataclass: as immutable, and a batch of 1,000 builds it in
    0.4 ms instead of 1.7 ms (a frozen dataclass sets each field through ``object.__setattr__``).
    """

    doc: dict[str, Any]
    canonical: bytes
    hash: str
    kind: str
    issuer: str
    sequence: int
    previous: str | None
    verification_method: str
    subject: dict[str, Any]
    """The subject the schema and rules judge: for a redacted (confidential) record, the subject
    revealed by its disclosures, while ``doc``, ``canonical`` and ``hash`` stay the signed
    redacted record's."""
    valid_from: str
    canonical_by_orjson: bool = False
    """``canonical`` is orjson's sorted serialization of ``doc`` (``signing.jcs.canonical_form``),
    which spares the proof check a serialization (``signing.proofs.prepare_proof``)."""
    disclosures: tuple[str, ...] = ()
    """The Disclosures of a redacted record's concealed members (kept beside it, never logged)."""

    @property
    def key_multikey(self) -> str:
        """The multikey named by the proof's verification method fragment."""
        return self.verification_method.rsplit("#", 1)[1]


@cache
def _validator(relpath: str) -> Draft202012Validator:
    # The reference validator only lists an invalid record's errors: imported when one comes.
    from jsonschema import Draft202012Validator

    schema = schemas.load(relpath)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


_ENVELOPE = "records/envelope.schema.json"
_sha256 = hashlib.sha256


@cache
def _kind_schema(kind: str) -> str:
    return f"records/{kind}.schema.json"


@cache
def known_kinds() -> frozenset[str]:
    """Record kinds that have a schema in ``schemas/records/`` (read once: shipped files)."""
    return frozenset(
        p.name.removesuffix(".schema.json")
        for p in schemas.RECORDS_DIR.glob("*.schema.json")
        if p.name != "envelope.schema.json"
    )


def schema_errors(relpath: str, instance: Any, prefix: str = "") -> list[dict[str, str]]:
    """Every schema error as {pointer, message}, sorted by pointer (all at once, not the first).

    The compiled check decides valid input alone; the reference validator lists the errors of
    invalid input (see :mod:`passport.records.schema_gate`).
    """

    def reference() -> list[dict[str, str]]:
        out = []
        for err in _validator(relpath).iter_errors(instance):
            pointer = prefix + "".join(f"/{p}" for p in err.absolute_path)
            out.append({"pointer": pointer or "/", "message": err.message})
        return out

    problems = schema_gate.errors_or_none(
        schema_gate.compiled(relpath), instance, reference, prefix
    )
    return sorted(problems, key=lambda e: e["pointer"])


def parse_record(
    raw: bytes | str | dict[str, Any],
    *,
    max_bytes: int = 256 * 1024,
    disclosures: Sequence[str] | None = None,
    redacted: bool = False,
) -> ParsedRecord:
    """Append step 1: size limit (before parsing), strict JSON, envelope and kind schemas.

    A redacted (confidential) record is revealed with ``disclosures`` first
    (:func:`passport.records.confidential.reveal_subject`): the kind schema judges the revealed
    subject, and the record's bytes and hash stay the redacted ones. With ``redacted`` and no
    ``disclosures``, a redacted record is taken as it is stored (an offline verifier without
    the Disclosures): its concealment is checked against the kind's declaration
    (:func:`passport.records.confidential.check_concealment`) and the kind schema, which judges
    the revealed subject, is not applied; its ``subject`` is the redacted one.
    """
    if disclosures:
        size = sum(len(d) if isinstance(d, str) else max_bytes + 1 for d in disclosures)
        if size > max_bytes:
            raise RecordTooLargeError(
                f"the disclosures are {size} characters, limit {max_bytes}", limit=max_bytes
            )
    by_orjson = False
    if isinstance(raw, dict):
        doc: Any = raw
        try:
            canonical, by_orjson = canonical_form(doc)
        except CanonicalizationError as exc:
            raise MalformedRecordError(
                f"record is not canonicalisable JSON: {exc.message}"
            ) from exc
        if len(canonical) > max_bytes:
            raise RecordTooLargeError(f"record is {len(canonical)} bytes, limit {max_bytes}")
    else:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
        if len(data) > max_bytes:
            raise RecordTooLargeError(
                f"record is {len(data)} bytes, limit {max_bytes}", limit=max_bytes
            )
        try:
            doc, canonical = parse_canonical(bytes(data))
        except CanonicalizationError as exc:
            raise MalformedRecordError(f"record is not valid JSON: {exc.message}") from exc
    if not isinstance(doc, dict):
        raise MalformedRecordError("record must be a JSON object")
    # The compiled check decides valid records alone; schema_errors lists an invalid one's
    # problems (reference validator), so the common case costs one Rust call per schema.
    if not schema_gate.compiled(_ENVELOPE).is_valid(doc):
        problems = schema_errors(_ENVELOPE, doc)
        raise SchemaViolationError(
            f"record envelope invalid at {problems[0]['pointer']}: {problems[0]['message']}",
            problems=problems,
        )
    kind = doc["type"][1]
    if kind not in known_kinds():
        raise UnknownKindError(f"unknown record kind {kind!r}", kind=kind)
    subject = doc["credentialSubject"]
    shown: tuple[str, ...] = ()
    as_stored = is_redacted(subject) and redacted and not disclosures
    if as_stored:
        check_concealment(kind, subject)
    elif is_redacted(subject):
        shown = tuple(dict.fromkeys(disclosures or ()))
        subject = reveal_subject(kind, subject, shown)
    elif disclosures:
        raise DisclosureMismatchError(
            f"{len(disclosures)} disclosure(s) beside a record that conceals nothing",
            digests=[],
        )
    if not as_stored:
        _check_subject(kind, subject)
    chain = doc["chain"]
    sequence = chain["sequence"]
    previous = chain.get("previous")
    if (sequence == 1) != (previous is None):
        raise SchemaViolationError(
            "chain.previous must be absent at sequence 1 and present after it",
            problems=[{"pointer": "/chain", "message": "previous/sequence mismatch"}],
        )
    parse_ts(doc["validFrom"])
    if shown:
        return _parsed(doc, canonical, by_orjson)._replace(subject=subject, disclosures=shown)
    return _parsed(doc, canonical, by_orjson)


def _check_subject(kind: str, subject: dict[str, Any]) -> None:
    """The kind schema on a (revealed) subject: :class:`SchemaViolationError` naming the first
    problem. The compiled check decides valid subjects alone (one Rust call)."""
    kind_schema = _kind_schema(kind)
    if not schema_gate.compiled(kind_schema).is_valid(subject):
        problems = schema_errors(kind_schema, subject, "/credentialSubject")
        raise SchemaViolationError(
            f"{kind} invalid at {problems[0]['pointer']}: {problems[0]['message']}",
            problems=problems,
        )


def reveal_record(record: ParsedRecord, disclosures: Sequence[str]) -> ParsedRecord:
    """A record :func:`parse_record` accepted as stored (``redacted=True``: its envelope and
    concealment checked), revealed by ``disclosures``: what step 1 adds for a confidential
    record, without parsing and checking its envelope again. Every Disclosure must answer a
    digest and every digest have its Disclosure
    (:func:`passport.records.confidential.reveal_subject`), and the revealed subject must
    satisfy the kind schema; Disclosures beside a record that conceals nothing are refused
    (:class:`DisclosureMismatchError`), as :func:`parse_record` refuses them."""
    if not is_redacted(record.subject):
        raise DisclosureMismatchError(
            f"{len(disclosures)} disclosure(s) beside a record that conceals nothing",
            digests=[],
        )
    shown = tuple(dict.fromkeys(disclosures))
    subject = reveal_subject(record.kind, record.subject, shown)
    _check_subject(record.kind, subject)
    return record._replace(subject=subject, disclosures=shown)


def _parsed(doc: dict[str, Any], canonical: bytes, by_orjson: bool = False) -> ParsedRecord:
    """The ParsedRecord of a record whose checks (step 1) passed."""
    chain = doc["chain"]
    return ParsedRecord(
        doc,
        canonical,
        HASH_PREFIX + _sha256(canonical).hexdigest(),
        doc["type"][1],
        doc["issuer"],
        chain["sequence"],
        chain.get("previous"),
        doc["proof"]["verificationMethod"],
        doc["credentialSubject"],
        doc["validFrom"],
        by_orjson,
    )


def reparse_checked(canonical: bytes, disclosures: Sequence[str] = ()) -> ParsedRecord:
    """The ParsedRecord of canonical bytes that :func:`parse_record` accepted in another process
    (with ``disclosures``, for a confidential record: revealed by them again here).

    A ledger checks large batches in a process pool; shipping each parsed document back costs
    more (pickling nested dicts) than parsing its canonical bytes again with orjson, which for
    such bytes yields the same document, and revealing a subject again (a SHA-256 per
    Disclosure) costs less than shipping it. Never call it on bytes that were not checked: it
    skips every check of step 1 but the revealing.
    """
    doc = orjson.loads(canonical)
    parsed = _parsed(doc, canonical)
    if not disclosures:
        return parsed
    shown = tuple(dict.fromkeys(disclosures))
    return parsed._replace(subject=reveal_checked(parsed.subject, shown), disclosures=shown)


def build_record(
    kind: str,
    *,
    issuer: str,
    subject: dict[str, Any],
    sequence: int,
    previous: str | None,
    valid_from: str,
) -> dict[str, Any]:
    """An unsigned record envelope with its chain position filled in."""
    chain: dict[str, Any] = {"sequence": sequence}
    if previous is not None:
        chain["previous"] = previous
    return {
        "@context": list(CONTEXT),
        "type": ["VerifiableCredential", kind],
        "issuer": issuer,
        "validFrom": valid_from,
        "chain": chain,
        "credentialSubject": subject,
    }


def verification_method_for(issuer: str, key: SigningKey) -> str:
    """The verification method id under which ``key`` signs for ``issuer``: ``issuer#multikey``.

    For a did:key actor's first key this is exactly the did:key verification method; after a
    rotation the fragment names the new key while the issuer (the actor's identity) stays.
    """
    return f"{issuer}#{key.multikey}"


@overload
def sign_record(
    unsigned: dict[str, Any],
    key: SigningKey,
    *,
    created: str | None = None,
    confidential: Literal[False] = False,
) -> dict[str, Any]: ...
@overload
def sign_record(
    unsigned: dict[str, Any],
    key: SigningKey,
    *,
    created: str | None = None,
    confidential: Literal[True],
    salt: SaltFor | None = None,
) -> Confidential: ...
def sign_record(
    unsigned: dict[str, Any],
    key: SigningKey,
    *,
    created: str | None = None,
    confidential: bool = False,
    salt: SaltFor | None = None,
) -> dict[str, Any] | Confidential:
    """Add an eddsa-jcs-2022 proof by ``key`` for the record's issuer.

    With ``confidential``, the subject's members its kind does not declare public are
    concealed first (:func:`passport.records.confidential.conceal_subject`) and the proof is
    over the redacted record: the result is that record and its Disclosures. Their salts are
    random, or given by ``salt`` (:func:`passport.records.confidential.derived_salts`).
    """
    vm = verification_method_for(unsigned["issuer"], key)
    if not confidential:
        return create_proof(unsigned, key, vm, created=created)
    subject, disclosures = conceal_subject(
        unsigned["type"][1], unsigned["credentialSubject"], salt=salt
    )
    redacted = {**unsigned, "credentialSubject": subject}
    return Confidential(create_proof(redacted, key, vm, created=created), tuple(disclosures))


@overload
def sign_next(
    key: SigningKey,
    kind: str,
    subject: dict[str, Any],
    *,
    issuer: str,
    head: tuple[int, str | None],
    valid_from: str | None = None,
    confidential: Literal[False] = False,
) -> dict[str, Any]: ...
@overload
def sign_next(
    key: SigningKey,
    kind: str,
    subject: dict[str, Any],
    *,
    issuer: str,
    head: tuple[int, str | None],
    valid_from: str | None = None,
    confidential: Literal[True],
    derive_salts: bool = False,
) -> Confidential: ...
@overload
def sign_next(
    key: SigningKey,
    kind: str,
    subject: dict[str, Any],
    *,
    issuer: str,
    head: tuple[int, str | None],
    valid_from: str | None = None,
    confidential: bool,
    derive_salts: bool = False,
) -> dict[str, Any] | Confidential: ...
def sign_next(
    key: SigningKey,
    kind: str,
    subject: dict[str, Any],
    *,
    issuer: str,
    head: tuple[int, str | None],
    valid_from: str | None = None,
    confidential: bool = False,
    derive_salts: bool = False,
) -> dict[str, Any] | Confidential:
    """A record of ``kind`` signed by ``key``, continuing the issuer's chain from ``head``
    ((sequence, hash) of its newest record; (0, None) before its first); with
    ``confidential``, redacted and with its Disclosures (see :func:`sign_record`); with
    ``derive_salts`` too, their salts derived from ``key`` and the record's chain position
    (:func:`passport.records.confidential.derived_salts`), so signing the same record again
    gives the same bytes and hash."""
    sequence, previous = head
    stamp = valid_from or format_ts(now(), micro=False)
    unsigned = build_record(
        kind,
        issuer=issuer,
        subject=subject,
        sequence=sequence + 1,
        previous=previous,
        valid_from=stamp,
    )
    if confidential:
        salt = derived_salts(key, [issuer, sequence + 1, kind]) if derive_salts else None
        return sign_record(unsigned, key, created=stamp, confidential=True, salt=salt)
    return sign_record(unsigned, key, created=stamp)


def dumps(doc: dict[str, Any]) -> bytes:
    """Canonical bytes of a record, as stored and served."""
    return canonicalize(doc)


def pretty(doc: Any) -> str:
    """Human-readable JSON for terminals (never hashed)."""
    return json.dumps(doc, indent=2, ensure_ascii=False)
