"""Domain errors. All derive from :class:`signing.errors.BpassError` (one hierarchy).

Each class has a stable ``code``: the API returns it in RFC 9457 problem documents and the CLI
prints it, so renaming one is a breaking change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from signing.errors import BpassError


class LedgerError(BpassError):
    """Base for errors raised by the ledger's append pipeline and queries."""

    code = "ledger_error"


class RecordTooLargeError(LedgerError):
    """The submitted record exceeds the configured size limit (design: append step 1)."""

    code = "record_too_large"
    category = "too_large"


class MalformedRecordError(LedgerError):
    """The submitted bytes are not a usable JSON record (append step 1)."""

    code = "record_malformed"


class SchemaViolationError(LedgerError):
    """The record does not validate against its kind's JSON Schema (append step 1)."""

    code = "schema_invalid"


class UnknownKindError(LedgerError):
    """The record's type names no known record kind."""

    code = "unknown_kind"


class UnknownIssuerError(LedgerError):
    """The issuer is not a registered actor (append step 2)."""

    code = "unknown_issuer"
    category = "forbidden"


class KeyNotValidError(LedgerError):
    """The signing key is not the issuer's current key: unknown, rotated or revoked (step 2)."""

    code = "key_not_valid"
    category = "forbidden"


class KeyRevokedError(KeyNotValidError):
    """The signing key has been revoked."""

    code = "key_revoked"


class KeyRotatedError(KeyNotValidError):
    """The signing key was rotated away and signs nothing new."""

    code = "key_rotated"


class ChainError(LedgerError):
    """The per-issuer hash chain does not continue correctly (append step 3)."""

    code = "chain_invalid"
    category = "conflict"


class ForkError(ChainError):
    """A different record already holds this issuer's sequence number."""

    code = "chain_fork"


class ChainGapError(ChainError):
    """The sequence number skips ahead of the issuer's chain head."""

    code = "chain_gap"


class ChainPreviousMismatchError(ChainError):
    """``chain.previous`` is not the hash of the issuer's previous record."""

    code = "chain_previous_mismatch"


class RoleNotAllowedError(LedgerError):
    """The issuer's roles do not allow it to issue this record kind (append step 4)."""

    code = "role_forbidden"
    category = "forbidden"


class RuleViolationError(LedgerError):
    """A domain rule other than the above rejects the record (append step 4)."""

    code = "rule_violation"


class RecordFromFutureError(RuleViolationError):
    """The record's ``validFrom`` or proof ``created`` lies after the ledger's acceptance time
    plus the allowed clock skew (append step 2d): a record dated ahead would make every genuine
    later record of the same passport look like it predates it."""

    code = "record_from_future"


class Point4NotMandatedError(RoleNotAllowedError):
    """A record changes a passport's point 4 (Annex XIII point 4) but its issuer is neither the
    passport's economic operator nor an actor it mandated for this passport (Art. 77)."""

    code = "point4_not_mandated"


class StatusChangeNoBasisError(RoleNotAllowedError):
    """A status change (or successor passport) by an actor with no basis on the ledger: not the
    passport's economic operator, not mandated by it, and never handed the battery
    (Art. 77(6)-(8), Art. 73 and 74)."""

    code = "status_change_no_basis"


class ActorExistsError(LedgerError):
    """An actor with this DID is already registered."""

    code = "actor_exists"
    category = "conflict"


class NotFoundError(LedgerError):
    """A record, actor, lot, passport or checkpoint does not exist."""

    code = "not_found"
    category = "not_found"


class LedgerStateError(LedgerError):
    """The ledger is not initialised, or its metadata is inconsistent with the request."""

    code = "ledger_state"


class ConfigurationError(LedgerError):
    """Settings, key files or the database URL are unusable."""

    code = "configuration_error"


class StorageUnavailableError(LedgerError):
    """The database cannot be reached or refused the connection."""

    code = "storage_unavailable"
    category = "unavailable"


