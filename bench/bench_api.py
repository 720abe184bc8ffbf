"""HTTP API benchmark on loopback: public GETs under 100 concurrent clients, appends over HTTP.

Run ``python bench/bench_api.py`` (about a minute; it stops by itself). It:

1. creates a temporary SQLite ledger with a few registered issuers and pre-signs chains of records
   for them (so signing is not measured);
2. starts two uvicorn processes on free loopback ports: ``bpass serve`` over that ledger, and a
   bare FastAPI app with one trivial endpoint (the same uvicorn settings), the baseline;
3. loads both from 100 concurrent keep-alive connections on loopback: GET p50/p99 closed-loop
   (every client sends its next request as soon as the last one is answered: saturation) and
   paced (each client sends 10 requests/s, 1,000/s in all: latency under a steady load), for the
   latest checkpoint, a record by hash and the bare endpoint;
4. appends over HTTP: single records from 100 issuers at once (group commit), then batches of
   100, next to the ledger's own in-process append rate measured in the same run;
5. reads public passports: the sample supply chain (``samples/``) with ``--packs`` passports is
   loaded into the same ledger, and 100 clients GET the packs' GS1 Digital Link URIs
   (``/01/{gtin}/21/{serial}``, JSON by content negotiation) closed-loop and paced;
6. prints a table and the targets (p99 < 50 ms, >= 1,000 appends/s), then stops the servers.
   The p99 target is judged on the public passport GET under the paced load: in the closed loop
   every client waits behind the 99 others, so its p99 measures the queue at saturation (the bare
   endpoint exceeds 50 ms there too); the slowest paced endpoint is printed beside it;
7. in process: verifies the offline bundle of a pack with ``--bundle-records`` provenance records
   (default 5,000; ``passport.verify.bundle.verify_bundle``, every check including the provenance
   replay and the roll-ups) and compares it with the bare Ed25519 cost of the bundle's signatures:
   the bundle's own record signatures verified one after another with ``signing.ed25519.verify``
   and nothing else, timed right before each run (this machine's speed drifts by tens of per
   cent within minutes, so each run is compared with the bare cost measured next to it, and the
   verdict is the median of the runs' ratios). The usual rate figure, one signature verified
   over and over (as many times, next to each run too), is printed beside it: it comes out
   0-10% faster than the bundle's distinct signatures (measured; the same bytes copied into
   distinct objects lose most of the gain, so it is mostly the caches). The bundle is
   verified as a regulator gets it: its JSON bytes as served, parsed strictly as ``bpass verify``
   parses a file (the parse is timed and printed apart). ``--bundle-only`` runs this step alone,
   without the servers and the HTTP load of steps 1 to 6.

The load generator is a minimal asyncio HTTP/1.1 client: ``httpx.AsyncClient`` saturates near
600 requests/s on a 2-core machine and would measure itself, not the server (``--client httpx``
runs it anyway). Servers and load generator share this machine's cores, so the figures are lower
bounds; the bare endpoint measured in the same run gives the scale.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from report import Figure, add_argument, record_run
from server import free_port, stop, wait_ready

CLIENTS = 100
GET_SECONDS = 5.0
WARMUP_SECONDS = 1.0
PACED_RATE = 10.0  # requests per second per client in the paced run
REGISTERED = 16  # issuers registered (records to read by hash)
SINGLE_ISSUERS = CLIENTS
CHAIN = 30  # single appends per issuer
BATCH_ISSUERS = 16
BATCH = 100
BATCHES_PER_ISSUER = 3
P99_TARGET_MS = 50.0
APPENDS_TARGET = 1000.0


# -- servers ----------------------------------------------------------------------------------
def serve_bare(port: int) -> None:
    """The baseline: a bare FastAPI app with one small endpoint, on uvicorn like ``bpass serve``."""
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI()

    # A coroutine: FastAPI runs a plain ``def`` endpoint in its thread pool, whose hop would
    # make the baseline slower than the ledger's own (coroutine) routes.
    @app.get("/bare", response_class=PlainTextResponse)
    async def bare() -> str:
        return "ok\n"

    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


# -- the ledger and its pre-signed records -----------------------------------------------------
@dataclass
class Fixture:
    """What the load needs: hashes to read, and per-issuer chains of signed record bytes."""

    home: Path
    record_hashes: list[str]
    singles: list[list[bytes]]
    batches: list[list[bytes]]
    in_process: list[list[bytes]]
    passport_paths: list[str]


def _chain(
    issuer: str, key: Any, start: int, previous: str | None, n: int
) -> tuple[list[bytes], Any, str | None]:
    from passport.records.envelope import sign_next
    from signing.jcs import canonicalize
    from signing.keys import SigningKey

    out = []
    for seq in range(start, start + n):
        nxt = SigningKey.generate()
        signed = sign_next(
            key,
            "KeyRotation",
            {"nextKey": nxt.multikey},
            issuer=issuer,
            head=(seq - 1, previous),
            valid_from="2026-01-01T00:00:00Z",
        )
        body = canonicalize(signed)
        previous = "sha256:" + hashlib.sha256(body).hexdigest()
        out.append(body)
        key = nxt
    return out, key, previous


def prepare(home: Path, base_url: str, packs: int) -> tuple[Fixture, float]:
    """A SQLite ledger in ``home`` with issuers and their pre-signed records.

    Also measures the ledger's own append rate in process (groups of as many records as there
    are concurrent HTTP clients, as group commit forms them), on issuers of its own.
    """
    from passport.ledger.keystore import load_or_create
    from passport.ledger.pipeline import Ledger
    from passport.settings import Settings
    from passport.store.sql.repository import Repository
    from signing.keys import SigningKey

    settings = Settings(home=home)
    operator, _ = load_or_create(settings.operator_key_path)
    log_key, _ = load_or_create(settings.log_key_path)
    ledger = Ledger(Repository(settings.resolved_database_url()), log_key=log_key, workers=1)
    ledger.initialise(operator, "bench.local/log", "Bench operator")
    n_keys = SINGLE_ISSUERS + BATCH_ISSUERS + SINGLE_ISSUERS
    keys = [SigningKey.generate() for _ in range(n_keys)]
    subjects = [{"id": k.did, "name": "Issuer", "roles": ["miner"]} for k in keys]
    hashes = [
        ledger.append(ledger.sign_new(operator, "ActorRegistration", subject)).record_hash
        for subject in subjects
    ]
    singles = [_chain(k.did, k, 1, None, CHAIN)[0] for k in keys[:SINGLE_ISSUERS]]
    batches = []
    for k in keys[SINGLE_ISSUERS : SINGLE_ISSUERS + BATCH_ISSUERS]:
        records = _chain(k.did, k, 1, None, BATCH * BATCHES_PER_ISSUER)[0]
        batches.append(
            [b"[" + b",".join(records[i : i + BATCH]) + b"]" for i in range(0, len(records), BATCH)]
        )
    in_process = [
        _chain(k.did, k, 1, None, CHAIN)[0] for k in keys[SINGLE_ISSUERS + BATCH_ISSUERS :]
    ]
    began = time.perf_counter()
    for step in range(CHAIN):
        ledger.append_batch([c[step] for c in in_process])
    rate = SINGLE_ISSUERS * CHAIN / (time.perf_counter() - began)
    from samples.generate import build_sample_ledger

    sample = build_sample_ledger(ledger, packs=packs, operator_key=operator, base_url=base_url)
    paths = [p.battery_id.removeprefix(base_url) for p in sample.packs]
    ledger.close()
    return Fixture(home, hashes[:REGISTERED], singles, batches, in_process, paths), rate


# -- load -------------------------------------------------------------------------------------
@dataclass
class Result:
    """Latencies (ms) and throughput of one load run."""

    name: str
    latencies: list[float]
    seconds: float
    errors: int
    items: int = 0

    @property
    def rate(self) -> float:
        """Items (records) per second, else requests per second."""
        return (self.items or len(self.latencies)) / self.seconds

    def pct(self, q: float) -> float:
        """The ``q`` quantile of latency in ms."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Connection:
    """One keep-alive HTTP/1.1 connection: the lightest client asyncio allows."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        """Send one request, read the whole response; its status."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode("ascii") + b"\r\n" + body)
        await self.writer.drain()
        response_head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in response_head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(response_head[9:12])

    async def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()


