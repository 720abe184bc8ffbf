"""The sample's actors: who they are, where their sites are, which roles they hold.

Every company, site name and person here is fictitious; the places and the kinds of operation are
typical of the real supply chains of EV battery materials (see ``docs/domain.md`` of the shared
brief). Keys are derived from the sample seed and the actor's slug, so a given seed always yields
the same DIDs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from signing.keys import SigningKey


@dataclass(frozen=True)
class Facility:
    """A registered site of an actor (``ActorRegistration.facilities``)."""

    id: str
    name: str
    country: str
    latitude: str
    longitude: str

    def to_subject(self) -> dict[str, str]:
        """The facility as registered."""
        return {
            "id": self.id,
            "name": self.name,
            "country": self.country,
            "latitude": self.latitude,
            "longitude": self.longitude,
        }


@dataclass(frozen=True)
class ActorSpec:
    """One sample actor: slug (short handle), legal name, country, roles and facilities."""

    slug: str
    name: str
    country: str
    roles: tuple[str, ...]
    description: str
    facilities: tuple[Facility, ...] = field(default_factory=tuple)

    def facility(self, facility_id: str) -> Facility:
        """One of the actor's facilities by id."""
        for f in self.facilities:
            if f.id == facility_id:
                return f
        raise KeyError(f"{self.slug} has no facility {facility_id}")

    def registration(self, did: str) -> dict[str, Any]:
        """The ``ActorRegistration`` subject the operator signs for this actor."""
        subject: dict[str, Any] = {
            "id": did,
            "name": self.name,
            "country": self.country,
            "roles": list(self.roles),
        }
        if self.facilities:
            subject["facilities"] = [f.to_subject() for f in self.facilities]
        return subject


def actor_key(seed: int, slug: str) -> SigningKey:
    """The actor's Ed25519 key: ``SigningKey.from_seed(sha256(seed|slug))``."""
    return SigningKey.from_seed(hashlib.sha256(f"{seed}|{slug}".encode()).digest())


def _f(fid: str, name: str, country: str, lat: str, lon: str) -> Facility:
    return Facility(fid, name, country, lat, lon)


