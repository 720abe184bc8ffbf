"""`bpass import` of 10,000 CSV rows into a local SQLite ledger, beside bare Ed25519.

Run ``python bench/bench_import.py`` (about half a minute). It registers a miner with one facility,
writes a CSV of ``--rows`` Extraction rows (default 10,000) and imports it through
:func:`passport.service.imports.run_import`, the code behind ``bpass import``: every row checked
(columns, types, the kind's schema), then signed in chain order and appended in batches of 500.
It prints rows/s for the whole import, for the checks, signing and appending apart, and the bare
Ed25519 signature and verification rates measured in the same run (each imported row costs one
signature here and one verification in the ledger). The records are confidential, as `bpass
import` signs them by default (eight members concealed per row, their Disclosures checked and
kept by the node); ``--public`` imports plain records. Target: 10,000 rows well under a minute.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

from report import Figure, add_argument, record_run

from passport.ledger.keystore import save_key
from passport.ledger.pipeline import Ledger
from passport.service import imports
from passport.store.sql.repository import Repository
from signing import ed25519
from signing.keys import SigningKey

TARGET_SECONDS = 60.0


def ed25519_rates(seconds: float = 0.5) -> tuple[float, float]:
    """(signatures/s, verifications/s) of bare Ed25519 (libsodium) over a 1 KB message."""
    public, secret = ed25519.keypair_from_seed(b"\x07" * 32)
    message = os.urandom(1024)
    signature = ed25519.sign(secret, message)
    rates = []
    for op in (
        lambda: ed25519.sign(secret, message),
        lambda: ed25519.verify(public, message, signature),
    ):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(100):
                op()
            n += 100
        rates.append(n / (time.perf_counter() - start))
    return rates[0], rates[1]


def write_rows(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["lot", "material", "depositType", "miningMethod", "facility", "country",
             "massGrams", "elements.Li", "period.start", "period.end",
             "emissions.raw-material-acquisition"]
        )  # fmt: skip
        for i in range(rows):
            writer.writerow(
                [f"urn:lot:bench:{i:06d}", "lithium", "brine", "industrial", "mine-1", "CL",
                 1_000_000 + i, 2000, "2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z", "12.5"]
            )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--public", action="store_true", help="import plain records")
    add_argument(parser)
    args = parser.parse_args()
    sign_rate, verify_rate = ed25519_rates()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        operator, log_key, miner = (
            SigningKey.generate(),
            SigningKey.generate(),
            SigningKey.generate(),
        )
        ledger = Ledger(Repository(f"sqlite:///{folder / 'ledger.sqlite'}"), log_key=log_key)
        ledger.initialise(operator, "bench.example/log", "Bench operator")
        subject = {"id": miner.did, "name": "Mine", "roles": ["miner"], "country": "CL",
                   "facilities": [{"id": "mine-1", "name": "Mine 1", "country": "CL"}]}  # fmt: skip
        ledger.append(ledger.sign_new(operator, "ActorRegistration", subject))
        save_key(miner, folder / "miner.key")
        write_rows(folder / "rows.csv", args.rows)
        marks: list[float] = []
        start = time.perf_counter()
        result = imports.run_import(
            ledger,
            miner,
            folder / "miner.key",
            folder / "rows.csv",
            "Extraction",
            progress=lambda done, total: marks.append(time.perf_counter()),
            confidential=not args.public,
        )
        seconds = time.perf_counter() - start
        ledger.close()
    assert result.appended == args.rows, result
    prepared = marks[0] - start  # checks and signing, before the first batch is appended
    rate = args.rows / seconds
    print(
        f"bare Ed25519 (libsodium): {sign_rate:,.0f} signatures/s, "
        f"{verify_rate:,.0f} verifications/s"
    )
    form = "plain" if args.public else "confidential"
    print(f"import of {args.rows:,} CSV rows ({form}): {seconds:.1f} s, {rate:,.0f} rows/s")
    print(f"  checked and signed in {prepared:.1f} s, appended in {seconds - prepared:.1f} s")
    verdict = "PASS" if seconds < TARGET_SECONDS else "FAIL"
    record_run(
        "bench_import",
        [
            Figure("bare Ed25519 sign (libsodium)", f"{sign_rate:,.0f} /s"),
            Figure("bare Ed25519 verify (libsodium)", f"{verify_rate:,.0f} /s"),
            Figure("import rows/s (check, sign, append)", f"{rate:,.0f} /s"),
            Figure("check and sign before the first append", f"{prepared:.1f} s"),
            Figure(
                f"import of {args.rows:,} rows",
                f"{seconds:.1f} s",
                f"< {TARGET_SECONDS:.0f} s",
                verdict,
            ),
        ],
        no_record=args.no_record,
        # the default changed to confidential records: say so beside the older plain runs
        run=" ".join(a for a in sys.argv[1:] if a != "--no-record") or "defaults (confidential)",
    )


if __name__ == "__main__":
    main()