# -- material traceability (passport/trace/lots.py, passport/trace/attestations.py) ---------
# Append pipeline step 4 (design): "referenced lots exist; mass balance holds". Each rule has its
# own stable code so that API clients and the sample generator can tell rejections apart.


class UnknownLotError(RuleViolationError):
    """A record names a lot that no accepted Extraction or Transformation created."""

    code = "unknown_lot"


class LotRecordMismatchError(RuleViolationError):
    """A lot reference names the wrong creating record hash (design: Merkle DAG cross-links)."""

    code = "lot_record_mismatch"


class LotExistsError(RuleViolationError):
    """An output lot id is already taken: lot ids are unique ledger-wide."""

    code = "lot_exists"
    category = "conflict"


class UnknownFacilityError(RuleViolationError):
    """The facility is not one of the actor's registered facilities, or its country differs."""

    code = "unknown_facility"


class FacilityClosedError(RuleViolationError):
    """The facility was closed by a FacilityUpdate: no new record may name it."""

    code = "facility_closed"


class FacilityConflictError(RuleViolationError):
    """A FacilityUpdate adds an id the actor already had (ids are never reused), or changes or
    closes a facility the actor does not have open."""

    code = "facility_conflict"


class FacilityUpdateForbiddenError(RuleViolationError):
    """A FacilityUpdate issued by someone other than the actor or the operator, or moving a
    facility to another country without the operator."""

    code = "facility_update_forbidden"


class MassBalanceError(RuleViolationError):
    """Consumption plus outgoing transfers would exceed the grams the custodian holds of a lot."""

    code = "mass_balance"
    category = "conflict"


class ElementBalanceError(MassBalanceError):
    """For some element, the mass leaving a transformation would exceed the mass entering it."""

    code = "element_balance"


class CustodyError(RuleViolationError):
    """The issuer is not the custodian (or the transfer's buyer) this action needs."""

    code = "custody"
    category = "forbidden"


class DoubleClaimError(RuleViolationError):
    """Mass-balance credit claims on outputs exceed the credits that entered the transformation."""

    code = "double_claim"
    category = "conflict"


class ChainOfCustodyError(RuleViolationError):
    """The step breaks its declared ISO 22095 chain-of-custody model."""

    code = "chain_of_custody"


class UnknownTransferError(RuleViolationError):
    """A TransferAcceptance names no Transfer record."""

    code = "unknown_transfer"


class UnknownSubjectError(RuleViolationError):
    """An attestation's subject (lot, facility or actor) or retracted record does not exist."""

    code = "unknown_subject"


class AttestationError(RuleViolationError):
    """An attestation or retraction breaks a rule: wrong issuer, verifier, period or figures."""

    code = "attestation_invalid"


