"""Load rate of the sample supply chain on SQLite: records appended per second and passports
issued per second, for ``--packs 10`` and ``100`` (``--full`` adds 1000), beside the bare Ed25519
sign and verify rates measured in the same run.

Run with ``python bench/bench_samples.py [--full] [--packs N ...]``. Each size loads into a fresh
SQLite ledger in a temporary folder: first the chain's records (``build_sample_ledger`` with
``issue_passports=False``: signing plus ``Ledger.append_batch``, i.e. schema validation, proof
verification and the domain rules), then one passport per pack (roll-up, validation, four signed
partitions, one append each).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from report import Figure, add_argument, record_run

from passport.ledger.pipeline import Ledger
from passport.store.sql.repository import Repository
from samples.generate import build_sample_ledger
from samples.passports import issue_sample_passports
from signing import ed25519
from signing.keys import SigningKey


def ed25519_rates(seconds: float = 0.5) -> tuple[float, float]:
    """(signatures/s, verifications/s) of bare Ed25519 over a 1 KB message."""
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


def load(packs: int, folder: Path) -> tuple[int, float, float]:
    """(records, seconds loading the chain, seconds issuing the passports) for ``packs``."""
    operator = SigningKey.from_seed(b"\x01" * 32)
    ledger = Ledger(
        Repository(f"sqlite:///{folder / f'bench-{packs}.sqlite'}"),
        log_key=SigningKey.from_seed(b"\x02" * 32),
    )
    ledger.initialise(operator, "bench.example/log", "Bench operator")
    start = time.perf_counter()
    summary = build_sample_ledger(ledger, packs=packs, operator_key=operator, issue_passports=False)
    chain = time.perf_counter() - start
    start = time.perf_counter()
    issue_sample_passports(ledger, summary, base_url="http://127.0.0.1:8000")
    passports = time.perf_counter() - start
    ledger.close()
    return summary.total_records - packs, chain, passports


def main() -> None:
    """Print one line per size and the Ed25519 reference rates."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="also load 1000 packs (minutes)")
    parser.add_argument("--packs", type=int, nargs="*", help="sizes to load instead")
    add_argument(parser)
    args = parser.parse_args()
    sizes = args.packs or ([10, 100, 1000] if args.full else [10, 100])
    sign_rate, verify_rate = ed25519_rates()
    print(
        f"bare Ed25519 (libsodium): {sign_rate:,.0f} signatures/s, "
        f"{verify_rate:,.0f} verifications/s"
    )
    print(
        f"{'packs':>6} {'records':>8} {'load s':>8} {'records/s':>10} "
        f"{'passports/s':>12} {'total s':>8}"
    )
    figures = [
        Figure("bare Ed25519 sign (libsodium)", f"{sign_rate:,.0f} /s"),
        Figure("bare Ed25519 verify (libsodium)", f"{verify_rate:,.0f} /s"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for packs in sizes:
            records, chain, passports = load(packs, Path(tmp))
            print(
                f"{packs:>6} {records:>8} {chain:>8.2f} {records / chain:>10,.0f} "
                f"{packs / passports:>12,.1f} {chain + passports:>8.1f}"
            )
            figures += [
                Figure(f"{packs} packs: records appended", f"{records / chain:,.0f} /s"),
                Figure(f"{packs} packs: passports issued", f"{packs / passports:,.1f} /s"),
            ]
    record_run("bench_samples", figures, no_record=args.no_record)


if __name__ == "__main__":
    main()
