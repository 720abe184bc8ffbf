"""Benchmark RFC 8785 canonicalization on a realistic ~1 KB passport record.

Run with ``python bench/bench_jcs.py``. Prints calls per second and microseconds per call for our
fast path, our general (slow) path, the ``rfc8785`` package, and reference operations
(SHA-256 of the output, strict parsing, bare Ed25519 verification, the budget canonicalization
has to fit in). Takes a few seconds.
"""

from __future__ import annotations

import hashlib
import timeit
from collections.abc import Callable
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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
    """Measure and print the table."""
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
    print(f"\ncanonicalize + sha256 = {overhead / verify:.0%} of one Ed25519 verify")
    print(f"rfc8785.dumps / our fast path = {timings['rfc8785.dumps'] / timings[rows[0][0]]:.1f}x")


if __name__ == "__main__":
    main()
