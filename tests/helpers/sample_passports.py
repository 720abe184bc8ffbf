"""Test fixtures of passports: hand-made ledger figures and a complete passport document per
category (tests without a ledger), and a small supply chain on a ledger that ends in one pack lot
in the OEM's custody (tests that issue passports).

The chain is a short path through the sample world of ``samples/`` (the actors of
:mod:`samples.catalogue`, the OEM's model data of :mod:`samples.models`), not a world of its own.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from passport.document.body import new_document
from passport.document.figures import carbon_figures, fixed
from passport.document.ids import digital_link
from passport.document.regulation import MASS_QUANTUM, PLACEHOLDER_CLASS_TABLE, CarbonClassTable
from passport.ledger.pipeline import Ledger
from samples.catalogue import BY_SLUG
from samples.models import CATEGORIES, sample_model
from samples.passports import OEM, SERVICE_PARTNER
from signing.keys import SigningKey

__all__ = [
    "CATEGORIES",
    "SAMPLE_ACTORS",
    "SampleChain",
    "build_sample_chain",
    "sample_document",
    "sample_figures",
    "sample_model",
]


def sample_figures(
    category: str = "ev", table: CarbonClassTable = PLACEHOLDER_CLASS_TABLE
) -> dict[str, Any]:
    """Hand-made ledger figures consistent with :func:`sample_model` (tests without a ledger)."""
    energy = Decimal(sample_model(category)["point1"]["carbonFootprint"]["serviceLifeEnergyKWh"])
    scale = {
        "ev": Fraction(1),
        "lmt": Fraction(1, 150),
        "industrial": Fraction(2, 5),
        "stationary": Fraction(4, 3),
    }[category]
    absolute = {
        "rawMaterialAcquisition": Fraction(3600) * scale,
        "mainProduction": Fraction(1850) * scale,
        "distribution": Fraction(75) * scale,
        "endOfLifeAndRecycling": Fraction(100) * scale,
    }
    out = carbon_figures(
        absolute, service_life_energy_kwh=energy, table=table, primary_share=Fraction(62, 100)
    )
    lfp = category in ("industrial", "stationary")
    recycled = {
        "cobalt": {"preConsumerPercent": "4.00", "postConsumerPercent": "14.00"},
        "lithium": {"preConsumerPercent": "2.50", "postConsumerPercent": "5.00"},
        "nickel": {"preConsumerPercent": "3.00", "postConsumerPercent": "5.50"},
        "manganese": {"preConsumerPercent": "0.00", "postConsumerPercent": "3.00"},
        "graphite": {"preConsumerPercent": "0.00", "postConsumerPercent": "0.00"},
    }
    diligence = {
        "cobalt": {"coveragePercent": "100.00"},
        "naturalGraphite": {"coveragePercent": "85.00"},
        "lithium": {"coveragePercent": "100.00"},
        "nickel": {"coveragePercent": "92.50"},
    }
    materials: dict[str, Any] = {
        "lithium": {
            "originByCountry": [
                {"country": "AU", "sharePercent": "60.00"},
                {"country": "CL", "sharePercent": "35.00"},
            ],
            "unknownOriginPercent": "5.00",
            "oreTypes": [
                {"oreType": "spodumene", "sharePercent": "60.00"},
                {"oreType": "brine", "sharePercent": "35.00"},
            ],
        },
        "nickel": {
            "originByCountry": [
                {"country": "ID", "sharePercent": "55.00"},
                {"country": "CA", "sharePercent": "40.00"},
            ],
            "unknownOriginPercent": "5.00",
            "oreTypes": [
                {"oreType": "lateritic", "sharePercent": "55.00"},
                {"oreType": "sulfidic", "sharePercent": "40.00"},
            ],
        },
        "cobalt": {
            "originByCountry": [
                {"country": "CD", "sharePercent": "70.00"},
                {"country": "AU", "sharePercent": "25.00"},
            ],
            "unknownOriginPercent": "5.00",
            "cahraPercent": "70.00",
            "artisanalPercent": "0.00",
            "oreTypes": [
                {"oreType": "copper-cobalt", "sharePercent": "70.00"},
                {"oreType": "sulfidic", "sharePercent": "25.00"},
            ],
        },
        "manganese": {
            "originByCountry": [
                {"country": "ZA", "sharePercent": "80.00"},
                {"country": "GA", "sharePercent": "20.00"},
            ],
            "unknownOriginPercent": "0.00",
        },
        "graphite": {
            "originByCountry": [
                {"country": "MZ", "sharePercent": "50.00"},
                {"country": "CN", "sharePercent": "20.00"},
            ],
            "unknownOriginPercent": "30.00",
            "oreTypes": [{"oreType": "natural-flake", "sharePercent": "60.00"}],
        },
    }
    pack_masses = {
        "lithium": 8500,
        "nickel": 45200,
        "cobalt": 5700,
        "manganese": 5300,
        "graphite": 52000,
    }
    masses = {e: fixed(Fraction(g, 1000) * scale, MASS_QUANTUM) for e, g in pack_masses.items()}
    facilities = [
        {
            "element": "lithium",
            "actor": "did:web:pilbara.example",
            "facility": "pilbara-mine",
            "country": "AU",
            "origin": "extracted",
            "sharePercent": "60.00",
        },
        {
            "element": "cobalt",
            "actor": "did:web:lcc.example",
            "facility": "lcc-kolwezi",
            "country": "CD",
            "origin": "extracted",
            "sharePercent": "70.00",
        },
        {
            "element": "nickel",
            "actor": "did:web:hni.example",
            "facility": "hni-weda-mine",
            "country": "ID",
            "origin": "extracted",
            "sharePercent": "55.00",
        },
    ]
    flags = [
        {
            "flag": "cahra",
            "severity": "high",
            "element": "cobalt",
            "percent": "70.00",
            "description": "Cobalt mined in the DR Congo, a conflict-affected and high-risk area.",
        },
        {
            "flag": "lateritic-nickel",
            "severity": "warning",
            "element": "nickel",
            "percent": "55.00",
            "description": "Nickel from lateritic ore.",
        },
    ]
    if lfp:
        for element in ("cobalt", "nickel", "manganese"):
            recycled.pop(element)
            materials.pop(element)
            masses.pop(element)
            diligence.pop(element, None)
        facilities = facilities[:1]
        flags = []
        out_certs = [{"scheme": "IRMA", "element": "lithium", "coveragePercent": "35.00"}]
    else:
        out_certs = [
            {"scheme": "IRMA", "element": "lithium", "coveragePercent": "35.00"},
            {"scheme": "RMI-RMAP", "element": "cobalt", "coveragePercent": "95.00"},
        ]
    out.update(
        {
            "/point1/recycledContent": recycled,
            "/point1/responsibleSourcing/dueDiligence": diligence,
            "/point1/responsibleSourcing/materials": materials,
            "/point1/responsibleSourcing/graphite": {
                "naturalPercent": "60.00",
                "syntheticPercent": "30.00",
                "recycledPercent": "0.00",
                "unknownPercent": "10.00",
            },
            "/point1/responsibleSourcing/certifications": out_certs,
            "/point1/responsibleSourcing/riskFlags": flags,
            "/point2/elementMassesKg": masses,
            "/point3/supplyChainEvidence": {
                "originByFacility": facilities,
                "provenanceRecords": 42,
            },
        }
    )
    return out


def sample_document(
    category: str = "ev",
    *,
    passport_id: str = "urn:bpass:00000000000000000000000000000001",
    base_url: str = "https://id.elbe-motors.example",
    serial: str = "P75-000001",
    issued_at: str = "2026-11-05T09:00:00Z",
    operator_did: str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
) -> dict[str, Any]:
    """A complete, valid passport document of ``category`` built from the samples (put into
    service on 2 November 2026)."""
    model = sample_model(category)
    model["point4"]["puttingIntoService"] = "2026-11-02T08:00:00Z"
    model["point1"]["identification"]["serialNumber"] = serial
    gtin = model["point1"]["identification"]["gtin"]
    return new_document(
        model,
        sample_figures(category),
        passport_id=passport_id,
        battery_id=digital_link(base_url, gtin, serial),
        issued_at=issued_at,
        operator={
            "id": operator_did,
            "name": BY_SLUG[OEM].name,
            **copy.deepcopy(model["economicOperator"]),
        },
    )


# -- a short path through the sample world on a ledger, ending in one pack lot --------------------
SAMPLE_ACTORS: dict[str, str] = {
    # handle: catalogue slug (samples/catalogue.py)
    "li-au": "pilbara",  # spodumene, Australia
    "li-cl": "andino",  # brine, Chile (miner and refiner)
    "ni-id": "hni",  # laterite, Indonesia
    "ni-ca": "sbn",  # sulfide, Canada
    "co-cd": "lcc",  # copper-cobalt, DR Congo
    "mn-za": "kalahari",  # sedimentary manganese, South Africa
    "c-mz": "cabo",  # natural flake graphite, Mozambique
    "recycler": "rbr",  # black mass in, recovered Co/Ni/Li out
    "recycler2": "rbr",  # the sample world has one recycler: it also ends the pack's life
    "cathode": "aurora",  # NMC cathode active material
    "anode": "ganjiang",  # natural and synthetic graphite anode material
    "cells": "tisza",
    "maker": "ebs",  # the pack maker, who hands the pack to the OEM
    "oem": OEM,
    "repairer": SERVICE_PARTNER,
    "certifier": "terra",
    "authority": "msa",
}
"""The chain's roles and which sample actor (catalogue slug) plays each."""