# -- the battery passport: issuance, access, lifecycle, compliance, export --------------------
def _listing(headline: str, problems: Sequence[dict[str, str]]) -> str:
    lines = [f"{headline} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
    lines.extend(f"  {p['pointer']}: {p['message']}" for p in problems)
    return "\n".join(lines)


class PassportError(LedgerError):
    """Base for errors of passport issuance, access, lifecycle, compliance and export."""

    code = "passport_error"


class PassportInvalidError(PassportError):
    """The passport (or its model data) breaks the schema or a semantic rule; all listed."""

    code = "passport_invalid"

    def __init__(
        self, problems: Sequence[dict[str, str]], headline: str = "the passport is invalid"
    ) -> None:
        super().__init__(_listing(headline, problems), problems=list(problems))
        self.problems = list(problems)


class PassportNotFoundError(NotFoundError):
    """No passport with this identifier (or battery identifier) exists."""

    code = "passport_not_found"


class DigitalLinkMalformedError(PassportError):
    """A Digital Link's key is malformed: not a GTIN with a valid check digit, a serial outside
    GS1 AI 21's characters, or a compressed link that does not decode (400)."""

    code = "digital_link_malformed"


class UnknownAccessRoleError(PassportError):
    """The reader's role is none of public, legitimate-interest, authority."""

    code = "access_role_unknown"


class AccessNotEntitledError(PassportError):
    """The reader asked for an audience it is not entitled to for this passport: points 2 and 4
    go to persons with a legitimate interest in this battery (its economic operator, the actors
    it granted access or mandated, the actors holding it), point 3 to authorities (Art. 77(2))."""

    code = "access_not_entitled"
    category = "forbidden"


class PartitionUnverifiedError(PassportError):
    """A served partition does not match the commitment in the signed passport record."""

    code = "partition_unverified"
    category = "unverified"


class PassportUnverifiedError(PassportError):
    """The passport does not verify against the ledger; every failed check listed."""

    code = "passport_unverified"
    category = "unverified"

    def __init__(self, problems: Sequence[dict[str, str]], **details: Any) -> None:
        super().__init__(
            _listing("the passport does not verify against the ledger", problems),
            problems=list(problems),
            **details,
        )
        self.problems = list(problems)


class IllegalTransitionError(RuleViolationError):
    """The status change is not allowed from the passport's current status."""

    code = "passport_transition_illegal"
    category = "conflict"


class PassportCeasedError(RuleViolationError):
    """The passport has ceased (battery recycled) or was superseded: it takes no more changes."""

    code = "passport_closed"
    category = "conflict"


class PassportStaleError(RuleViolationError):
    """The update was made against a point-4 state that is no longer the current one."""

    code = "passport_stale"
    category = "conflict"


class PartitionMissingError(RuleViolationError):
    """A record commits to a partition whose signed body was not supplied with it."""

    code = "partition_missing"


class ExportIncompleteError(PassportError):
    """The target data model requires values this passport does not hold; every gap listed."""

    code = "export_incomplete"

    def __init__(
        self, problems: Sequence[dict[str, str]], target: str = "the Battery Pass export"
    ) -> None:
        super().__init__(
            _listing(f"{target} needs data the passport lacks", problems),
            problems=list(problems),
        )
        self.problems = list(problems)


class ExportSupplementError(PassportError):
    """A value supplied at export time is not one the export accepts, or is malformed."""

    code = "export_supplement_invalid"

    def __init__(self, problems: Sequence[dict[str, str]]) -> None:
        super().__init__(
            _listing("the export-time supplement is not accepted", problems),
            problems=list(problems),
        )
        self.problems = list(problems)


# -- confidential provenance (passport/records/confidential.py) ------------------------------
class UndisclosedMemberError(LedgerError):
    """A concealed member of a record's subject came without its disclosure. The node must see
    every member to check the kind's schema and rules on the record, so none may stay hidden
    from it (an RFC 9901 decoy digest is refused the same way)."""

    code = "disclosure_missing"


class ConcealmentError(LedgerError):
    """A record's concealment breaks its kind's declaration of public members: a confidential
    member left in the clear, a public member concealed, concealment in a kind that has no
    confidential members, nested concealment, or a malformed ``_sd`` / ``_sd_alg``."""

    code = "concealment_invalid"


class DisclosuresNotEntitledError(LedgerError):
    """The reader may not read this record's Disclosures: they go to its issuer, to the buyer a
    Transfer names, to authorities (a registered authority role) and to the certifiers or
    notified bodies the issuer granted them (``DisclosureGrant``); everyone else reads the
    signed redacted record only."""

    code = "disclosures_not_entitled"
    category = "forbidden"


# -- assurance and disclosure grants (issue #21: passport/document/assurance.py,
# passport/document/disclosure_grants.py) ---------------------------------------------------------
class AssuranceError(RuleViolationError):
    """An ``Assurance`` record is refused: base of the assurance rules' errors."""

    code = "assurance_invalid"


class AssuranceVersionError(AssuranceError):
    """The passport record an Assurance names is not a version of the assured passport (its
    issue, a point-4 update or a status change)."""

    code = "assurance_version_unknown"


class AssuranceCheckpointError(AssuranceError):
    """The checkpoint an Assurance names is not one this log signed (no checkpoint of that
    size, or another root hash)."""

    code = "assurance_checkpoint_unknown"


class AssuranceFigureError(AssuranceError):
    """An Assurance names a figure that is not one of the passport's point-1 ledger figures, or
    names a figure both as holding and as failing, or twice."""

    code = "assurance_figure_invalid"


class DisclosureGrantError(RuleViolationError):
    """A ``DisclosureGrant`` (or its ending Retraction) is refused: the grantee is not a
    registered certifier or notified body, a listed record is not the issuer's, the validity
    period is empty or already over, or the grant was already ended."""

    code = "disclosure_grant_invalid"


class LotNotEntitledError(LedgerError):
    """The reader may not read this lot's roll-up or its trails.

    They go to the lot's creator, the actors that hold or held it, the actors downstream of it
    (whose steps consumed it or who hold a lot made from it) and authorities
    (``passport.document.access.may_read_lot``)."""

    code = "lot_not_entitled"
    category = "forbidden"


# -- tabular import, record templates and signing ahead (passport/records/tabular.py,
# passport/service/imports.py, passport/service/chainstate.py) ------------------------------
class KindNameError(ConfigurationError):
    """A record kind named on the command line is none of the known kinds (a typo, say): the
    message suggests the closest names and lists them all."""

    code = "kind_name_unknown"

    def __init__(self, name: str, suggestions: Sequence[str], known: Sequence[str]) -> None:
        hint = f"; did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else ""
        super().__init__(
            f"unknown record kind {name!r}{hint} (known kinds: {', '.join(known)})",
            kind=name,
            suggestions=list(suggestions),
            known=list(known),
        )
        self.suggestions = list(suggestions)
        self.known = list(known)


class NameUnknownError(ConfigurationError):
    """A value named on the command line (an actor role, an export format, a passport status)
    is none of the values allowed there: the message suggests the closest and lists them all."""

    code = "name_unknown"

    def __init__(self, what: str, name: str, suggestions: Sequence[str], known: Sequence[str]):
        hint = f"; did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else ""
        super().__init__(
            f"unknown {what} {name!r}{hint} (one of: {', '.join(known)})",
            what=what,
            name=name,
            suggestions=list(suggestions),
            known=list(known),
        )


class ImportFileError(ConfigurationError):
    """The import file cannot be read as the format it claims (or its format is unknown)."""

    code = "import_unreadable"


class ImportInvalidError(LedgerError):
    """Rows of an import file are invalid: every problem, each with its row and column. Nothing
    was signed or appended."""

    code = "import_invalid"

    def __init__(self, source: str, problems: Sequence[dict[str, Any]]) -> None:
        count = len(problems)
        lines = [
            f"{source}: {count} problem{'s' if count != 1 else ''}, nothing signed or appended:"
        ]
        lines.extend(f"  row {p['row']}, column {p['column']}: {p['message']}" for p in problems)
        super().__init__("\n".join(lines), problems=list(problems))
        self.problems = list(problems)


class ImportRowRejectedError(LedgerError):
    """The ledger rejected a row of an import (a rule only the ledger can check, e.g. an
    unregistered facility). The batches before it stay appended; re-running the import after
    fixing the row appends the rest."""

    code = "import_row_rejected"


class ChainStateConflictError(ChainError):
    """The issuer's chain as recorded beside the key (``KEY.chain``) and the ledger disagree at
    the same sequence, or a resumed import's rows no longer sign to what the ledger holds."""

    code = "chain_state_conflict"


# -- batches, bundles and the memory store --------------------------------------------------
class BatchItemError(LedgerError):
    """Wraps the error of one record of a batch; the whole batch was rolled back."""

    code = "batch_rejected"

    def __init__(self, index: int, error: BpassError) -> None:
        super().__init__(
            f"record #{index} of the batch: {error.message}", index=index, cause=error.code
        )
        self.index = index
        self.error = error


class BundleError(LedgerError):
    """A bundle cannot be built (the passport or one of its records is missing)."""

    code = "bundle_error"


class NotKeptInMemoryError(RuntimeError):
    """A write the tables' own constraints would refuse, such as a duplicate primary key: a
    rule let it through (a programming error, not bad input)."""
