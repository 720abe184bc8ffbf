"""Sample model data and ledger figures for the four passport categories (EV, LMT, industrial,
stationary): used by the tests, the benchmark and as a template for an OEM's ``--model`` file.

All companies, places and URLs are fictitious (``*.example``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from passport.document.body import deep_merge, new_document
from passport.document.figures import carbon_figures, fixed
from passport.document.ids import digital_link, gtin_check_digit
from passport.document.regulation import MASS_QUANTUM, PLACEHOLDER_CLASS_TABLE, CarbonClassTable
from passport.ledger.pipeline import Ledger
from signing.keys import SigningKey

CATEGORIES = ("ev", "lmt", "industrial", "stationary")


def sample_gtin(category: str) -> str:
    """A GTIN-14 with a valid check digit for each sample model."""
    body = {
        "ev": "0950600013435",
        "lmt": "0950600013436",
        "industrial": "0950600013437",
        "stationary": "0950600013438",
    }[category]
    return body + str(gtin_check_digit(body))


_ADDRESS = {
    "streetAddress": "Werkstraße 1",
    "postalCode": "38440",
    "city": "Wolfsburg",
    "country": "DE",
}
_WEB = "https://voltaris.example"


def _ev_model() -> dict[str, Any]:
    return {
        "economicOperator": {"address": dict(_ADDRESS)},
        "point1": {
            "category": "ev",
            "identification": {
                "modelName": "Voltaris P75 NMC811 pack",
                "gtin": sample_gtin("ev"),
                "batchNumber": "B2026-10",
            },
            "manufacturer": {
                "name": "Voltaris Automotive GmbH",
                "identifier": "VAT DE123456789",
                "address": dict(_ADDRESS),
                "email": "passport@voltaris.example",
                "webUrl": _WEB,
            },
            "manufacturing": {
                "facility": {
                    "name": "Voltaris pack plant Salzgitter",
                    "id": "fac-salzgitter",
                    "address": {
                        "streetAddress": "Industriestraße 7",
                        "postalCode": "38239",
                        "city": "Salzgitter",
                        "country": "DE",
                    },
                },
                "date": "2026-10-01",
            },
            "massKg": "452.5",
            "chemistry": {
                "shortName": "NMC811",
                "clearName": (
                    "Lithium nickel manganese cobalt oxide (8:1:1) cathode, graphite anode"
                ),
            },
            "hazardousSubstances": [
                {
                    "name": "Lithium hexafluorophosphate",
                    "casNumber": "21324-40-3",
                    "hazardClass": "acuteToxicity",
                    "concentrationPercent": "1.2",
                    "impacts": ["toxic if swallowed", "forms hydrogen fluoride with water"],
                    "location": {"component": "electrolyte", "componentId": "EL-811-01"},
                }
            ],
            "criticalRawMaterials": [
                {"name": "cobalt", "casNumber": "7440-48-4"},
                {"name": "lithium", "casNumber": "7439-93-2"},
                {"name": "natural graphite", "casNumber": "7782-42-5"},
                {"name": "nickel", "casNumber": "7440-02-0"},
                {"name": "manganese", "casNumber": "7439-96-5"},
            ],
            "extinguishingAgents": ["water in large quantities", "fire blanket for cell fires"],
            "carbonFootprint": {
                "serviceLifeEnergyKWh": "150000",
                "studyUrl": f"{_WEB}/carbon/p75-study.pdf",
                "declarationUrl": f"{_WEB}/carbon/p75-declaration.pdf",
            },
            "responsibleSourcing": {
                "reportUrl": f"{_WEB}/due-diligence/2027-report.pdf",
                "thirdPartyAssurancesUrl": f"{_WEB}/due-diligence/2027-assurance.pdf",
            },
            "renewableContentPercent": "0.5",
            "performance": {
                "ratedCapacityAh": "200",
                "ratedEnergyKWh": "75",
                "voltage": {"minimumV": "300", "nominalV": "370", "maximumV": "420"},
                "power": {
                    "originalPowerCapability": [
                        {"atSocPercent": "80", "powerW": "250000"},
                        {"atSocPercent": "20", "powerW": "150000"},
                    ],
                    "ratedMaximumPowerW": "250000",
                    "powerCapabilityRatio": "3.33",
                },
                "expectedLifetime": {
                    "cycles": 2000,
                    "years": 10,
                    "referenceTestUrl": f"{_WEB}/tests/cycle-life.pdf",
                    "cRateOfTest": "0.33",
                },
                "capacityThresholdForExhaustionPercent": "70",
                "temperatureRangeIdle": {"minimumC": "-20", "maximumC": "45"},
                "warrantyPeriodMonths": 96,
                "roundTripEfficiency": {
                    "initialPercent": "95",
                    "at50PercentCycleLifePercent": "92",
                },
                "internalResistance": {
                    "cellMilliohm": "0.9",
                    "moduleMilliohm": "8.5",
                    "packMilliohm": "95",
                },
                "initialSelfDischargePercentPerMonth": "2",
            },
            "labels": [
                {
                    "subject": "separateCollection",
                    "symbolUrl": f"{_WEB}/labels/crossed-out-bin.svg",
                    "meaning": "Collect separately; never dispose of with household waste.",
                },
                {
                    "subject": "carbonFootprint",
                    "symbolUrl": f"{_WEB}/labels/carbon-class.svg",
                    "meaning": "Carbon footprint and its performance class.",
                },
                {
                    "subject": "extinguishingAgent",
                    "symbolUrl": f"{_WEB}/labels/extinguishing.svg",
                    "meaning": "Usable extinguishing agent: water.",
                },
                {
                    "subject": "hazardousMaterial",
                    "symbolUrl": f"{_WEB}/labels/hazard.svg",
                    "meaning": "Contains a toxic electrolyte salt.",
                },
            ],
            "declarationOfConformityUrl": f"{_WEB}/conformity/p75-doc.pdf",
            "endOfLife": {
                "wastePreventionUrl": f"{_WEB}/end-of-life/prevention",
                "separateCollectionUrl": f"{_WEB}/end-of-life/collection",
                "collectionInformationUrl": f"{_WEB}/end-of-life/take-back-points",
            },
        },
        "point2": {
            "composition": [
                {
                    "component": "cathode",
                    "description": "NMC811 on aluminium foil",
                    "materials": [
                        {
                            "name": "Lithium nickel manganese cobalt oxide",
                            "casNumber": "346417-97-8",
                            "massKg": "98.0",
                            "criticalRawMaterial": True,
                        },
                        {
                            "name": "Aluminium",
                            "casNumber": "7429-90-5",
                            "massKg": "9.5",
                            "criticalRawMaterial": False,
                        },
                    ],
                },
                {
                    "component": "anode",
                    "description": "Natural and synthetic graphite on copper foil",
                    "materials": [
                        {
                            "name": "Graphite",
                            "casNumber": "7782-42-5",
                            "massKg": "52.0",
                            "criticalRawMaterial": True,
                        },
                        {
                            "name": "Copper",
                            "casNumber": "7440-50-8",
                            "massKg": "18.0",
                            "criticalRawMaterial": False,
                        },
                    ],
                },
                {
                    "component": "electrolyte",
                    "materials": [
                        {
                            "name": "Lithium hexafluorophosphate",
                            "casNumber": "21324-40-3",
                            "massKg": "4.4",
                            "criticalRawMaterial": False,
                        },
                        {
                            "name": "Ethylene carbonate",
                            "casNumber": "96-49-1",
                            "massKg": "30.0",
                            "criticalRawMaterial": False,
                        },
                    ],
                },
                {
                    "component": "casing",
                    "materials": [
                        {
                            "name": "Aluminium",
                            "casNumber": "7429-90-5",
                            "massKg": "95.0",
                            "criticalRawMaterial": False,
                        }
                    ],
                },
            ],
            "partNumbers": [
                {"partName": "Battery module", "partNumber": "VLT-M75-12"},
                {"partName": "Battery management system", "partNumber": "VLT-BMS-4"},
            ],
            "sparePartSources": [
                {
                    "supplierName": "Voltaris Service Parts",
                    "address": dict(_ADDRESS),
                    "email": "parts@voltaris.example",
                    "webUrl": f"{_WEB}/parts",
                    "parts": [{"partName": "Battery module", "partNumber": "VLT-M75-12"}],
                }
            ],
            "dismantling": [
                {
                    "documentType": "dismantlingManual",
                    "mimeType": "application/pdf",
                    "url": f"{_WEB}/service/p75-dismantling.pdf",
                },
                {
                    "documentType": "billOfMaterial",
                    "mimeType": "text/csv",
                    "url": f"{_WEB}/service/p75-bom.csv",
                },
            ],
            "safetyMeasures": {
                "instructionsUrl": f"{_WEB}/service/p75-safety.pdf",
                "measures": [
                    "disconnect the service plug before opening",
                    "insulated tools rated 1000 V",
                ],
            },
        },
        "point3": {
            "testReports": [
                {
                    "title": "UN 38.3 transport tests",
                    "standard": "UN Manual of Tests and Criteria, 38.3",
                    "laboratory": "Prüflabor Nord (fictitious)",
                    "requirement": "Annex V safety",
                    "result": "pass",
                    "date": "2026-09-10",
                    "reportUrl": f"{_WEB}/authority/reports/un383.pdf",
                },
                {
                    "title": "Electrochemical performance and durability",
                    "standard": "IEC 62660-1",
                    "requirement": "Art. 10, Annex IV",
                    "result": "pass",
                    "date": "2026-09-20",
                    "reportUrl": f"{_WEB}/authority/reports/iec62660.pdf",
                },
            ]
        },
        "point4": {"usage": {"stateOfChargePercent": "30"}},
    }


_OVERRIDES: dict[str, dict[str, Any]] = {
    "lmt": {
        "point1": {
            "category": "lmt",
            "identification": {"modelName": "Voltaris E-Bike 500", "gtin": sample_gtin("lmt")},
            "massKg": "2.9",
            "carbonFootprint": {"serviceLifeEnergyKWh": "400"},
            "performance": {
                "ratedCapacityAh": "13.8",
                "ratedEnergyKWh": "0.5",
                "voltage": {"minimumV": "30", "nominalV": "36", "maximumV": "42"},
                "power": {
                    "originalPowerCapability": [{"atSocPercent": "50", "powerW": "750"}],
                    "ratedMaximumPowerW": "750",
                    "powerCapabilityRatio": "1.5",
                },
                "expectedLifetime": {"cycles": 800, "years": 5},
                "warrantyPeriodMonths": 24,
            },
        },
        "point2": {
            "composition": [
                {
                    "component": "cathode",
                    "materials": [
                        {
                            "name": "Lithium nickel manganese cobalt oxide",
                            "casNumber": "346417-97-8",
                            "massKg": "0.6",
                            "criticalRawMaterial": True,
                        },
                        {
                            "name": "Aluminium",
                            "casNumber": "7429-90-5",
                            "massKg": "0.05",
                            "criticalRawMaterial": False,
                        },
                    ],
                },
                {
                    "component": "anode",
                    "materials": [
                        {
                            "name": "Graphite",
                            "casNumber": "7782-42-5",
                            "massKg": "0.35",
                            "criticalRawMaterial": True,
                        },
                        {
                            "name": "Copper",
                            "casNumber": "7440-50-8",
                            "massKg": "0.12",
                            "criticalRawMaterial": False,
                        },
                    ],
                },
                {
                    "component": "electrolyte",
                    "materials": [
                        {
                            "name": "Lithium hexafluorophosphate",
                            "casNumber": "21324-40-3",
                            "massKg": "0.02",
                            "criticalRawMaterial": False,
                        },
                        {
                            "name": "Ethylene carbonate",
                            "casNumber": "96-49-1",
                            "massKg": "0.2",
                            "criticalRawMaterial": False,
                        },
                    ],
                },
                {
                    "component": "casing",
                    "materials": [
                        {
                            "name": "Aluminium",
                            "casNumber": "7429-90-5",
                            "massKg": "0.8",
                            "criticalRawMaterial": False,
                        }
                    ],
                },
            ],
        },
    },
    "industrial": {
        "point1": {
            "category": "industrial",
            "identification": {
                "modelName": "Voltaris Forklift LFP 30",
                "gtin": sample_gtin("industrial"),
            },
            "chemistry": {
                "shortName": "LFP",
                "clearName": "Lithium iron phosphate cathode, graphite anode",
            },
            "massKg": "310",
            "carbonFootprint": {"serviceLifeEnergyKWh": "105000"},
            "performance": {
                "ratedCapacityAh": "375",
                "ratedEnergyKWh": "30",
                "voltage": {"minimumV": "64", "nominalV": "80", "maximumV": "90"},
                "power": {
                    "originalPowerCapability": [{"atSocPercent": "50", "powerW": "30000"}],
                    "ratedMaximumPowerW": "30000",
                    "powerCapabilityRatio": "1",
                },
                "expectedLifetime": {"cycles": 3500, "years": 12},
            },
        },
    },
    "stationary": {
        "point1": {
            "category": "stationary",
            "identification": {
                "modelName": "Voltaris Home Storage LFP 100",
                "gtin": sample_gtin("stationary"),
            },
            "chemistry": {
                "shortName": "LFP",
                "clearName": "Lithium iron phosphate cathode, graphite anode",
            },
            "massKg": "980",
            "carbonFootprint": {"serviceLifeEnergyKWh": "600000"},
            "performance": {
                "ratedCapacityAh": "1960",
                "ratedEnergyKWh": "100",
                "voltage": {"minimumV": "40", "nominalV": "51.2", "maximumV": "58"},
                "power": {
                    "originalPowerCapability": [{"atSocPercent": "50", "powerW": "50000"}],
                    "ratedMaximumPowerW": "50000",
                    "powerCapabilityRatio": "0.5",
                },
                "expectedLifetime": {"cycles": 6000, "years": 20},
            },
        },
    },
}


def _lfp_materials(model: dict[str, Any]) -> None:
    crm = [
        {"name": "lithium", "casNumber": "7439-93-2"},
        {"name": "natural graphite", "casNumber": "7782-42-5"},
    ]
    model["point1"]["criticalRawMaterials"] = crm
    model["point2"]["composition"][0]["materials"][0] = {
        "name": "Lithium iron phosphate",
        "casNumber": "15365-14-7",
        "massKg": "90.0",
        "criticalRawMaterial": False,
    }
    model["point2"]["composition"][0]["description"] = "LFP on aluminium foil"


def sample_model(category: str = "ev") -> dict[str, Any]:
    """The OEM's model data for one sample battery model of ``category``."""
    model = _ev_model()
    if category != "ev":
        model = deep_merge(model, _OVERRIDES[category])
        del model["point1"]["performance"]["capacityThresholdForExhaustionPercent"]
    if category in ("industrial", "stationary"):
        _lfp_materials(model)
    return model


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
    miner = "did:web:mining.example"
    facilities = [
        {
            "element": "lithium",
            "actor": miner,
            "facility": "au-greenbushes",
            "country": "AU",
            "origin": "extracted",
            "sharePercent": "60.00",
        },
        {
            "element": "cobalt",
            "actor": miner,
            "facility": "cd-kolwezi",
            "country": "CD",
            "origin": "extracted",
            "sharePercent": "70.00",
        },
        {
            "element": "nickel",
            "actor": miner,
            "facility": "id-morowali",
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
    base_url: str = "https://id.voltaris.example",
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
            "name": "Voltaris Automotive GmbH",
            **copy.deepcopy(model["economicOperator"]),
        },
    )


