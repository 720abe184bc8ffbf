"""What a record kind's rule is: the roles that may issue it and the check it applies on append.

Append pipeline step 4 (design): "the issuer's role may record this kind; referenced lots exist;
mass balance holds". Each module that defines record kinds exports ``RULES``, a mapping of kind
to :class:`KindRule`; :mod:`passport.ledger.kinds` gathers them into the one registry the ledger
and the offline verifier look kinds up in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from passport.records.envelope import ParsedRecord
from passport.store.rows import StoredActor
from passport.store.state import StateTx

ROLES = frozenset(
    {
        "operator",
        "miner",
        "refiner",
        "material-maker",
        "cell-maker",
        "pack-maker",
        "oem",
        "recycler",
        "certifier",
        "notified-body",
        "repairer",
        "authority",
    }
)
SUPPLY_CHAIN_ROLES = frozenset(
    {"miner", "refiner", "material-maker", "cell-maker", "pack-maker", "oem", "recycler"}
)
ASSURER_ROLES = frozenset({"certifier", "notified-body"})
"""Independent verifiers: a ``certifier`` (a scheme's auditor) or a ``notified-body`` (a
conformity assessment body notified under Chapter VI of Regulation (EU) 2023/1542). They issue
``Assurance`` records and are the grantees of ``DisclosureGrant`` records."""


class AcceptContext(NamedTuple):
    """Facts about the record being accepted, fixed by the ledger under its append lock."""

    accepted_at: str
    leaf_index: int
    operator_did: str
    issuer: StoredActor


Handler = Callable[[StateTx, AcceptContext, ParsedRecord], None]


@dataclass(frozen=True)
class KindRule:
    """The roles allowed to issue a kind (empty: any registered actor) and its domain rule."""

    roles: frozenset[str]
    handler: Handler | None = None


def kind_rule(roles: Iterable[str], handler: Handler | None = None) -> KindRule:
    """A kind's rule; refuses role names the ledger does not know (a typo would lock a kind)."""
    allowed = frozenset(roles)
    unknown = allowed - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return KindRule(allowed, handler)
