"""Check 3 of a bundle (``passport.verify.bundle``) at the cost of its signatures: the records'
proofs on every core.

- :class:`ProofChecks`: the records' Data Integrity proofs (append step 2a,
  :func:`passport.ledger.accept.verify_record_proof`). Worker processes
  (``passport.verify.proof_worker``) are started before the records are parsed. As each record is
  parsed this process runs every check of its proof but the signature's
  (:func:`passport.records.proof.prepare_record_proof`) and puts what is left, the key, the proof
  value and the two canonical byte strings to hash, into a shared file; each chunk of records filled
  is announced to the workers, which verify the signatures while this process parses on and runs the
  bundle's other checks. When this process asks for the verdict it checks, from the last one back,
  the chunks no worker has claimed yet, so all cores finish together. The verdict is the failure at
  the lowest index, checked again in this process with the whole step 2a: exactly what checking the
  records one by one finds first. With no workers (one core, a small bundle, no way to start a
  process) the same checks run in this process.
- the inclusion proofs are checked by :class:`signing.merkle_batch.InclusionChecks`, which
  shares the work of their common upper nodes.

The workers are fresh interpreters that import only Ed25519 and base58 (no JSON library), so
they start in about the time this process takes to parse the first few hundred records. They
are not forks of this one: a fork shares the bundle's pages, and this process's later checks
copied about 20,000 of them (measured: 70-100 ms of system time per 5,000-record bundle).
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

from passport.ledger.accept import verify_record_proof
from passport.records.envelope import ParsedRecord
from passport.records.proof import prepare_record_proof
from passport.verify import proof_worker as pw
from signing.errors import BpassError

__all__ = ["CHUNK", "PARALLEL_PROOFS_MIN", "ProofChecks", "available_workers"]

PARALLEL_PROOFS_MIN = 256
"""Bundles with at least this many records have their proofs checked by worker processes
(below it, starting a worker costs more than it saves)."""

CHUNK = 32
"""Records per claimed chunk: the last chunk the workers and this process share costs each at
most a few milliseconds of waiting."""

SPACE_PER_RECORD = 16 * 1024
"""Room reserved in the shared file per record for its packed proof (a 5,000-record bundle's
proofs take about 1.3 KB each), up to :data:`SPACE_MAX` in all. The file is sparse: only what
is written takes memory. The records whose proofs do not fit are checked in this process."""

SPACE_MAX = 4 << 30
"""The most room reserved for packed proofs, however many records a bundle has."""

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

    Start it with the number of records, before parsing them; :meth:`add` each parsed record in
    order (or :meth:`submit` them all); :meth:`finish` when no more come; ask
    :meth:`first_failure`; :meth:`close` when done.

    ``workers``: processes checking them beside this one (default: one fewer than the cores
    this process may use, since this one has the rest of the bundle's checks to run); 0 checks
    them in this process, when the verdict is asked.
    """

    def __init__(self, count: int, workers: int | None = None) -> None:
        self.records: list[ParsedRecord] = []
        self.count = count
        self.workers = max(0, available_workers() - 1) if workers is None else workers
        self._fd = -1
        self._procs: list[subprocess.Popen[bytes]] = []
        self._shared: mmap.mmap | None = None
        self._ends: memoryview | None = None  # the records' end offsets in the shared file
        self._verdicts = self._data = self._room = 0  # offsets in the shared file; data's size
        self._written = 0  # bytes of packed proofs written
        self._finished = False
        self._waited = False
        self.checked_here = 0  # chunks this process checked beside the workers (measurements)
        if self.workers > 0 and count >= PARALLEL_PROOFS_MIN and os.name == "posix":
            try:
                self._start()
            except (OSError, ValueError):  # no processes or shared memory to be had
                self.close()

    def _start(self) -> None:
        n = self.count
        _, verdicts, offsets, data = pw.layout(n, CHUNK)
        size = data + min(SPACE_PER_RECORD * n, SPACE_MAX)
        self._fd = _shared_file()
        os.ftruncate(self._fd, size)  # sparse: pages are taken as they are written
        self._shared = mmap.mmap(self._fd, size)
        pw.HEADER.pack_into(self._shared, 0, n, CHUNK, -(-n // CHUNK), data)
        self._ends = memoryview(self._shared)[offsets : offsets + 8 * (n + 1)].cast("Q")
        self._verdicts, self._data, self._room = verdicts, data, size - data
        env = dict(os.environ)
        env["PYTHONPATH"] = _worker_path()
        for _ in range(self.workers):
            proc = subprocess.Popen(  # noqa: S603 - this interpreter, running our own module
                _worker_command(self._fd),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                pass_fds=(self._fd,),
                env=env,
            )
            self._procs.append(proc)
            if proc.stdin is not None:  # announcing a chunk never waits for a busy worker
                os.set_blocking(proc.stdin.fileno(), False)

    @property
    def parallel(self) -> bool:
        """The proofs are checked by worker processes."""
        return self._shared is not None

    def add(self, record: ParsedRecord) -> None:
        """The next parsed record. Its proof is prepared here (every check but the signature's)
        and packed into the shared file; each full chunk is announced to the workers."""
        i = len(self.records)
        self.records.append(record)
        shared, ends = self._shared, self._ends
        if shared is None or ends is None or self._finished or i >= self.count:
            return  # checked here, when the verdict is asked
        start = self._written
        try:
            prepared = prepare_record_proof(
                record.doc, record.canonical, record.canonical_by_orjson
            )
            packed = pw.pack(
                prepared.public_key,
                prepared.proof_value,
                prepared.canonical_config,
                prepared.canonical_document,
            )
        except Exception:  # checked again here, which gives its error (or raises it)
            shared[self._verdicts + i] = pw.FAILED
            packed = b""
        end = start + len(packed)
        if end > self._room:  # no room left for it: checked here
            shared[self._verdicts + i] = pw.FAILED
            end = start
        elif packed:
            shared[self._data + start : self._data + end] = packed
        self._written = ends[i + 1] = end
        if (i + 1) % CHUNK == 0:
            self._announce((i + 1) // CHUNK)

    def submit(self, records: Sequence[ParsedRecord]) -> None:
        """:meth:`add` each of ``records``, then :meth:`finish`."""
        for record in records:
            self.add(record)
        self.finish()

    def _announce(self, chunks: int) -> None:
        """Tell the workers ``chunks`` chunks are filled. A worker whose input is full will read
        a later number; one that died reads nothing."""
        for proc in self._procs:
            if proc.stdin is not None and not proc.stdin.closed:
                with contextlib.suppress(OSError):  # BlockingIOError, BrokenPipeError
                    os.write(proc.stdin.fileno(), chunks.to_bytes(8, "little"))

    def finish(self) -> None:
        """No more records: the last chunk is announced and the workers' input closed."""
        if self._finished:
            return
        self._finished = True
        shared = self._shared
        if shared is None:
            return
        added = min(len(self.records), self.count)
        chunks = -(-added // CHUNK)
        for i in range(added, min(self.count, chunks * CHUNK)):  # parsing stopped early
            shared[self._verdicts + i] = pw.FAILED  # never added: no one checks it
        # A worker whose input is full never learns of the last chunks: it stops early, and
        # this process checks the chunks it left (first_failure).
        self._announce(chunks)
        for proc in self._procs:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()

    def first_failure(self, stop: int | None = None) -> Failure | None:
        """The failed proof of the lowest index below ``stop`` (default: all). Checks here the
        chunks no worker has claimed, last first, then waits for the workers; a record they
        did not pass (failed, raised, not prepared, or left unchecked by a worker that died) is
        checked again here with the whole step 2a, which returns its failure or raises its
        exception, as checking the records one by one would."""
        self.finish()
        stop = len(self.records) if stop is None else stop
        shared = self._shared
        if shared is None:
            return _serial(self.records, 0, stop)
        limit = min(stop, self.count)
        self._share_the_rest(limit)
        self._wait()
        verdicts = shared[self._verdicts : self._verdicts + limit]
        i = 0
        while i < limit:
            rest = verdicts[i:]
            i += len(rest) - len(rest.lstrip(bytes([pw.OK])))  # skip the records that passed
            if i >= limit:
                break
            found = _serial(self.records, i, i + 1)
            if found is not None:
                return found
            i += 1  # it passed here: a worker died before its verdict
        return _serial(self.records, limit, stop)  # beyond the announced count (none)

    def _share_the_rest(self, stop: int) -> None:
        """Check here, from the last one back, the unclaimed chunks starting below ``stop``."""
        shared, ends = self._shared, self._ends
        assert shared is not None and ends is not None
        n = min(len(self.records), self.count)
        verdicts, data = self._verdicts, self._data
        for k in range(-(-min(stop, n) // CHUNK) - 1, -1, -1):
            at = pw.CLAIMS_AT + k
            if shared[at]:
                break  # the workers are there: they claimed every chunk before it
            shared[at] = 2
            self.checked_here += 1
            for i in range(k * CHUNK, min(n, (k + 1) * CHUNK)):
                if not shared[verdicts + i]:
                    shared[verdicts + i] = pw.verdict(shared[data + ends[i] : data + ends[i + 1]])

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
        if self._ends is not None:
            self._ends.release()
            self._ends = None
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _worker_path() -> str:
    """The worker's ``PYTHONPATH``: this project, then where this process imports from.

    The worker runs without the ``site`` module (``-S``), which saves it the site-packages
    scan and the editable install's import hook (about a fifth of its start-up, measured), so
    it is handed this process's import path instead: it imports the same packages."""
    entries = [_ROOT, *(p for p in sys.path if p and os.path.isabs(p))]
    return os.pathsep.join(dict.fromkeys(entries))


def _worker_command(fd: int) -> list[str]:
    """How a worker is started: this interpreter, without ``site`` (see :func:`_worker_path`),
    on the shared file ``fd``."""
    return [sys.executable, "-S", "-m", "passport.verify.proof_worker", str(fd)]


def _serial(records: Sequence[ParsedRecord], start: int, stop: int) -> Failure | None:
    """The first failed proof in ``[start, stop)``, checked in this process; an exception other
    than a proof error propagates, as when the records are checked one by one."""
    for i in range(start, stop):
        try:
            verify_record_proof(records[i])
        except BpassError as exc:
            return i, exc.message
    return None