class HttpxConnection:
    """The same interface over one httpx.AsyncClient (``--client httpx``)."""

    def __init__(self, port: int) -> None:
        self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60.0)

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        """Send one request; its status."""
        headers = {"Content-Type": "application/json"} if body else None
        response = await self.client.request(method, path, content=body or None, headers=headers)
        return response.status_code

    async def close(self) -> None:
        """Close the client."""
        await self.client.aclose()


CONNECTION: type[Connection] | type[HttpxConnection] = Connection


async def get_load(name: str, port: int, paths: list[str], paced: bool) -> Result:
    """``CLIENTS`` connections issuing GETs for ``GET_SECONDS`` after a warm-up.

    Closed loop (each client sends again as soon as it is answered) or paced (each client sends
    every ``1 / PACED_RATE`` s, skipping a beat if it falls behind).
    """
    latencies: list[float] = []
    errors = 0
    began = time.perf_counter()
    measure_from = began + WARMUP_SECONDS
    stop_at = measure_from + GET_SECONDS

    async def worker(seed: int) -> None:
        nonlocal errors
        rnd = random.Random(seed)
        conn = CONNECTION(port)
        next_at = began + rnd.random() / PACED_RATE
        while (now := time.perf_counter()) < stop_at:
            if paced:
                if now < next_at:
                    await asyncio.sleep(next_at - now)
                next_at = max(next_at + 1 / PACED_RATE, time.perf_counter())
            started = time.perf_counter()
            status = await conn.request("GET", rnd.choice(paths))
            if status != 200:
                errors += 1
            if started >= measure_from:
                latencies.append((time.perf_counter() - started) * 1000)
        await conn.close()

    await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
    return Result(name, latencies, GET_SECONDS, errors)


