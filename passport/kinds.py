"""Which roles may issue which record kind, and the domain rule each kind applies on append.

Append pipeline step 4 (design): "the issuer's role may record this kind; referenced lots exist;
mass balance holds". Modules that define record kinds register a :class:`KindRule` here; the ledger
looks it up for every record inside the append transaction, so a handler sees every earlier record
of the same batch and any failure rolls the whole transaction back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from passport.records import ParsedRecord
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
        "repairer",
        "authority",
    }
)
SUPPLY_CHAIN_ROLES = frozenset(
    {"miner", "refiner", "material-maker", "cell-maker", "pack-maker", "oem", "recycler"}
)


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


_RULES: dict[str, KindRule] = {}


def register(kind: str, roles: frozenset[str] | set[str], handler: Handler | None = None) -> None:
    """Declare a record kind's permitted roles and its append-time rule."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)} for {kind}")
    _RULES[kind] = KindRule(frozenset(roles), handler)


def rule(kind: str) -> KindRule | None:
    """The registered rule of a kind, if any."""
    _load_kind_modules()
    found = _RULES.get(kind)
    if found is None and not _passport_kinds_loaded:
        _load_passport_kinds()
        found = _RULES.get(kind)
    return found


def registered() -> dict[str, KindRule]:
    """All registered kinds."""
    _load_kind_modules()
    _load_passport_kinds()
    return dict(_RULES)


_loaded = False
_passport_kinds_loaded = False
_loading = threading.RLock()
"""Held while kind modules are imported: a thread that finds a flag unset waits for the import
to finish, so no lookup sees a half-filled registry (reentrant: an import that asks for a rule
goes on)."""


def _load_kind_modules() -> None:
    # Kind modules register themselves on import; importing them here (lazily, to avoid import
    # cycles) makes the registry complete whoever asks first.
    global _loaded
    if _loaded:
        return
    with _loading:
        import passport.actors  # noqa: F401
        from passport import attestations, lots  # noqa: F401

        _loaded = True


def _load_passport_kinds() -> None:
    # The passport kinds' rules need the database's passport tables, and so SQLAlchemy: they
    # are loaded when a lookup misses, so that a bundle's replay of provenance kinds runs
    # without a database library (passport.store.state). A miss then still sees every kind.
    global _passport_kinds_loaded
    if _passport_kinds_loaded:
        return
    with _loading:
        from passport import passport_kinds  # noqa: F401

        _passport_kinds_loaded = True
