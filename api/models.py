"""Request and response models of the HTTP API (pydantic), and their conversions from the domain.

Ledger resources use camelCase JSON members, like the records and receipts themselves; the token
endpoint uses OAuth 2.0's snake_case names (RFC 6749 §5.1).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from passport.document.access import AccessRole
from passport.ledger.accept import LedgerInfo
from passport.ledger.log import Receipt
from passport.store.rows import StoredActor, StoredKey, StoredRecord

DID_PATTERN = r"^did:(key|web):[A-Za-z0-9._:%-]+$"
HASH_PATTERN = r"^sha256:[0-9a-f]{64}$"
MULTIKEY_PATTERN = r"^z[1-9A-HJ-NP-Za-km-z]{40,60}$"
LOT_PATTERN = r"^urn:lot:[A-Za-z0-9][A-Za-z0-9._~:-]{0,199}$"
PASSPORT_ID_PATTERN = r"^urn:bpass:[0-9a-f]{32}$"
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"
MAX_INDEX = 2**53 - 1
"""Largest tree size a request may name (JSON's exact integer range)."""
MAX_SEQUENCE = 2**31 - 1
"""Largest chain sequence number a request may name (the ``records.sequence`` column's range)."""

Did = Annotated[str, StringConstraints(pattern=DID_PATTERN, max_length=256)]


class CamelModel(BaseModel):
    """A response model serialised with camelCase member names."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ReceiptModel(CamelModel):
    """Proof that the log holds a record: its leaf, the signed checkpoint and the inclusion path."""

    model_config = ConfigDict(title="Receipt")

    record_hash: str = Field(description="sha256:<hex> of the record's canonical bytes (its id).")
    leaf_index: int = Field(description="The record's leaf in the transparency log.")
    accepted_at: str = Field(description="When the ledger accepted the record (RFC 3339, UTC).")
    tree_size: int = Field(description="Size of the tree the checkpoint and the proof are for.")
    checkpoint: str = Field(description="C2SP tlog-checkpoint signed note.")
    inclusion_proof: list[str] = Field(description="RFC 9162 inclusion path, base64 hashes.")
    existing: bool = Field(description="True when the record was already in the ledger (a retry).")

    @classmethod
    def of(cls, receipt: Receipt) -> ReceiptModel:
        """From the domain's receipt."""
        return cls.model_validate(receipt.to_dict())


class RecordSummary(CamelModel):
    """Index entry of a stored record; fetch ``/records/{hash}`` for its signed bytes."""

    hash: str
    leaf_index: int
    issuer: str
    sequence: int
    kind: str
    verification_method: str
    accepted_at: str

    @classmethod
    def of(cls, row: StoredRecord) -> RecordSummary:
        """From a stored record row."""
        return cls(
            hash=row.hash,
            leaf_index=row.leaf_index,
            issuer=row.issuer,
            sequence=row.sequence,
            kind=row.kind,
            verification_method=row.verification_method,
            accepted_at=row.accepted_at,
        )


class RecordPage(CamelModel):
    """One page of an issuer's records in chain order."""

    items: list[RecordSummary]
    next_after: int | None = Field(
        description="Pass as ``after`` for the next page; null on the last page."
    )


class ChainHead(CamelModel):
    """The newest record of an issuer's hash chain."""

    sequence: int = Field(description="Records the issuer has in the ledger (0 before its first).")
    hash: str | None = Field(description="Hash of its newest record; null before its first.")


class KeyInfo(CamelModel):
    """A key an actor has had, and its state."""

    multikey: str
    actor_did: str
    state: str = Field(description="active | rotated | revoked")
    added_at: str
    added_by: str = Field(description="The record that added the key.")
    retired_at: str | None
    retired_by: str | None
    compromised_from: str | None

    @classmethod
    def of(cls, key: StoredKey) -> KeyInfo:
        """From a stored key row."""
        return cls(
            multikey=key.multikey,
            actor_did=key.actor_did,
            state=key.state,
            added_at=key.added_at,
            added_by=key.added_by,
            retired_at=key.retired_at,
            retired_by=key.retired_by,
            compromised_from=key.compromised_from,
        )


class ActorSummary(CamelModel):
    """A registered actor."""

    did: str
    name: str
    country: str | None
    roles: list[str]
    records: int = Field(description="Length of the actor's hash chain.")

    @classmethod
    def of(cls, actor: StoredActor) -> ActorSummary:
        """From a stored actor row."""
        return cls(
            did=actor.did,
            name=actor.name,
            country=actor.country,
            roles=list(actor.roles),
            records=actor.head_sequence,
        )


class ActorDetail(ActorSummary):
    """A registered actor with its facilities, keys and chain head."""

    facilities: list[dict[str, Any]] | None = Field(
        description="The actor's facilities (names, countries, coordinates): for the actor "
        "itself, the ledger operator and authorities; null (withheld) for anyone else."
    )
    registration: str = Field(description="Hash of the actor's registration record.")
    chain_head: ChainHead
    keys: list[KeyInfo]

    @classmethod
    def with_keys(
        cls,
        actor: StoredActor,
        keys: list[StoredKey],
        facilities: list[dict[str, Any]] | None,
    ) -> ActorDetail:
        """From a stored actor row, its keys and the facilities the reader may read (None:
        withheld, :func:`passport.document.access.may_read_facilities`)."""
        return cls(
            **ActorSummary.of(actor).model_dump(),
            facilities=facilities,
            registration=actor.registration,
            chain_head=ChainHead(sequence=actor.head_sequence, hash=actor.head_hash),
            keys=[KeyInfo.of(k) for k in keys],
        )


class LogInfo(CamelModel):
    """The identity of this ledger's transparency log."""

    origin: str = Field(description="The log origin (first line of every checkpoint).")
    log_vkey: str = Field(description="The log's signed-note verifier key.")
    operator_did: str
    size: int = Field(description="Current tree size.")

    @classmethod
    def of(cls, info: LedgerInfo) -> LogInfo:
        """From the ledger's identity."""
        return cls(
            origin=info.origin,
            log_vkey=info.log_vkey,
            operator_did=info.operator_did,
            size=info.size,
        )


class ConsistencyProof(CamelModel):
    """RFC 9162 consistency proof between two tree sizes."""

    old_size: int
    new_size: int
    proof: list[str] = Field(description="Base64 hashes.")
    checkpoint: str | None = Field(description="The signed checkpoint at newSize.")


class StrictModel(BaseModel):
    """A request body: unknown members and wrong types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ChallengeRequest(StrictModel):
    """Ask for an authentication challenge."""

    did: Did = Field(description="The registered actor that will sign the challenge.")


class ChallengeResponse(BaseModel):
    """A single-use challenge to sign with the actor's key."""

    challenge: str = Field(description="Sign exactly these UTF-8 bytes (Ed25519).")
    expires: str = Field(description="RFC 3339 time after which the challenge is refused.")


class TokenRequest(StrictModel):
    """Exchange a signed challenge for a bearer token."""

    did: Did
    challenge: str = Field(max_length=1024)
    signature: str = Field(
        max_length=200, description="Ed25519 signature as base58btc multibase (z…) or base64url."
    )


class TokenResponse(BaseModel):
    """A bearer token (RFC 6750) for restricted reads."""

    access_token: str = Field(description="Compact JWS (EdDSA) signed by the node's token key.")
    token_type: str = Field(default="Bearer")
    expires_in: int = Field(description="Seconds until the token expires.")
    access_role: AccessRole = Field(description="The audience the token reads as.")


class WhoAmI(BaseModel):
    """Who the server takes the caller to be."""

    did: str | None = Field(description="The authenticated actor; null when anonymous.")
    roles: list[str] = Field(description="The actor's ledger roles.")
    access_role: AccessRole


class Jwk(BaseModel):
    """An Ed25519 public JWK (RFC 8037)."""

    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class Jwks(BaseModel):
    """The node's token verification keys (RFC 7517 JWK Set)."""

    keys: list[Jwk]


# -- passports -----------------------------------------------------------------------------------
class SignedSubmission(BaseModel):
    """A signed passport record with the signed partitions it commits to.

    The partitions cannot travel inside the record (the record is public, points 2 to 4 are
    not): they come beside it, each a ``BatteryPassportPartition`` VC signed with the record's
    key, and the ledger checks each against the hash the record commits to.
    """

    model_config = ConfigDict(extra="forbid")

    record: dict[str, Any] = Field(description="The signed record (W3C VC, eddsa-jcs-2022).")
    partitions: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=4,
        description="The signed partitions the record commits to (none for a status change "
        "without a new point 4).",
    )


