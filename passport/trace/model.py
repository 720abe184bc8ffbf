"""The roll-up result: what the passport shows about a lot's materials, and how each figure arose.

A stable, documented model (pydantic) read by the passport and the API. Conventions:

- element masses are integer **micrograms** (``massGrams × ppm``), exact; shares are decimal
  **percent strings** with ``TraceConfig.percent_decimals`` decimals (default 2), never floats;
  shares that partition a whole (origin categories; countries + unknown; facilities + unknown) are
  rounded by largest remainder so they add up to exactly 100;
- carbon is integer **milligrams CO2e** plus the same as an exact decimal string in kg;
- every figure has an id (``Rollup.figure_ids()``) and a :class:`Trail`
  (``Rollup.explain(id)``, or all of them in ``Rollup.trails``) listing the records that
  contributed how much. Figure ids:

  ``{E}.mass``,
  ``{E}.origin.{extracted|recycled-pre-consumer|recycled-post-consumer|synthetic|unknown}``,
  ``{E}.country.{CC}``, ``{E}.facility.{actor DID}#{facility id}``, ``{E}.deposit.{type}``,
  ``{E}.method.{industrial|artisanal-small-scale}``, ``{E}.cahra``,
  ``{E}.recycled.{pre-consumer|post-consumer}``, ``{E}.certified.{scheme}``, ``{E}.due-diligence``,
  ``graphite.{natural|synthetic}``, ``graphite.{natural|synthetic}.{CC}``,
  ``carbon.total``, ``carbon.{stage}``; ``E`` ∈ Li, Ni, Co, Mn, C.

JSON uses camelCase keys (``model_dump(by_alias=True)``); Python uses snake_case attributes.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic.alias_generators import to_camel

from passport.errors import NotFoundError

ORIGINS = (
    "extracted",
    "recycled-pre-consumer",
    "recycled-post-consumer",
    "synthetic",
    "unknown",
)
"""Where element mass comes from: an Extraction lot; recycled intake (pre-/post-consumer) at a
recycler; synthetic-graphite feedstock at its producer; an untraced external input."""

Severity = Literal["info", "warning", "high"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)


class Amount(_Model):
    """An element mass and its share of a whole (the element's mass unless said otherwise)."""

    micrograms: int
    percent: str


class FacilityAmount(_Model):
    """Element mass originating at one facility (a mine, a recycler, a synthetic-graphite plant)."""

    actor: str
    facility: str
    country: str
    origin: str
    micrograms: int
    percent: str


class DueDiligenceCoverage(_Model):
    """Art. 48 due-diligence coverage of one element.

    ``base_micrograms`` is the mined plus unknown-origin mass (recycled and synthetic material are
    outside raw-material due diligence); ``covered_micrograms`` the part of it every handler of
    which (miner, refiners, makers) had a due-diligence report valid at its record's time."""

    covered_micrograms: int
    base_micrograms: int
    percent: str


class ElementFigures(_Model):
    """Everything about one element contained in the lot."""

    element: str
    micrograms: int
    origin: dict[str, Amount]
    """Always all of :data:`ORIGINS`; micrograms add up to ``micrograms``, percents to 100."""
    by_country: dict[str, Amount]
    """Country of origin: mine country (extracted), recycler country (recycled), producer country
    (synthetic). With ``origin['unknown']`` the percents add up to 100."""
    by_facility: list[FacilityAmount]
    by_deposit_type: dict[str, Amount]
    """Extracted mass by deposit / ore type (e.g. nickel lateritic vs sulfidic); share of all."""
    by_mining_method: dict[str, Amount]
    """Extracted mass by mining method (industrial vs artisanal-small-scale); share of all."""
    cahra: Amount
    """Extracted mass from countries on the configured CAHRA list."""
    recycled_pre_consumer: Amount
    recycled_post_consumer: Amount
    """Recycled content (Art. 8) through the graph: physical allocation from recycled intake, except
    that a mass-balance output's claims replace the physical figure."""
    certified: dict[str, Amount]
    """Per scheme: share of the element that passed through a facility, actor or lot holding a
    certificate of the scheme valid at that record's time (expired, revoked, retracted: missing)."""
    due_diligence: DueDiligenceCoverage | None
    """Only for the configured due-diligence elements (Co, natural-graphite C, Li, Ni)."""


class GraphiteFigures(_Model):
    """Graphite carbon (C): natural vs synthetic, each by origin country; shares of all C."""

    natural: Amount
    synthetic: Amount
    recycled: Amount
    unknown: Amount
    natural_by_country: dict[str, Amount]
    synthetic_by_country: dict[str, Amount]


class StageCarbon(_Model):
    """A carbon figure in mg CO2e (exact integers) and kg CO2e (exact decimal string)."""

    milligrams: int
    kg_co2e: str = Field(alias="kgCO2e")
    primary_milligrams: int
    default_milligrams: int


class CarbonFigures(_Model):
    """Cradle-to-gate carbon footprint of the lot (Art. 7 stages; use phase excluded).

    ``primary`` = attested lot footprints and records' own declared emissions; ``default`` = the
    configured default factors for lots and steps with neither."""

    total: StageCarbon
    stages: dict[str, StageCarbon]
    per_kg: str
    """kg CO2e per kg of the lot, 6 decimals."""
    primary_percent: str
    default_percent: str


class RiskFlag(_Model):
    """A risk, explained: which figure shows it and which records are the evidence."""

    code: str
    severity: Severity
    message: str
    element: str | None = None
    percent: str | None = None
    figure: str | None = None
    evidence: list[str]


class TrailEntry(_Model):
    """One record's contribution to a figure.

    A reader not entitled to a confidential record's content (``passport.document.access``)
    gets the entry with ``lot`` and ``amount`` null and a note saying they are withheld: the
    record hash and kind are public, the supplier's grams are not."""

    record: str
    kind: str
    lot: str | None
    amount: int | None
    note: str


class Trail(_Model):
    """How a figure was computed: its value and every contribution (amounts add up to ``value``
    for sums; for coverage figures the entries are the covered parts)."""

    figure: str
    description: str
    unit: Literal["µg", "mg CO2e"]
    value: int
    entries: list[TrailEntry]


class ProvenanceSize(_Model):
    """How much of the ledger the roll-up read."""

    lots: int
    steps: int
    edges: int
    attestations: int
    records: int
    """Steps plus attestations: the provenance records the figures rest on."""


class TrailSource(Protocol):
    """Builds trails on demand (kept by the roll-up that computed them)."""

    def figure_ids(self) -> list[str]:
        """Every figure id with a trail, sorted."""

    def trail(self, figure: str) -> Trail | None:
        """The trail of one figure, or None."""


class Rollup(_Model):
    """Roll-up of one lot's provenance (a pack above all), as of ``at``.

    Trails are built on demand from the contributions the computation kept, so that a roll-up
    costs no more than its figures: :meth:`explain` gives one figure's trail, :attr:`trails` all of
    them. ``figures`` lists every figure id. A roll-up re-read from JSON has no trails."""

    lot: str
    record: str
    mass_grams: int
    at: str
    elements: dict[str, ElementFigures]
    graphite: GraphiteFigures | None
    carbon: CarbonFigures
    flags: list[RiskFlag]
    figures: list[str]
    provenance: ProvenanceSize
    _source: TrailSource | None = PrivateAttr(default=None)
    _trails: dict[str, Trail] | None = PrivateAttr(default=None)

    def figure_ids(self) -> list[str]:
        """Every figure id that has a trail, sorted."""
        return list(self.figures)

    def explain(self, figure: str) -> Trail:
        """The trail of one figure; :class:`NotFoundError` listing the known ids otherwise."""
        trail = self._source.trail(figure) if self._source is not None else None
        if trail is None:
            raise NotFoundError(f"no figure {figure!r}", figures=self.figure_ids())
        return trail

    @property
    def trails(self) -> dict[str, Trail]:
        """Every figure's trail, keyed by figure id (built once, on first access)."""
        if self._trails is None:
            self._trails = {f: self.explain(f) for f in self.figures} if self._source else {}
        return self._trails
