"""What confidential records cost the node, against plain records, in one run (issue #21).

Run ``python bench/bench_confidential.py`` (about a minute), ``--db postgresql://…`` for
PostgreSQL. Each round builds two fresh ledgers alike but for one thing: in one every provenance
record is plain, in the other confidential (its non-public members concealed as RFC 9901
Disclosures, sent beside the record). Per ledger a miner extracts ``--lots`` lots, transfers each
to a refiner, the refiner accepts each transfer and refines ``--inputs`` of the lots into one
lot. Every record is signed before the clock starts (signing is the supplier's cost, not the
node's); the clock then times:

- the appends, through ``Ledger.append_batch`` in batches of ``--batch`` (the node parses, checks
  each Disclosure against its digest and reveals the subject, runs the schema and every rule,
  stores the record and its Disclosures, appends the log leaf): records/s;
- the roll-up of the refined lot (``compute_rollup``), median of ``--rollups``.

Each round builds the plain ledger, then the confidential one, so the two rates of a round meet
the machine in the same state; the verdict is the median over ``--rounds`` rounds of each
round's ratio confidential/plain (the spread between rounds is printed beside it: on a shared
disk a round's rates move by a fifth either way). It also prints the median rates and the bare
Ed25519 verification rate measured in the same run (each append costs one verification).
Targets: appends with Disclosures >= 0.80x the plain rate; the roll-up within the noise of the
plain one (it reads the revealed trace tables either way). The full-replay bundle verification
of the two kinds of bundle is measured by ``bench_api.py --bundle-only``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_ledger import Database, bare_verify_rate
from report import Figure, add_argument, record_run

from passport.ledger.pipeline import Ledger
from passport.records.confidential import Confidential
from passport.records.envelope import dumps, record_hash, sign_next
from passport.store.sql.repository import Repository
from passport.trace.rollup import compute_rollup
from signing.keys import SigningKey

APPEND_TARGET = 0.80
T0 = "2026-10-01T00:00:00Z"
LOT_GRAMS = 1_000_000
LI_PPM = 20_000


class Signer:
    """Signs one issuer's records ahead, continuing its chain locally."""

    def __init__(self, key: SigningKey, confidential: bool) -> None:
        self.key = key
        self.confidential = confidential
        self.head: tuple[int, str | None] = (0, None)

    def __call__(self, kind: str, subject: dict[str, Any]) -> tuple[Any, list[str] | None, str]:
        """(record, its Disclosures or None, its hash)."""
        signed = sign_next(
            self.key,
            kind,
            subject,
            issuer=self.key.did,
            head=self.head,
            valid_from=T0,
            confidential=self.confidential,
        )
        if isinstance(signed, Confidential):
            record, disclosures = signed.record, list(signed.disclosures)
        else:
            record, disclosures = signed, None
        digest = record_hash(dumps(record))
        self.head = (self.head[0] + 1, digest)
        return record, disclosures, digest


def _register(ledger: Ledger, operator: SigningKey, key: SigningKey, role: str, site: str) -> None:
    subject = {
        "id": key.did,
        "name": f"Bench {role}",
        "country": "CL",
        "roles": [role],
        "facilities": [{"id": site, "name": site, "country": "CL"}],
    }
    ledger.append(ledger.sign_new(operator, "ActorRegistration", subject))


def _records(
    miner: Signer, refiner: Signer, lots: int, inputs: int
) -> tuple[list[tuple[Any, list[str] | None, str]], dict[str, Any]]:
    """Every record of the run in append order, and the refining step's subject."""
    out: list[tuple[Any, list[str] | None, str]] = []
    made: list[tuple[str, str]] = []
    for i in range(lots):
        lot = f"urn:lot:bench-{i:06d}"
        subject = {
            "lot": lot,
            "material": "lithium",
            "depositType": "brine",
            "miningMethod": "industrial",
            "facility": "mine-1",
            "country": "CL",
            "massGrams": LOT_GRAMS,
            "elements": {"Li": LI_PPM},
            "period": {"start": "2026-09-01T00:00:00Z", "end": "2026-09-30T00:00:00Z"},
        }
        out.append(miner("Extraction", subject))
        made.append((lot, out[-1][2]))
    transfers = []
    for lot, created in made:
        t = {"lot": lot, "record": created, "massGrams": LOT_GRAMS, "buyer": refiner.key.did}
        out.append(miner("Transfer", t))
        transfers.append(out[-1][2])
    for transfer in transfers:
        out.append(refiner("TransferAcceptance", {"transfer": transfer, "decision": "accepted"}))
    step = {
        "processStep": "refining",
        "custody": "controlled-blending",
        "facility": "ref-1",
        "inputs": [{"lot": lot, "record": h, "massGrams": LOT_GRAMS} for lot, h in made[:inputs]],
        "outputs": [
            {
                "lot": "urn:lot:bench-refined",
                "massGrams": 100_000 * inputs,
                "elements": {"Li": 165_000},
            }
        ],
    }
    return out, step