async def append_load(
    name: str, port: int, path: str, chains: list[list[bytes]], per: int
) -> Result:
    """One connection per issuer posting its chain in order; throughput in records per second."""
    latencies: list[float] = []
    errors = 0

    async def worker(chain: list[bytes]) -> None:
        nonlocal errors
        conn = CONNECTION(port)
        for body in chain:
            started = time.perf_counter()
            if await conn.request("POST", path, body) != 201:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)
        await conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in chains))
    seconds = time.perf_counter() - began
    return Result(name, latencies, seconds, errors, sum(len(c) for c in chains) * per)


async def run_all(ledger_port: int, bare_port: int, fixture: Fixture) -> list[Result]:
    """Every measurement, one after the other."""
    record_paths = [f"/records/{h}" for h in fixture.record_hashes]
    results = []
    for paced in (False, True):
        mode = f"paced {PACED_RATE * CLIENTS:.0f}/s" if paced else "closed loop"
        results += [
            await get_load(f"GET bare FastAPI, {mode}", bare_port, ["/bare"], paced),
            await get_load(f"GET /log/checkpoint, {mode}", ledger_port, ["/log/checkpoint"], paced),
            await get_load(f"GET /records/{{hash}}, {mode}", ledger_port, record_paths, paced),
            await get_load(
                f"GET /01/…/21/… passport, {mode}", ledger_port, fixture.passport_paths, paced
            ),
        ]
    results += [
        await append_load(
            f"POST /records, {SINGLE_ISSUERS} issuers at once",
            ledger_port,
            "/records",
            fixture.singles,
            1,
        ),
        await append_load(
            f"POST /records/batch ({BATCH}), {BATCH_ISSUERS} at once",
            ledger_port,
            "/records/batch",
            fixture.batches,
            BATCH,
        ),
    ]
    return results


# -- offline bundle verification --------------------------------------------------------------
BUNDLE_TARGET = 1.5
"""The issue's target: verifying a bundle costs at most 1.5x the bare verification of its
signatures."""


@dataclass
class BundleFigures:
    """Verification of one pack's bundle against the bare cost of its signatures."""

    provenance: int
    records: int
    signatures: int
    bytes: int
    verify_ms: list[float]
    bare_ms: list[float]
    """Per run, measured right before it: the bundle's signatures verified bare (the records'
    signatures, scaled to all of the bundle's)."""
    repeated_ms: list[float]
    """Per run, for reference: one of them verified as many times."""
    parse_ms: float
    builders_dict_ms: list[float]
    """The same verification of the builder's own dict, for reference: no verifier holds it,
    and its objects lie spread through the heap the ledger was built in."""

    @property
    def ratios(self) -> list[float]:
        """Each run's verification time over the bare cost measured next to it, sorted."""
        return sorted(v / b for v, b in zip(self.verify_ms, self.bare_ms, strict=True))

    @property
    def repeated_ratios(self) -> list[float]:
        """The same against one signature verified over and over, sorted."""
        return sorted(v / b for v, b in zip(self.verify_ms, self.repeated_ms, strict=True))


