"""Check 3 of a bundle (``passport.bundle``) at the cost of its signatures: the records' proofs
on every core.

- :class:`ProofChecks`: the records' Data Integrity proofs (append step 2a,
  :func:`passport.ledger.verify_record_proof`). Worker processes (``passport.proof_worker``)
  are started before the records are parsed, so their start-up overlaps the parsing. Once
  parsed, the records' canonical bytes go into a shared file and the workers check them chunk
  by chunk while this process runs the bundle's other checks. When this process asks for the
  verdict it checks, from the last one back, the chunks no worker has claimed yet, so all cores
  finish together. The verdict is the failure at the lowest index, checked again in this
  process: exactly what checking the records one by one finds first. With no workers (one
  core, a small bundle, no way to start a process) the same checks run in this process.
- the inclusion proofs are checked by :class:`signing.merkle_batch.InclusionChecks`, which
  shares the work of their common upper nodes.

The workers are fresh interpreters that import only what step 2a needs. They are not forks of
this one: a fork shares the bundle's pages, and this process's later checks copied about 20,000
of them (measured: 70-100 ms of system time per 5,000-record bundle), more than the workers'
start-up costs.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from passport import proof_worker as pw
from passport.ledger import verify_record_proof
from passport.records import ParsedRecord
from signing.errors import BpassError

__all__ = ["CHUNK", "PARALLEL_PROOFS_MIN", "ProofChecks", "available_workers"]

PARALLEL_PROOFS_MIN = 256
"""Bundles with at least this many records have their proofs checked by worker processes
(below it, starting a worker costs more than it saves)."""

CHUNK = 32
"""Records per claimed chunk: the last chunk the workers and this process share costs each at
most a few milliseconds of waiting."""

_ROOT = str(Path(__file__).resolve().parent.parent)  # where ``passport`` is importable from


def available_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


Failure = tuple[int, str | None]
"""A failed proof: the record's index and the proof error's message."""


def _shared_file() -> int:
    """A file descriptor for the shared layout: anonymous memory where the system has it."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("bpass-proofs")  # close-on-exec: only pass_fds hands it on
    with tempfile.TemporaryFile() as f:  # pragma: no cover - not Linux
        return os.dup(f.fileno())