# -- a small but complete supply chain on a ledger, ending in one pack lot ------------------------
@dataclass
class SampleChain:
    """Keys and DIDs of the sample actors, and the pack lot their records end in."""

    keys: dict[str, SigningKey]
    pack_lot: str
    pack_record: str
    records: int

    def did(self, who: str) -> str:
        """The DID of one sample actor (``miner``, ``maker``, ``oem``, …)."""
        return self.keys[who].did


def _facility(fid: str, name: str, country: str) -> dict[str, str]:
    return {"id": fid, "name": name, "country": country}


SAMPLE_ACTORS: dict[str, tuple[str, list[str], str, list[dict[str, str]]]] = {
    "miner": (
        "Sample Mining plc",
        ["miner", "refiner"],
        "AU",
        [
            _facility("au-greenbushes", "Greenbushes concentrator", "AU"),
            _facility("cl-atacama", "Atacama brine", "CL"),
            _facility("id-morowali", "Morowali HPAL", "ID"),
            _facility("ca-sudbury", "Sudbury mine", "CA"),
            _facility("cd-kolwezi", "Kolwezi mine", "CD"),
            _facility("za-kalahari", "Kalahari manganese", "ZA"),
            _facility("mz-balama", "Balama graphite", "MZ"),
        ],
    ),
    "recycler": (
        "Sample Recycling GmbH",
        ["recycler"],
        "DE",
        [_facility("de-recycling", "Hydromet plant", "DE")],
    ),
    "maker": (
        "Sample Cells AB",
        ["refiner", "material-maker", "cell-maker", "pack-maker"],
        "SE",
        [_facility("se-cells", "Cell and pack plant", "SE")],
    ),
    "oem": (
        "Voltaris Automotive GmbH",
        ["oem"],
        "DE",
        [_facility("de-salzgitter", "Pack plant Salzgitter", "DE")],
    ),
    "repairer": ("Second Life Storage GmbH", ["repairer"], "DE", []),
    "recycler2": (
        "End-of-life Recycling SA",
        ["recycler"],
        "BE",
        [_facility("be-eol", "Recycling plant", "BE")],
    ),
    "certifier": ("Sample Assurance Ltd", ["certifier"], "GB", []),
    "authority": ("Market Surveillance Authority", ["authority"], "DE", []),
}