def median(values: list[float]) -> float:
    """The middle value (the upper one of an even count)."""
    return sorted(values)[len(values) // 2]


Signature = tuple[bytes, bytes, bytes]
"""A public key, a message, a signature over it."""


def record_signatures(bundle: dict[str, Any]) -> list[Signature]:
    """What each record's Ed25519 signature signs (eddsa-jcs-2022: the two SHA-256 digests),
    with its key and signature, ready to be verified bare."""
    from passport.records.envelope import parse_record
    from passport.records.proof import prepare_record_proof
    from signing.multikey import decode_multibase_signature
    from signing.proofs import hash_data

    signatures = []
    for item in bundle["records"]:
        record = parse_record(item["record"], max_bytes=1 << 30, redacted=True)
        prepared = prepare_record_proof(record.doc, record.canonical, record.canonical_by_orjson)
        message = hash_data(prepared.canonical_config, prepared.canonical_document)
        assert isinstance(prepared.proof_value, str)
        signature = decode_multibase_signature(prepared.proof_value)
        signatures.append((prepared.public_key, message, signature))
    return signatures


def bare_ms(signatures: list[Signature], count: int) -> float:
    """Milliseconds to verify ``signatures`` one by one with nothing else, scaled to ``count``
    signatures."""
    from signing.ed25519 import verify

    started = time.perf_counter()
    for public_key, message, signature in signatures:
        verify(public_key, message, signature)
    return (time.perf_counter() - started) * 1000 * count / len(signatures)


def bundle_bench(records: int, runs: int, *, confidential: bool = False) -> BundleFigures:
    """Build a pack with ``records`` provenance records, issue its passport, verify its public
    bundle ``runs`` times, each next to a bare verification of its signatures. With
    ``confidential``, the provenance is signed confidential and the bundle verified is the
    authority bundle: every record revealed by its Disclosures and replayed."""
    import json

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_passport import BASE, build_pack

    from passport.ledger.pipeline import Ledger
    from passport.service.bundle import build_bundle
    from passport.service.issue import issue_passport
    from passport.store.sql.repository import Repository
    from passport.verify.bundle import verify_bundle
    from samples.models import sample_model
    from signing.jcs import parse_json
    from signing.keys import SigningKey

    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as folder:
        operator = SigningKey.from_seed(b"\x01" * 32)
        ledger = Ledger(
            Repository(f"sqlite:///{Path(folder) / 'bundle.sqlite'}"),
            log_key=SigningKey.from_seed(b"\x02" * 32),
        )
        ledger.initialise(operator, "bench/log", "Bench operator")
        lot, oem, provenance = build_pack(ledger, operator, records, confidential=confidential)
        issued = issue_passport(
            ledger, oem, pack_lot=lot, model=sample_model("ev"), base_url=BASE, serial="B-1"
        )
        role = "authority" if confidential else "public"
        built = build_bundle(ledger, issued.passport_id, access_role=role)
        served = json.dumps(built).encode()
        vkey = ledger.info().log_vkey
        ledger.close()
        # As a regulator gets it: the served bytes, parsed as `bpass verify` parses its file.
        started = time.perf_counter()
        bundle = parse_json(served)
        parse_ms = (time.perf_counter() - started) * 1000
        partitions = bundle["view"]["evidence"]["partitions"]
        notes = (bundle["checkpoint"], bundle["passportCheckpoint"]["note"])
        count = len(bundle["records"]) + len(partitions) + len(notes)
        signatures = record_signatures(bundle)
        repeated = [signatures[0]] * len(signatures)
        times: list[float] = []
        bares: list[float] = []
        repeats: list[float] = []
        builders: list[float] = []
        for verified, into in ((bundle, times), (built, builders)):
            for _ in range(runs):
                if into is times:
                    bares.append(bare_ms(signatures, count))
                    repeats.append(bare_ms(repeated, count))
                started = time.perf_counter()
                report_ = verify_bundle(verified, log_vkey=vkey)
                into.append((time.perf_counter() - started) * 1000)
                if not report_.ok:
                    raise SystemExit(f"the bundle did not verify: {report_.to_dict()}")
                if not report_.replayed:  # the bench measures the full replay
                    raise SystemExit(f"the bundle was not replayed: {report_.summary}")
        return BundleFigures(
            provenance=provenance,
            records=len(bundle["records"]),
            signatures=count,
            bytes=len(served),
            verify_ms=times,
            bare_ms=bares,
            repeated_ms=repeats,
            parse_ms=parse_ms,
            builders_dict_ms=builders,
        )


def report_bundle(b: BundleFigures) -> list[Figure]:
    """Print the bundle verification figures; return them for bench/README.md."""
    print(
        f"\noffline bundle of a pack with {b.provenance} provenance records: {b.records} records, "
        f"{b.signatures} signatures, {b.bytes / 1e6:.1f} MB"
    )
    print(
        f"parsing the served bytes strictly (as `bpass verify` does; not counted): "
        f"{b.parse_ms:.0f} ms"
    )
    bare = median(b.bare_ms)
    print(
        f"verify_bundle (all checks: proofs, inclusion, chains, keys, replay, roll-ups): "
        f"median {median(b.verify_ms):.0f} ms, best {min(b.verify_ms):.0f} ms over "
        f"{len(b.verify_ms)} runs"
    )
    print(
        f"bare Ed25519 of the bundle's own signatures, next to each run: median {bare:.0f} ms "
        f"({bare * 1000 / b.signatures:.1f} µs/verify), {min(b.bare_ms):.0f}-{max(b.bare_ms):.0f} "
        f"ms; one of them over and over: median {median(b.repeated_ms):.0f} ms"
    )
    builders = median(b.builders_dict_ms)
    print(
        f"(the same on the builder's own dict, which no verifier holds: median {builders:.0f} ms, "
        f"{builders / bare:.2f}x)"
    )
    ratios = b.ratios
    ratio = median(ratios)
    verdict = "met" if ratio <= BUNDLE_TARGET else "NOT met"
    repeated = median(b.repeated_ratios)
    print(
        f"verify_bundle / bare, run by run: median {ratio:.2f}x "
        f"({ratios[0]:.2f}-{ratios[-1]:.2f}x; {repeated:.2f}x against the repeated signature) "
        f"(target <= {BUNDLE_TARGET}x: {verdict})"
    )
    size = f"bundle of {b.provenance:,} provenance records"
    return [
        Figure(
            f"{size}: bare Ed25519 of its signatures (median)",
            f"{bare:.0f} ms ({bare * 1000 / b.signatures:.1f} µs/verify)",
        ),
        Figure(f"{size}: verify_bundle (median)", f"{median(b.verify_ms):.0f} ms"),
        Figure(
            f"{size}: verify_bundle / bare, run by run (median)",
            f"{ratio:.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f}x over {len(ratios)} runs;"
            f" {repeated:.2f}x against one signature repeated)",
            f"<= {BUNDLE_TARGET}x",
            verdict,
        ),
        Figure(f"{size}: strict parse of the served bytes (not counted)", f"{b.parse_ms:.0f} ms"),
        Figure(
            f"{size}: verify_bundle of the builder's own dict (reference)",
            f"{builders:.0f} ms = {builders / bare:.2f}x",
        ),
    ]


def report(results: list[Result], in_process: float) -> None:
    """Print the table and the verdict on the targets."""
    print(f"\n{CLIENTS} concurrent clients on loopback, {os.cpu_count()} cores shared by all")
    print(
        f"{'measurement':42} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'records/s':>10} {'err':>4}"
    )
    for r in results:
        per_s = len(r.latencies) / r.seconds
        items = f"{r.rate:10.0f}" if r.items else f"{'':10}"
        print(
            f"{r.name:42} {r.pct(0.5):8.1f} {r.pct(0.99):8.1f} {per_s:8.0f} {items} {r.errors:4d}"
        )
    name = f"ledger.append_batch in process ({SINGLE_ISSUERS}/group)"
    print(f"{name:42} {'':8} {'':8} {'':8} {in_process:10.0f}")


def main() -> None:
    """Set up, measure, report, tear down."""
    global CONNECTION
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--packs", type=int, default=3, help="sample passports to read")
    parser.add_argument(
        "--bundle-records", type=int, default=5000, help="provenance records of the bundled pack"
    )
    parser.add_argument("--bundle-runs", type=int, default=11)
    parser.add_argument(
        "--bundle-confidential",
        action="store_true",
        help="step 7 on confidential provenance: the authority bundle, every record revealed "
        "by its Disclosures and replayed",
    )
    parser.add_argument(
        "--bundle-only",
        action="store_true",
        help="skip the HTTP measurements (steps 1-6): only the offline bundle (step 7)",
    )
    add_argument(parser)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    if args.bundle_only:
        t0 = time.perf_counter()
        figures = report_bundle(
            bundle_bench(
                args.bundle_records, args.bundle_runs, confidential=args.bundle_confidential
            )
        )
        print(f"(bundle set-up and runs took {time.perf_counter() - t0:.0f} s)")
        record_run("bench_api", figures, no_record=args.no_record)
        return
    if args.client == "httpx":
        CONNECTION = HttpxConnection
    bpass = str(Path(sys.executable).parent / "bpass")
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        t0 = time.perf_counter()
        ledger_port, bare_port = free_port(), free_port()
        base_url = f"http://127.0.0.1:{ledger_port}"
        fixture, in_process = prepare(Path(tmp), base_url, args.packs)
        print(f"prepared the ledger and pre-signed records in {time.perf_counter() - t0:.1f}s")
        env = {**os.environ, "BPASS_HOME": tmp}
        env.pop("BPASS_DATABASE_URL", None)
        command = [bpass, "serve", "--port", str(ledger_port), "--base-url", base_url]
        servers = [
            subprocess.Popen([*command, "--log-level", "warning"], env=env),
            subprocess.Popen([sys.executable, __file__, "--serve-bare", str(bare_port)]),
        ]
        try:
            wait_ready(f"http://127.0.0.1:{ledger_port}/log", servers[0])
            wait_ready(f"http://127.0.0.1:{bare_port}/bare", servers[1])
            results = asyncio.run(run_all(ledger_port, bare_port, fixture))
        finally:
            for process in servers:
                stop(process)
    report(results, in_process)
    t0 = time.perf_counter()
    bundle = bundle_bench(args.bundle_records, args.bundle_runs)
    bundle_figures = report_bundle(bundle)
    print(f"(bundle set-up and runs took {time.perf_counter() - t0:.0f} s)")
    paced = [r for r in results if "paced" in r.name and "bare" not in r.name]
    passport_p99 = next(r.pct(0.99) for r in paced if "passport" in r.name)
    worst = max(paced, key=lambda r: r.pct(0.99))
    singles, batched = results[-2].rate, results[-1].rate
    print(
        f"\ntargets: public passport GET p99 at {CLIENTS} paced clients {passport_p99:.1f} ms "
        f"(< {P99_TARGET_MS:.0f}: {'met' if passport_p99 < P99_TARGET_MS else 'MISSED'}; "
        f"slowest paced endpoint: {worst.name.split(',')[0]} {worst.pct(0.99):.1f} ms); "
        f"appends over HTTP {singles:.0f}/s single, {batched:.0f}/s batched "
        f"(>= {APPENDS_TARGET:.0f}: {'met' if singles >= APPENDS_TARGET else 'MISSED'} single, "
        f"{'met' if batched >= APPENDS_TARGET else 'MISSED'} batched)"
    )
    passport_ok, singles_ok = passport_p99 < P99_TARGET_MS, singles >= APPENDS_TARGET
    batched_ok = batched >= APPENDS_TARGET
    bare_paced = next(r for r in results if "paced" in r.name and "bare" in r.name)
    figures = [
        Figure(f"{bare_paced.name}: p99 (the scale)", f"{bare_paced.pct(0.99):.1f} ms"),
        Figure(
            f"public passport GET p99, {CLIENTS} paced clients",
            f"{passport_p99:.1f} ms",
            f"< {P99_TARGET_MS:.0f} ms",
            "met" if passport_ok else "MISSED",
        ),
        Figure(
            "slowest paced endpoint p99", f"{worst.pct(0.99):.1f} ms ({worst.name.split(',')[0]})"
        ),
        Figure(
            "appends over HTTP, single records",
            f"{singles:.0f} /s",
            f">= {APPENDS_TARGET:.0f} /s",
            "met" if singles_ok else "MISSED",
        ),
        Figure(
            f"appends over HTTP, batches of {BATCH}",
            f"{batched:.0f} /s",
            f">= {APPENDS_TARGET:.0f} /s",
            "met" if batched_ok else "MISSED",
        ),
        Figure("ledger.append_batch in process", f"{in_process:.0f} /s"),
        *bundle_figures,
    ]
    record_run("bench_api", figures, no_record=args.no_record)
    if any(r.errors for r in results):
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