ACTORS: tuple[ActorSpec, ...] = (
    # -- cobalt: DR Congo, industrial and artisanal, refined in Finland --------------------------
    ActorSpec(
        "lcc",
        "Lualaba Copper Cobalt SA",
        "CD",
        ("miner",),
        "industrial copper-cobalt open pit with an on-site cobalt hydroxide plant",
        (_f("lcc-kolwezi", "Kolwezi open pit and hydroxide plant", "CD", "-10.7167", "25.4667"),),
    ),
    ActorSpec(
        "comakat",
        "Coopérative Minière Artisanale du Katanga (COMAKAT)",
        "CD",
        ("miner",),
        "artisanal and small-scale cobalt (heterogenite) diggers' cooperative",
        (_f("comakat-kasulo", "Kasulo artisanal mining zone", "CD", "-10.7050", "25.4980"),),
    ),
    ActorSpec(
        "bothnia",
        "Bothnia Cobalt Refining Oy",
        "FI",
        ("refiner",),
        "cobalt refinery: hydroxide and concentrate to battery-grade cobalt sulfate",
        (_f("bothnia-kokkola", "Kokkola cobalt refinery", "FI", "63.8385", "23.0895"),),
    ),
    # -- nickel: Indonesian laterite (HPAL) and Canadian sulfide, refined in Finland -------------
    ActorSpec(
        "hni",
        "Halmahera Nickel Industries PT",
        "ID",
        ("miner", "refiner"),
        "lateritic nickel mine and high-pressure acid leach (HPAL) plant making mixed hydroxide",
        (
            _f("hni-weda-mine", "Weda Bay limonite pits", "ID", "0.4567", "127.9431"),
            _f("hni-hpal", "Weda Bay HPAL plant", "ID", "0.4802", "127.9122"),
        ),
    ),
    ActorSpec(
        "sbn",
        "Sudbury Basin Nickel Ltd.",
        "CA",
        ("miner",),
        "underground nickel-copper sulfide mine and mill",
        (_f("sbn-mine", "Creighton-area mine and mill", "CA", "46.4711", "-81.1862"),),
    ),
    ActorSpec(
        "satakunta",
        "Satakunta Nickel Sulphate Oy",
        "FI",
        ("refiner",),
        "nickel refinery: mixed hydroxide and sulfide concentrate to nickel and cobalt sulfate",
        (_f("satakunta-harjavalta", "Harjavalta nickel refinery", "FI", "61.3166", "22.1406"),),
    ),
    # -- lithium: Australian spodumene and Chilean brine ---------------------------------------
    ActorSpec(
        "pilbara",
        "Pilbara Spodumene Pty Ltd",
        "AU",
        ("miner",),
        "hard-rock spodumene mine and concentrator (SC6)",
        (
            _f(
                "pilbara-mine",
                "Pilgangoora-district mine and concentrator",
                "AU",
                "-21.0330",
                "118.8950",
            ),
        ),
    ),
    ActorSpec(
        "andino",
        "Salar Andino Lithium SpA",
        "CL",
        ("miner", "refiner"),
        "brine operation with evaporation ponds and a lithium carbonate plant",
        (
            _f(
                "andino-salar",
                "Salar de Atacama brine wells and ponds",
                "CL",
                "-23.5000",
                "-68.2500",
            ),
            _f(
                "andino-carbonate",
                "Antofagasta lithium carbonate plant",
                "CL",
                "-23.6509",
                "-70.3975",
            ),
        ),
    ),
    ActorSpec(
        "minjiang",
        "Minjiang Lithium Chemicals Co., Ltd.",
        "CN",
        ("refiner",),
        "lithium converter: spodumene concentrate and carbonate to lithium hydroxide",
        (_f("minjiang-meishan", "Meishan lithium hydroxide plant", "CN", "30.0754", "103.8485"),),
    ),
    # -- manganese: South Africa ---------------------------------------------------------------
    ActorSpec(
        "kalahari",
        "Kalahari Manganese (Pty) Ltd",
        "ZA",
        ("miner",),
        "sedimentary manganese ore mine in the Kalahari Manganese Field",
        (_f("kalahari-mine", "Hotazel-area manganese mine", "ZA", "-27.2000", "22.9600"),),
    ),
    ActorSpec(
        "mpumalanga",
        "Mpumalanga HPMSM Refinery (Pty) Ltd",
        "ZA",
        ("refiner",),
        "high-purity manganese sulfate monohydrate (HPMSM) refinery",
        (_f("mpumalanga-plant", "Mbombela HPMSM plant", "ZA", "-25.4753", "30.9694"),),
    ),
    # -- graphite: natural from Mozambique, synthetic in China ---------------------------------
    ActorSpec(
        "cabo",
        "Cabo Delgado Graphite Lda",
        "MZ",
        ("miner",),
        "natural flake graphite mine and flotation plant",
        (_f("cabo-mine", "Montepuez-district graphite mine", "MZ", "-13.3167", "38.6000"),),
    ),
    ActorSpec(
        "ganjiang",
        "Ganjiang Carbon Materials Co., Ltd.",
        "CN",
        ("material-maker",),
        "anode material maker: spherical coated natural graphite and synthetic graphite",
        (
            _f(
                "ganjiang-natural",
                "Ganzhou spheronisation and coating plant",
                "CN",
                "25.8310",
                "114.9330",
            ),
            _f(
                "ganjiang-graphitisation",
                "Baotou graphitisation plant",
                "CN",
                "40.6570",
                "109.8400",
            ),
        ),
    ),
    # -- cathode: precursor (pCAM) and cathode active material (CAM) ---------------------------
    ActorSpec(
        "aurora",
        "Aurora Cathode Materials Oy",
        "FI",
        ("material-maker",),
        "precursor (pCAM) and NMC cathode active material (CAM) plant",
        (_f("aurora-hamina", "Hamina pCAM and CAM plant", "FI", "60.5697", "27.1979"),),
    ),
    ActorSpec(
        "hubei",
        "Hubei Phosphate Cathode Co., Ltd.",
        "CN",
        ("material-maker",),
        "lithium iron phosphate (LFP) cathode active material plant",
        (_f("hubei-yichang", "Yichang LFP plant", "CN", "30.6919", "111.2865"),),
    ),
    # -- cells, modules, packs, vehicles --------------------------------------------------------
    ActorSpec(
        "tisza",
        "Tisza Cell Manufacturing Kft.",
        "HU",
        ("cell-maker",),
        "prismatic lithium-ion cell gigafactory",
        (_f("tisza-debrecen", "Debrecen cell plant", "HU", "47.5316", "21.6273"),),
    ),
    ActorSpec(
        "ebs",
        "Elbe Battery Systems GmbH",
        "DE",
        ("pack-maker",),
        "module and pack assembly",
        (_f("ebs-leipzig", "Leipzig module and pack plant", "DE", "51.3397", "12.3731"),),
    ),
    ActorSpec(
        "elbe",
        "Elbe Motors AG",
        "DE",
        ("oem",),
        "vehicle maker: integrates packs into vehicles and issues the battery passports",
        (_f("elbe-zwickau", "Zwickau vehicle plant", "DE", "50.7189", "12.4940"),),
    ),
    # -- recycling -----------------------------------------------------------------------------
    ActorSpec(
        "rbr",
        "Rhein Battery Recycling GmbH",
        "DE",
        ("recycler",),
        "battery recycler: shredding to black mass and hydrometallurgical recovery",
        (_f("rbr-dormagen", "Dormagen recycling plant", "DE", "51.0960", "6.8400"),),
    ),
    # -- assurance, repair, authority ------------------------------------------------------------
    ActorSpec(
        "terra",
        "Terra Assurance Services Ltd",
        "GB",
        ("certifier",),
        "certification body: IRMA audits, Towards Sustainable Mining verification",
    ),
    ActorSpec(
        "rap",
        "Refinery Assurance Partners AG",
        "CH",
        ("certifier",),
        "assessment body: RMI RMAP assessments of smelters and refiners",
    ),
    ActorSpec(
        "saale",
        "Saale EV Service GmbH",
        "DE",
        ("repairer",),
        "independent EV repairer (person with a legitimate interest, Art. 77(2)(b))",
    ),
    ActorSpec(
        "msa",
        "Market Surveillance Authority for Batteries (demo)",
        "DE",
        ("authority",),
        "market-surveillance authority (Art. 77(2)(c))",
    ),
)
"""Every sample actor, in registration order."""

BY_SLUG = {a.slug: a for a in ACTORS}
