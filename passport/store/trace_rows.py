"""The rows of the traceability tables as the rules and the roll-ups see them: plain slotted
dataclasses, no storage.

:mod:`passport.store.sql.trace` reads and writes them in SQL; :mod:`passport.store.memory`
keeps them in dictionaries for a bundle's replay, which runs without a database library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ELEMENT_ORDER",
    "AttestationRow",
    "InputRow",
    "LotRow",
    "StepRow",
    "TransferRow",
]

# Row types are plain slotted dataclasses, not frozen ones: a roll-up builds tens of thousands of
# them and frozen dataclasses cost seven times as much to construct. Treat them as read-only.


@dataclass(slots=True)
class LotRow:
    """A row of ``trace_lots``."""

    lot_id: str
    record_hash: str
    issuer: str
    facility_id: str
    mass_grams: int
    elements: dict[str, int]
    custody: str
    origin_key: str | None
    claims: dict[str, Any] | None
    credits: dict[str, Any]
    consumed_grams: int
    created_at: str


@dataclass(slots=True)
class StepRow:
    """A row of ``trace_steps``: one Extraction or Transformation record."""

    record_hash: str
    kind: str
    issuer: str
    facility_id: str
    country: str
    process_step: str
    custody: str
    material: str | None
    deposit_type: str | None
    mining_method: str | None
    event_time: str
    accepted_at: str
    emissions: dict[str, str] | None
    externals: list[dict[str, Any]] | None
    claims: dict[str, int] | None
    output_mass_grams: int


@dataclass(slots=True)
class InputRow:
    """A row of ``trace_inputs``: ``grams`` of ``lot_id`` consumed by the step ``step_hash``.

    ``ppm`` repeats the consumed lot's element contents; ``elements`` is the consumed element mass
    in micrograms (``grams × ppm``), derived, not stored."""

    step_hash: str
    lot_id: str
    lot_record: str
    grams: int
    recycled: str | None
    ppm: dict[str, int]
    elements: dict[str, int]

    @classmethod
    def make(
        cls,
        step_hash: str,
        lot_id: str,
        lot_record: str,
        grams: int,
        recycled: str | None,
        ppm: dict[str, int],
    ) -> InputRow:
        """An edge with its element masses computed from ``grams`` and ``ppm``."""
        return cls(
            step_hash,
            lot_id,
            lot_record,
            grams,
            recycled,
            ppm,
            {e: grams * v for e, v in ppm.items()},
        )


@dataclass(slots=True)
class TransferRow:
    """A row of ``trace_transfers``."""

    record_hash: str
    lot_id: str
    seller: str
    buyer: str
    grams: int
    status: str
    settled_by: str | None
    created_at: str


@dataclass(slots=True)
class AttestationRow:
    """A row of ``trace_attestations``."""

    record_hash: str
    kind: str
    issuer: str
    verifier: str | None
    subject_type: str
    subject_lot: str | None
    subject_actor: str | None
    subject_facility: str | None
    scheme: str | None
    valid_from: str | None
    valid_until: str | None
    accepted_at: str
    leaf_index: int
    data: dict[str, Any]
    retracted_by: str | None
    retracted_at: str | None
    retraction_effect: str | None
    retraction_reason: str | None


ELEMENT_ORDER = ("Li", "Ni", "Co", "Mn", "C")
"""Element symbols in the order of the ``ppm_*`` columns."""
