"""A process that checks records' proofs for a bundle verifier (``passport.bundle_checks``).

Run as ``python -m passport.proof_worker FD``. ``FD`` is a shared file (a memfd on Linux) laid out
by :mod:`passport.bundle_checks`. It holds the records' canonical bytes in chunks, one claim byte
per chunk and one verdict byte per record. Once the verifier writes ``go`` on standard input, the
worker claims chunks first to last, skipping those already claimed. For each record of a chunk it
runs append step 2a (:func:`passport.record_proof.check_record_proof`) on the parsed bytes and
writes the verdict. When no unclaimed chunk is left it writes ``done`` on standard output and
exits. The verifier claims chunks from the last one back meanwhile.

Claiming is not atomic: both sides may read a zero and check the same chunk. That does no harm,
because the check is deterministic and both write the same verdicts. It imports only ``signing``
and orjson, so it starts in well under the time the verifier takes to parse the bundle.
"""

from __future__ import annotations

import mmap
import os
import struct
import sys

import orjson

from passport.record_proof import check_record_proof
from signing.errors import BpassError

HEADER = struct.Struct("<4Q")
"""Records, records per chunk, chunks, offset of the canonical bytes (little-endian u64)."""

CLAIMS_AT = HEADER.size
"""The claim bytes start right after the header (0: free; else claimed)."""

OK, FAILED, RAISED = 1, 2, 3
"""Verdict bytes: 0 is no verdict (not checked yet, or the worker died)."""


def layout(n: int, chunk: int) -> tuple[int, int, int, int]:
    """Offsets of the claims, verdicts, record offsets (n + 1 u64, aligned) and the bytes."""
    chunks = -(-n // chunk)
    verdicts = CLAIMS_AT + chunks
    offsets = -(-(verdicts + n) // 8) * 8
    return CLAIMS_AT, verdicts, offsets, offsets + 8 * (n + 1)


def verdict(raw: bytes) -> int:
    """Step 2a's verdict on one record's canonical bytes."""
    try:
        check_record_proof(orjson.loads(raw), raw)
    except BpassError:
        return FAILED
    except Exception:
        return RAISED
    return OK


def run(fd: int) -> None:
    """Check the chunks no one has claimed (see the module docstring)."""
    size = os.fstat(fd).st_size
    with mmap.mmap(fd, size) as shared:
        n, chunk, chunks, data = HEADER.unpack_from(shared, 0)
        claims, verdicts, offsets_at, _ = layout(n, chunk)
        offsets = memoryview(shared)[offsets_at : offsets_at + 8 * (n + 1)].cast("Q")
        try:
            for k in range(chunks):
                if shared[claims + k]:
                    continue
                shared[claims + k] = 1
                for i in range(k * chunk, min(n, (k + 1) * chunk)):
                    shared[verdicts + i] = verdict(
                        shared[data + offsets[i] : data + offsets[i + 1]]
                    )
        finally:
            offsets.release()


def main(argv: list[str]) -> int:
    """Entry point: wait for ``go``, check, say ``done``."""
    fd = int(argv[1])
    if sys.stdin.readline() != "go\n":
        return 0  # the verifier gave up before handing over any record
    run(fd)
    sys.stdout.write("done\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