def build_sample_chain(ledger: Ledger, operator_key: SigningKey, *, tag: str = "s1") -> SampleChain:
    """Register the sample actors and append a supply chain: extraction in six countries,
    recycled intake, cathode and anode materials (natural and synthetic graphite), cells, a pack
    (:data:`SampleChain.pack_lot`, in the OEM's custody), certification, due diligence."""
    keys = {who: SigningKey.generate() for who in SAMPLE_ACTORS}
    for who, (name, roles, country, facilities) in SAMPLE_ACTORS.items():
        subject: dict[str, Any] = {
            "id": keys[who].did,
            "name": name,
            "roles": roles,
            "country": country,
        }
        if facilities:
            subject["facilities"] = facilities
        ledger.append(ledger.sign_new(operator_key, "ActorRegistration", subject))
    count = 0

    def add(who: str, kind: str, subject: dict[str, Any]) -> str:
        nonlocal count
        count += 1
        return ledger.append(ledger.sign_new(keys[who], kind, subject)).record_hash

    period = {"start": "2026-01-01T00:00:00Z", "end": "2026-03-31T00:00:00Z"}
    mined: list[str] = []
    created: dict[str, str] = {}
    lots: dict[str, tuple[str, int, dict[str, int]]] = {}
    for name, material, deposit, facility, country, grams, ppm, element in (
        ("li-au", "lithium", "spodumene", "au-greenbushes", "AU", 200_000, 30_000, "Li"),
        ("li-cl", "lithium", "brine", "cl-atacama", "CL", 100_000, 30_000, "Li"),
        ("ni-id", "nickel", "lateritic", "id-morowali", "ID", 60_000, 500_000, "Ni"),
        ("ni-ca", "nickel", "sulfidic", "ca-sudbury", "CA", 40_000, 500_000, "Ni"),
        ("co-cd", "cobalt", "copper-cobalt", "cd-kolwezi", "CD", 20_000, 300_000, "Co"),
        ("mn-za", "manganese", "sedimentary", "za-kalahari", "ZA", 20_000, 300_000, "Mn"),
        ("c-mz", "graphite", "natural-flake", "mz-balama", "MZ", 60_000, 950_000, "C"),
    ):
        lot = f"urn:lot:{tag}:{name}"
        record = add(
            "miner",
            "Extraction",
            {
                "lot": lot,
                "material": material,
                "depositType": deposit,
                "miningMethod": "industrial",
                "facility": facility,
                "country": country,
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
            "facility": "de-recycling",
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

    for name in mined:
        hand_over("miner", "maker", name)
    hand_over("recycler", "maker", "recovered")

    def ug(names: list[str], element: str) -> int:
        return sum(lots[n][1] * lots[n][2].get(element, 0) for n in names)

    def step(
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
            "facility": "se-cells",
            "inputs": [
                {"lot": lots[n][0], "record": created[n], "massGrams": lots[n][1]} for n in inputs
            ],
            "outputs": [{"lot": lot, "massGrams": grams, "elements": elements}],
            **extra,
        }
        created[out] = add("maker", "Transformation", subject)
        lots[out] = (lot, grams, elements)

    cam_inputs = ["li-au", "li-cl", "ni-id", "ni-ca", "co-cd", "mn-za", "recovered"]
    step(
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
    step(
        "cell",
        ["cam", "anode"],
        "cells",
        300_000,
        {e: Fraction(1) for e in ("Li", "Ni", "Co", "Mn", "C")},
        emissions={"main-production": "900"},
    )
    step(
        "pack",
        ["cells"],
        "pack",
        452_500,
        {e: Fraction(1) for e in ("Li", "Ni", "Co", "Mn", "C")},
        emissions={"main-production": "300", "distribution": "75", "end-of-life": "100"},
    )
    hand_over("maker", "oem", "pack")
    report = "sha256:" + "ab" * 32
    for who in ("miner", "maker"):
        add(
            who,
            "DueDiligence",
            {
                "subject": {"type": "actor", "actor": keys[who].did},
                "framework": "OECD-DDG",
                "reportRef": f"https://{who}.example/due-diligence-2026.pdf",
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
            "subject": {
                "type": "facility",
                "actor": keys["miner"].did,
                "facility": "au-greenbushes",
            },
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
