"""Configuration of the provenance roll-ups: the CAHRA country list and default emission factors.

Both are policy, not code: the EU Battery Regulation leaves the carbon-footprint methodology and its
default data to a delegated act (Art. 7(1)), and the conflict-affected and high-risk areas list
changes over time. Pass your own :class:`TraceConfig` to
:func:`passport.trace.rollup.compute_rollup`, or load one from JSON with
:meth:`TraceConfig.from_json`.

Default emission factors — source and assumption
------------------------------------------------
The defaults below are **placeholders**: round, deliberately conservative orders of magnitude chosen
for this project so that missing primary data is visible (it shows up as the *default share* and as
a ``default-carbon-data`` risk flag) without being free. They are **not** taken from a life-cycle
inventory database or from the Commission's methodology and must be replaced by values from the
delegated act on the battery carbon footprint, or from a licensed LCI database, before any figure is
declared. All factors are decimal strings (exact), in kg CO2e:

- ``extraction_factors``: per kg of *contained element* of an Extraction lot without an attested
  footprint or own emissions (mining and beneficiation);
- ``step_factors``: per kg of *output* of a Transformation without own emissions (the step's own
  processing only; its inputs are walked as usual);
- ``untraced_factors``: per kg of contained element of an ``untraced`` external input (its whole
  unknown upstream, hence higher than the extraction factor);
- ``synthetic_feedstock_factor``: per kg of carbon in synthetic-graphite feedstock (coke, pitch)
  before graphitisation (graphitisation itself is the anode-material step's own emissions).

Recycled intake enters burden-free (cut-off approach): the first life carries the burdens of primary
production, the recycler's own step emissions are counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from passport.trace.quantities import ELEMENTS, STAGES

DECIMAL_PATTERN = r"^(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?$"

DEFAULT_CAHRA = frozenset({"AF", "CD", "CF", "LY", "ML", "MM", "SD", "SO", "SS", "SY", "YE"})
"""Illustrative default only: configure the current EU indicative, non-exhaustive list of
conflict-affected and high-risk areas (Regulation (EU) 2017/821, Art. 14(2)) or your own
risk assessment. Country codes are ISO 3166-1 alpha-2; a whole country is flagged."""


class TraceConfig(BaseModel):
    """Policy inputs of the roll-ups (all exact; nothing here is signed)."""

    model_config = ConfigDict(frozen=True)

    cahra_countries: frozenset[str] = DEFAULT_CAHRA
    extraction_factors: dict[str, str] = Field(
        default_factory=lambda: {"Li": "10", "Ni": "15", "Co": "15", "Mn": "3", "C": "2"}
    )
    step_factors: dict[str, str] = Field(
        default_factory=lambda: {
            "concentration": "1",
            "refining": "10",
            "precursor": "5",
            "cathode-material": "10",
            "anode-material": "10",
            "electrolyte": "5",
            "cell": "15",
            "module": "1",
            "pack": "1",
            "vehicle-integration": "0.5",
            "recycling": "1",
            "material-recovery": "5",
        }
    )
    step_stages: dict[str, str] = Field(
        default_factory=lambda: {
            "extraction": "raw-material-acquisition",
            "concentration": "raw-material-acquisition",
            "refining": "raw-material-acquisition",
            "precursor": "raw-material-acquisition",
            "cathode-material": "raw-material-acquisition",
            "anode-material": "raw-material-acquisition",
            "electrolyte": "raw-material-acquisition",
            "recycling": "raw-material-acquisition",
            "material-recovery": "raw-material-acquisition",
            "cell": "main-production",
            "module": "main-production",
            "pack": "main-production",
            "vehicle-integration": "main-production",
        }
    )
    """Stage that default step emissions are reported under. Annex II of EU 2023/1542 counts
    everything up to the manufacture of cell components as raw material acquisition and
    pre-processing, and cell and battery assembly as main product production."""
    untraced_factors: dict[str, str] = Field(
        default_factory=lambda: {"Li": "30", "Ni": "30", "Co": "30", "Mn": "8", "C": "8"}
    )
    synthetic_feedstock_factor: str = "3"
    due_diligence_elements: tuple[str, ...] = ("Co", "C", "Li", "Ni")
    """Art. 48 and Annex X: cobalt, natural graphite, lithium, nickel (not manganese)."""
    percent_decimals: int = Field(default=2, ge=0, le=6)

    @field_validator("cahra_countries")
    @classmethod
    def _countries(cls, value: frozenset[str]) -> frozenset[str]:
        bad = sorted(c for c in value if len(c) != 2 or not c.isalpha() or not c.isupper())
        if bad:
            raise ValueError(f"not ISO 3166-1 alpha-2 codes: {bad}")
        return value

    @field_validator(
        "extraction_factors", "step_factors", "untraced_factors", "synthetic_feedstock_factor"
    )
    @classmethod
    def _decimals(cls, value: Any) -> Any:
        import re

        values = value.values() if isinstance(value, dict) else [value]
        for v in values:
            if not isinstance(v, str) or not re.fullmatch(DECIMAL_PATTERN, v):
                raise ValueError(f"emission factors are decimal strings, got {v!r}")
        return value

    @field_validator("extraction_factors", "untraced_factors")
    @classmethod
    def _elements(cls, value: dict[str, str]) -> dict[str, str]:
        if set(value) - set(ELEMENTS):
            raise ValueError(f"unknown elements {sorted(set(value) - set(ELEMENTS))}")
        return value

    @field_validator("step_stages")
    @classmethod
    def _stages(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {k: v for k, v in value.items() if v not in STAGES}
        if bad:
            raise ValueError(f"unknown life-cycle stages {bad}")
        return value

    @classmethod
    def from_json(cls, path: Path) -> TraceConfig:
        """Load a configuration file (JSON with any of the fields; the rest default)."""
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))


DEFAULT_CONFIG = TraceConfig()
