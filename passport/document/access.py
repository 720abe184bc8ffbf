"""Who may read what: the access role an actor's ledger roles give it (design: "Access partitions").

Annex XIII of Regulation (EU) 2023/1542 gives three audiences: the public, persons with a
legitimate interest (repairers, second-life operators, recyclers, the OEM) and authorities
(market surveillance, notified bodies, the Commission). This module is the one place that maps an
actor's registered roles to its audience; the API's bearer tokens and every restricted view use it.
Which partitions each audience sees is the passport's business.

A legitimate interest is in one battery, not in every battery (Art. 77(2)(b)):
:func:`decide_access` is the pure decision, per passport and per request, from the facts the
ledger holds about that battery (:class:`PassportAccessFacts`) and the reader's current roles.

Provenance reads (issue #21) are decided here too, for every read path (API, client, CLI with
``--server``): a confidential record's Disclosures (:func:`may_read_disclosures`), a lot's
roll-up and trails (:func:`may_read_lot`), each trail entry (:func:`may_read_trail_entry`) and
an actor's facilities (:func:`may_read_facilities`). The policy, written down in docs/records.md
("Who reads what"):

- anonymous: a record's bytes as signed (redacted for a confidential record), its existence,
  issuer, kind, sequence and time; actors' legal name, country, roles and keys. Never
  facilities, roll-ups or trails.
- a lot's roll-up figures (aggregates): the lot's creator, the actors that hold or held it, the
  actors downstream of it (their steps consumed it, or they hold or held a lot made from it: the
  OEM reads its pack's roll-up) and authorities.
- a trail entry's record and amount: as its record's Disclosures (a plain record: whoever reads
  the roll-up); otherwise only the record hash and kind are shown, its lot, amount and note are
  withheld, so no supplier's grams reach another.
- an actor's facilities (names, countries, coordinates): the actor itself, the ledger operator
  and authorities.
- authorities: everything.

The reader's roles come from the ledger per request (:class:`Reader`), never from a token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from passport.errors import (
    AccessNotEntitledError,
    DisclosuresNotEntitledError,
    LotNotEntitledError,
    UnknownAccessRoleError,
)
from passport.records.kinds import ASSURER_ROLES


class AccessRole(StrEnum):
    """The audience a reader belongs to."""

    PUBLIC = "public"
    LEGITIMATE_INTEREST = "legitimate-interest"
    AUTHORITY = "authority"


LEGITIMATE_INTEREST_ROLES = frozenset({"repairer", "recycler", "oem"})
"""Ledger roles whose holders are persons with a legitimate interest (Art. 77(2)(b))."""

AUTHORITY_ROLES = frozenset({"authority"})
"""Ledger roles whose holders are authorities (Art. 77(2)(c))."""


def role_for_actor(roles: Iterable[str]) -> AccessRole:
    """The audience of an actor holding ``roles``.

    The partitions of the two restricted audiences are not nested, so an actor cannot be both at
    once; an actor registered with both kinds of role reads as an authority.
    """
    held = set(roles)
    if held & AUTHORITY_ROLES:
        return AccessRole.AUTHORITY
    if held & LEGITIMATE_INTEREST_ROLES:
        return AccessRole.LEGITIMATE_INTEREST
    return AccessRole.PUBLIC


# -- legitimate interest is per battery (Art. 77(2), Annex XIII points 2 and 4) -------------------
@dataclass(frozen=True)
class PassportAccessFacts:
    """What the ledger says about who has a legitimate interest in one battery, read at the time
    of a request (:func:`passport.service.views.access_facts`).

    ``grantees`` are the actors holding a live ``PassportAccessGrant`` of the economic operator
    (revoked and ended grants are already left out), ``mandataries`` those holding a live
    ``PassportMandate``, ``holders`` the actors holding the pack lot or a vehicle lot built from
    it (after an accepted Transfer, or having made it).
    """

    passport_id: str
    economic_operator: str
    grantees: frozenset[str] = frozenset()
    mandataries: frozenset[str] = frozenset()
    holders: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Reader:
    """Who asks: an authenticated actor's DID and its ledger roles as of this request (read from
    the ledger, never from the token), or the anonymous public (``did`` None)."""

    did: str | None = None
    roles: tuple[str, ...] = ()


ANONYMOUS = Reader()


def has_legitimate_interest(reader: Reader, facts: PassportAccessFacts) -> bool:
    """Whether ``reader`` is a person with a legitimate interest in this battery: its economic
    operator, an actor it granted access or mandated for this passport, or an actor holding the
    battery whose registered roles make it one (repairer, recycler, oem)."""
    did = reader.did
    if did is None:
        return False
    if did == facts.economic_operator or did in facts.grantees or did in facts.mandataries:
        return True
    return did in facts.holders and bool(LEGITIMATE_INTEREST_ROLES.intersection(reader.roles))


def entitled_audiences(reader: Reader, facts: PassportAccessFacts) -> frozenset[AccessRole]:
    """The audiences ``reader`` may read this passport as: always the public; legitimate
    interest per :func:`has_legitimate_interest`; authority for an actor holding an authority
    role now (point 3, whatever the battery)."""
    audiences = {AccessRole.PUBLIC}
    if AUTHORITY_ROLES.intersection(reader.roles):
        audiences.add(AccessRole.AUTHORITY)
    if has_legitimate_interest(reader, facts):
        audiences.add(AccessRole.LEGITIMATE_INTEREST)
    return frozenset(audiences)


def decide_access(
    reader: Reader, facts: PassportAccessFacts, requested: AccessRole | str | None = None
) -> AccessRole:
    """The audience a read of this passport is served as.

    Without ``requested``: the widest the reader is entitled to (authority, then legitimate
    interest, else the public), so that an unentitled reader gets the public view. With it:
    that audience, or :class:`AccessNotEntitledError` if the reader is not entitled to it for
    this passport (an unknown audience: :class:`UnknownAccessRoleError`).
    """
    audiences = entitled_audiences(reader, facts)
    if requested is None:
        for audience in (AccessRole.AUTHORITY, AccessRole.LEGITIMATE_INTEREST):
            if audience in audiences:
                return audience
        return AccessRole.PUBLIC
    try:
        wanted = AccessRole(str(requested))
    except ValueError:
        raise UnknownAccessRoleError(
            f"unknown reader role {requested!r}; one of: {', '.join(AccessRole)}",
            role=str(requested),
        ) from None
    if wanted not in audiences:
        who = reader.did or "an anonymous reader"
        why = (
            "authorities (a registered authority role) read point 3"
            if wanted is AccessRole.AUTHORITY
            else "points 2 and 4 go to the passport's economic operator, the actors it granted "
            "access (PassportAccessGrant) or mandated, and the actors holding the battery"
        )
        raise AccessNotEntitledError(
            f"{who} is not entitled to read passport {facts.passport_id} as {wanted.value}: "
            f"{why} (Art. 77(2), Annex XIII)",
            passport=facts.passport_id,
            role=wanted.value,
        )
    return wanted


# -- the Disclosures of a confidential record (issue #21) -----------------------------------------
@dataclass(frozen=True)
class DisclosureFacts:
    """What the ledger says about one confidential record: its hash, its issuer and the
    counterparty its revealed subject names (a Transfer's ``buyer``; None for other kinds);
    ``grantees``: the actors a ``DisclosureGrant`` of the issuer covering this record lets read
    its Disclosures now (ended and out-of-scope grants already left out,
    :func:`passport.document.disclosure_grants.grant_covers`)."""

    record_hash: str
    issuer: str
    counterparty: str | None = None
    grantees: frozenset[str] = frozenset()


COUNTERPARTY_MEMBER = {"Transfer": "buyer", "ActorRegistration": "id", "FacilityUpdate": "actor"}
"""The subject member naming the counterparty entitled to a record's Disclosures, by kind: the
buyer a Transfer names, the actor a registration registers or a facility update is about (it
reads its own facilities, whoever signed)."""


def may_read_disclosures(reader: Reader, facts: DisclosureFacts) -> bool:
    """Whether ``reader`` may read the record's Disclosures: its issuer, its counterparty (the
    buyer of a Transfer, the actor an ActorRegistration registers or a FacilityUpdate is about),
    a live grantee of its issuer (:func:`is_disclosure_grantee`) and authorities (an authority
    role held now). Anonymous: never."""
    if reader.did is None:
        return False
    if reader.did in (facts.issuer, facts.counterparty):
        return True
    if is_disclosure_grantee(reader, facts):
        return True
    return bool(AUTHORITY_ROLES.intersection(reader.roles))


def is_disclosure_grantee(reader: Reader, facts: DisclosureFacts) -> bool:
    """Whether ``reader`` reads the record's Disclosures by a live grant of its issuer: it is one
    of ``facts.grantees`` and still holds an assurer role (``certifier``, ``notified-body``) now,
    as read from the ledger for this request."""
    return reader.did in facts.grantees and bool(ASSURER_ROLES.intersection(reader.roles))


def decide_disclosures(reader: Reader, facts: DisclosureFacts) -> None:
    """Raise :class:`DisclosuresNotEntitledError` unless :func:`may_read_disclosures`."""
    if not may_read_disclosures(reader, facts):
        who = reader.did or "an anonymous reader"
        raise DisclosuresNotEntitledError(
            f"{who} may not read the disclosures of record {facts.record_hash}: they go to its "
            "issuer, the buyer a Transfer names, the actor a registration registers, "
            "authorities and the certifiers or notified bodies the issuer granted them "
            "(DisclosureGrant); everyone reads the signed redacted record"
            f"{_token_hint(reader)}",
            record=facts.record_hash,
        )


def _token_hint(reader: Reader) -> str:
    """What an anonymous reader is told: a token may be all it lacks."""
    if reader.did is not None:
        return ""
    return (
        " (this request carried no bearer token: an entitled actor logs in with POST "
        "/auth/token, or `--key` on the command line, and sends it)"
    )


# -- a lot's roll-up and trails (issue #21 point 3) -----------------------------------------------
@dataclass(frozen=True)
class LotAccessFacts:
    """What the ledger says about who may read one lot's roll-up
    (:func:`passport.service.provenance.lot_access_facts`): its ``creator`` (the issuer of the
    step that made it), its ``holders`` (present and former: holdings move only with accepted
    Transfers) and the actors ``downstream`` of it (issuers of the steps that consumed it or a
    lot made from it, holders of those lots). ``downstream`` None: not looked up (the reader was
    decided without it)."""

    lot: str
    creator: str
    holders: frozenset[str] = frozenset()
    downstream: frozenset[str] | None = None


def is_authority(reader: Reader) -> bool:
    """Whether ``reader`` holds an authority role now (authorities read everything)."""
    return reader.did is not None and bool(AUTHORITY_ROLES.intersection(reader.roles))


def may_read_lot(reader: Reader, facts: LotAccessFacts) -> bool:
    """Whether ``reader`` may read the lot's roll-up figures and trails: its creator, its present
    and former holders, the actors downstream of it and authorities. Anonymous: never."""
    did = reader.did
    if did is None:
        return False
    if is_authority(reader) or did == facts.creator or did in facts.holders:
        return True
    return facts.downstream is not None and did in facts.downstream


def decide_lot(reader: Reader, facts: LotAccessFacts) -> None:
    """Raise :class:`LotNotEntitledError` unless :func:`may_read_lot`."""
    if not may_read_lot(reader, facts):
        who = reader.did or "an anonymous reader"
        raise LotNotEntitledError(
            f"{who} may not read the roll-up of lot {facts.lot}: it goes to the lot's creator, "
            "the actors that hold or held it, the actors downstream of it and authorities"
            f"{_token_hint(reader)}",
            lot=facts.lot,
        )


def may_read_trail_entry(reader: Reader, record: DisclosureFacts | None) -> bool:
    """Whether a reader of the roll-up sees a trail entry's lot, amount and note: always for a
    plain record (``record`` None: its subject is public), else as its Disclosures
    (:func:`may_read_disclosures`)."""
    return record is None or may_read_disclosures(reader, record)


# -- an actor's facilities (issue #21 point 3) ----------------------------------------------------
OPERATOR_ROLES = frozenset({"operator"})
"""Ledger roles whose holders run the ledger (they sign every registration)."""


def may_read_facilities(reader: Reader, actor: str) -> bool:
    """Whether ``reader`` may read the facilities (names, countries, coordinates) of ``actor``:
    the actor itself, the ledger operator and authorities. Anonymous: never."""
    if reader.did is None:
        return False
    if reader.did == actor or is_authority(reader):
        return True
    return bool(OPERATOR_ROLES.intersection(reader.roles))
