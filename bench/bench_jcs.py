"""Benchmark RFC 8785 canonicalization on a realistic ~1 KB passport record.

Run with ``python bench/bench_jcs.py``. Prints calls per second and microseconds per call for our
fast path, our general (slow) path, the ``rfc8785`` package, and reference operations
(SHA-256 of the output, strict parsing, bare Ed25519 verification, the budget canonicalization
has to fit in). Takes a few seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import timeit
from collections.abc import Callable
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from report import Figure, add_argument, record_run

from signing.jcs import _canonicalize_slow, canonicalize, parse_json

MATERIALS = ["lithium", "nickel", "cobalt", "graphite", "manganese", "nickel"]


def make_record() -> dict[str, Any]:
    """A credential-shaped ledger record of about 1 KB: strings, ints, bools, None, a lot list."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://example.org/battery/v1"],
        "type": ["VerifiableCredential", "BatteryPassportRecord"],
        "id": "urn:uuid:3f1c2a9e-7b44-4d1e-9a7c-0c7e1f2b9d11",
        "issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "validFrom": "2025-03-14T09:26:53Z",
        "credentialSubject": {
            "id": "urn:bpass:battery:BP-2025-000123",
            "event": "material_receipt",
            "seq": 4211,
            "prev": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "site": {"name": "Kokkola refinery", "country": "FI", "lat_e6": 63838000},
            "lots": [
                {
                    "lot": f"LOT-{i:05d}",
                    "material": material,
                    "mass_g": 125000 + i * 37,
                    "recycled": i % 2 == 0,
                    "cert": None,
                }
                for i, material in enumerate(MATERIALS)
            ],
            "notes": "Received in sealed drums; Säure-frei geprüft.",
        },
    }


def per_call(func: Callable[[], object], budget: float = 0.04) -> float:
    """Seconds per call: best of 9 runs, each sized to take about ``budget`` seconds."""
    timer = timeit.Timer(func)
    elapsed = timer.timeit(number=100)
    number = max(1, int(100 * budget / elapsed))
    return min(timer.repeat(repeat=9, number=number)) / number


def main() -> None:
    """Measure, print the table and record it in bench/README.md."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    add_argument(parser)
    args = parser.parse_args()
    record = make_record()
    with_float = make_record()
    with_float["credentialSubject"]["purity"] = 0.9995  # a float forces the general path
    canonical = canonicalize(record)
    assert canonical == _canonicalize_slow(record) == rfc8785.dumps(record)
    assert canonicalize(with_float) == rfc8785.dumps(with_float)

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    signature = key.sign(canonical)

    rows: list[tuple[str, Callable[[], object]]] = [
        ("canonicalize (fast path)", lambda: canonicalize(record)),
        ("canonicalize (record with a float)", lambda: canonicalize(with_float)),
        ("_canonicalize_slow", lambda: _canonicalize_slow(record)),
        ("rfc8785.dumps", lambda: rfc8785.dumps(record)),
        ("hashlib.sha256(output)", lambda: hashlib.sha256(canonical).digest()),
        ("parse_json(output)", lambda: parse_json(canonical)),
        ("Ed25519 verify (reference)", lambda: public.verify(signature, canonical)),
    ]
    print(f"record: {len(canonical)} bytes canonical")
    print(f"{'operation':<36} {'calls/s':>12} {'µs/call':>9}")
    print("-" * 59)
    timings: dict[str, float] = {}
    for name, func in rows:
        seconds = timings[name] = per_call(func)
        print(f"{name:<36} {1 / seconds:>12,.0f} {seconds * 1e6:>9.2f}")
    overhead = timings[rows[0][0]] + timings["hashlib.sha256(output)"]
    verify = timings["Ed25519 verify (reference)"]
    share = overhead / verify
    speed_up = timings["rfc8785.dumps"] / timings[rows[0][0]]
    print(f"\ncanonicalize + sha256 = {share:.0%} of one Ed25519 verify")
    print(f"rfc8785.dumps / our fast path = {speed_up:.1f}x")
    us = {name: f"{timings[name] * 1e6:.2f} µs" for name, _ in rows}
    record_run(
        "bench_jcs",
        [
            Figure("Ed25519 verify (reference, cryptography/OpenSSL)", us[rows[-1][0]]),
            Figure("canonicalize (fast path)", us[rows[0][0]]),
            Figure("canonicalize (record with a float)", us[rows[1][0]]),
            Figure("rfc8785.dumps", us["rfc8785.dumps"]),
            Figure("canonicalize + sha256 against one Ed25519 verify", f"{share:.0%}"),
            Figure("rfc8785.dumps / our fast path", f"{speed_up:.1f}x"),
        ],
        no_record=args.no_record,
    )


if __name__ == "__main__":
    main()
