"""The sample supply chain: a deterministic, seedable generator of a realistic mine-to-vehicle
chain for EV packs, appended through the ledger's public interface as signed records.

:func:`build_sample_ledger` registers the actors (:mod:`samples.catalogue`), their certificates
and due-diligence reports, then follows the materials:

- cobalt from the DR Congo: an industrial copper-cobalt mine making cobalt hydroxide, and an
  artisanal cooperative's hand-sorted heterogenite (flagged by the roll-ups), refined to cobalt
  sulfate in Finland;
- nickel from Indonesian laterite (HPAL → mixed hydroxide precipitate) and a Canadian sulfide
  mine (concentrate), refined in Finland to nickel sulfate with cobalt sulfate as a by-product;
- lithium from Australian spodumene (SC6 concentrate, converted in China) and Chilean brine
  (carbonate), to lithium hydroxide (NMC) or carbonate (LFP);
- manganese from South Africa as high-purity manganese sulfate;
- natural flake graphite from Mozambique and synthetic graphite from needle coke in China, both
  made into anode material;
- precursor and cathode material, cells (with electrode scrap), modules, packs and vehicles;
- a recycler turning end-of-life packs (post-consumer) and the cell maker's scrap
  (pre-consumer) into recovered nickel, cobalt, manganese and lithium that flow back into cathode
  material, claimed under mass balance on a "recycled grade";
- carbon-footprint attestations and declared emissions at each stage; certificates (IRMA, TSM,
  RMI RMAP), one of them expired and one revoked; OECD due-diligence reports.

Packs alternate between two cathode grades: odd-numbered packs get the standard grade (no
recycled content: they **fail** the Art. 8 minimums of 2031), even-numbered packs the recycled
grade (they **pass** them). Upstream bulk lots (tonnes) are shared by many packs; masses are
integer grams and element contents integer ppm, and every step's element balance holds exactly.

Every provenance record of a kind with confidential members is signed confidential (see
docs/records.md "Confidential records"): volumes, counterparties, sites and emissions are
concealed, and lot ids are opaque. Keys come from the seed, lot ids from a keyed hash of counters
under the seed, the Disclosures' salts from the signers' keys and the records' chain positions
(:func:`passport.records.confidential.derived_salts`), ``validFrom`` stamps from a fixed base
date, so the same seed gives the same records (the ledger's acceptance times and the passports'
random identifiers and issue times differ between runs).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Final

from passport.document.ids import digital_link
from passport.ledger.keystore import save_key
from passport.ledger.pipeline import Ledger
from passport.records.confidential import new_lot_id
from samples.catalogue import ACTORS, BY_SLUG, actor_key
from samples.chain import ChainWriter, SampleLoadError, Timeline
from samples.designs import (
    COSO4,
    DESIGNS,
    ELECTROLYTE,
    LI2CO3,
    LIOH,
    MNSO4,
    MODELS_DIR,
    NEEDLE_COKE,
    NISO4,
    PCAM_NMC811,
    SC6,
    SCRAP_PERCENT,
    SPHERICAL_GRAPHITE,
    SYNTHETIC_GRAPHITE,
    PackDesign,
    load_model,
)
from samples.passports import issue_sample_passports
from signing.keys import SigningKey

BASE_DATE: Final = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
"""Day 0 of the sample's timeline; the packs are made between April and August 2026."""

"""The OEM's model data files (``bpass passport issue --model``)."""

DEFAULT_BASE_URL: Final = "http://127.0.0.1:8000"
"""Where the packs' GS1 Digital Link identifiers point (the default ``public_base_url``)."""

MIN_SCALE: Final = 10
"""Upstream lots are sized for at least this many packs: a mine's or refinery's lot is bulk."""

CELL_BATCH_PACKS: Final = 8
"""Packs' worth of cells per cell production batch."""

NMC_ONLY: Final = frozenset(
    {"lcc", "bothnia", "hni", "sbn", "satakunta", "kalahari", "mpumalanga", "aurora"}
)
"""Actors that only take part in the NMC811 chain."""
LFP_ONLY: Final = frozenset({"hubei"})
"""Actors that only take part in the LFP chain."""

STANDARD, RECYCLED = "standard", "recycled"
"""The two cathode grades."""

Progress = Callable[[int, int], None]


# -- the summary ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleActorInfo:
    """A sample actor: its DID, roles, key and, when written, its key file."""

    slug: str
    name: str
    did: str
    roles: tuple[str, ...]
    country: str
    key: SigningKey = field(repr=False)
    key_file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (without the private key)."""
        return {
            "slug": self.slug,
            "name": self.name,
            "did": self.did,
            "roles": list(self.roles),
            "country": self.country,
            "keyFile": str(self.key_file) if self.key_file else None,
        }


@dataclass
class SamplePack:
    """One sample pack: its lot, serial, cathode grade, vehicle and passport."""

    index: int
    lot: str
    record: str
    serial: str
    battery_id: str
    grade: str
    vehicle_lot: str
    made_on: str
    passport_id: str | None = None
    passport_record: str | None = None

    @property
    def expected_art8_2031(self) -> bool:
        """Whether the sample means this pack to meet the Art. 8 recycled-content minimums of
        2031 (Co 16 %, Li 6 %, Ni 6 %): the recycled grade does, the standard grade does not."""
        return self.grade == RECYCLED

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "index": self.index,
            "packLot": self.lot,
            "packRecord": self.record,
            "serial": self.serial,
            "batteryId": self.battery_id,
            "grade": self.grade,
            "vehicleLot": self.vehicle_lot,
            "madeOn": self.made_on,
            "expectedArt8_2031": "pass" if self.expected_art8_2031 else "fail",
            "passportId": self.passport_id,
            "passportRecord": self.passport_record,
        }


@dataclass
class SampleSummary:
    """What :func:`build_sample_ledger` made."""

    seed: int
    chemistry: str
    model_file: Path
    actors: dict[str, SampleActorInfo]
    packs: list[SamplePack]
    record_counts: dict[str, int]
    seconds: float
    lots: dict[str, str] = field(default_factory=dict)
    """Notable lots by role in the story (e.g. ``cobalt-artisanal``) → lot id."""
    records: dict[str, str] = field(default_factory=dict)
    """Notable records by role in the story (e.g. ``certificate-revoked``) → record hash."""

    @property
    def total_records(self) -> int:
        """Records appended, passports included."""
        return sum(self.record_counts.values())

    def actor(self, slug: str) -> SampleActorInfo:
        """A sample actor by slug."""
        return self.actors[slug]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (without private keys)."""
        return {
            "seed": self.seed,
            "chemistry": self.chemistry,
            "modelFile": str(self.model_file),
            "records": self.total_records,
            "recordCounts": dict(sorted(self.record_counts.items())),
            "seconds": round(self.seconds, 3),
            "actors": [a.to_dict() for a in self.actors.values()],
            "packs": [p.to_dict() for p in self.packs],
            "lots": dict(self.lots),
            "storyRecords": dict(self.records),
        }


# -- small exact helpers ----------------------------------------------------------------------
def ceil_div(a: int, b: int) -> int:
    """⌈a / b⌉ for non-negative integers."""
    return -(-a // b)


def kg(value: Decimal) -> str:
    """A kg CO2e figure as the decimal string records carry (three decimals)."""
    return format(value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP), "f")


