"""Roll-ups on hand-worked chains (issue §4, §6): every expected figure below is computed by hand
from the quantities in the records, in the comments and as plain arithmetic, never by the code
under test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from typer.testing import CliRunner

from cli import app
from passport.errors import NotFoundError
from passport.ledger.pipeline import Ledger
from passport.store.sql.repository import Repository
from passport.trace.config import TraceConfig
from passport.trace.model import Rollup
from passport.trace.rollup import compute_rollup
from signing.keys import SigningKey
from tests.conftest import _new_db_url
from tests.helpers.chain import Chain, Party, external, facility_subject, out

KG = 10**9  # micrograms per kilogram
G = 10**6  # micrograms per gram
MG_KG = 10**6  # milligrams CO2e per kg CO2e


@dataclass
class Nmc:
    """The NMC pack chain and the parties and records the tests need."""

    chain: Chain
    pack: str
    parties: dict[str, Party]
    records: dict[str, str]


def build_nmc(chain: Chain) -> Nmc:
    """Eight extraction lots → pCAM → CAM, natural + synthetic anode → cell → pack (+ untraced Ni)."""
    p: dict[str, Party] = {}
    r: dict[str, str] = {}
    for name, roles, country in [
        ("ni_id", ("miner",), "ID"),
        ("ni_ca", ("miner",), "CA"),
        ("co_cd", ("miner",), "CD"),
        ("co_au", ("miner",), "AU"),
        ("li_au", ("miner",), "AU"),
        ("li_cl", ("miner",), "CL"),
        ("mn_za", ("miner",), "ZA"),
        ("gr_mz", ("miner",), "MZ"),
        ("refiner", ("refiner",), "FI"),
        ("cam", ("material-maker",), "KR"),
        ("anode", ("material-maker",), "CN"),
        ("cells", ("cell-maker",), "PL"),
        ("packs", ("pack-maker",), "DE"),
        ("cert", ("certifier",), "CH"),
    ]:
        p[name] = chain.party(*roles, country=country, name=name)
    c = chain
    # Certificates: IRMA for the Canadian nickel mine (valid), for the Indonesian one (expired
    # mid-2025, before the 2026 records), for the Australian cobalt mine (revoked later);
    # RMI RMAP for the refiner, in scope for cobalt only.
    r["irma_ca"] = c.certify(p["cert"], facility_subject(p["ni_ca"]), "IRMA")
    r["irma_id"] = c.certify(
        p["cert"],
        facility_subject(p["ni_id"]),
        "IRMA",
        valid=("2024-01-01T00:00:00Z", "2025-06-30T00:00:00Z"),
    )
    r["irma_co_au"] = c.certify(p["cert"], facility_subject(p["co_au"]), "IRMA")
    r["rmap"] = c.certify(p["cert"], facility_subject(p["refiner"]), "RMI-RMAP", elements=["Co"])
    # Due diligence: everyone except the DR Congo cobalt miner and the Chilean brine operator.
    for name in (
        "ni_id",
        "ni_ca",
        "co_au",
        "li_au",
        "mn_za",
        "gr_mz",
        "refiner",
        "cam",
        "anode",
        "cells",
        "packs",
    ):
        c.due_diligence(p[name], p[name])

    def mine(name: str, lot: str, grams: int, elements: dict[str, int], **kw: Any) -> None:
        r[lot] = c.extract(p[name], lot, grams, elements, **kw)

    mine("ni_id", "urn:lot:ni-id", 1_000_000, {"Ni": 20_000}, deposit="lateritic")  # 20 kg Ni
    mine(
        "ni_ca",
        "urn:lot:ni-ca",
        1_000_000,
        {"Ni": 30_000},  # 30 kg Ni
        emissions={"raw-material-acquisition": "300"},
    )
    mine(
        "co_cd",
        "urn:lot:co-cd",
        100_000,
        {"Co": 100_000},
        material="cobalt",  # 10 kg Co
        deposit="copper-cobalt",
        method="artisanal-small-scale",
    )
    mine(
        "co_au", "urn:lot:co-au", 100_000, {"Co": 50_000}, material="cobalt", deposit="sulfidic"
    )  # 5 kg
    mine(
        "li_au", "urn:lot:li-au", 1_000_000, {"Li": 10_000}, material="lithium", deposit="spodumene"
    )  # 10 kg
    mine(
        "li_cl", "urn:lot:li-cl", 10_000_000, {"Li": 1_000}, material="lithium", deposit="brine"
    )  # 10 kg
    mine(
        "mn_za",
        "urn:lot:mn-za",
        100_000,
        {"Mn": 400_000},
        material="manganese",
        deposit="sedimentary",
    )  # 40 kg
    mine(
        "gr_mz",
        "urn:lot:gr-mz",
        200_000,
        {"C": 100_000},
        material="graphite",
        deposit="natural-flake",
    )  # 20 kg

    def ship(seller: str, lot: str, grams: int, buyer: str) -> None:
        c.give(p[seller], lot, r[lot], grams, p[buyer])

    for seller, lot, grams in [
        ("ni_id", "urn:lot:ni-id", 500_000),
        ("ni_ca", "urn:lot:ni-ca", 500_000),
        ("co_cd", "urn:lot:co-cd", 50_000),
        ("co_au", "urn:lot:co-au", 100_000),
        ("mn_za", "urn:lot:mn-za", 25_000),
    ]:
        ship(seller, lot, grams, "refiner")
    # pCAM: Ni 10 + 15 kg in, 20 kg out; Co 5 + 5 in, 5 out; Mn 10 in, 5 out.
    r["pcam"] = c.transform(
        p["refiner"],
        "precursor",
        [
            ("urn:lot:ni-id", r["urn:lot:ni-id"], 500_000),
            ("urn:lot:ni-ca", r["urn:lot:ni-ca"], 500_000),
            ("urn:lot:co-cd", r["urn:lot:co-cd"], 50_000),
            ("urn:lot:co-au", r["urn:lot:co-au"], 100_000),
            ("urn:lot:mn-za", r["urn:lot:mn-za"], 25_000),
        ],
        [out("urn:lot:pcam", 100_000, {"Ni": 200_000, "Co": 50_000, "Mn": 50_000})],
        emissions={"raw-material-acquisition": "500"},
    )
    c.give(p["refiner"], "urn:lot:pcam", r["pcam"], 100_000, p["cam"])
    ship("li_au", "urn:lot:li-au", 500_000, "cam")
    ship("li_cl", "urn:lot:li-cl", 5_000_000, "cam")
    # CAM: Li 5 + 5 kg in, 8 kg out. No own emissions: default 10 kg CO2e per kg of output.
    r["cam"] = c.transform(
        p["cam"],
        "cathode-material",
        [
            ("urn:lot:pcam", r["pcam"], 100_000),
            ("urn:lot:li-au", r["urn:lot:li-au"], 500_000),
            ("urn:lot:li-cl", r["urn:lot:li-cl"], 5_000_000),
        ],
        [out("urn:lot:cam", 80_000, {"Ni": 250_000, "Co": 62_500, "Mn": 62_500, "Li": 100_000})],
    )
    ship("gr_mz", "urn:lot:gr-mz", 200_000, "anode")
    # Anode: 20 kg natural C + 18 kg synthetic C (needle coke) → 38 kg C; attested footprint 10 kg/kg.
    r["anode"] = c.transform(
        p["anode"],
        "anode-material",
        [("urn:lot:gr-mz", r["urn:lot:gr-mz"], 200_000)],
        [out("urn:lot:anode", 40_000, {"C": 950_000})],
        externals=[external("synthetic-feedstock", "needle coke", 20_000, {"C": 900_000})],
    )
    r["anode_cf"] = c.footprint(
        p["anode"],
        "urn:lot:anode",
        r["anode"],
        {"raw-material-acquisition": "8", "main-production": "2"},
    )
    c.give(p["cam"], "urn:lot:cam", r["cam"], 80_000, p["cells"])
    c.give(p["anode"], "urn:lot:anode", r["anode"], 20_000, p["cells"])
    r["cell"] = c.transform(
        p["cells"],
        "cell",
        [("urn:lot:cam", r["cam"], 80_000), ("urn:lot:anode", r["anode"], 20_000)],
        [
            out(
                "urn:lot:cells",
                200_000,
                {"Ni": 100_000, "Co": 25_000, "Mn": 25_000, "Li": 40_000, "C": 95_000},
            )
        ],
        emissions={"main-production": "1000"},
    )
    c.give(p["cells"], "urn:lot:cells", r["cell"], 200_000, p["packs"])
    # Pack: cells + 10 kg of untraced material holding 1 kg Ni.
    r["pack"] = c.transform(
        p["packs"],
        "pack",
        [("urn:lot:cells", r["cell"], 200_000)],
        [
            out(
                "urn:lot:pack-0001",
                250_000,
                {"Ni": 84_000, "Co": 20_000, "Mn": 20_000, "Li": 32_000, "C": 76_000},
                productId="https://id.example.com/01/04012345000010/21/PACK0001",
            )
        ],
        externals=[
            external("untraced", "purchased busbars with Ni plating", 10_000, {"Ni": 100_000})
        ],
        emissions={"main-production": "50", "distribution": "10"},
    )
    return Nmc(chain, "urn:lot:pack-0001", p, r)


@dataclass
class Shared:
    """The NMC chain on its own database, built once for the read-only tests of this module."""

    nmc: Nmc
    url: str


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    url, drop = _new_db_url(tmp_path_factory.mktemp("nmc"))
    operator = SigningKey.from_seed(b"\x01" * 32)
    led = Ledger(Repository(url), log_key=SigningKey.from_seed(b"\x02" * 32), workers=1)
    led.initialise(operator, "test.example/log", "Test operator")
    yield Shared(build_nmc(Chain(led, operator)), url)
    led.close()
    drop()


@pytest.fixture
def nmc(shared: Shared) -> Nmc:
    """The shared chain: tests using it must not append."""
    return shared.nmc


@pytest.fixture
def own_nmc(ledger: Ledger, operator_key: SigningKey) -> Nmc:
    """A private chain for tests that append."""
    return build_nmc(Chain(ledger, operator_key))


def test_pack_element_masses_and_origins(nmc: Nmc) -> None:
    r = compute_rollup(nmc.chain.ledger.repo, nmc.pack)
    ni = r.elements["Ni"]
    # Pack Ni = 250,000 g × 84,000 ppm = 21 kg: the cells' 20 kg plus the untraced 1 kg.
    assert ni.micrograms == 21 * KG
    # In the pCAM step 10 kg (ID) + 15 kg (CA) entered and 20 kg left: ID 8 kg, CA 12 kg.
    assert ni.by_country["ID"].micrograms == 8 * KG
    assert ni.by_country["CA"].micrograms == 12 * KG
    assert ni.origin["unknown"].micrograms == 1 * KG
    # 8/21 = 38.095 %, 12/21 = 57.143 %, 1/21 = 4.762 %: largest remainder keeps the sum at 100.00
    assert (ni.by_country["ID"].percent, ni.by_country["CA"].percent) == ("38.10", "57.14")
    assert ni.origin["unknown"].percent == "4.76"
    assert ni.origin["extracted"].percent == "95.24"
    assert ni.by_deposit_type["lateritic"].micrograms == 8 * KG
    assert ni.by_deposit_type["sulfidic"].micrograms == 12 * KG
    co = r.elements["Co"]
    # 5 kg (CD) + 5 kg (AU) entered the pCAM step, 5 kg left: 2.5 kg each.
    assert co.micrograms == 5 * KG
    assert co.by_country["CD"].micrograms == co.by_country["AU"].micrograms == 2500 * G
    assert co.by_mining_method["artisanal-small-scale"].percent == "50.00"
    assert co.cahra.percent == "50.00"
    li = r.elements["Li"]
    # 5 kg spodumene (AU) + 5 kg brine (CL) entered the CAM step, 8 kg left: 4 kg each.
    assert li.by_deposit_type == {"brine": li.by_country["CL"], "spodumene": li.by_country["AU"]}
    assert li.by_country["AU"].micrograms == 4 * KG
    assert r.elements["Mn"].by_country["ZA"].micrograms == 5 * KG
    assert r.elements["Mn"].by_facility[0].facility == nmc.parties["mn_za"].facility
    # Graphite: the anode (20 kg natural MZ + 18 kg synthetic CN → 38 kg); the cells took half the
    # anode lot (19 kg C): natural 10 kg, synthetic 9 kg.
    g = r.graphite
    assert g is not None
    assert (g.natural.micrograms, g.synthetic.micrograms) == (10 * KG, 9 * KG)
    assert (g.natural.percent, g.synthetic.percent) == ("52.63", "47.37")  # 10/19, 9/19
    assert g.natural_by_country["MZ"].micrograms == 10 * KG
    assert g.synthetic_by_country["CN"].micrograms == 9 * KG


def test_certification_coverage_counts_only_valid_certificates(nmc: Nmc) -> None:
    r = compute_rollup(nmc.chain.ledger.repo, nmc.pack)
    # IRMA: the CA mine (12 kg of 21 kg Ni); the ID mine's certificate had expired → missing.
    assert r.elements["Ni"].certified["IRMA"].micrograms == 12 * KG
    assert r.elements["Ni"].certified["IRMA"].percent == "57.14"
    # RMAP covers the refiner for Co only: all 5 kg Co passed through it; no Ni.
    assert r.elements["Co"].certified["RMI-RMAP"].percent == "100.00"
    assert r.elements["Ni"].certified["RMI-RMAP"].micrograms == 0
    # IRMA Co: the AU cobalt mine's valid certificate → 2.5 of 5 kg.
    assert r.elements["Co"].certified["IRMA"].percent == "50.00"
    assert any(
        f.code == "expired-attestation" and nmc.records["irma_id"] in f.evidence for f in r.flags
    )


def test_revoked_certificate_stops_counting_from_then_on(own_nmc: Nmc) -> None:
    nmc = own_nmc
    c, p, rec = nmc.chain, nmc.parties, nmc.records
    revocation = c.append(
        p["cert"], "Retraction", {"record": rec["irma_co_au"], "reason": "audit failed"}
    )
    before = c.ledger.record(revocation).accepted_at
    earlier = c.ledger.record(
        rec["pack"]
    ).accepted_at  # after the certificate, before the revocation
    assert earlier < before
    now = compute_rollup(c.ledger.repo, nmc.pack)
    assert now.elements["Co"].certified["IRMA"].micrograms == 0
    assert any(f.code == "revoked-certificate" and revocation in f.evidence for f in now.flags)
    then = compute_rollup(c.ledger.repo, nmc.pack, at=earlier)
    assert then.elements["Co"].certified["IRMA"].micrograms == 2500 * G  # history keeps it
    assert not any(f.code == "revoked-certificate" for f in then.flags)


def test_due_diligence_coverage(nmc: Nmc) -> None:
    r = compute_rollup(nmc.chain.ledger.repo, nmc.pack)
    ni = r.elements["Ni"].due_diligence
    # Every Ni handler reported; the untraced 1 kg is not covered: 20 of 21 kg.
    assert ni is not None and (ni.covered_micrograms, ni.base_micrograms) == (20 * KG, 21 * KG)
    assert ni.percent == "95.24"
    # The CD cobalt miner had no report: 2.5 of 5 kg; the CL brine operator neither: 4 of 8 kg Li.
    assert r.elements["Co"].due_diligence.percent == "50.00"  # type: ignore[union-attr]
    assert r.elements["Li"].due_diligence.percent == "50.00"  # type: ignore[union-attr]
    # Natural graphite only: 10 kg, all covered; synthetic carbon is outside the base.
    c = r.elements["C"].due_diligence
    assert c is not None and (c.covered_micrograms, c.base_micrograms) == (10 * KG, 10 * KG)
    assert r.elements["Mn"].due_diligence is None  # manganese is not in Art. 48 scope
    missing = {f.element: f for f in r.flags if f.code == "missing-due-diligence"}
    assert set(missing) == {"Ni", "Co", "Li"}
    assert nmc.records["urn:lot:co-cd"] in missing["Co"].evidence
    assert nmc.records["pack"] in missing["Ni"].evidence  # it took the untraced input


def test_carbon_footprint_by_stage_primary_and_default(nmc: Nmc) -> None:
    r = compute_rollup(nmc.chain.ledger.repo, nmc.pack)
    # The pack draws, by mass: all of cells (200 kg), all CAM (80 kg), half the anode (20 of 40 kg),
    # all pCAM (100 kg), half of each nickel lot (500 of 1000 kg), 50 kg CD ore, 100 kg AU Co ore,
    # 25 kg Mn ore, 500 kg spodumene ore, 5000 kg brine.
    primary = {
        "ni-ca own emissions": 300 * 500 / 1000,  # 150
        "anode attested": 10 * 20,  # 200 (8 + 2 kg/kg × 20 kg)
        "pcam own": 500,
        "cell own": 1000,
        "pack own": 50 + 10,
    }
    default = {
        "ni-id ore": 15 * 500 * 0.02,  # 150: 10 kg Ni × 15
        "co-cd ore": 15 * 50 * 0.10,  # 75
        "co-au ore": 15 * 100 * 0.05,  # 75
        "mn ore": 3 * 25 * 0.40,  # 30
        "spodumene": 10 * 500 * 0.01,  # 50
        "brine": 10 * 5000 * 0.001,  # 50
        "cam step": 10 * 80,  # 800
        "untraced Ni": 30 * 1,  # 30
    }
    total = sum(primary.values()) + sum(default.values())  # 1910 + 1260 = 3170
    cf = r.carbon
    assert cf.total.milligrams == round(total) * MG_KG
    assert cf.total.primary_milligrams == round(sum(primary.values())) * MG_KG
    assert cf.total.default_milligrams == round(sum(default.values())) * MG_KG
    assert cf.total.kg_co2e == "3170.000000"
    assert cf.per_kg == "12.680000"  # 3170 / 250
    assert (cf.primary_percent, cf.default_percent) == ("60.25", "39.75")  # 1910/3170
    rma = 150 + 8 * 20 + 500 + 1260
    assert cf.stages["raw-material-acquisition"].milligrams == rma * MG_KG
    assert cf.stages["main-production"].milligrams == (2 * 20 + 1000 + 50) * MG_KG
    assert cf.stages["distribution"].milligrams == 10 * MG_KG
    assert cf.stages["end-of-life"].milligrams == 0
    # The attested anode footprint replaces the walk above it: no default for the graphite ore.
    trail = r.explain("carbon.total")
    assert nmc.records["anode_cf"] in {e.record for e in trail.entries}
    assert nmc.records["urn:lot:gr-mz"] not in {e.record for e in trail.entries}
    assert any(f.code == "default-carbon-data" for f in r.flags)


def test_risk_flags_are_explained(nmc: Nmc) -> None:
    r = compute_rollup(nmc.chain.ledger.repo, nmc.pack)
    flags = {(f.code, f.element): f for f in r.flags}
    cahra = flags[("cahra-origin", "Co")]
    assert cahra.percent == "50.00" and cahra.evidence == [nmc.records["urn:lot:co-cd"]]
    assert flags[("artisanal-cobalt", "Co")].evidence == [nmc.records["urn:lot:co-cd"]]
    assert flags[("lateritic-nickel", "Ni")].percent == "38.10"
    assert flags[("unknown-origin", "Ni")].evidence == [nmc.records["pack"]]
    for flag in r.flags:
        if flag.figure:
            assert flag.figure in r.trails
    # The CAHRA list is configuration: without DR Congo on it, no CAHRA flag.
    quiet = compute_rollup(
        nmc.chain.ledger.repo, nmc.pack, config=TraceConfig(cahra_countries=frozenset({"MM"}))
    )
    assert not any(f.code == "cahra-origin" for f in quiet.flags)
    loud = compute_rollup(
        nmc.chain.ledger.repo, nmc.pack, config=TraceConfig(cahra_countries=frozenset({"CD", "ID"}))
    )
    assert loud.elements["Ni"].cahra.micrograms == 8 * KG


def test_trails_add_up_and_name_records(nmc: Nmc) -> None:
    r = compute_rollup(nmc.chain.ledger.repo, nmc.pack)
    for figure, trail in r.trails.items():
        assert trail.value == sum(e.amount or 0 for e in trail.entries), figure
        assert all(e.amount is not None for e in trail.entries)  # compute_rollup withholds none
    assert r.explain("Ni.mass").value == 21 * KG
    ca = r.explain("Ni.country.CA")
    assert [(e.record, e.amount) for e in ca.entries] == [(nmc.records["urn:lot:ni-ca"], 12 * KG)]
    assert r.explain("Ni.certified.IRMA").entries[0].record == nmc.records["irma_ca"]
    with pytest.raises(NotFoundError) as err:
        r.explain("Ni.country.XX")
    assert "Ni.country.CA" in err.value.details["figures"]


def test_every_percent_partition_sums_to_100(nmc: Nmc) -> None:
    r = compute_rollup(nmc.chain.ledger.repo, nmc.pack)
    for e, fig in r.elements.items():
        assert sum(a.micrograms for a in fig.origin.values()) == fig.micrograms, e
        assert sum(float(a.percent) * 100 for a in fig.origin.values()) == pytest.approx(10_000)
        shares = [a.percent for a in fig.by_country.values()] + [fig.origin["unknown"].percent]
        assert sum(int(s.replace(".", "")) for s in shares) == 10_000, e


def test_rollup_is_a_stable_json_model(nmc: Nmc) -> None:
    r = compute_rollup(nmc.chain.ledger.repo, nmc.pack)
    doc = r.model_dump(by_alias=True, mode="json")
    again = Rollup.model_validate(doc)
    assert again.elements["Ni"].by_country["CA"].micrograms == 12 * KG
    assert doc["carbon"]["total"]["kgCO2e"] == "3170.000000"
    assert "byCountry" in doc["elements"]["Ni"] and "recycledPostConsumer" in doc["elements"]["Ni"]

    def no_floats(value: Any) -> None:
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for v in value.values():
                no_floats(v)
        elif isinstance(value, list):
            for v in value:
                no_floats(v)

    no_floats(doc)


def test_rollup_reads_only_the_lots_own_provenance(own_nmc: Nmc) -> None:
    """Cost grows with the pack's provenance, not with the ledger: the same statements run however
    many other packs share its upstream."""
    nmc = own_nmc
    c, p, rec = nmc.chain, nmc.parties, nmc.records
    repo = c.ledger.repo
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(repo.read_engine, "before_cursor_execute", count)
    try:
        first = compute_rollup(repo, nmc.pack)
        n_before = len(statements)
        # Five more lots made from the same upstream nickel ore lot.
        for i in range(5):
            lot = f"urn:lot:other-pack-{i}"
            c.give(p["ni_ca"], "urn:lot:ni-ca", rec["urn:lot:ni-ca"], 10_000, p["refiner"])
            c.transform(
                p["refiner"],
                "refining",
                [("urn:lot:ni-ca", rec["urn:lot:ni-ca"], 10_000)],
                [out(lot, 1_000, {"Ni": 300_000})],
            )
        statements.clear()
        second = compute_rollup(repo, nmc.pack)
        assert len(statements) == n_before
    finally:
        event.remove(repo.read_engine, "before_cursor_execute", count)
    assert first.provenance == second.provenance
    assert second.provenance.lots == 5 + 8  # pack, cells, CAM, anode, pCAM and eight ore lots
    assert second.provenance.steps == 8 + 5  # eight extractions and five transformations
    assert second.provenance.edges == 1 + 2 + 3 + 1 + 5
    assert all("other-pack" not in t for t in second.trails)


def test_cli_trace_prints_rollup_and_trails(shared: Shared) -> None:
    nmc, db_url = shared.nmc, shared.url
    runner = CliRunner()
    res = runner.invoke(app, ["trace", nmc.pack, "--db", db_url])
    assert res.exit_code == 0, res.output
    assert "CA 57.14 %" in res.output and "3170.000000 kg CO2e" in res.output
    res = runner.invoke(app, ["trace", nmc.pack, "--db", db_url, "--json"])
    doc = json.loads(res.output)
    assert doc["elements"]["Ni"]["origin"]["unknown"]["percent"] == "4.76"
    assert "Ni.country.CA" in doc["figures"]
    res = runner.invoke(app, ["trace", nmc.pack, "--db", db_url, "--explain", "Ni.country.CA"])
    assert res.exit_code == 0 and nmc.records["urn:lot:ni-ca"] in res.output
    res = runner.invoke(
        app, ["trace", nmc.pack, "--db", db_url, "--explain", "Ni.country.CA", "--json"]
    )
    assert json.loads(res.output)["value"] == 12 * KG
    res = runner.invoke(app, ["trace", nmc.pack, "--db", db_url, "--explain", "bogus"])
    assert res.exit_code == 1 and "Ni.country.CA" in res.output
    res = runner.invoke(app, ["trace", "urn:lot:missing", "--db", db_url])
    assert res.exit_code == 1 and "not_found" in res.output


def test_cli_trace_blames_the_config_file_only_for_its_own_errors(
    shared: Shared, tmp_path: Path
) -> None:
    """An unreadable ``--config`` exits 2 naming the file; a reader that closed the output
    (``bpass trace … | head``) is not reported as an unreadable config."""
    nmc, db_url = shared.nmc, shared.url
    missing = tmp_path / "absent.json"
    res = CliRunner().invoke(app, ["trace", nmc.pack, "--db", db_url, "--config", str(missing)])
    assert res.exit_code == 2 and f"cannot read {missing}" in res.output
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout now fails with EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "cli", "trace", nmc.pack, "--db", db_url],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(write_end)
    assert "cannot read" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, proc.stderr  # click's exit for a closed pipe


@dataclass
class Loop:
    chain: Chain
    parties: dict[str, Party]
    records: dict[str, str]


def build_recycling(chain: Chain) -> Loop:
    """An end-of-life pack and cell scrap → black mass → recovered NiSO4 → blended with mined Ni."""
    c = chain
    p = {
        "miner": c.party("miner", country="CA"),
        "old_pack": c.party("pack-maker", country="DE"),
        "recycler": c.party("recycler", country="BE"),
        "refiner": c.party("refiner", country="FI"),
    }
    r: dict[str, str] = {}
    r["old-ore"] = c.extract(p["miner"], "urn:lot:old-ore", 10_000, {"Ni": 50_000})  # 500 g Ni
    c.give(p["miner"], "urn:lot:old-ore", r["old-ore"], 10_000, p["old_pack"])
    r["old-pack"] = c.transform(
        p["old_pack"],
        "pack",
        [("urn:lot:old-ore", r["old-ore"], 10_000)],
        [out("urn:lot:old-pack", 1_000, {"Ni": 100_000})],
    )  # 100 g Ni
    c.give(p["old_pack"], "urn:lot:old-pack", r["old-pack"], 1_000, p["recycler"])
    # Recycling: the old pack (post-consumer, 100 g Ni) + cell scrap from outside the ledger
    # (pre-consumer, 500 g × 20 % = 100 g Ni) → black mass 800 g × 20 % = 160 g Ni: 80 g each.
    r["recycling"] = c.transform(
        p["recycler"],
        "recycling",
        [("urn:lot:old-pack", r["old-pack"], 1_000, "post-consumer")],
        [out("urn:lot:black-mass", 800, {"Ni": 200_000})],
        externals=[external("pre-consumer-waste", "cell production scrap", 500, {"Ni": 200_000})],
        emissions={"raw-material-acquisition": "4"},
    )
    # Recovery: 800 g black mass → 500 g NiSO4 at 20 % = 100 g Ni (50 g post, 50 g pre).
    r["recovery"] = c.transform(
        p["recycler"],
        "material-recovery",
        [("urn:lot:black-mass", r["recycling"], 800)],
        [out("urn:lot:rec-sulfate", 500, {"Ni": 200_000})],
    )
    c.give(p["recycler"], "urn:lot:rec-sulfate", r["recovery"], 500, p["refiner"])
    r["ore"] = c.extract(p["miner"], "urn:lot:ore", 20_000, {"Ni": 50_000})  # 1000 g Ni
    c.give(p["miner"], "urn:lot:ore", r["ore"], 20_000, p["refiner"])
    return Loop(c, p, r)


@pytest.fixture
def loop(ledger: Ledger, operator_key: SigningKey) -> Loop:
    return build_recycling(Chain(ledger, operator_key))


def test_recycled_content_through_the_graph(loop: Loop) -> None:
    c, p, r = loop.chain, loop.parties, loop.records
    # Blend 100 g recycled Ni with 300 g mined Ni (6000 g of 5 % ore) → 1000 g pCAM at 40 %.
    r["blend"] = c.transform(
        p["refiner"],
        "precursor",
        [("urn:lot:rec-sulfate", r["recovery"], 500), ("urn:lot:ore", r["ore"], 6_000)],
        [out("urn:lot:blend", 1_000, {"Ni": 400_000})],
    )
    roll = compute_rollup(c.ledger.repo, "urn:lot:blend")
    ni = roll.elements["Ni"]
    assert ni.micrograms == 400 * G
    # 50 g post-consumer + 50 g pre-consumer of 400 g: 12.5 % each; 300 g mined: 75 %.
    assert ni.recycled_post_consumer == ni.recycled_pre_consumer
    assert (
        ni.recycled_post_consumer.micrograms == 50 * G
        and ni.recycled_post_consumer.percent == "12.50"
    )
    assert ni.origin["extracted"].percent == "75.00"
    # Recycled Ni originates at the recycler (BE); the old pack's own mine is cut off.
    assert ni.by_country == {"BE": ni.by_country["BE"], "CA": ni.by_country["CA"]}
    assert ni.by_country["BE"].micrograms == 100 * G
    assert r["old-ore"] not in {e.record for e in roll.explain("Ni.mass").entries}
    post = roll.explain("Ni.recycled.post-consumer")
    assert [(e.record, e.lot, e.amount) for e in post.entries] == [
        (r["recycling"], "urn:lot:old-pack", 50 * G)
    ]
    # Carbon: cut-off — the old pack's burden stays with its first life; the recycler's 4 kg CO2e
    # for 800 g black mass count in full (all of it was recovered into the 500 g drawn).
    trail = roll.explain("carbon.total")
    assert r["old-pack"] not in {e.record for e in trail.entries}
    recycling = [e for e in trail.entries if e.record == r["recycling"]]
    assert [e.amount for e in recycling] == [4 * MG_KG]


def test_mass_balance_claims_replace_the_physical_figure(loop: Loop) -> None:
    c, p, r = loop.chain, loop.parties, loop.records
    # Same 400 g Ni in, two outputs of 200 g Ni; output A claims all 100 g recycled credits.
    claims = [
        {"type": "recycled-post-consumer", "element": "Ni", "grams": 50},
        {"type": "recycled-pre-consumer", "element": "Ni", "grams": 50},
    ]
    r["mb"] = c.transform(
        p["refiner"],
        "precursor",
        [("urn:lot:rec-sulfate", r["recovery"], 500), ("urn:lot:ore", r["ore"], 6_000)],
        [
            out("urn:lot:mb-a", 500, {"Ni": 400_000}, claims=claims),
            out("urn:lot:mb-b", 500, {"Ni": 400_000}),
        ],
        custody="mass-balance",
    )
    a = compute_rollup(c.ledger.repo, "urn:lot:mb-a").elements["Ni"]
    b = compute_rollup(c.ledger.repo, "urn:lot:mb-b").elements["Ni"]
    assert (a.recycled_post_consumer.percent, a.recycled_pre_consumer.percent) == ("25.00", "25.00")
    assert (b.recycled_post_consumer.micrograms, b.recycled_pre_consumer.micrograms) == (0, 0)
    # Physical origin is still reported as it is: 25 % of each output's Ni came from the recycler.
    assert a.origin["extracted"].percent == b.origin["extracted"].percent == "75.00"
    # Downstream, credits flow physically again: all of A (200 g Ni, 100 g claimed) + 200 g mined Ni.
    r["cam"] = c.transform(
        p["refiner"],
        "cathode-material",
        [("urn:lot:mb-a", r["mb"], 500), ("urn:lot:ore", r["ore"], 4_000)],
        [out("urn:lot:cam", 1_000, {"Ni": 400_000})],
    )
    cam = compute_rollup(c.ledger.repo, "urn:lot:cam").elements["Ni"]
    assert cam.recycled_post_consumer.micrograms == 50 * G  # 50 of 400 g: 12.5 %
    assert cam.recycled_pre_consumer.percent == "12.50"
    # An attested recycled content the graph supports raises nothing; one it does not is flagged.
    lot = {"type": "lot", "lot": "urn:lot:cam", "record": r["cam"]}
    ok = {
        "subject": lot,
        "elements": {"Ni": {"preConsumerGrams": 50, "postConsumerGrams": 50}},
        "intakeRecords": [r["recycling"]],
    }
    c.append(p["refiner"], "RecycledContent", ok)
    assert not any(
        f.code == "recycled-content-mismatch"
        for f in compute_rollup(c.ledger.repo, "urn:lot:cam").flags
    )
    too_much = dict(ok, elements={"Ni": {"preConsumerGrams": 50, "postConsumerGrams": 60}})
    h = c.append(p["refiner"], "RecycledContent", too_much)
    flags = [
        f
        for f in compute_rollup(c.ledger.repo, "urn:lot:cam").flags
        if f.code == "recycled-content-mismatch"
    ]
    assert len(flags) == 1 and h in flags[0].evidence


def test_certified_mass_balance_claim_becomes_unbacked_when_the_certificate_is_revoked(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    c = Chain(ledger, operator_key)
    certified, other = c.party("miner", country="CA"), c.party("miner", country="AU")
    refiner, certifier = c.party("refiner"), c.party("certifier")
    cert = c.certify(certifier, facility_subject(certified), "IRMA")
    h1 = c.extract(certified, "urn:lot:c", 1_000, {"Ni": 100_000})  # 100 g Ni, IRMA
    h2 = c.extract(other, "urn:lot:u", 1_000, {"Ni": 100_000})  # 100 g Ni, not certified
    c.give(certified, "urn:lot:c", h1, 1_000, refiner)
    c.give(other, "urn:lot:u", h2, 1_000, refiner)
    claim = [{"type": "certified", "scheme": "IRMA", "element": "Ni", "grams": 100}]
    step = c.transform(
        refiner,
        "refining",
        [("urn:lot:c", h1, 1_000), ("urn:lot:u", h2, 1_000)],
        [
            out("urn:lot:x", 500, {"Ni": 200_000}, claims=claim),
            out("urn:lot:y", 500, {"Ni": 200_000}),
        ],
        custody="mass-balance",
    )
    x = compute_rollup(ledger.repo, "urn:lot:x")
    assert x.elements["Ni"].certified["IRMA"].percent == "100.00"
    assert compute_rollup(ledger.repo, "urn:lot:y").elements["Ni"].certified["IRMA"].micrograms == 0
    c.append(certifier, "Retraction", {"record": cert, "reason": "suspended after audit"})
    x = compute_rollup(ledger.repo, "urn:lot:x")
    assert x.elements["Ni"].certified["IRMA"].micrograms == 0
    unbacked = [f for f in x.flags if f.code == "unbacked-claim"]
    assert unbacked and unbacked[0].evidence == [step]


def test_batched_lookups_find_lots_whatever_the_keys_hold(nmc: Nmc) -> None:
    # On PostgreSQL keys travel as one separator-joined parameter unless a key holds the
    # separator; both forms must find exactly the stored lots.
    from passport.store.sql.trace import TraceTx

    with nmc.chain.ledger.repo.read() as tx:
        tt = TraceTx(tx)
        plain = tt.lots_with_steps([nmc.pack, "urn:lot:absent"])
        odd = tt.lots_with_steps([nmc.pack, "urn:lot:a\x1fb", "urn:lot:a,b"])
    assert set(plain) == set(odd) == {nmc.pack}
