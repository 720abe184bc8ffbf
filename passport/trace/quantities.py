"""Exact quantities of material traceability: elements, units, credit types, certificate validity.

Design: "Quantities that must add up exactly … are integers in fixed units … never binary floats".
Masses are integer grams, element contents integer parts per million of mass, so an element's mass
in micrograms is the exact integer ``grams × ppm``. Footprints are decimal strings, read here as
:class:`fractions.Fraction` (exact) and rounded only when a figure is finally printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Final

from passport.store.trace_rows import AttestationRow

ELEMENTS: Final = ("Li", "Ni", "Co", "Mn", "C")
"""Element symbols the ledger tracks; ``C`` is graphite carbon."""

PPM: Final = 1_000_000
"""Parts per million in a whole; also micrograms per gram."""

MATERIAL_ELEMENT: Final = {
    "lithium": "Li",
    "nickel": "Ni",
    "cobalt": "Co",
    "graphite": "C",
    "manganese": "Mn",
}
"""The element an Extraction of each material must contain."""

STAGES: Final = ("raw-material-acquisition", "main-production", "distribution", "end-of-life")
"""Life-cycle stages of EU 2023/1542 Art. 7 and Annex II (use phase excluded)."""

RECYCLED_PRE: Final = "recycled-pre-consumer"
RECYCLED_POST: Final = "recycled-post-consumer"
RECYCLED_TAG_KEY: Final = {"pre-consumer": RECYCLED_PRE, "post-consumer": RECYCLED_POST}
WASTE_SOURCE_KEY: Final = {"pre-consumer-waste": RECYCLED_PRE, "post-consumer-waste": RECYCLED_POST}
CERTIFIED_PREFIX: Final = "certified:"

RECYCLING_STEPS: Final = frozenset({"recycling", "material-recovery"})
"""Process steps that may take recycled intake (design: recycled intake modelled explicitly)."""

ATTESTATION_KINDS: Final = ("CarbonFootprint", "RecycledContent", "Certification", "DueDiligence")


def element_ug(grams: int, elements: Mapping[str, int]) -> dict[str, int]:
    """Element masses in micrograms (``grams × ppm``) of the non-zero elements; exact."""
    return {e: grams * ppm for e, ppm in elements.items() if ppm}


def grams_text(ug: int) -> str:
    """Micrograms as exact grams for a person (``12500000`` → ``"12.5 g"``): records state mass
    in grams and content in ppm, so messages quote grams, never the internal µg."""
    sign, ug = ("-", -ug) if ug < 0 else ("", ug)
    whole, frac = divmod(ug, PPM)
    return f"{sign}{whole}" + (f".{frac:06d}".rstrip("0") if frac else "") + " g"


def add_into(total: dict[str, int], part: Mapping[str, int]) -> None:
    """Add ``part`` into ``total`` element-wise."""
    for key, value in part.items():
        total[key] = total.get(key, 0) + value


def certified_key(scheme: str) -> str:
    """The credit key of certified content under ``scheme``."""
    return CERTIFIED_PREFIX + scheme


def claim_key(claim: Mapping[str, object]) -> str:
    """The credit key a mass-balance claim draws on."""
    if claim["type"] == "certified":
        return certified_key(str(claim["scheme"]))
    return str(claim["type"])


def decimal_fraction(value: str) -> Fraction:
    """An exact fraction from a schema-checked decimal string (``"12.5"`` → 25/2)."""
    return Fraction(Decimal(value))


def covers_element(att: AttestationRow, element: str) -> bool:
    """Whether the attestation's element scope (``data.elements``; absent = all) has ``element``."""
    scope = att.data.get("elements")
    return scope is None or element in scope


def in_force(att: AttestationRow, at: str | None) -> bool:
    """Accepted by ``at`` and not retracted by then (``at`` None: now)."""
    if at is not None and att.accepted_at > at:
        return False
    return att.retracted_at is None or (at is not None and att.retracted_at > at)


def valid_at(att: AttestationRow, moment: str) -> bool:
    """Whether ``moment`` lies within the attestation's validity period (inclusive)."""
    if att.valid_from is not None and moment < att.valid_from:
        return False
    return att.valid_until is None or moment <= att.valid_until


def covers_facility(att: AttestationRow, actor: str, facility: str) -> bool:
    """Whether a facility or actor subject covers ``facility`` of ``actor``."""
    if att.subject_actor != actor:
        return False
    return att.subject_type == "actor" or (
        att.subject_type == "facility" and att.subject_facility == facility
    )
