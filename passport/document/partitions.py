"""Annex XIII access partitions, as data: which passport field lies in which partition, and which
partitions each reader role may see (Art. 77(2); design: "Access partitions").

The partitions are **not nested**:

========================  =============
role                      partitions
========================  =============
public                    1
legitimate-interest       1, 2, 4
authority                 1, 2, 3
========================  =============

:data:`FIELD_PARTITIONS` maps every top-level field of the passport document to its partition;
the JSON schema groups the same fields the same way (its ``x-partition`` annotations, checked
against this table by the tests), and :func:`view` uses it to cut a role's view. A field missing
from the table is never served (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from passport.errors import UnknownAccessRoleError
from passport.records.names import did_you_mean

PUBLIC: Final = "public"
LEGITIMATE_INTEREST: Final = "legitimate-interest"
AUTHORITY: Final = "authority"

ROLE_PARTITIONS: Mapping[str, frozenset[int]] = {
    PUBLIC: frozenset({1}),
    LEGITIMATE_INTEREST: frozenset({1, 2, 4}),
    AUTHORITY: frozenset({1, 2, 3}),
}
"""Art. 77(2): which Annex XIII points each audience may read."""

PARTITIONS: tuple[int, ...] = (1, 2, 3, 4)

PARTITION_FIELD: Mapping[int, str] = {1: "point1", 2: "point2", 3: "point3", 4: "point4"}
"""The document field holding each partition's own data (the signed partition's ``data``)."""

PARTITION_TITLES: Mapping[int, str] = {
    1: "Annex XIII point 1: the battery model (public)",
    2: "Annex XIII point 2: composition, parts, dismantling, safety",
    3: "Annex XIII point 3: results of test reports proving compliance",
    4: "Annex XIII point 4: the individual battery (state of health, usage, status history)",
}

SALTED_PARTITIONS: frozenset[int] = frozenset({2, 3, 4})
"""Confidential partitions carry a random salt, so their hashes cannot be confirmed by guessing."""

METADATA_FIELDS: tuple[str, ...] = (
    "passportId",
    "schemaVersion",
    "batteryId",
    "status",
    "predecessor",
    "successor",
    "issuedAt",
    "lastUpdated",
    "ceasedAt",
    "economicOperator",
)
"""Passport metadata. It comes from the public ledger records (the passport record and its
lifecycle records), so it is public: partition 1. The battery status is listed in Annex XIII
point 4, but the status and the successor/predecessor links are already public on the ledger,
and a reader who scans a recycled battery's code must be told that its passport has ceased."""

FIELD_PARTITIONS: Mapping[str, int] = {
    **dict.fromkeys(METADATA_FIELDS, 1),
    **{field: number for number, field in PARTITION_FIELD.items()},
}
"""Top-level field of the passport document → Annex XIII partition (1 to 4)."""


def partitions_for(role: str) -> frozenset[int]:
    """The partitions ``role`` may read; a typed error for an unknown role."""
    try:
        return ROLE_PARTITIONS[str(role)]
    except KeyError:
        raise UnknownAccessRoleError(
            f"unknown reader role {role!r}{did_you_mean(str(role), ROLE_PARTITIONS)} (one of: "
            f"{', '.join(ROLE_PARTITIONS)})",
            role=str(role),
        ) from None


def partition_of(pointer: str) -> int:
    """The partition of the field at a JSON pointer into the passport document (``/point2/…``)."""
    top = pointer.lstrip("/").split("/", 1)[0]
    if top not in FIELD_PARTITIONS:
        raise KeyError(f"{pointer!r} lies in no partition")
    return FIELD_PARTITIONS[top]


def view(document: Mapping[str, Any], role: str) -> dict[str, Any]:
    """The part of a passport document ``role`` may see: fields of its partitions only.

    Fields the table does not know are dropped, never served.
    """
    allowed = partitions_for(role)
    return {
        key: value
        for key, value in document.items()
        if key in FIELD_PARTITIONS and FIELD_PARTITIONS[key] in allowed
    }
