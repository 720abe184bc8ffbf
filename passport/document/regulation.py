"""Regulatory figures the passport and its compliance report use, kept as data.

- Art. 8 recycled-content minimums (settled in the Regulation).
- The carbon-footprint performance class table (Art. 7(2)): **unsettled**. Its boundaries are set
  by a delegated act not yet adopted, so the table is configurable: a JSON file named by
  ``--class-table`` or ``$BPASS_CARBON_CLASS_TABLE``; without one, a clearly labelled
  *placeholder* applies and every report says so.
- The raw materials in scope of due diligence (Art. 48 with Annex X): cobalt, natural graphite,
  lithium, nickel (not manganese).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from passport.errors import ConfigurationError

CLASS_TABLE_ENV = "BPASS_CARBON_CLASS_TABLE"

PER_KWH_QUANTUM = Decimal("0.0001")
"""Carbon footprint per kWh of service-life energy, to 0.1 g CO2e/kWh. The functional unit is the
total energy over the expected service life (Annex II), so the figures are small (an EV pack of
6 t CO2e delivering 150 MWh: 0.04 kg CO2e/kWh) and need four decimals."""
ABSOLUTE_QUANTUM = Decimal("0.001")
"""Absolute carbon footprint, kg CO2e, to the gram."""
PERCENT_QUANTUM = Decimal("0.01")
"""Shares are written as percentages with two decimals (one basis point)."""
MASS_QUANTUM = Decimal("0.001")
"""Masses in kg to the gram."""


@dataclass(frozen=True)
class RecycledContentMinimum:
    """One Art. 8 minimum: ``element`` needs ``percent`` recycled content from ``applies_from``."""

    element: str
    label: str
    applies_from: str
    percent: Decimal


ART8_MINIMUMS: tuple[RecycledContentMinimum, ...] = (
    RecycledContentMinimum("cobalt", "2031", "2031-08-18", Decimal("16")),
    RecycledContentMinimum("lithium", "2031", "2031-08-18", Decimal("6")),
    RecycledContentMinimum("nickel", "2031", "2031-08-18", Decimal("6")),
    RecycledContentMinimum("lead", "2031", "2031-08-18", Decimal("85")),
    RecycledContentMinimum("cobalt", "2036", "2036-08-18", Decimal("26")),
    RecycledContentMinimum("lithium", "2036", "2036-08-18", Decimal("12")),
    RecycledContentMinimum("nickel", "2036", "2036-08-18", Decimal("15")),
    RecycledContentMinimum("lead", "2036", "2036-08-18", Decimal("85")),
)
"""Art. 8(2) and 8(3): minimum share recovered from manufacturing or post-consumer waste."""

DUE_DILIGENCE_MATERIALS: tuple[str, ...] = ("cobalt", "naturalGraphite", "lithium", "nickel")
"""Raw materials of Annex X point 1 subject to supply-chain due diligence (Art. 48)."""

INDUSTRIAL_MIN_KWH = Decimal("2")
"""Industrial (and stationary) batteries need a passport above 2 kWh (Art. 77(1))."""

MERCURY_LIMIT_PERCENT = Decimal("0.0005")
"""Art. 6, Annex I entry 1: no battery may contain more than 0.0005 % mercury by weight."""
MARKING_THRESHOLD_PERCENT: dict[str, Decimal] = {
    "cadmium": Decimal("0.002"),
    "lead": Decimal("0.004"),
}
"""Art. 13(4): above these contents (% by weight) the battery is marked with Cd or Pb."""


@dataclass(frozen=True)
class CarbonClass:
    """A performance class and its inclusive upper bound in kg CO2e/kWh (None: open-ended)."""

    name: str
    max_per_kwh: Decimal | None


@dataclass(frozen=True)
class CarbonClassTable:
    """Performance classes, best (A) first, each with an upper bound; the last is open-ended."""

    id: str
    provisional: bool
    note: str
    classes: tuple[CarbonClass, ...]

    def classify(self, per_kwh: Decimal) -> str:
        """The class of a carbon footprint per kWh."""
        for cls in self.classes:
            if cls.max_per_kwh is None or per_kwh <= cls.max_per_kwh:
                return cls.name
        raise ConfigurationError(f"class table {self.id} has no open-ended last class")

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the same as the file format)."""
        return {
            "id": self.id,
            "provisional": self.provisional,
            "note": self.note,
            "classes": [
                {"class": c.name}
                | ({"maxKgCO2ePerKWh": str(c.max_per_kwh)} if c.max_per_kwh is not None else {})
                for c in self.classes
            ],
        }


PLACEHOLDER_CLASS_TABLE = CarbonClassTable(
    id="placeholder-unsettled",
    provisional=True,
    note=(
        "PLACEHOLDER, NOT LAW: the Art. 7(2) performance-class boundaries are to be set by a "
        "delegated act not yet adopted. These illustrative bounds only exercise the mechanism; "
        f"configure the real table with ${CLASS_TABLE_ENV} or --class-table."
    ),
    classes=(
        CarbonClass("A", Decimal("0.03")),
        CarbonClass("B", Decimal("0.05")),
        CarbonClass("C", Decimal("0.07")),
        CarbonClass("D", Decimal("0.10")),
        CarbonClass("E", None),
    ),
)


def parse_class_table(data: Any, source: str = "class table") -> CarbonClassTable:
    """A class table from its JSON form; a ConfigurationError naming every defect."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: must be a JSON object")
    table_id = data.get("id")
    if not isinstance(table_id, str) or not table_id:
        problems.append("id must be a non-empty string")
    raw = data.get("classes")
    classes: list[CarbonClass] = []
    if not isinstance(raw, list) or not raw:
        problems.append("classes must be a non-empty list")
        raw = []
    previous: Decimal | None = None
    for i, entry in enumerate(raw):
        name = entry.get("class") if isinstance(entry, dict) else None
        if not isinstance(name, str) or len(name) != 1 or not name.isupper():
            problems.append(f"classes[{i}].class must be one capital letter")
            continue
        bound_text = entry.get("maxKgCO2ePerKWh")
        last = i == len(raw) - 1
        if bound_text is None:
            if not last:
                problems.append(
                    f"classes[{i}] ({name}) needs maxKgCO2ePerKWh (only the last is open-ended)"
                )
            classes.append(CarbonClass(name, None))
            continue
        try:
            bound = Decimal(str(bound_text))
        except InvalidOperation:
            problems.append(f"classes[{i}].maxKgCO2ePerKWh is not a decimal")
            continue
        if last:
            problems.append("the last class must be open-ended (no maxKgCO2ePerKWh)")
        if previous is not None and bound <= previous:
            problems.append(f"classes[{i}] ({name}) bound must exceed the previous class's")
        previous = bound
        classes.append(CarbonClass(name, bound))
    if problems:
        raise ConfigurationError(f"{source}: " + "; ".join(problems), problems=problems)
    return CarbonClassTable(
        id=str(table_id),
        provisional=bool(data.get("provisional", True)),
        note=str(data.get("note", "")),
        classes=tuple(classes),
    )


def load_class_table(path: Path | None = None) -> CarbonClassTable:
    """The configured class table: ``path``, else ``$BPASS_CARBON_CLASS_TABLE``, else the
    placeholder."""
    chosen = path or (
        Path(os.environ[CLASS_TABLE_ENV]) if os.environ.get(CLASS_TABLE_ENV) else None
    )
    if chosen is None:
        return PLACEHOLDER_CLASS_TABLE
    try:
        data = json.loads(chosen.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read class table {chosen}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"class table {chosen} is not JSON: {exc.msg}") from exc
    return parse_class_table(data, str(chosen))