def sha256_text(text: str) -> str:
    """``sha256:<hex>`` of a text (stands in for the hash of a report's bytes)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Lot:
    """A lot the generator created: id, creating record, mass, element contents, product."""

    id: str
    record: str
    grams: int
    ppm: dict[str, int]
    product: str
    creator: str

    def ug(self, grams: int | None = None) -> dict[str, int]:
        """Element masses in micrograms of ``grams`` of the lot (default all of it)."""
        g = self.grams if grams is None else grams
        return {e: g * p for e, p in self.ppm.items() if p}

    def ref(self) -> dict[str, str]:
        """The lot reference ``{"type": "lot", "lot", "record"}`` of attestations."""
        return {"type": "lot", "lot": self.id, "record": self.record}


@dataclass
class Out:
    """An output lot of a transformation to be."""

    code: str
    product: str
    grams: int
    ppm: dict[str, int]
    claims: list[dict[str, Any]] | None = None
    product_id: str | None = None


@dataclass
class Ext:
    """An external input (material from outside the ledger)."""

    source: str
    description: str
    grams: int
    ppm: dict[str, int] = field(default_factory=dict)

    def to_subject(self) -> dict[str, Any]:
        """The ``externalInputs[]`` entry."""
        out: dict[str, Any] = {
            "source": self.source,
            "description": self.description,
            "massGrams": self.grams,
        }
        if self.ppm:
            out["elements"] = dict(self.ppm)
        return out


def _add(total: dict[str, int], part: dict[str, int]) -> None:
    for e, v in part.items():
        total[e] = total.get(e, 0) + v


# -- the generator ----------------------------------------------------------------------------
class _Builder:
    """Signs the whole sample chain with a :class:`ChainWriter`, keeping lots and holdings."""

    def __init__(
        self,
        ledger: Ledger,
        operator_key: SigningKey,
        *,
        packs: int,
        seed: int,
        design: PackDesign,
        base_url: str,
    ) -> None:
        self.ledger = ledger
        self.operator = operator_key
        self.packs = packs
        self.seed = seed
        self.d = design
        self.base_url = base_url
        self.nmc = design.chemistry == "NMC811"
        self.t = Timeline(BASE_DATE)
        self.w = ChainWriter(ledger, batch_size=10**9)  # sign everything first, append later
        self.keys = {a.slug: actor_key(seed, a.slug) for a in ACTORS}
        self.lot_key = hashlib.sha256(f"bpass sample lot ids, seed {seed}".encode()).digest()
        self.lots: dict[str, Lot] = {}
        self.held: dict[str, dict[str, int]] = {a.slug: {} for a in ACTORS}
        self.counters: Counter[str] = Counter()
        self.notes: dict[str, str] = {}
        self.story: dict[str, str] = {}
        self.model = load_model(design)
        self.gtin = str(self.model["point1"]["identification"]["gtin"])
        self.pack_list: list[SamplePack] = []
        self.scale = max(packs, MIN_SCALE)
        grades = [STANDARD if i % 2 else RECYCLED for i in range(1, packs + 1)]
        self.grade_of = dict(enumerate(grades, start=1))
        self.n = {g: grades.count(g) for g in (STANDARD, RECYCLED)}
        self.cell_lot_of: dict[int, Lot] = {}
        self.recycled_share: dict[str, dict[str, tuple[int, int]]] = {}

    # -- primitives ---------------------------------------------------------------------------
    def did(self, slug: str) -> str:
        """An actor's DID."""
        return self.keys[slug].did

    def sign(self, slug: str, kind: str, subject: dict[str, Any], day: float) -> str:
        """Sign a record by actor ``slug`` on day ``day`` of the timeline."""
        return self.w.sign_at(self.keys[slug], kind, subject, at=self.t.at(day))

    def lot_id(self, slug: str, code: str) -> str:
        """A new opaque lot id (:func:`passport.records.confidential.new_lot_id`: lot ids are
        public and must not name the actor, the product or a count), its bits a keyed hash of
        the counter of (actor, product code) under the seed, so the same seed gives the same
        ids."""
        self.counters[f"{slug}:{code}"] += 1
        label = f"{slug}:{code}:{self.counters[f'{slug}:{code}']}".encode()
        return new_lot_id(hmac.new(self.lot_key, label, hashlib.sha256).digest())

    def hold(self, slug: str, lot: Lot, grams: int) -> None:
        """Change an actor's holding of a lot (negative: it leaves)."""
        now = self.held[slug].get(lot.id, 0) + grams
        if now < 0:
            raise SampleLoadError(f"{slug} would hold {now} g of {lot.id}")
        self.held[slug][lot.id] = now

    def holding(self, slug: str, lot: Lot) -> int:
        """Grams of a lot an actor holds."""
        return self.held[slug].get(lot.id, 0)

    def extract(
        self,
        slug: str,
        facility: str,
        *,
        material: str,
        product: str,
        deposit: str,
        method: str,
        grams: int,
        ppm: dict[str, int],
        month: tuple[str, str],
        day: float,
        emissions_kg: Decimal | None = None,
    ) -> Lot:
        """An Extraction lot in the miner's custody."""
        spec = BY_SLUG[slug]
        lot = Lot(self.lot_id(slug, "ore"), "", grams, dict(ppm), product, slug)
        subject: dict[str, Any] = {
            "lot": lot.id,
            "material": material,
            "product": product,
            "depositType": deposit,
            "miningMethod": method,
            "facility": facility,
            "country": spec.facility(facility).country,
            "massGrams": grams,
            "elements": dict(ppm),
            "period": {"start": f"{month[0]}T00:00:00Z", "end": f"{month[1]}T23:59:59Z"},
        }
        if emissions_kg is not None:
            subject["emissions"] = {"raw-material-acquisition": kg(emissions_kg)}
        lot.record = self.sign(slug, "Extraction", subject, day)
        self.lots[lot.id] = lot
        self.hold(slug, lot, grams)
        return lot

    def transform(
        self,
        slug: str,
        facility: str,
        step: str,
        custody: str,
        *,
        inputs: Sequence[tuple[Lot, int] | tuple[Lot, int, str]],
        outputs: Sequence[Out],
        day: float,
        externals: Sequence[Ext] = (),
        emissions: dict[str, Decimal] | None = None,
    ) -> list[Lot]:
        """A Transformation by ``slug``; checks custody and the element balance before signing."""
        pool: dict[str, int] = {}
        entries = []
        for item in inputs:
            lot, grams = item[0], item[1]
            if grams <= 0 or grams > self.holding(slug, lot):
                raise SampleLoadError(
                    f"{slug} cannot consume {grams} g of {lot.id}: holds {self.holding(slug, lot)}"
                )
            entry: dict[str, Any] = {"lot": lot.id, "record": lot.record, "massGrams": grams}
            if len(item) == 3:
                entry["recycled"] = item[2]
            entries.append(entry)
            _add(pool, lot.ug(grams))
        for ext in externals:
            _add(pool, {e: ext.grams * p for e, p in ext.ppm.items()})
        leaving: dict[str, int] = {}
        for out in outputs:
            _add(leaving, {e: out.grams * p for e, p in out.ppm.items()})
        for e, value in leaving.items():
            if value > pool.get(e, 0):
                raise SampleLoadError(
                    f"{step} by {slug}: {e} {value} µg leave, only {pool.get(e, 0)} µg enter"
                )
        subject: dict[str, Any] = {
            "processStep": step,
            "custody": custody,
            "facility": facility,
            "inputs": entries,
            "outputs": [],
        }
        made = []
        for out in outputs:
            lot = Lot(self.lot_id(slug, out.code), "", out.grams, dict(out.ppm), out.product, slug)
            spec: dict[str, Any] = {
                "lot": lot.id,
                "product": out.product,
                "massGrams": out.grams,
                "elements": dict(out.ppm),
            }
            if out.product_id:
                spec["productId"] = out.product_id
            if out.claims:
                spec["claims"] = out.claims
            subject["outputs"].append(spec)
            made.append(lot)
        if externals:
            subject["externalInputs"] = [x.to_subject() for x in externals]
        if emissions:
            subject["emissions"] = {stage: kg(v) for stage, v in emissions.items()}
        digest = self.sign(slug, "Transformation", subject, day)
        for item in inputs:
            self.hold(slug, item[0], -item[1])
        for lot in made:
            lot.record = digest
            self.lots[lot.id] = lot
            self.hold(slug, lot, lot.grams)
        return made

    def transfer(self, seller: str, buyer: str, lot: Lot, grams: int, day: float) -> None:
        """A Transfer by the seller and the buyer's acceptance."""
        self.counters["delivery"] += 1
        subject = {
            "lot": lot.id,
            "record": lot.record,
            "massGrams": grams,
            "buyer": self.did(buyer),
            "reference": f"DN-2026-{self.counters['delivery']:05d}",
        }
        self.hold(seller, lot, -grams)
        digest = self.sign(seller, "Transfer", subject, day)
        self.sign(buyer, "TransferAcceptance", {"transfer": digest, "decision": "accepted"}, day)
        self.hold(buyer, lot, grams)

    def footprint(
        self,
        slug: str,
        lot: Lot,
        per_kg: dict[str, str],
        day: float,
        *,
        verifier: str | None = None,
    ) -> str:
        """A cradle-to-gate CarbonFootprint of a lot, by its creator."""
        study = f"PCF-{lot.creator}-{lot.product} (ISO 14067, cradle-to-gate)"
        subject: dict[str, Any] = {
            "subject": lot.ref(),
            "boundary": "cradle-to-gate",
            "perKg": per_kg,
            "method": "ISO 14067:2018 with the Battery Pass carbon footprint rules",
            "study": study,
            "studyHash": sha256_text(study),
        }
        if verifier:
            subject["verifier"] = self.did(verifier)
        return self.sign(slug, "CarbonFootprint", subject, day)

    def take(self, slug: str, product: str, need_ug: int, element: str) -> list[tuple[Lot, int]]:
        """Lots of ``product`` held by ``slug`` (oldest first) that carry ``need_ug`` of
        ``element``, with the grams to take of each."""
        picks = []
        for lot_id, grams in self.held[slug].items():
            lot = self.lots[lot_id]
            if need_ug <= 0:
                break
            if lot.product != product or grams <= 0:
                continue
            use = min(grams, ceil_div(need_ug, lot.ppm[element]))
            picks.append((lot, use))
            need_ug -= use * lot.ppm[element]
        if need_ug > 0:
            raise SampleLoadError(f"{slug} lacks {need_ug} µg of {element} as {product}")
        return picks

    def ship(
        self, seller: str, buyer: str, product: str, need_ug: int, element: str, day: float
    ) -> None:
        """Transfer enough ``product`` from seller to buyer to carry ``need_ug`` of ``element``."""
        for lot, grams in self.take(seller, product, need_ug, element):
            self.transfer(seller, buyer, lot, grams, day)

    def ship_all(self, seller: str, buyer: str, lots: Sequence[Lot], day: float) -> None:
        """Transfer the seller's whole holding of each lot."""
        for lot in lots:
            grams = self.holding(seller, lot)
            if grams:
                self.transfer(seller, buyer, lot, grams, day)

    # -- the story ----------------------------------------------------------------------------
    def run(self) -> None:
        """Sign the whole chain (nothing is appended yet)."""
        self.register()
        self.assurance()
        if self.nmc:
            self.cobalt()
            self.nickel()
            self.manganese()
        self.lithium()
        self.graphite()
        self.cathode(STANDARD, day=60)
        self.cells(STANDARD, day=70)
        self.recycling(day=90)
        self.cathode(RECYCLED, day=104)
        self.cells(RECYCLED, day=112)
        self.assemble(day=125)
        self.retract(day=228)

    def register(self) -> None:
        """The operator registers every actor with its facilities."""
        for spec in ACTORS:
            self.w.sign_at(
                self.operator,
                "ActorRegistration",
                spec.registration(self.did(spec.slug)),
                at=self.t.at(0),
            )

    def certificate(
        self,
        certifier: str,
        slug: str,
        facility: str,
        scheme: str,
        cert_id: str,
        *,
        scope: str,
        level: str,
        valid: tuple[str, str],
        elements: list[str] | None = None,
    ) -> str:
        """A certifier's Certification of a facility."""
        subject: dict[str, Any] = {
            "subject": {"type": "facility", "actor": self.did(slug), "facility": facility},
            "scheme": scheme,
            "certificateId": cert_id,
            "scope": scope,
            "level": level,
            "validFrom": f"{valid[0]}T00:00:00Z",
            "validUntil": f"{valid[1]}T23:59:59Z",
        }
        if elements:
            subject["elements"] = elements
        return self.sign(certifier, "Certification", subject, 1)

    def assurance(self) -> None:
        """Certificates (one expired before use, one to be revoked) and due-diligence reports."""
        self.story["certificate-irma-brine"] = self.certificate(
            "terra",
            "andino",
            "andino-salar",
            "IRMA",
            "IRMA-CL-2025-014",
            scope="IRMA Standard for Responsible Mining v1.0: brine wells and evaporation ponds",
            level="IRMA 50",
            valid=("2025-04-01", "2028-03-31"),
        )
        self.story["certificate-irma-spodumene"] = self.certificate(
            "terra",
            "pilbara",
            "pilbara-mine",
            "IRMA",
            "IRMA-AU-2025-031",
            scope="IRMA Standard for Responsible Mining v1.0: open pit and concentrator",
            level="IRMA 75",
            valid=("2025-09-15", "2028-09-14"),
        )
        self.story["certificate-revoked"] = self.certificate(
            "terra",
            "hni",
            "hni-weda-mine",
            "IRMA",
            "IRMA-ID-2025-007",
            scope="IRMA Standard for Responsible Mining v1.0: limonite pits and haul roads",
            level="IRMA 50",
            valid=("2025-06-01", "2028-05-31"),
        )
        self.certificate(
            "terra",
            "sbn",
            "sbn-mine",
            "TSM",
            "TSM-CA-2025-112",
            scope="Towards Sustainable Mining protocols, externally verified",
            level="AA",
            valid=("2025-01-01", "2027-12-31"),
        )
        if self.nmc:
            self.story["certificate-rmap-cobalt"] = self.certificate(
                "rap",
                "bothnia",
                "bothnia-kokkola",
                "RMI-RMAP",
                "RMAP-CO-FI-0042",
                scope="RMI Responsible Minerals Assurance Process, cobalt refiner standard",
                level="conformant",
                valid=("2025-08-01", "2027-07-31"),
                elements=["Co"],
            )
            self.certificate(
                "rap",
                "satakunta",
                "satakunta-harjavalta",
                "RMI-RMAP",
                "RMAP-NI-FI-0007",
                scope="RMI Responsible Minerals Assurance Process, nickel and cobalt refining",
                level="conformant",
                valid=("2025-11-01", "2027-10-31"),
                elements=["Ni", "Co"],
            )
        self.story["certificate-expired"] = self.certificate(
            "rap",
            "minjiang",
            "minjiang-meishan",
            "RMI-RMAP",
            "RMAP-LI-CN-0019",
            scope="RMI Responsible Minerals Assurance Process, lithium converter",
            level="conformant",
            valid=("2023-02-01", "2026-01-31"),
            elements=["Li"],
        )
        skip = LFP_ONLY if self.nmc else NMC_ONLY
        for slug, findings, verifier in DUE_DILIGENCE:
            if slug not in skip:
                self.due_diligence(slug, findings, verifier)

    def due_diligence(self, slug: str, findings: list[dict[str, str]], verifier: str | None) -> str:
        """An actor's own OECD five-step due-diligence report."""
        spec = BY_SLUG[slug]
        ref = f"{spec.name}: Supply Chain Due Diligence Report 2025/26 (OECD DDG, steps 1-5)"
        subject: dict[str, Any] = {
            "subject": {"type": "actor", "actor": self.did(slug)},
            "framework": "OECD-DDG",
            "reportRef": ref,
            "reportHash": sha256_text(ref),
            "stepsCovered": [1, 2, 3, 4, 5],
            "validFrom": "2025-07-01T00:00:00Z",
            "validUntil": "2027-06-30T23:59:59Z",
            "riskFindings": findings,
        }
        if verifier:
            subject["verifier"] = self.did(verifier)
        return self.sign(slug, "DueDiligence", subject, 2)

    # -- demand -----------------------------------------------------------------------------
    def cam_per_pack(self) -> int:
        """Cathode active material consumed per pack at the cell step (scrap included), g."""
        return ceil_div(self.d.cells * self.d.cam_g_per_cell * 100, 100 - SCRAP_PERCENT)

    def upstream_ug(self, element: str) -> int:
        """Element mass the upstream lots are sized for (bulk, with margin), µg."""
        return self.cam_per_pack() * self.d.cam_ppm[element] * self.scale * 14 // 10

    # -- cobalt -----------------------------------------------------------------------------
    def cobalt(self) -> None:
        """DR Congo: industrial ore → hydroxide; artisanal heterogenite; refined in Finland."""
        need = self.upstream_ug("Co") * 3 // 4  # the rest comes with the nickel
        industrial = need * 85 // 100
        ore_ppm = {"Co": 3_000}
        lots = []
        for i, month in enumerate((("2025-11-01", "2025-11-30"), ("2025-12-01", "2025-12-31"))):
            grams = ceil_div(industrial // 2, 3_000 * 80 // 100 * 97 // 100)
            ore = self.extract(
                "lcc",
                "lcc-kolwezi",
                material="cobalt",
                product="copper-cobalt ore",
                deposit="copper-cobalt",
                method="industrial",
                grams=grams,
                ppm=ore_ppm,
                month=month,
                day=5 + i,
                emissions_kg=Decimal(grams) * Decimal("0.012") / 1000,
            )
            pool = ore.ug()["Co"] * 80 // 100
            hyd_g = pool // 300_000
            (hyd,) = self.transform(
                "lcc",
                "lcc-kolwezi",
                "concentration",
                "identity-preserved",
                inputs=[(ore, ore.grams)],
                outputs=[Out("coh", "cobalt hydroxide", hyd_g, {"Co": 300_000})],
                day=12 + i,
            )
            self.footprint("lcc", hyd, {"raw-material-acquisition": "3.850"}, 13 + i)
            lots.append(hyd)
            self.notes.setdefault("cobalt-industrial", ore.id)
        artisanal_g = ceil_div(need - industrial, 100_000 * 97 // 100)
        het = self.extract(
            "comakat",
            "comakat-kasulo",
            material="cobalt",
            product="hand-sorted heterogenite",
            deposit="copper-cobalt",
            method="artisanal-small-scale",
            grams=artisanal_g,
            ppm={"Co": 100_000},
            month=("2025-12-01", "2025-12-31"),
            day=8,
        )
        self.notes["cobalt-artisanal"] = het.id
        self.ship_all("lcc", "bothnia", lots, 20)
        self.ship_all("comakat", "bothnia", [het], 21)
        inputs = [*lots, het]
        pool = sum(lot.ug()["Co"] for lot in inputs) * 97 // 100
        grams = pool // COSO4["Co"]
        (coso4,) = self.transform(
            "bothnia",
            "bothnia-kokkola",
            "refining",
            "controlled-blending",
            inputs=[(lot, lot.grams) for lot in inputs],
            outputs=[Out("coso4", "cobalt sulfate heptahydrate", grams, COSO4)],
            day=36,
        )
        self.footprint(
            "bothnia",
            coso4,
            {"raw-material-acquisition": "6.150"},
            37,
            verifier="rap",
        )
        self.notes["cobalt-sulfate"] = coso4.id

    # -- nickel -----------------------------------------------------------------------------
    def nickel(self) -> None:
        """Indonesian laterite (HPAL → MHP) and Canadian sulfide concentrate, refined in Finland."""
        need = self.upstream_ug("Ni")
        laterite_ppm = {"Ni": 12_000, "Co": 1_100}
        mhp_lots = []
        for i, month in enumerate((("2025-11-01", "2025-11-30"), ("2025-12-01", "2025-12-31"))):
            grams = ceil_div(need * 6 // 10 // 2, 12_000 * 92 // 100 * 96 // 100)
            ore = self.extract(
                "hni",
                "hni-weda-mine",
                material="nickel",
                product="limonite laterite ore",
                deposit="lateritic",
                method="industrial",
                grams=grams,
                ppm=laterite_ppm,
                month=month,
                day=5 + i,
                emissions_kg=Decimal(grams) * Decimal("0.018") / 1000,
            )
            self.notes.setdefault("nickel-laterite", ore.id)
            ug = ore.ug()
            mhp_g = ug["Ni"] * 92 // 100 // 390_000
            co_ppm = ug["Co"] * 90 // 100 // mhp_g
            (mhp,) = self.transform(
                "hni",
                "hni-hpal",
                "refining",
                "identity-preserved",
                inputs=[(ore, ore.grams)],
                outputs=[
                    Out("mhp", "mixed hydroxide precipitate", mhp_g, {"Ni": 390_000, "Co": co_ppm})
                ],
                day=14 + i,
            )
            self.footprint("hni", mhp, {"raw-material-acquisition": "14.600"}, 15 + i)
            mhp_lots.append(mhp)
        ore_g = ceil_div(need * 4 // 10, 15_000 * 85 // 100 * 96 // 100)
        ore = self.extract(
            "sbn",
            "sbn-mine",
            material="nickel",
            product="nickel-copper sulfide ore",
            deposit="sulfidic",
            method="industrial",
            grams=ore_g,
            ppm={"Ni": 15_000, "Co": 500},
            month=("2025-12-01", "2025-12-31"),
            day=6,
            emissions_kg=Decimal(ore_g) * Decimal("0.025") / 1000,
        )
        self.notes["nickel-sulfide"] = ore.id
        ug = ore.ug()
        conc_g = ug["Ni"] * 85 // 100 // 120_000
        (conc,) = self.transform(
            "sbn",
            "sbn-mine",
            "concentration",
            "identity-preserved",
            inputs=[(ore, ore.grams)],
            outputs=[
                Out(
                    "nic",
                    "nickel sulfide concentrate",
                    conc_g,
                    {"Ni": 120_000, "Co": ug["Co"] * 80 // 100 // conc_g},
                )
            ],
            day=13,
        )
        self.footprint("sbn", conc, {"raw-material-acquisition": "1.120"}, 14)
        self.ship_all("hni", "satakunta", mhp_lots, 22)
        self.ship_all("sbn", "satakunta", [conc], 24)
        inputs = [*mhp_lots, conc]
        pool: dict[str, int] = {}
        for lot in inputs:
            _add(pool, lot.ug())
        ni_g = pool["Ni"] * 96 // 100 // NISO4["Ni"]
        co_g = pool["Co"] * 90 // 100 // COSO4["Co"]
        niso4, coso4 = self.transform(
            "satakunta",
            "satakunta-harjavalta",
            "refining",
            "segregated",
            inputs=[(lot, lot.grams) for lot in inputs],
            outputs=[
                Out("niso4", "nickel sulfate hexahydrate", ni_g, NISO4),
                Out("coso4", "cobalt sulfate heptahydrate", co_g, COSO4),
            ],
            day=38,
            emissions={"raw-material-acquisition": Decimal(ni_g + co_g) * Decimal("0.9") / 1000},
        )
        self.footprint(
            "satakunta", niso4, {"raw-material-acquisition": "6.420"}, 39, verifier="rap"
        )
        self.footprint(
            "satakunta", coso4, {"raw-material-acquisition": "5.780"}, 39, verifier="rap"
        )
        self.notes["nickel-sulfate"] = niso4.id

    # -- manganese --------------------------------------------------------------------------
    def manganese(self) -> None:
        """South African ore to high-purity manganese sulfate monohydrate."""
        ore_g = ceil_div(self.upstream_ug("Mn"), 380_000 * 90 // 100)
        ore = self.extract(
            "kalahari",
            "kalahari-mine",
            material="manganese",
            product="manganese ore",
            deposit="sedimentary",
            method="industrial",
            grams=ore_g,
            ppm={"Mn": 380_000},
            month=("2025-12-01", "2025-12-31"),
            day=7,
            emissions_kg=Decimal(ore_g) * Decimal("0.030") / 1000,
        )
        self.transfer("kalahari", "mpumalanga", ore, ore.grams, 23)
        grams = ore.ug()["Mn"] * 90 // 100 // MNSO4["Mn"]
        (mnso4,) = self.transform(
            "mpumalanga",
            "mpumalanga-plant",
            "refining",
            "identity-preserved",
            inputs=[(ore, ore.grams)],
            outputs=[Out("mnso4", "high-purity manganese sulfate monohydrate", grams, MNSO4)],
            day=40,
        )
        self.footprint("mpumalanga", mnso4, {"raw-material-acquisition": "1.580"}, 41)

    # -- lithium ----------------------------------------------------------------------------
    def lithium(self) -> None:
        """Australian spodumene → SC6 → converter in China; Chilean brine → carbonate."""
        need = self.upstream_ug("Li")
        spod_share = 3 if self.nmc else 2  # quarters of the lithium from spodumene
        ore_g = ceil_div(need * spod_share // 4, 6_500 * 75 // 100 * 90 // 100)
        ore = self.extract(
            "pilbara",
            "pilbara-mine",
            material="lithium",
            product="spodumene pegmatite ore",
            deposit="spodumene",
            method="industrial",
            grams=ore_g,
            ppm={"Li": 6_500},
            month=("2025-12-01", "2025-12-31"),
            day=5,
            emissions_kg=Decimal(ore_g) * Decimal("0.020") / 1000,
        )
        self.notes["lithium-spodumene"] = ore.id
        sc6_g = ore.ug()["Li"] * 75 // 100 // SC6["Li"]
        (sc6,) = self.transform(
            "pilbara",
            "pilbara-mine",
            "concentration",
            "identity-preserved",
            inputs=[(ore, ore.grams)],
            outputs=[Out("sc6", "spodumene concentrate SC6", sc6_g, SC6)],
            day=12,
        )
        self.footprint("pilbara", sc6, {"raw-material-acquisition": "0.450"}, 13, verifier="terra")
        brine_share = 4 - spod_share
        brine_g = ceil_div(need * brine_share // 4, 1_800 * 50 // 100 * 85 // 100 * 90 // 100)
        brine = self.extract(
            "andino",
            "andino-salar",
            material="lithium",
            product="lithium brine",
            deposit="brine",
            method="industrial",
            grams=brine_g,
            ppm={"Li": 1_800},
            month=("2025-10-01", "2025-12-31"),
            day=6,
        )
        self.notes["lithium-brine"] = brine.id
        conc_g = brine.ug()["Li"] * 50 // 100 // 60_000
        (conc,) = self.transform(
            "andino",
            "andino-salar",
            "concentration",
            "identity-preserved",
            inputs=[(brine, brine.grams)],
            outputs=[Out("lib", "concentrated lithium brine (6 % Li)", conc_g, {"Li": 60_000})],
            day=14,
        )
        carb_g = conc.ug()["Li"] * 85 // 100 // LI2CO3["Li"]
        (carbonate,) = self.transform(
            "andino",
            "andino-carbonate",
            "refining",
            "identity-preserved",
            inputs=[(conc, conc.grams)],
            outputs=[Out("li2co3", "battery-grade lithium carbonate", carb_g, LI2CO3)],
            day=30,
            emissions={"raw-material-acquisition": Decimal(carb_g) * Decimal("1.4") / 1000},
        )
        self.footprint("andino", carbonate, {"raw-material-acquisition": "2.900"}, 31)
        self.transfer("pilbara", "minjiang", sc6, sc6.grams, 25)
        if self.nmc:
            # Carbonate-to-hydroxide conversion blends the Chilean carbonate in.
            self.transfer("andino", "minjiang", carbonate, carbonate.grams, 33)
            pool = (sc6.ug()["Li"] + carbonate.ug()["Li"]) * 90 // 100
            (product,) = self.transform(
                "minjiang",
                "minjiang-meishan",
                "refining",
                "controlled-blending",
                inputs=[(sc6, sc6.grams), (carbonate, carbonate.grams)],
                outputs=[
                    Out(
                        "lioh",
                        "battery-grade lithium hydroxide monohydrate",
                        pool // LIOH["Li"],
                        LIOH,
                    )
                ],
                day=42,
            )
            self.footprint("minjiang", product, {"raw-material-acquisition": "12.800"}, 43)
            self.notes["lithium-hydroxide"] = product.id
        else:
            pool = sc6.ug()["Li"] * 90 // 100
            (product,) = self.transform(
                "minjiang",
                "minjiang-meishan",
                "refining",
                "identity-preserved",
                inputs=[(sc6, sc6.grams)],
                outputs=[
                    Out("li2co3", "battery-grade lithium carbonate", pool // LI2CO3["Li"], LI2CO3)
                ],
                day=42,
            )
            self.footprint("minjiang", product, {"raw-material-acquisition": "11.300"}, 43)

    # -- graphite ---------------------------------------------------------------------------
    def anode_need(self) -> tuple[int, int]:
        """(natural, synthetic) anode material consumed per pack at the cell step, g."""
        total = ceil_div(self.d.cells * self.d.anode_g_per_cell * 100, 100 - SCRAP_PERCENT)
        natural = total * self.d.natural_graphite_percent // 100
        return natural + 1, total - natural + 1

    def graphite(self) -> None:
        """Mozambican flake → spherical coated graphite; needle coke → synthetic graphite."""
        natural, synthetic = self.anode_need()
        nat_total = natural * self.scale * 13 // 10
        syn_total = synthetic * self.scale * 13 // 10
        ore_g = ceil_div(nat_total * SPHERICAL_GRAPHITE["C"] * 2, 160_000 * 85 // 100)
        ore = self.extract(
            "cabo",
            "cabo-mine",
            material="graphite",
            product="graphite ore",
            deposit="natural-flake",
            method="industrial",
            grams=ore_g,
            ppm={"C": 160_000},
            month=("2025-11-01", "2025-12-31"),
            day=6,
            emissions_kg=Decimal(ore_g) * Decimal("0.010") / 1000,
        )
        self.notes["graphite-natural"] = ore.id
        flake_g = ore.ug()["C"] * 85 // 100 // 950_000
        (flake,) = self.transform(
            "cabo",
            "cabo-mine",
            "concentration",
            "identity-preserved",
            inputs=[(ore, ore.grams)],
            outputs=[Out("flake", "flake graphite concentrate (95 % C)", flake_g, {"C": 950_000})],
            day=13,
        )
        self.footprint("cabo", flake, {"raw-material-acquisition": "0.350"}, 14)
        self.transfer("cabo", "ganjiang", flake, flake.grams, 26)
        sph_g = flake.ug()["C"] // 2 // SPHERICAL_GRAPHITE["C"]  # spheronisation yield about 50 %
        (sph,) = self.transform(
            "ganjiang",
            "ganjiang-natural",
            "anode-material",
            "identity-preserved",
            inputs=[(flake, flake.grams)],
            outputs=[Out("nga", "spherical coated natural graphite", sph_g, SPHERICAL_GRAPHITE)],
            day=44,
        )
        self.footprint("ganjiang", sph, {"raw-material-acquisition": "4.700"}, 45)
        coke_g = ceil_div(syn_total * SYNTHETIC_GRAPHITE["C"] * 100, NEEDLE_COKE["C"] * 80)
        (syn,) = self.transform(
            "ganjiang",
            "ganjiang-graphitisation",
            "anode-material",
            "controlled-blending",
            inputs=[],
            externals=[
                Ext(
                    "synthetic-feedstock",
                    "calcined petroleum needle coke and coal-tar pitch binder",
                    coke_g,
                    NEEDLE_COKE,
                )
            ],
            outputs=[
                Out("sga", "synthetic graphite anode material", syn_total, SYNTHETIC_GRAPHITE)
            ],
            day=46,
            emissions={"raw-material-acquisition": Decimal(syn_total) * Decimal("13.5") / 1000},
        )
        self.footprint("ganjiang", syn, {"raw-material-acquisition": "14.200"}, 47)
        self.notes["graphite-synthetic"] = syn.id

    # -- cathode material -------------------------------------------------------------------
    def cathode(self, grade: str, day: float) -> None:
        """A cathode campaign for the packs of ``grade``; the recycled grade takes the recovered
        material and claims its credits under mass balance."""
        packs = self.n[grade]
        if packs == 0:
            return
        cam_g = self.cam_per_pack() * packs * 101 // 100
        if self.nmc:
            self.nmc_cathode(grade, cam_g, day)
        else:
            self.lfp_cathode(grade, cam_g, day)

    def recovered(self, product: str) -> list[tuple[Lot, int]]:
        """The material maker's holdings of a recovered (recycled) product."""
        maker = "aurora" if self.nmc else "hubei"
        return [
            (self.lots[i], g)
            for i, g in self.held[maker].items()
            if g and self.lots[i].product == product and self.lots[i].creator == "rbr"
        ]

    def claims_for(
        self, recovered: Sequence[tuple[Lot, int]], elements: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Mass-balance claims backed by the recycled credits of the recovered inputs (with a
        2 % margin under the exact credits the ledger computes)."""
        claims = []
        for e in elements:
            for kind in ("pre-consumer", "post-consumer"):
                share = self.recycled_share[e][kind]
                ug = sum(lot.ug(g).get(e, 0) for lot, g in recovered)
                grams = ug * share[0] // share[1] * 98 // 100 // 1_000_000
                if grams > 0:
                    claims.append({"type": f"recycled-{kind}", "element": e, "grams": grams})
        return claims

    def nmc_cathode(self, grade: str, cam_g: int, day: float) -> None:
        """Sulfates → precursor (pCAM) → with lithium hydroxide, NMC811 cathode (CAM)."""
        cam = {e: cam_g * p for e, p in self.d.cam_ppm.items()}
        pcam_g = max(ceil_div(cam[e] * 1000, PCAM_NMC811[e] * 995) for e in ("Ni", "Co", "Mn"))
        recycled = grade == RECYCLED
        balance_g = pcam_g // 5 if recycled else 0  # the campaign's mass-balance stock
        outputs_ug = {e: (pcam_g + balance_g) * p for e, p in PCAM_NMC811.items()}
        sources = {
            "Ni": ("satakunta", NISO4),
            "Co": ("bothnia", COSO4),
            "Mn": ("mpumalanga", MNSO4),
        }
        products = {
            "Ni": "nickel sulfate hexahydrate",
            "Co": "cobalt sulfate heptahydrate",
            "Mn": "high-purity manganese sulfate monohydrate",
        }
        rec_inputs: list[tuple[Lot, int]] = []
        for e in ("Ni", "Co", "Mn"):
            rec = self.recovered(f"recovered {products[e]}") if recycled else []
            rec_inputs += rec
            have = sum(lot.ug(g)[e] for lot, g in rec) + sum(
                self.lots[i].ug(g).get(e, 0)
                for i, g in self.held["aurora"].items()
                if self.lots[i].product == products[e]
            )
            need = ceil_div(outputs_ug[e] * 1000, 995) - have
            if need > 0:
                seller = sources[e][0]
                if e == "Co":
                    # Four fifths of the cobalt sulfate from the cobalt refinery (DR Congo feed),
                    # one fifth from the nickel refinery's by-product (Indonesia, Canada).
                    first = need * 4 // 5
                    self.ship("bothnia", "aurora", products["Co"], first, "Co", day - 4)
                    self.ship("satakunta", "aurora", products["Co"], need - first, "Co", day - 4)
                else:
                    self.ship(seller, "aurora", products[e], need, e, day - 4)
        inputs: list[tuple[Lot, int]] = list(rec_inputs)
        for e in ("Ni", "Co", "Mn"):
            rec_ug = sum(
                lot.ug(g)[e] for lot, g in rec_inputs if lot.product == f"recovered {products[e]}"
            )
            rest = ceil_div(outputs_ug[e] * 1000, 995) - rec_ug
            if rest > 0:
                inputs += self.take("aurora", products[e], rest, e)
        outs = [Out("pcam", f"NMC811 precursor ({grade} grade)", pcam_g, PCAM_NMC811)]
        if recycled:
            outs[0].claims = self.claims_for(rec_inputs, ("Ni", "Co", "Mn"))
            outs.append(
                Out("pcam", "NMC811 precursor (mass-balance stock)", balance_g, PCAM_NMC811)
            )
        made = self.transform(
            "aurora",
            "aurora-hamina",
            "precursor",
            "mass-balance" if recycled else "controlled-blending",
            inputs=inputs,
            outputs=outs,
            day=day,
            emissions={
                "raw-material-acquisition": Decimal(pcam_g + balance_g) * Decimal("2.4") / 1000
            },
        )
        pcam = made[0]
        li_need = ceil_div(cam["Li"] * 103 * 1000, 100 * 995)  # 3 % lithium excess
        li_inputs: list[tuple[Lot, int]] = []
        rec_li = self.recovered("recovered lithium hydroxide monohydrate") if recycled else []
        li_inputs += rec_li
        rest = li_need - sum(lot.ug(g)["Li"] for lot, g in rec_li)
        if rest > 0:
            held_li = sum(
                self.lots[i].ug(g).get("Li", 0)
                for i, g in self.held["aurora"].items()
                if self.lots[i].product == "battery-grade lithium hydroxide monohydrate"
            )
            if held_li < rest:
                self.ship(
                    "minjiang",
                    "aurora",
                    "battery-grade lithium hydroxide monohydrate",
                    rest - held_li,
                    "Li",
                    day - 3,
                )
            li_inputs += self.take(
                "aurora", "battery-grade lithium hydroxide monohydrate", rest, "Li"
            )
        (cam_lot,) = self.transform(
            "aurora",
            "aurora-hamina",
            "cathode-material",
            "controlled-blending",
            inputs=[(pcam, pcam.grams), *li_inputs],
            outputs=[
                Out("cam", f"NMC811 cathode active material ({grade} grade)", cam_g, self.d.cam_ppm)
            ],
            day=day + 3,
            emissions={"raw-material-acquisition": Decimal(cam_g) * Decimal("3.9") / 1000},
        )
        self.notes[f"cathode-{grade}"] = cam_lot.id
        self.transfer("aurora", "tisza", cam_lot, cam_lot.grams, day + 6)

    def lfp_cathode(self, grade: str, cam_g: int, day: float) -> None:
        """Lithium carbonate and iron phosphate → LFP cathode; the recycled grade under mass
        balance with recovered carbonate."""
        recycled = grade == RECYCLED
        balance_g = cam_g // 5 if recycled else 0
        li_out = (cam_g + balance_g) * self.d.cam_ppm["Li"]
        li_need = ceil_div(li_out * 102 * 1000, 100 * 995)
        rec = self.recovered("recovered battery-grade lithium carbonate") if recycled else []
        rest = li_need - sum(lot.ug(g)["Li"] for lot, g in rec)
        inputs: list[tuple[Lot, int]] = list(rec)
        if rest > 0:
            held_li = sum(
                self.lots[i].ug(g).get("Li", 0)
                for i, g in self.held["hubei"].items()
                if self.lots[i].product == "battery-grade lithium carbonate"
            )
            if held_li < rest:
                half = (rest - held_li) // 2
                self.ship("andino", "hubei", "battery-grade lithium carbonate", half, "Li", day - 4)
                self.ship(
                    "minjiang",
                    "hubei",
                    "battery-grade lithium carbonate",
                    rest - held_li - half,
                    "Li",
                    day - 4,
                )
            inputs += self.take("hubei", "battery-grade lithium carbonate", rest, "Li")
        fepo4 = (cam_g + balance_g) * 96 // 100
        outs = [Out("cam", f"LFP cathode active material ({grade} grade)", cam_g, self.d.cam_ppm)]
        if recycled:
            outs[0].claims = self.claims_for(rec, ("Li",))
            outs.append(
                Out(
                    "cam",
                    "LFP cathode active material (mass-balance stock)",
                    balance_g,
                    self.d.cam_ppm,
                )
            )
        made = self.transform(
            "hubei",
            "hubei-yichang",
            "cathode-material",
            "mass-balance" if recycled else "controlled-blending",
            inputs=inputs,
            externals=[Ext("untraced", "iron phosphate (FePO4·2H2O), purchased", fepo4)],
            outputs=outs,
            day=day,
            emissions={
                "raw-material-acquisition": Decimal(cam_g + balance_g) * Decimal("2.6") / 1000
            },
        )
        self.notes[f"cathode-{grade}"] = made[0].id
        self.transfer("hubei", "tisza", made[0], made[0].grams, day + 6)

    # -- cells ------------------------------------------------------------------------------
    def cells(self, grade: str, day: float) -> None:
        """Cell batches of up to :data:`CELL_BATCH_PACKS` packs' worth, with electrode scrap."""
        indices = [i for i, g in self.grade_of.items() if g == grade]
        if not indices:
            return
        d = self.d
        natural, synthetic = self.anode_need()
        total_packs = len(indices)
        anodes = (
            ("spherical coated natural graphite", natural, SPHERICAL_GRAPHITE["C"]),
            ("synthetic graphite anode material", synthetic, SYNTHETIC_GRAPHITE["C"]),
        )
        for product, per_pack, ppm in anodes:
            need_ug = per_pack * total_packs * ppm
            held = sum(
                self.lots[i].ug(g).get("C", 0)
                for i, g in self.held["tisza"].items()
                if self.lots[i].product == product
            )
            if held < need_ug:
                self.ship("ganjiang", "tisza", product, need_ug - held, "C", day - 2)
        cam_lot = self.lots[self.notes[f"cathode-{grade}"]]
        chunks = [
            indices[i : i + CELL_BATCH_PACKS] for i in range(0, len(indices), CELL_BATCH_PACKS)
        ]
        for b, chunk in enumerate(chunks):
            n_cells = d.cells * len(chunk)
            cam_use = min(self.holding("tisza", cam_lot), self.cam_per_pack() * len(chunk))
            inputs: list[tuple[Lot, int]] = [(cam_lot, cam_use)]
            for product, per_pack, ppm in anodes:
                inputs += self.take("tisza", product, per_pack * len(chunk) * ppm, "C")
            pool: dict[str, int] = {}
            for lot, g in inputs:
                _add(pool, lot.ug(g))
            electrolyte = Ext(
                "untraced",
                "electrolyte: LiPF6 in ethylene and dimethyl carbonate, purchased",
                n_cells * d.electrolyte_g_per_cell,
                ELECTROLYTE,
            )
            _add(pool, {"Li": electrolyte.grams * ELECTROLYTE["Li"]})
            other = Ext(
                "untraced",
                "aluminium and copper foils, separator, prismatic cans, tabs",
                n_cells * d.other_cell_g,
            )
            cell_g = n_cells * d.cell_g
            in_cells = {e: n_cells * d.cam_g_per_cell * p for e, p in d.cam_ppm.items()}
            in_cells["C"] = n_cells * d.anode_g_per_cell * SPHERICAL_GRAPHITE["C"]
            in_cells["Li"] = in_cells.get("Li", 0) + electrolyte.grams * ELECTROLYTE["Li"]
            cell_ppm = {e: min(v, pool[e]) // cell_g for e, v in in_cells.items()}
            scrap_g = sum(g for _, g in inputs) - n_cells * (d.cam_g_per_cell + d.anode_g_per_cell)
            scrap_g = scrap_g * 13 // 10  # with the foils the coatings sit on
            scrap_ppm = {e: (pool[e] - cell_ppm[e] * cell_g) * 90 // 100 // scrap_g for e in pool}
            cell_lot, scrap = self.transform(
                "tisza",
                "tisza-debrecen",
                "cell",
                "controlled-blending",
                inputs=inputs,
                externals=[electrolyte, other],
                outputs=[
                    Out(
                        "cells",
                        f"{n_cells} prismatic {d.chemistry} cells, {d.cell_wh} Wh",
                        cell_g,
                        cell_ppm,
                    ),
                    Out("scrap", "electrode production scrap", scrap_g, scrap_ppm),
                ],
                day=day + b,
                emissions={"main-production": d.cell_kg_co2e * n_cells},
            )
            self.notes.setdefault(f"cells-{grade}", cell_lot.id)
            for i in chunk:
                self.cell_lot_of[i] = cell_lot
            self.transfer("tisza", "ebs", cell_lot, cell_lot.grams, day + b + 2)
            if grade == STANDARD:
                self.transfer("tisza", "rbr", scrap, scrap.grams, day + b + 3)

    # -- recycling --------------------------------------------------------------------------
    def recycling(self, day: float) -> None:
        """End-of-life packs (post-consumer) and cell scrap (pre-consumer) → black mass →
        recovered sulfates and lithium salt, shipped to the cathode maker."""
        d = self.d
        key = "Co" if self.nmc else "Li"
        packs = max(self.n[RECYCLED], 1)
        target = self.cam_per_pack() * packs * d.cam_ppm[key] * (25 if self.nmc else 14) // 100
        eol_g = ceil_div(target, d.eol_ppm[key] * 96 * 90 // 10_000)
        scraps = [(self.lots[i], g) for i, g in self.held["rbr"].items() if g]
        pre: dict[str, int] = {}
        for lot, g in scraps:
            _add(pre, lot.ug(g))
        eol = Ext(
            "post-consumer-waste",
            f"end-of-life EV battery packs ({'NMC622' if self.nmc else 'LFP'}), "
            "collected in the EU, discharged",
            eol_g,
            d.eol_ppm,
        )
        post = {e: eol_g * p for e, p in d.eol_ppm.items()}
        pool = dict(pre)
        _add(pool, post)
        self.recycled_share = {
            e: {
                "pre-consumer": (pre.get(e, 0), pool[e]),
                "post-consumer": (post.get(e, 0), pool[e]),
            }
            for e in pool
        }
        bm_g = (eol_g + sum(g for _, g in scraps)) * 40 // 100
        bm_ppm = {e: v * 96 // 100 // bm_g for e, v in pool.items()}
        metals_g = (eol_g + sum(g for _, g in scraps)) * 45 // 100
        bm, _metals = self.transform(
            "rbr",
            "rbr-dormagen",
            "recycling",
            "controlled-blending",
            inputs=[(lot, g, "pre-consumer") for lot, g in scraps],
            externals=[eol],
            outputs=[
                Out("bm", "black mass", bm_g, bm_ppm),
                Out("metals", "aluminium, copper and steel fractions", metals_g, {}),
            ],
            day=day,
            emissions={"raw-material-acquisition": Decimal(eol_g) * Decimal("0.35") / 1000},
        )
        self.notes["black-mass"] = bm.id
        ug = bm.ug()
        outs = []
        recovery: tuple[tuple[str, str, dict[str, int], int, str], ...]
        if self.nmc:
            recovery = (
                ("Ni", "recovered nickel sulfate hexahydrate", NISO4, 95, "rniso4"),
                ("Co", "recovered cobalt sulfate heptahydrate", COSO4, 95, "rcoso4"),
                ("Mn", "recovered high-purity manganese sulfate monohydrate", MNSO4, 90, "rmnso4"),
                ("Li", "recovered lithium hydroxide monohydrate", LIOH, 85, "rlioh"),
            )
        else:
            recovery = (("Li", "recovered battery-grade lithium carbonate", LI2CO3, 85, "rli2co3"),)
        for e, product, ppm, rate, code in recovery:
            outs.append(Out(code, product, ug[e] * rate // 100 // ppm[e], ppm))
        made = self.transform(
            "rbr",
            "rbr-dormagen",
            "material-recovery",
            "controlled-blending",
            inputs=[(bm, bm.grams)],
            outputs=outs,
            day=day + 4,
            emissions={
                "raw-material-acquisition": Decimal(sum(o.grams for o in outs))
                * Decimal("2.2")
                / 1000
            },
        )
        self.story["recycling-step"] = bm.record
        self.story["material-recovery-step"] = made[0].record
        for lot in made:
            self.notes.setdefault(f"recovered-{lot.product}", lot.id)
        self.ship_all("rbr", "aurora" if self.nmc else "hubei", made, day + 8)

    # -- modules, packs, vehicles -----------------------------------------------------------
    def assemble(self, day: float) -> None:
        """Per pack: modules, the pack (with its GS1 Digital Link), delivery to the OEM and the
        vehicle it goes into."""
        d = self.d
        span = 100
        for i in range(1, self.packs + 1):
            when = day + span * (i - 1) / max(self.packs, 1)
            cells = self.cell_lot_of[i]
            grams = d.cells * d.cell_g
            ug = cells.ug(grams)
            per_module = {e: v // d.modules // d.module_g for e, v in ug.items()}
            modules = self.transform(
                "ebs",
                "ebs-leipzig",
                "module",
                "controlled-blending",
                inputs=[(cells, grams)],
                externals=[
                    Ext(
                        "untraced",
                        "module frames, busbars, cell-contacting systems",
                        d.modules * d.module_frame_g,
                    )
                ],
                outputs=[
                    Out(
                        "module",
                        f"battery module ({d.cells_per_module} cells)",
                        d.module_g,
                        per_module,
                    )
                    for _ in range(d.modules)
                ],
                day=when,
                emissions={"main-production": Decimal(d.modules) * Decimal("2.4")},
            )
            pool: dict[str, int] = {}
            for m in modules:
                _add(pool, m.ug())
            serial = f"{d.serial_prefix}-{self.seed}-{i:05d}"
            link = digital_link(self.base_url, self.gtin, serial)
            (pack,) = self.transform(
                "ebs",
                "ebs-leipzig",
                "pack",
                "controlled-blending",
                inputs=[(m, m.grams) for m in modules],
                externals=[
                    Ext(
                        "untraced",
                        "pack housing, cooling plate, battery management system, junction box",
                        d.pack_extra_g,
                    )
                ],
                outputs=[
                    Out(
                        "pack",
                        f"{d.energy_kwh} kWh {d.chemistry} EV battery pack",
                        d.pack_g,
                        {e: v // d.pack_g for e, v in pool.items()},
                        product_id=link,
                    )
                ],
                day=when + 1,
                emissions={
                    "main-production": Decimal("118.5"),
                    "distribution": Decimal("74.0"),
                    "end-of-life": Decimal("108.0"),
                },
            )
            self.transfer("ebs", "elbe", pack, pack.grams, when + 2)
            (vehicle,) = self.transform(
                "elbe",
                "elbe-zwickau",
                "vehicle-integration",
                "controlled-blending",
                inputs=[(pack, pack.grams)],
                externals=[
                    Ext("untraced", "vehicle glider: body, drivetrain, interior", d.vehicle_extra_g)
                ],
                outputs=[
                    Out(
                        "vehicle",
                        f"Elbe Motors E{d.energy_kwh} electric vehicle",
                        pack.grams + d.vehicle_extra_g,
                        {e: v // (pack.grams + d.vehicle_extra_g) for e, v in pack.ug().items()},
                    )
                ],
                day=when + 4,
            )
            made_on = self.t.day(when + 1).strftime("%Y-%m-%d")
            self.pack_list.append(
                SamplePack(
                    index=i,
                    lot=pack.id,
                    record=pack.record,
                    serial=serial,
                    battery_id=link,
                    grade=self.grade_of[i],
                    vehicle_lot=vehicle.id,
                    made_on=made_on,
                )
            )

    def retract(self, day: float) -> None:
        """The certifier revokes the laterite mine's IRMA certificate after a tailings incident."""
        self.story["retraction"] = self.sign(
            "terra",
            "Retraction",
            {
                "record": self.story["certificate-revoked"],
                "reason": "certificate suspended: the 2026 surveillance audit found unremediated "
                "critical non-conformities at the tailings storage facility",
            },
            day,
        )


DUE_DILIGENCE: Final[list[tuple[str, list[dict[str, str]], str | None]]] = [
    (
        "lcc",
        [
            {
                "category": "child-labour",
                "severity": "medium",
                "country": "CD",
                "description": "artisanal diggers entering the concession perimeter at night",
                "mitigation": "fenced perimeter, community liaison, ASM formalisation programme",
            }
        ],
        None,
    ),
    (
        "bothnia",
        [
            {
                "category": "conflict-financing",
                "severity": "medium",
                "country": "CD",
                "description": "part of the feed is artisanal heterogenite from a CAHRA",
                "mitigation": "mine-site visits, chain-of-custody documents, RMAP assessment",
            }
        ],
        "rap",
    ),
    (
        "hni",
        [
            {
                "category": "environment",
                "severity": "high",
                "country": "ID",
                "description": "deforestation of laterite pits and HPAL tailings storage",
                "mitigation": "dry-stack tailings plan, reforestation bond",
            },
            {
                "category": "indigenous-rights",
                "severity": "medium",
                "country": "ID",
                "description": "consultation with forest-dwelling communities incomplete",
            },
        ],
        None,
    ),
    ("sbn", [], None),
    ("satakunta", [], "rap"),
    (
        "pilbara",
        [
            {
                "category": "indigenous-rights",
                "severity": "low",
                "country": "AU",
                "description": "cultural heritage sites on the lease",
                "mitigation": "heritage agreement with the Traditional Owners",
            }
        ],
        None,
    ),
    (
        "andino",
        [
            {
                "category": "environment",
                "severity": "medium",
                "country": "CL",
                "description": "brine pumping and the water balance of the salar",
                "mitigation": "hydrogeological monitoring published monthly",
            },
            {
                "category": "indigenous-rights",
                "severity": "medium",
                "country": "CL",
                "description": "free, prior and informed consent of Atacameño communities",
                "mitigation": "benefit-sharing agreement, grievance mechanism",
            },
        ],
        None,
    ),
    (
        "minjiang",
        [
            {
                "category": "environment",
                "severity": "medium",
                "country": "CN",
                "description": "coal-heavy electricity for roasting and conversion",
            }
        ],
        None,
    ),
    ("kalahari", [], None),
    ("mpumalanga", [], None),
    (
        "cabo",
        [
            {
                "category": "human-rights",
                "severity": "medium",
                "country": "MZ",
                "description": "security situation in Cabo Delgado; conduct of security providers",
                "mitigation": "Voluntary Principles on Security and Human Rights",
            }
        ],
        None,
    ),
    ("ganjiang", [], None),
    ("aurora", [], None),
    ("hubei", [], None),
    ("tisza", [], None),
    ("ebs", [], None),
    ("elbe", [], None),
    ("rbr", [], None),
]
"""Each supply-chain actor's own due-diligence report (actor, risk findings, verifier); the
artisanal cooperative has none, so cobalt's due-diligence coverage stays below 100 %."""


# -- entry point ------------------------------------------------------------------------------
def build_sample_ledger(
    ledger: Ledger,
    *,
    packs: int,
    seed: int = 42,
    chemistry: str = "NMC811",
    progress: Progress | None = None,
    operator_key: SigningKey,
    base_url: str = DEFAULT_BASE_URL,
    key_dir: Path | None = None,
    issue_passports: bool = True,
    confidential: bool = True,
) -> SampleSummary:
    """Append the sample supply chain for ``packs`` EV packs to an initialised ledger.

    ``operator_key`` is the ledger operator's key (it signs the actor registrations);
    ``base_url`` is the resolver of the packs' GS1 Digital Link identifiers (the server's public
    base URL); ``key_dir``, if given, receives every sample actor's key file (``<slug>.key``,
    PKCS#8 PEM, mode 0600). With ``issue_passports`` the OEM issues one passport per pack from
    the model data in ``samples/models``. ``progress(done, total)`` is called as records are
    appended and passports issued. Provenance records are confidential unless ``confidential``
    is False (then every record is plain, with the same figures: a baseline for tests).
    """
    if packs < 1:
        raise ValueError("packs must be at least 1")
    if chemistry not in DESIGNS:
        raise ValueError(f"chemistry must be one of {', '.join(DESIGNS)}")
    started = time.perf_counter()
    design = DESIGNS[chemistry]
    builder = _Builder(
        ledger, operator_key, packs=packs, seed=seed, design=design, base_url=base_url
    )
    builder.w.confidential = confidential
    builder.run()
    records, disclosures = builder.w.pending, builder.w.pending_disclosures
    total = len(records) + (packs if issue_passports else 0)
    done = 0
    for start in range(0, len(records), 500):
        builder.w.pending = records[start : start + 500]
        builder.w.pending_disclosures = disclosures[start : start + 500]
        done += builder.w.flush()
        if progress is not None:
            progress(done, total)
    counts = dict(builder.w.counts)
    actors = {}
    for spec in ACTORS:
        key = builder.keys[spec.slug]
        path = None
        if key_dir is not None:
            path = key_dir / f"{spec.slug}.key"
            if not path.exists():
                save_key(key, path)
        actors[spec.slug] = SampleActorInfo(
            spec.slug, spec.name, key.did, spec.roles, spec.country, key, path
        )
    summary = SampleSummary(
        seed=seed,
        chemistry=chemistry,
        model_file=MODELS_DIR / design.model_file,
        actors=actors,
        packs=builder.pack_list,
        record_counts=counts,
        seconds=0.0,
        lots=dict(builder.notes),
        records=dict(builder.story),
    )
    if issue_passports:

        def step() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        issue_sample_passports(ledger, summary, base_url=base_url, on_issued=step)
    summary.seconds = time.perf_counter() - started
    return summary
