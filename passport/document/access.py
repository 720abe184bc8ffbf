"""Who may read what: the access role an actor's ledger roles give it (design: "Access partitions").

Annex XIII of Regulation (EU) 2023/1542 gives three audiences: the public, persons with a
legitimate interest (repairers, second-life operators, recyclers, the OEM) and authorities
(market surveillance, notified bodies, the Commission). This module is the one place that maps an
actor's registered roles to its audience; the API's bearer tokens and every restricted view use it.
Which partitions each audience sees is the passport's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


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
