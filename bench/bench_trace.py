"""Roll-up benchmark: time to roll up one pack whose provenance holds ~5,000 records, in a ledger
of 10, 100 and 1,000 packs sharing their upstream lots (issue §7: under 200 ms, and independent of
how many other packs the ledger holds).

Run ``python bench/bench_trace.py`` (SQLite in a temporary folder) or
``python bench/bench_trace.py --db postgresql://127.0.0.1:5432/test`` (a fresh schema, dropped
afterwards). ``--packs`` sets the largest ledger (default 1000), ``--extractions`` the number of
extraction lots upstream (default 4,400, which gives a pack ~5,000 provenance records).

The ledger is built through the public append interface: records are signed with
:class:`passport.ledger.batchsign.BatchSigner` and appended with ``Ledger.append_batch`` (every
record's proof verified, every traceability rule applied). Upstream: integrated mining companies
extract Ni, Co, Li, Mn and natural-graphite lots and refine them (10 lots per refining step); a pCAM
maker, a CAM maker and an anode maker blend all refined lots; certificates, due-diligence reports
and carbon footprints are attested. Per pack: one cell step drawing from every CAM and anode lot,
four module steps and the pack step. Every pack's provenance therefore spans the whole upstream.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import Figure, add_argument, record_run

from passport.ledger.batchsign import BatchSigner
from passport.ledger.pipeline import Ledger
from passport.store.sql.repository import Repository
from passport.trace.rollup import compute_rollup
from signing import ed25519
from signing.keys import SigningKey

T0 = "2026-03-01T00:00:00Z"
TARGET_MS = 200.0
BATCH = 1000
PPM = 1_000_000

# (element, material, deposit types, countries, lot grams, ppm, refined ppm, share of lots)
MATERIALS = [
    (
        "Ni",
        "nickel",
        ["lateritic", "sulfidic"],
        ["ID", "PH", "CA", "AU"],
        10**9,
        15_000,
        220_000,
        0.45,
    ),
    (
        "Co",
        "cobalt",
        ["copper-cobalt", "sulfidic"],
        ["CD", "AU", "ZM"],
        10**8,
        20_000,
        200_000,
        0.18,
    ),
    ("Li", "lithium", ["spodumene", "brine"], ["AU", "CL", "AR"], 10**9, 7_000, 180_000, 0.18),
    ("Mn", "manganese", ["sedimentary"], ["ZA", "GA"], 10**8, 400_000, 320_000, 0.095),
    ("C", "graphite", ["natural-flake"], ["MZ", "CN", "MG"], 10**8, 100_000, 940_000, 0.095),
]


@dataclass
class Actor:
    key: SigningKey
    facility: str
    country: str


@dataclass
class Lot:
    lot: str
    record: str
    grams: int
    elements: dict[str, int]


@dataclass
class World:
    ledger: Ledger
    signer: BatchSigner
    operator: SigningKey
    actors: dict[str, Actor] = field(default_factory=dict)
    cam: list[Lot] = field(default_factory=list)
    anode: list[Lot] = field(default_factory=list)
    packs: list[str] = field(default_factory=list)
    per_pack: dict[str, list[int]] = field(default_factory=dict)
    records: int = 0

    def sign(self, actor: Actor, kind: str, subject: dict[str, Any]) -> str:
        _, digest = self.signer.sign(actor.key, kind, subject, valid_from=T0)
        if len(self.signer.pending) >= BATCH:
            self.flush()
        return digest

    def flush(self) -> None:
        self.records += self.signer.flush()


def register(world: World, name: str, roles: list[str], country: str) -> Actor:
    key = SigningKey.from_seed(uuid.uuid4().bytes * 2)
    facility = f"{name}-site"
    subject = {
        "id": key.did,
        "name": name,
        "country": country,
        "roles": roles,
        "facilities": [{"id": facility, "name": f"{name} site", "country": country}],
    }
    world.signer.sign(world.operator, "ActorRegistration", subject, valid_from=T0)
    actor = Actor(key, facility, country)
    world.actors[name] = actor
    return actor


def give(world: World, seller: Actor, buyer: Actor, lot: Lot) -> None:
    transfer = world.sign(
        seller,
        "Transfer",
        {"lot": lot.lot, "record": lot.record, "massGrams": lot.grams, "buyer": buyer.key.did},
    )
    world.sign(buyer, "TransferAcceptance", {"transfer": transfer, "decision": "accepted"})


def transform(
    world: World,
    maker: Actor,
    step: str,
    inputs: list[tuple[Lot, int]],
    out_id: str,
    grams: int,
    keep: float,
    externals: list[dict[str, Any]] | None = None,
    emissions: dict[str, str] | None = None,
) -> Lot:
    """A step whose single output keeps ``keep`` of every element that entered (exact integers)."""
    pool: dict[str, int] = {}
    for lot, q in inputs:
        for e, ppm in lot.elements.items():
            pool[e] = pool.get(e, 0) + q * ppm
    for ext in externals or []:
        for e, ppm in ext["elements"].items():
            pool[e] = pool.get(e, 0) + ext["massGrams"] * ppm
    elements = {e: min(int(ug * keep) // grams, PPM) for e, ug in sorted(pool.items())}
    total = sum(elements.values())
    if total > PPM:  # scale down to fit the whole
        elements = {e: v * PPM // total for e, v in elements.items()}
    subject: dict[str, Any] = {
        "processStep": step,
        "custody": "controlled-blending",
        "facility": maker.facility,
        "inputs": [{"lot": lot.lot, "record": lot.record, "massGrams": q} for lot, q in inputs],
        "outputs": [{"lot": out_id, "massGrams": grams, "elements": elements}],
    }
    if externals:
        subject["externalInputs"] = externals
    if emissions:
        subject["emissions"] = emissions
    digest = world.sign(maker, "Transformation", subject)
    return Lot(out_id, digest, grams, elements)


def build_upstream(world: World, extractions: int, max_packs: int) -> None:
    """Mines, refining, pCAM, CAM and anode material shared by every pack."""
    certifier = register(world, "certifier", ["certifier"], "CH")
    pcam = register(world, "pcam-maker", ["material-maker"], "FI")
    cam = register(world, "cam-maker", ["material-maker"], "KR")
    anode = register(world, "anode-maker", ["material-maker"], "CN")
    world.flush()
    refined: dict[str, list[Lot]] = {}
    n_company = 0
    for element, material, deposits, countries, grams, ppm, refined_ppm, share in MATERIALS:
        lots_here = max(10, int(extractions * share) // 10 * 10)
        companies = max(1, lots_here // 100)
        refined[element] = []
        for c in range(companies):
            n_company += 1
            country = countries[c % len(countries)]
            company = register(world, f"{material}-co-{c}", ["miner", "refiner"], country)
            world.flush()
            if c % 2 == 0:
                world.sign(
                    certifier,
                    "Certification",
                    {
                        "subject": {
                            "type": "facility",
                            "actor": company.key.did,
                            "facility": company.facility,
                        },
                        "scheme": "IRMA",
                        "certificateId": f"IRMA-{n_company}",
                        "scope": "mine and concentrator",
                        "validFrom": "2025-01-01T00:00:00Z",
                        "validUntil": "2027-12-31T00:00:00Z",
                    },
                )
            world.sign(company, "DueDiligence", due_diligence(company))
            mined: list[Lot] = []
            for i in range(lots_here // companies):
                lot_id = f"urn:lot:{material}:{c}:{i}"
                subject = {
                    "lot": lot_id,
                    "material": material,
                    "depositType": deposits[i % len(deposits)],
                    "miningMethod": "artisanal-small-scale"
                    if element == "Co" and c == 0 and i % 3 == 0
                    else "industrial",
                    "facility": company.facility,
                    "country": country,
                    "massGrams": grams,
                    "elements": {element: ppm},
                    "period": {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"},
                }
                mined.append(
                    Lot(lot_id, world.sign(company, "Extraction", subject), grams, {element: ppm})
                )
            for b in range(0, len(mined), 10):
                batch = mined[b : b + 10]
                pool = sum(lot.grams * lot.elements[element] for lot in batch)
                out = transform(
                    world,
                    company,
                    "refining",
                    [(lot, lot.grams) for lot in batch],
                    f"urn:lot:{material}:{c}:refined:{b // 10}",
                    pool * 9 // 10 // refined_ppm,
                    0.9,
                    emissions={"raw-material-acquisition": "1250.5"},
                )
                if b % 30 == 0:
                    world.sign(
                        company,
                        "CarbonFootprint",
                        {
                            "subject": {"type": "lot", "lot": out.lot, "record": out.record},
                            "boundary": "cradle-to-gate",
                            "perKg": {"raw-material-acquisition": "9.75"},
                            "method": "ISO 14067",
                            "study": f"LCA {out.lot}",
                        },
                    )
                give(
                    world,
                    company,
                    anode if element == "C" else (cam if element == "Li" else pcam),
                    out,
                )
                refined[element].append(out)
    world.flush()
    for name in ("pcam-maker", "cam-maker", "anode-maker"):
        world.sign(world.actors[name], "DueDiligence", due_diligence(world.actors[name]))
    # pCAM: 10 blends of the Ni, Co and Mn sulfates.
    sulfates = refined["Ni"] + refined["Co"] + refined["Mn"]
    pcams = []
    for k in range(10):
        part = sulfates[k::10]
        ug = sum(lot.grams * sum(lot.elements.values()) for lot in part)
        pcams.append(
            transform(
                world,
                pcam,
                "precursor",
                [(lot, lot.grams) for lot in part],
                f"urn:lot:pcam:{k}",
                ug * 95 // 100 // 600_000,
                0.95,
            )
        )
    world.flush()
    for lot in pcams:
        give(world, pcam, cam, lot)
    lithium = refined["Li"]
    for k in range(10):
        part = [(pcams[k], pcams[k].grams)] + [(lot, lot.grams) for lot in lithium[k::10]]
        ug = sum(q * sum(lot.elements.values()) for lot, q in part)
        world.cam.append(
            transform(
                world,
                cam,
                "cathode-material",
                part,
                f"urn:lot:cam:{k}",
                ug * 97 // 100 // 650_000,
                0.97,
            )
        )
    graphite = refined["C"]
    for k in range(5):
        part = [(lot, lot.grams) for lot in graphite[k::5]]
        coke = {
            "source": "synthetic-feedstock",
            "description": "needle coke",
            "massGrams": 10**7,
            "elements": {"C": 900_000},
        }
        ug = sum(q * lot.elements["C"] for lot, q in part) + 10**7 * 900_000
        world.anode.append(
            transform(
                world,
                anode,
                "anode-material",
                part,
                f"urn:lot:anode:{k}",
                ug * 99 // 100 // 950_000,
                0.99,
                externals=[coke],
            )
        )
    cells = register(world, "cell-maker", ["cell-maker"], "PL")
    packs = register(world, "pack-maker", ["pack-maker"], "DE")
    world.flush()
    world.sign(cells, "DueDiligence", due_diligence(cells))
    world.sign(packs, "DueDiligence", due_diligence(packs))
    for lot in world.cam:
        give(world, cam, cells, lot)
    for lot in world.anode:
        give(world, anode, cells, lot)
    world.flush()
    world.per_pack = {
        "cam": [lot.grams // (max_packs + 1) for lot in world.cam],
        "anode": [lot.grams // (max_packs + 1) for lot in world.anode],
    }


def due_diligence(actor: Actor) -> dict[str, Any]:
    return {
        "subject": {"type": "actor", "actor": actor.key.did},
        "framework": "OECD-DDG",
        "reportRef": "https://example.com/dd.pdf",
        "reportHash": "sha256:" + "cd" * 32,
        "stepsCovered": [1, 2, 3, 4, 5],
        "validFrom": "2025-01-01T00:00:00Z",
        "validUntil": "2027-12-31T00:00:00Z",
        "riskFindings": [],
    }


def add_packs(world: World, until: int) -> None:
    """Packs: one cell step drawing from every CAM and anode lot, four modules, the pack."""
    cells, packs = world.actors["cell-maker"], world.actors["pack-maker"]
    per = world.per_pack
    while len(world.packs) < until:
        n = len(world.packs)
        inputs = list(zip(world.cam, per["cam"], strict=True)) + list(
            zip(world.anode, per["anode"], strict=True)
        )
        ug = sum(q * sum(lot.elements.values()) for lot, q in inputs)
        cell = transform(
            world,
            cells,
            "cell",
            inputs,
            f"urn:lot:cells:{n}",
            ug * 98 // 100 // 400_000,
            0.98,
            emissions={"main-production": "450.25"},
        )
        give(world, cells, packs, cell)
        quarter = cell.grams // 4
        modules = [
            transform(
                world, packs, "module", [(cell, quarter)], f"urn:lot:module:{n}:{m}", quarter, 1.0
            )
            for m in range(4)
        ]
        pack = transform(
            world,
            packs,
            "pack",
            [(m, m.grams) for m in modules],
            f"urn:lot:pack:{n}",
            sum(m.grams for m in modules) * 5 // 4,
            1.0,
            emissions={"main-production": "80"},
        )
        world.packs.append(pack.lot)
    world.flush()


def time_rollup(world: World, lot: str, runs: int) -> dict[str, float]:
    """Median wall and CPU ms of ``compute_rollup`` (loading included) and the provenance size."""
    wall, cpu = [], []
    size = 0
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        roll = compute_rollup(world.ledger.repo, lot)
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        size = roll.provenance.records
    return {"wall": statistics.median(wall), "cpu": statistics.median(cpu), "records": size}


def settle(ledger: Ledger) -> None:
    """On PostgreSQL, ``VACUUM ANALYZE`` after a bulk load, as the server's autovacuum would do
    shortly anyway: timed otherwise, the roll-ups share the two cores with an autovacuum worker
    that is still analysing the freshly loaded tables (seen: wall time up to 1.8x the CPU time
    while the process's own CPU time stayed flat)."""
    if ledger.repo.is_sqlite:
        return
    from sqlalchemy import text

    with ledger.repo.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def verify_rate(seconds: float = 1.0) -> float:
    """Bare Ed25519 verifications per second (signing.ed25519), for reference, over a 64-byte
    message: what eddsa-jcs-2022 signs (two SHA-256 digests)."""
    seed = b"\x07" * 32
    public, secret = ed25519.keypair_from_seed(seed)
    message = b"x" * 64
    signature = ed25519.sign(secret, message)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            ed25519.verify(public, message, signature)
        n += 200
    return n / (time.perf_counter() - start)


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """A fresh database: SQLite in a temporary folder, or a new PostgreSQL schema (then dropped)."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            yield url or f"sqlite:///{tmp}/bench.sqlite"
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument(
        "--packs", type=int, default=1000, help="largest number of packs (default 1000)"
    )
    parser.add_argument("--extractions", type=int, default=4400, help="extraction lots upstream")
    parser.add_argument("--runs", type=int, default=7, help="roll-ups timed per size (median)")
    add_argument(parser)
    args = parser.parse_args(argv)
    sizes = [n for n in (10, 100, 1000, 10_000) if n < args.packs] + [args.packs]
    backend = "PostgreSQL" if args.db and not args.db.startswith("sqlite") else "SQLite"
    bare = verify_rate()
    print(f"bare Ed25519 verify (signing.ed25519): {bare:,.0f}/s")
    figures = [Figure("bare Ed25519 verify (signing.ed25519)", f"{bare:,.0f} /s")]
    with database(args.db) as url:
        operator = SigningKey.from_seed(os.urandom(32))
        ledger = Ledger(Repository(url), log_key=SigningKey.from_seed(os.urandom(32)))
        ledger.initialise(operator, "bench.example/log", "Bench operator")
        world = World(ledger, BatchSigner(ledger), operator)
        try:
            start = time.perf_counter()
            build_upstream(world, args.extractions, args.packs)
            print(
                f"{backend}: upstream of {world.records:,} records built in "
                f"{time.perf_counter() - start:.0f} s"
            )
            results = []
            for size in sizes:
                start = time.perf_counter()
                add_packs(world, size)
                built = time.perf_counter() - start
                settle(ledger)
                first = time_rollup(world, world.packs[0], args.runs)
                last = time_rollup(world, world.packs[-1], args.runs)
                ledger_size = ledger.info().size
                results.append((size, first["wall"]))
                figures.append(
                    Figure(
                        f"{backend}: roll-up of the first pack, ledger of {size} packs (median)",
                        f"{first['wall']:.0f} ms (CPU {first['cpu']:.0f} ms;"
                        f" {first['records']:,.0f} provenance records)",
                    )
                )
                print(
                    f"{backend}: {size:>5} packs, ledger {ledger_size:>6,} records "
                    f"(+{built:.0f} s to build); first pack ({first['records']:,.0f} provenance "
                    f"records): {first['wall']:.0f} ms (CPU {first['cpu']:.0f} ms); newest pack: "
                    f"{last['wall']:.0f} ms (CPU {last['cpu']:.0f} ms); load average "
                    f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
                )
            worst = max(ms for _, ms in results)
            ratio = max(ms for _, ms in results) / min(ms for _, ms in results)
            verdict = "met" if worst < TARGET_MS else "NOT met"
            print(
                f"{backend}: slowest median {worst:.0f} ms (target < {TARGET_MS:.0f} ms: "
                f"{verdict}); largest/smallest ledger ratio {ratio:.2f}"
            )
            figures += [
                Figure(
                    f"{backend}: slowest median roll-up",
                    f"{worst:.0f} ms",
                    f"< {TARGET_MS:.0f} ms",
                    verdict,
                ),
                Figure(f"{backend}: largest/smallest ledger ratio", f"{ratio:.2f}"),
            ]
            run = (" ".join(argv) or "defaults") if argv is not None else None
            record_run("bench_trace", figures, no_record=args.no_record, run=run)
        finally:
            ledger.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