class StatusSubmission(SignedSubmission):
    """A signed ``PassportStatusChange``, with the successor passport it names, if any.

    Repurposing and remanufacturing (and re-use by another operator) issue a new passport
    (Art. 77(7)): its ``BatteryPassport`` record and partitions come in ``successor`` and are
    appended together with the status change, atomically, successor first.
    """

    successor: SignedSubmission | None = Field(
        default=None, description="The successor passport's signed record and partitions."
    )


class PassportWritten(CamelModel):
    """A passport record the ledger accepted."""

    passport_id: str
    record: str = Field(description="Hash of the accepted record.")
    status: str | None = Field(default=None, description="The passport's status after it.")
    receipt: ReceiptModel
    successor: PassportWritten | None = Field(
        default=None, description="The successor passport issued with a status change."
    )


class Evidence(CamelModel):
    """What a reader needs to check a passport view against the signed, logged records."""

    passport_record: dict[str, Any] = Field(description="The signed BatteryPassport record.")
    lifecycle_records: list[dict[str, Any]] = Field(
        description="Its signed status changes and updates, in log order."
    )
    partitions: dict[str, dict[str, Any]] = Field(
        description="The signed partitions the reader may see, by Annex XIII point."
    )
    committed_by: dict[str, str] = Field(
        description="For each partition, the hash of the record committing to it."
    )
    receipts: dict[str, ReceiptModel] = Field(
        description="Each record's inclusion proof against one signed checkpoint, by hash."
    )


