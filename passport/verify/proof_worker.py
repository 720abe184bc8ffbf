"""A process that verifies records' signatures for a bundle verifier
(``passport.verify.bundle_proofs``).

Run as ``python -S -m passport.verify.proof_worker FD``. ``FD`` is a shared file (a memfd on
Linux) laid out by :func:`layout`: a header, one claim byte per chunk of records, one verdict byte
per record, the records' offsets, and per record the parts of its proof the verifier prepared
(:func:`signing.proofs.prepare_proof`: every check of append step 2a but the signature's), packed
by :func:`pack`. On standard input the verifier writes, as 8-byte little-endian numbers, how many
chunks it has filled so far, and closes it when it has filled them all. The worker claims the
filled chunks first to last, skipping those already claimed, gives each record of a chunk its
verdict (:func:`verdict`: the proof value decodes and the signature verifies), and writes
``done`` on standard output when no filled chunk is left unclaimed and its input is closed. The
verifier claims chunks from the last one back meanwhile, and checks them with :func:`verdict`.

Claiming is not atomic: both sides may read a zero and check the same chunk. That does no harm,
because the check is deterministic and both write the same verdicts. A record whose verdict byte
the verifier set before filling its chunk (its preparation failed) is skipped.

It imports no JSON library, only ``signing.proof_signature`` (Ed25519 and base58), so it starts
in a fraction of the time a worker parsing the records would (measured: about 25 against 55 ms).
"""

from __future__ import annotations

import mmap
import os
import struct
import sys

from signing.errors import BpassError
from signing.proof_signature import proof_value_verifies

HEADER = struct.Struct("<4Q")
"""Records, records per chunk, chunks, offset of the packed proofs (little-endian u64)."""

CLAIMS_AT = HEADER.size
"""The claim bytes start right after the header (0: free; else claimed)."""

OK, FAILED, RAISED = 1, 2, 3
"""Verdict bytes: 0 is no verdict (not checked yet, or the worker died)."""

_KEY = 32  # an Ed25519 public key
_LENGTHS = struct.Struct("<HI")  # the proof value's length, the proof configuration's length


def layout(n: int, chunk: int) -> tuple[int, int, int, int]:
    """Offsets of the claims, verdicts, record offsets (n + 1 u64, aligned) and packed proofs."""
    chunks = -(-n // chunk)
    verdicts = CLAIMS_AT + chunks
    offsets = -(-(verdicts + n) // 8) * 8
    return CLAIMS_AT, verdicts, offsets, offsets + 8 * (n + 1)


def pack(public_key: bytes, proof_value: str, canonical_config: bytes, document: bytes) -> bytes:
    """One record's prepared proof as the worker reads it: the key, the lengths, the proof value
    (ASCII), the canonical proof configuration, the canonical unsecured document. Raises
    ``ValueError`` for a proof value that is not ASCII or a key that is not 32 bytes,
    ``struct.error`` for a proof value or configuration too long for its length field, and
    ``AttributeError`` for a proof value that is not a string: the verifier then checks that
    record itself."""
    value = proof_value.encode("ascii")  # UnicodeEncodeError is a ValueError
    if len(public_key) != _KEY:
        raise ValueError("not an Ed25519 public key")
    return b"".join(
        (
            public_key,
            _LENGTHS.pack(len(value), len(canonical_config)),
            value,
            canonical_config,
            document,
        )
    )


def verdict(packed: bytes) -> int:
    """The verdict on one packed proof: OK if its proof value decodes and its signature verifies
    (vc-di-eddsa §3.3.2 steps 3 and 8), FAILED if not, RAISED for bytes that are not one."""
    try:
        value_length, config_length = _LENGTHS.unpack_from(packed, _KEY)
        at = _KEY + _LENGTHS.size
        config_at = at + value_length
        document_at = config_at + config_length
        if document_at > len(packed):
            return RAISED
        ok = proof_value_verifies(
            packed[:_KEY],
            packed[at:config_at].decode("ascii"),
            packed[config_at:document_at],
            packed[document_at:],
        )
    except BpassError:
        return FAILED
    except Exception:
        return RAISED
    return OK if ok else FAILED


def run(fd: int, control: int = 0) -> None:
    """Check the filled chunks no one has claimed, learning from ``control`` how many are
    filled, until it is closed (see the module docstring)."""
    size = os.fstat(fd).st_size
    with mmap.mmap(fd, size) as shared:
        n, chunk, chunks, data = HEADER.unpack_from(shared, 0)
        claims, verdicts, offsets_at, _ = layout(n, chunk)
        offsets = memoryview(shared)[offsets_at : offsets_at + 8 * (n + 1)].cast("Q")
        try:
            filled, k, unread, listening = 0, 0, b"", True
            while True:
                if k >= filled:
                    if not listening:
                        return
                    got = os.read(control, 4096)  # waits for the verifier to fill a chunk
                    if not got:
                        listening = False
                        continue
                    unread += got
                    whole = len(unread) - len(unread) % 8
                    if whole:
                        filled = min(chunks, int.from_bytes(unread[whole - 8 : whole], "little"))
                        unread = unread[whole:]
                    continue
                if not shared[claims + k]:
                    shared[claims + k] = 1
                    for i in range(k * chunk, min(n, (k + 1) * chunk)):
                        if not shared[verdicts + i]:
                            shared[verdicts + i] = verdict(
                                shared[data + offsets[i] : data + offsets[i + 1]]
                            )
                k += 1
        finally:
            offsets.release()


def main(argv: list[str]) -> int:
    """Entry point: check until the verifier closes standard input, then say ``done``."""
    run(int(argv[1]))
    sys.stdout.write("done\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
