"""The audit's floor: what checking one record costs before any read, chain or tree work.

Run ``python bench/bench_audit_floor.py`` (about ten seconds). It signs ``--records`` KeyRotation
records (the workload of ``bench_ledger.py``: every record signed by a key of its own) and times,
per record, the three steps that an audit of a stored record cannot skip, with the project's own
functions:

1. ``record_hash``: SHA-256 of the stored bytes, compared with the stored id;
2. ``parse_canonical``: parse the bytes and check that they are the RFC 8785 form of what they
   hold (a non-canonical body would be a different record with the same content);
3. ``verify_proof`` with the stored bytes as the canonical form: the eddsa-jcs-2022 proof
   (vc-di-eddsa §3.3.2: configuration and document hashes, multibase decoding of the signature,
   key decoding, Ed25519 verification).

It prints the total next to the bare libsodium verification measured in the same run (the
yardstick of ``bench_ledger.py``). The ratio ``bare / (1 + 2 + 3)`` is the most the audit can
reach against bare per core while it checks signatures one at a time; ``bench_ledger.py`` calls
:func:`measure_floor` right after its audit and prints that ceiling beside the audit's figure.
The row reads, the
chains, the key history, the Merkle tree and the process pool all cost more on top of that.
It also times the same three steps stripped to the library calls that no implementation can
leave out (:func:`stripped`), as a lower bound for any Python audit of these records.
The figures are also added to ``bench/README.md`` (``--no-record`` leaves that file alone).
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import nacl.bindings
import orjson
from bench_ledger import STAMP, TARGET_AUDIT_SHARE, bare_verify_rate
from report import Figure, add_argument, record_run

from passport.records.envelope import record_hash, sign_next
from passport.records.proof import key_of_method
from signing.jcs import canonicalize, parse_canonical
from signing.keys import SigningKey
from signing.multikey import decode_multibase_signature, decode_multikey, decode_multikey_cached
from signing.proofs import verify_proof


def signed_rotations(count: int) -> list[bytes]:
    """``count`` KeyRotation records of one actor, each signed by the key the one before named."""
    seed = hashlib.sha256(b"audit-floor").digest()
    key = SigningKey.from_seed(seed)
    did = key.did
    head: tuple[int, str | None] = (0, None)
    out: list[bytes] = []
    for _ in range(count):
        seed = hashlib.sha256(seed).digest()
        next_key = SigningKey.from_seed(seed)
        subject = {"nextKey": next_key.multikey}
        signed = sign_next(key, "KeyRotation", subject, issuer=did, head=head, valid_from=STAMP)
        body = canonicalize(signed)
        out.append(body)
        head = (head[0] + 1, record_hash(body))
        key = next_key
    return out


def per_record_us(bodies: Sequence[bytes], step: Callable[[bytes], object]) -> float:
    """Microseconds per record of ``step`` over ``bodies``."""
    decode_multikey_cached.cache_clear()  # an audit meets each key once: no warm cache
    start = time.perf_counter()
    for body in bodies:
        step(body)
    return (time.perf_counter() - start) / len(bodies) * 1e6


def stripped(body: bytes) -> None:
    """Steps 1-3 cut down to the calls no implementation can leave out: no check of a field's
    presence, type or form, no error reporting, one serializer. A lower bound, not a verifier."""
    hashlib.sha256(body).hexdigest()
    doc = orjson.loads(body)
    if orjson.dumps(doc, option=orjson.OPT_SORT_KEYS) != body:
        raise ValueError("not canonical")
    config = dict(doc["proof"])
    proof_value = config.pop("proofValue")
    unsecured = dict(doc)
    del unsecured["proof"]
    message = (
        hashlib.sha256(orjson.dumps(config, option=orjson.OPT_SORT_KEYS)).digest()
        + hashlib.sha256(orjson.dumps(unsecured, option=orjson.OPT_SORT_KEYS)).digest()
    )
    signature = decode_multibase_signature(proof_value)
    public = decode_multikey(config["verificationMethod"].rsplit("#", 1)[1])
    nacl.bindings.crypto_sign_open(signature + message, public)


@dataclass(frozen=True)
class Floor:
    """What checking one stored record costs, in microseconds, and the ceiling it sets."""

    records: int
    record_bytes: float
    bare_us: float
    steps: list[tuple[str, float]]
    stripped_us: float

    @property
    def floor_us(self) -> float:
        """Steps 1 + 2 + 3."""
        return sum(us for _, us in self.steps)

    @property
    def ceiling(self) -> float:
        """The most an audit with these functions reaches against bare per core."""
        return self.bare_us / self.floor_us

    @property
    def stripped_ceiling(self) -> float:
        """The same with the steps stripped to their library calls."""
        return self.bare_us / self.stripped_us


def measure_floor(records: int = 5000, rounds: int = 5) -> Floor:
    """Sign ``records`` KeyRotation records and time the three steps, best of ``rounds``."""
    bodies = signed_rotations(records)
    docs = {body: parse_canonical(body)[0] for body in bodies}

    def prove(body: bytes) -> object:
        return verify_proof(docs[body], resolve_key=key_of_method, canonical=body)

    names = [
        "1. record_hash (SHA-256 of the stored bytes)",
        "2. parse_canonical (parse, canonical check)",
        "3. verify_proof (eddsa-jcs-2022, with bare)",
    ]
    fns: list[Callable[[bytes], object]] = [record_hash, parse_canonical, prove, stripped]
    bare = float("inf")
    best = [float("inf")] * len(fns)
    # Interleaved rounds, best of each: a change in the machine's load affects every step alike.
    for _ in range(rounds):
        bare = min(bare, 1e6 / bare_verify_rate(0.5)[0])
        best = [min(b, per_record_us(bodies, fn)) for b, fn in zip(best, fns, strict=True)]
    return Floor(
        records=records,
        record_bytes=sum(map(len, bodies)) / len(bodies),
        bare_us=bare,
        steps=list(zip(names, best[:3], strict=True)),
        stripped_us=best[3],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    add_argument(parser)
    args = parser.parse_args()
    floor = measure_floor(args.records, args.rounds)
    print(f"{floor.records:,} KeyRotation records, {floor.record_bytes:.0f} B each")
    print(f"{'bare Ed25519 verify (libsodium)':48s} {floor.bare_us:7.2f} us")
    for name, us in floor.steps:
        print(f"{name:48s} {us:7.2f} us")
    print(f"{'  all but the bare verification':48s} {floor.floor_us - floor.bare_us:7.2f} us")
    print(f"{'floor of one record (1 + 2 + 3)':48s} {floor.floor_us:7.2f} us")
    print(f"{'1 + 2 + 3 stripped to their library calls':48s} {floor.stripped_us:7.2f} us")
    target = f">= {TARGET_AUDIT_SHARE:.2f} x bare per core"
    figures = [
        Figure("bare Ed25519 verify (libsodium)", f"{floor.bare_us:.2f} µs"),
        Figure("floor of one record (1 + 2 + 3)", f"{floor.floor_us:.2f} µs"),
        Figure("1 + 2 + 3 stripped to their library calls", f"{floor.stripped_us:.2f} µs"),
    ]
    ceilings = (("with these functions", floor.ceiling), ("stripped", floor.stripped_ceiling))
    for label, value in ceilings:
        verdict = "reachable" if value >= TARGET_AUDIT_SHARE else "out of reach"
        print(
            f"audit ceiling, one signature at a time, {label}: {value:.3f} x bare per core "
            f"(target {TARGET_AUDIT_SHARE:.2f}: {verdict})"
        )
        figures.append(
            Figure(
                f"audit ceiling, one signature at a time, {label}",
                f"{value:.3f} x bare per core",
                target,
                verdict,
            )
        )
    record_run("bench_audit_floor", figures, no_record=args.no_record)


if __name__ == "__main__":
    main()