class PassportViewModel(CamelModel):
    """A passport as one access role may see it, with the evidence to verify it."""

    model_config = ConfigDict(title="PassportView")

    role: AccessRole = Field(description="The access role the view was cut for.")
    passport: dict[str, Any] = Field(
        description="The passport document: the role's Annex XIII partitions and the public "
        "metadata."
    )
    version: dict[str, Any] | None = Field(
        default=None,
        description="The current passport version: number, hash (sha256: over the RFC 8785 "
        "canonical bytes of the signed record that made it), hashOf, kind.",
    )
    versions: list[dict[str, Any]] = Field(
        default_factory=list, description="Every version of the passport, oldest first."
    )
    annotations: dict[str, Any] = Field(
        default_factory=dict,
        description="Reading aids outside the signed data: carbonFootprintClass (class, "
        "classTable, provisional, note) while the class table is not final.",
    )
    assurances: list[dict[str, Any]] = Field(
        default_factory=list,
        description="What the passport's signed Assurance records state, in log order: record, "
        "issuer, issuedAt, version, checkpoint, method, holds, fails, statement? (an independent "
        "certifier's or notified body's replay of the figures, not the reader's).",
    )
    evidence: Evidence


class ComplianceModel(CamelModel):
    """The compliance report over what the reader may see of a passport."""

    model_config = ConfigDict(title="Compliance", extra="allow")

    passport_id: str
    role: AccessRole
    partitions: list[int] = Field(description="The Annex XIII points the report covers.")
    status: str
    ok: bool = Field(description="No finding within the covered partitions.")
    completeness: dict[str, Any]
    recycled_content: list[dict[str, Any]]
    carbon_footprint: dict[str, Any]
    due_diligence: list[dict[str, Any]]
    findings: list[str]


class ExportModel(CamelModel):
    """The passport in the Battery Pass Data Model v1.2 (seven aspects) or as the Catena-X
    ``io.catenax.battery.battery_pass`` 6.1.0 payload (one aspect, ``BatteryPass``)."""

    passport_id: str
    format: str
    performance_version: str | None = Field(
        default=None, description="PerformanceAndDurability version (batterypass only)."
    )
    aspects: dict[str, dict[str, Any]]
    notes: list[str] = Field(description="What the mapping could not carry.")
    supplement: dict[str, Any] | None = Field(
        default=None,
        description="batterypass only: mandatory passport information the Battery Pass v1.2 "
        "model has no member for: DPP metadata, model identifier, serial number, facility "
        "identifier, trade names, warranty period and end date, every test report and part "
        "number, the provisional carbon class, items stated not applicable.",
    )
    passport_version: dict[str, Any] = Field(
        description="The exported passport version and its canonical hash (sha256: over the "
        "RFC 8785 canonical bytes of the signed record that made it)."
    )