class ProofChecks:
    """The proofs of a bundle's records (append step 2a), checked beside the other checks.

    Start it with the number of records, before parsing them; hand over the parsed ones
    with :meth:`submit`; ask :meth:`first_failure`; :meth:`close` when done.

    ``workers``: processes checking them beside this one (default: one fewer than the cores
    this process may use, since this one has the rest of the bundle's checks to run); 0 checks
    them in this process, when the verdict is asked.
    """

    def __init__(self, count: int, workers: int | None = None) -> None:
        self.records: Sequence[ParsedRecord] = ()
        self.workers = max(0, available_workers() - 1) if workers is None else workers
        self._fd = -1
        self._procs: list[subprocess.Popen[bytes]] = []
        self._shared: mmap.mmap | None = None
        self._verdicts = 0  # offset of the verdict bytes in the shared file
        self._waited = False
        self.checked_here = 0  # chunks this process checked beside the workers (measurements)
        if self.workers > 0 and count >= PARALLEL_PROOFS_MIN and os.name == "posix":
            try:
                self._start()
            except OSError:  # no processes to be had: the checks run here
                self.close()

    def _start(self) -> None:
        self._fd = _shared_file()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        for _ in range(self.workers):
            self._procs.append(
                subprocess.Popen(  # noqa: S603 - this interpreter, running our own module
                    _worker_command(self._fd),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    pass_fds=(self._fd,),
                    env=env,
                )
            )

    @property
    def parallel(self) -> bool:
        """The proofs are checked by worker processes."""
        return self._shared is not None

    def submit(self, records: Sequence[ParsedRecord]) -> None:
        """The parsed records whose proofs are to be checked (once); the workers begin."""
        self.records = records
        if not self._procs:
            return
        if len(records) < PARALLEL_PROOFS_MIN:  # parsing stopped early: not worth the workers
            self.close()
            return
        n = len(records)
        _, verdicts, offsets, data = pw.layout(n, CHUNK)
        blobs = [r.canonical for r in records]
        size = data + sum(map(len, blobs))
        try:
            os.ftruncate(self._fd, size)
            shared = mmap.mmap(self._fd, size)
        except OSError:
            self.close()
            return
        pw.HEADER.pack_into(shared, 0, n, CHUNK, -(-n // CHUNK), data)
        ends = memoryview(shared)[offsets : offsets + 8 * (n + 1)].cast("Q")
        at = 0
        ends[0] = 0
        shared.seek(data)
        for i, blob in enumerate(blobs):
            shared.write(blob)
            at += len(blob)
            ends[i + 1] = at
        ends.release()
        self._shared, self._verdicts = shared, verdicts
        for proc in self._procs:
            _tell(proc.stdin, b"go\n")

    def first_failure(self, stop: int | None = None) -> Failure | None:
        """The failed proof of the lowest index below ``stop`` (default: all). Checks here the
        chunks no worker has claimed, last first, then waits for the workers; a record they
        did not pass (failed, raised, or left unchecked by a worker that died) is checked
        again here, which returns its failure or raises its exception, as checking the records
        one by one would."""
        stop = len(self.records) if stop is None else stop
        shared = self._shared
        if shared is None:
            return _serial(self.records, 0, stop)
        self._share_the_rest(stop)
        self._wait()
        verdicts = shared[self._verdicts : self._verdicts + stop]
        i = 0
        while i < stop:
            rest = verdicts[i:]
            i += len(rest) - len(rest.lstrip(bytes([pw.OK])))  # skip the records that passed
            if i >= stop:
                break
            found = _serial(self.records, i, i + 1)
            if found is not None:
                return found
            i += 1  # it passed here: a worker died before its verdict
        return None

    def _share_the_rest(self, stop: int) -> None:
        """Check here, from the last one back, the unclaimed chunks starting below ``stop``."""
        shared = self._shared
        assert shared is not None
        records = self.records
        n = len(records)
        for k in range(-(-min(stop, n) // CHUNK) - 1, -1, -1):
            at = pw.CLAIMS_AT + k
            if shared[at]:
                break  # the workers are there: they claimed every chunk before it
            shared[at] = 2
            self.checked_here += 1
            for i in range(k * CHUNK, min(n, (k + 1) * CHUNK)):
                try:
                    verify_record_proof(records[i])
                except Exception:
                    shared[self._verdicts + i] = pw.FAILED
                else:
                    shared[self._verdicts + i] = pw.OK

    def _wait(self) -> None:
        """Until every worker has said ``done`` or exited (a dead one leaves no verdicts)."""
        if self._waited:
            return
        self._waited = True
        for proc in self._procs:
            if proc.stdout is not None:
                with contextlib.suppress(OSError):
                    proc.stdout.readline()
            proc.wait()

    def close(self) -> None:
        """Stop the workers (at once, if they still run: their verdicts are not needed)."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        self._procs = []
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _worker_command(fd: int) -> list[str]:
    """How a worker is started: this interpreter, on the shared file ``fd``."""
    return [sys.executable, "-m", "passport.proof_worker", str(fd)]


def _tell(stream: IO[bytes] | None, line: bytes) -> None:
    """Write ``line`` to a worker and close its input (a worker that died reads nothing)."""
    if stream is None:
        return
    with contextlib.suppress(OSError):
        stream.write(line)
        stream.close()


def _serial(records: Sequence[ParsedRecord], start: int, stop: int) -> Failure | None:
    """The first failed proof in ``[start, stop)``, checked in this process; an exception other
    than a proof error propagates, as when the records are checked one by one."""
    for i in range(start, stop):
        try:
            verify_record_proof(records[i])
        except BpassError as exc:
            return i, exc.message
    return None
