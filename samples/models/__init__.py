"""OEM model data files (``bpass passport issue --model``) of the sample packs, and the model data
of one sample battery per passport category (``category-<category>.json``: the tests' and
benchmarks' models, and a template for an OEM's ``--model`` file).

Every value in these files is sample data for fictitious companies and products: realistic in
size, measured by no one. That includes ``point1.heavyMetals`` (Hg, Cd, Pb % by weight): the
contents stated are illustrative trace levels of a lithium-ion battery, below the Annex I mercury
limit and the Art. 13(4) marking thresholds, consistent with each file's ``notApplicable``
statements for the Cd and Pb symbols."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Final

CATEGORIES: Final = ("ev", "lmt", "industrial", "stationary")
"""The passport categories with a sample model."""

_HERE: Final = Path(__file__).parent


@cache
def _category_text(category: str) -> str:
    if category not in CATEGORIES:
        raise ValueError(f"no sample model of category {category!r}; one of {CATEGORIES}")
    return (_HERE / f"category-{category}.json").read_text("utf-8")


def sample_model(category: str = "ev") -> dict[str, Any]:
    """Elbe Motors' model data for its sample battery of ``category`` (a fresh copy: callers
    may change it)."""
    model: dict[str, Any] = json.loads(_category_text(category))
    return model