@dataclass
class SampleChain:
    """Keys and DIDs of the chain's actors (by role handle of :data:`SAMPLE_ACTORS` or by
    catalogue slug), and the pack lot their records end in."""

    keys: dict[str, SigningKey]
    pack_lot: str
    pack_record: str
    records: int

    def did(self, who: str) -> str:
        """The DID of one actor (``oem``, ``maker``, ``repairer``, ``elbe``, …)."""
        return self.keys[who].did


def build_sample_chain(ledger: Ledger, operator_key: SigningKey, *, tag: str = "s1") -> SampleChain:
    """Register the chain's sample actors (fresh keys each time) and append their records:
    extraction in seven countries, recycled intake, cathode and anode materials (natural and
    synthetic graphite), cells, a pack (:data:`SampleChain.pack_lot`, in the OEM's custody),
    certification, due diligence."""
    slugs = list(dict.fromkeys(SAMPLE_ACTORS.values()))
    by_slug = {slug: SigningKey.generate() for slug in slugs}
    for slug in slugs:
        registration = BY_SLUG[slug].registration(by_slug[slug].did)
        ledger.append(ledger.sign_new(operator_key, "ActorRegistration", registration))
    keys = {**by_slug, **{who: by_slug[slug] for who, slug in SAMPLE_ACTORS.items()}}
    count = 0

    def add(who: str, kind: str, subject: dict[str, Any]) -> str:
        nonlocal count
        count += 1
        return ledger.append(ledger.sign_new(keys[who], kind, subject)).record_hash

    period = {"start": "2026-01-01T00:00:00Z", "end": "2026-03-31T00:00:00Z"}
    mined: list[str] = []
    created: dict[str, str] = {}
    lots: dict[str, tuple[str, int, dict[str, int]]] = {}
    for name, material, deposit, facility, grams, ppm, element in (
        ("li-au", "lithium", "spodumene", "pilbara-mine", 200_000, 30_000, "Li"),
        ("li-cl", "lithium", "brine", "andino-salar", 100_000, 30_000, "Li"),
        ("ni-id", "nickel", "lateritic", "hni-weda-mine", 60_000, 500_000, "Ni"),
        ("ni-ca", "nickel", "sulfidic", "sbn-mine", 40_000, 500_000, "Ni"),
        ("co-cd", "cobalt", "copper-cobalt", "lcc-kolwezi", 20_000, 300_000, "Co"),
        ("mn-za", "manganese", "sedimentary", "kalahari-mine", 20_000, 300_000, "Mn"),
        ("c-mz", "graphite", "natural-flake", "cabo-mine", 60_000, 950_000, "C"),
    ):
        lot = f"urn:lot:{tag}:{name}"
        record = add(
            name,
            "Extraction",
            {
                "lot": lot,
                "material": material,
                "depositType": deposit,
                "miningMethod": "industrial",
                "facility": facility,
                "country": BY_SLUG[SAMPLE_ACTORS[name]].facility(facility).country,
                "massGrams": grams,
                "elements": {element: ppm},
                "period": period,
                "emissions": {"raw-material-acquisition": str(grams // 100)},
            },
        )
        lots[name] = (lot, grams, {element: ppm})
        mined.append(name)
        created[name] = record
    # Recycled intake: post-consumer black mass from outside the ledger.
    recovered = f"urn:lot:{tag}:recovered"
    recovered_record = add(
        "recycler",
        "Transformation",
        {
            "processStep": "recycling",
            "custody": "controlled-blending",
            "facility": "rbr-dormagen",
            "inputs": [],
            "externalInputs": [
                {
                    "source": "post-consumer-waste",
                    "description": "black mass from end-of-life EV packs",
                    "massGrams": 10_000,
                    "elements": {"Co": 120_000, "Ni": 200_000, "Li": 30_000},
                }
            ],
            "outputs": [
                {
                    "lot": recovered,
                    "massGrams": 8_000,
                    "elements": {"Co": 150_000, "Ni": 250_000, "Li": 37_500},
                }
            ],
            "emissions": {"end-of-life": "40"},
        },
    )
    created["recovered"] = recovered_record
    lots["recovered"] = (recovered, 8_000, {"Co": 150_000, "Ni": 250_000, "Li": 37_500})

    def hand_over(seller: str, buyer: str, name: str) -> None:
        lot, grams, _ = lots[name]
        transfer = add(
            seller,
            "Transfer",
            {"lot": lot, "record": created[name], "massGrams": grams, "buyer": keys[buyer].did},
        )
        add(buyer, "TransferAcceptance", {"transfer": transfer, "decision": "accepted"})

    cam_inputs = ["li-au", "li-cl", "ni-id", "ni-ca", "co-cd", "mn-za", "recovered"]
    for name in mined:
        hand_over(name, "cathode" if name in cam_inputs else "anode", name)
    hand_over("recycler", "cathode", "recovered")

    def ug(names: list[str], element: str) -> int:
        return sum(lots[n][1] * lots[n][2].get(element, 0) for n in names)

    def step(
        who: str,
        facility: str,
        step_name: str,
        inputs: list[str],
        out: str,
        grams: int,
        keep: dict[str, Fraction],
        **extra: Any,
    ) -> None:
        external = {
            e: sum(
                x["massGrams"] * x.get("elements", {}).get(e, 0)
                for x in extra.get("externalInputs", [])
            )
            for e in keep
        }
        elements = {
            e: int((ug(inputs, e) + external[e]) * share) // grams for e, share in keep.items()
        }
        lot = f"urn:lot:{tag}:{out}"
        subject: dict[str, Any] = {
            "processStep": step_name,
            "custody": "controlled-blending",
            "facility": facility,
            "inputs": [
                {"lot": lots[n][0], "record": created[n], "massGrams": lots[n][1]} for n in inputs
            ],
            "outputs": [{"lot": lot, "massGrams": grams, "elements": elements}],
            **extra,
        }
        created[out] = add(who, "Transformation", subject)
        lots[out] = (lot, grams, elements)

    step(
        "cathode",
        "aurora-hamina",
        "cathode-material",
        cam_inputs,
        "cam",
        120_000,
        {
            "Li": Fraction(85, 93),
            "Ni": Fraction(452, 520),
            "Co": Fraction(57, 72),
            "Mn": Fraction(53, 60),
        },
        emissions={"main-production": "1200"},
    )
    step(
        "anode",
        "ganjiang-natural",
        "anode-material",
        ["c-mz"],
        "anode",
        80_000,
        {"C": Fraction(520, 795)},
        externalInputs=[
            {
                "source": "synthetic-feedstock",
                "description": "needle coke",
                "massGrams": 25_000,
                "elements": {"C": 900_000},
            }
        ],
        emissions={"main-production": "650"},
    )
    hand_over("cathode", "cells", "cam")
    hand_over("anode", "cells", "anode")
    step(
        "cells",
        "tisza-debrecen",
        "cell",
        ["cam", "anode"],
        "cells",
        300_000,
        {e: Fraction(1) for e in ("Li", "Ni", "Co", "Mn", "C")},
        emissions={"main-production": "900"},
    )
    hand_over("cells", "maker", "cells")
    step(
        "maker",
        "ebs-leipzig",
        "pack",
        ["cells"],
        "pack",
        452_500,
        {e: Fraction(1) for e in ("Li", "Ni", "Co", "Mn", "C")},
        emissions={"main-production": "300", "distribution": "75", "end-of-life": "100"},
    )
    hand_over("maker", "oem", "pack")
    report = "sha256:" + "ab" * 32
    for who in (*mined, "cathode", "anode", "cells", "maker"):
        slug = SAMPLE_ACTORS[who]
        add(
            who,
            "DueDiligence",
            {
                "subject": {"type": "actor", "actor": keys[who].did},
                "framework": "OECD-DDG",
                "reportRef": f"https://{slug}.example/due-diligence-2026.pdf",
                "reportHash": report,
                "stepsCovered": [1, 2, 3, 4, 5],
                "validFrom": "2025-01-01T00:00:00Z",
                "validUntil": "2028-12-31T00:00:00Z",
                "riskFindings": [],
            },
        )
    add(
        "certifier",
        "Certification",
        {
            "subject": {"type": "facility", "actor": keys["li-au"].did, "facility": "pilbara-mine"},
            "scheme": "IRMA",
            "certificateId": f"IRMA-{tag}-0042",
            "scope": "spodumene mining and concentration",
            "level": "IRMA 75",
            "validFrom": "2025-01-01T00:00:00Z",
            "validUntil": "2028-12-31T00:00:00Z",
        },
    )
    return SampleChain(
        keys=keys, pack_lot=lots["pack"][0], pack_record=created["pack"], records=count
    )