def one_ledger(
    db: str | None, tmp: Path, name: str, confidential: bool, args: argparse.Namespace
) -> tuple[float, float]:
    """(append records/s, median roll-up seconds) for one fresh ledger."""
    database = Database(db, tmp, name)
    try:
        operator, log_key = SigningKey.generate(), SigningKey.generate()
        ledger = Ledger(Repository(database.url), log_key=log_key)
        ledger.initialise(operator, "bench.example/log", "Bench operator")
        miner = Signer(SigningKey.generate(), confidential)
        refiner = Signer(SigningKey.generate(), confidential)
        _register(ledger, operator, miner.key, "miner", "mine-1")
        _register(ledger, operator, refiner.key, "refiner", "ref-1")
        records, step = _records(miner, refiner, args.lots, args.inputs)
        start = time.perf_counter()
        for i in range(0, len(records), args.batch):
            chunk = records[i : i + args.batch]
            if confidential:
                ledger.append_batch([r for r, _, _ in chunk], [d for _, d, _ in chunk])
            else:
                ledger.append_batch([r for r, _, _ in chunk])
        rate = len(records) / (time.perf_counter() - start)
        record, disclosures, _ = refiner("Transformation", step)
        ledger.append(record, disclosures)
        times = []
        for _ in range(args.rollups):
            t = time.perf_counter()
            compute_rollup(ledger.repo, "urn:lot:bench-refined")
            times.append(time.perf_counter() - t)
        ledger.close()
        return rate, statistics.median(times)
    finally:
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=1000, help="lots extracted per ledger")
    parser.add_argument("--inputs", type=int, default=200, help="lots the refining step takes")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--rollups", type=int, default=5)
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    add_argument(parser)
    args = parser.parse_args()
    bare, _ = bare_verify_rate(1.0)
    rates: dict[bool, list[float]] = {False: [], True: []}
    rollups: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for confidential in (False, True):  # alternate, so drift hits both alike
                name = f"{'conf' if confidential else 'plain'}{r}"
                rate, rollup = one_ledger(args.db, Path(tmp), name, confidential, args)
                rates[confidential].append(rate)
                rollups[confidential].append(rollup)
                print(f"round {r + 1} {name}: {rate:,.0f} records/s, roll-up {rollup * 1e3:.1f} ms")
    plain, conf = statistics.median(rates[False]), statistics.median(rates[True])
    roll_plain, roll_conf = statistics.median(rollups[False]), statistics.median(rollups[True])
    paired = sorted(c / p for p, c in zip(rates[False], rates[True], strict=True))
    ratio = statistics.median(paired)
    spread = f"{paired[0]:.2f}-{paired[-1]:.2f} over {len(paired)} rounds"
    print(f"bare Ed25519 verify (libsodium, one core): {bare:,.0f} /s")
    print(f"appends, plain: {plain:,.0f} records/s ({plain / bare:.2f}x bare)")
    print(f"appends, confidential: {conf:,.0f} records/s ({conf / bare:.2f}x bare)")
    print(f"confidential / plain, median of the rounds: {ratio:.2f} ({spread}; "
          f"target >= {APPEND_TARGET:.2f})")  # fmt: skip
    print(f"roll-up of {args.inputs} inputs: plain {roll_plain * 1e3:.1f} ms, "
          f"confidential {roll_conf * 1e3:.1f} ms")  # fmt: skip
    verdict = "PASS" if ratio >= APPEND_TARGET else "FAIL"
    record_run(
        "bench_confidential",
        [
            Figure("bare Ed25519 verify (libsodium, one core)", f"{bare:,.0f} /s"),
            Figure("appends, plain records", f"{plain:,.0f} /s"),
            Figure("appends, confidential records with Disclosures", f"{conf:,.0f} /s"),
            Figure(
                "appends confidential / plain, round by round (median)",
                f"{ratio:.2f} ({spread})",
                f">= {APPEND_TARGET}",
                verdict,
            ),
            Figure(f"roll-up over {args.inputs} inputs, plain", f"{roll_plain * 1e3:.1f} ms"),
            Figure(f"roll-up over {args.inputs} inputs, confidential", f"{roll_conf * 1e3:.1f} ms"),
        ],
        no_record=args.no_record,
    )


if __name__ == "__main__":
    main()
