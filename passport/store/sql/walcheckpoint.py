"""SQLite WAL checkpoints off the append path.

In WAL mode a commit appends the changed pages to the ``-wal`` file; a *checkpoint* later copies
them into the database file. By default the connection whose commit takes the WAL past 1,000
pages runs that checkpoint itself, inside its commit: the appender then waits for random writes
into the database file and its fsync. Measured on a 10^6-record ledger (1,000-record batches),
commits took 55 ms with that automatic checkpoint and 11 ms without, the checkpoints 19 ms a
batch on their own.

:class:`Checkpointer` runs them on a thread of its own instead, with its own connection, as
``PRAGMA wal_checkpoint(PASSIVE)`` (SQLite §"Checkpointing": a passive checkpoint copies what
it can without waiting for readers or writers, so it never blocks an append). A commit only
wakes it. SQLite releases the GIL while it works, so on a second core the checkpoint runs
beside the next batch. Writers keep an automatic checkpoint at a far larger size
(:data:`BACKSTOP_PAGES`), so the WAL stays bounded if this thread falls behind or a process
runs without one; durability is unchanged (commits still fsync the WAL, ``synchronous=FULL``).

Forks: a process forked while this thread is inside SQLite would inherit SQLite's mutexes
held, and could hang in its first SQLite call (seen in an audit's forked worker). Each
checkpoint therefore runs under a lock that ``os.register_at_fork`` takes before every fork and
releases after it, so a fork waits for a running checkpoint; the child gets no checkpointer
thread (and starts none: its writes rely on the backstop). The thread is marked
``fork_safe = True`` for code that decides whether forking is safe beside it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref

__all__ = ["BACKSTOP_PAGES", "Checkpointer"]

BACKSTOP_PAGES = 16384
"""``PRAGMA wal_autocheckpoint`` of writer connections: a commit that finds the WAL this large
(64 MiB of 4 KiB pages) checkpoints it itself, as SQLite would by default at 1,000 pages."""


_LIVE: weakref.WeakSet[Checkpointer] = weakref.WeakSet()


def _before_fork() -> None:
    for checkpointer in list(_LIVE):
        checkpointer._busy.acquire()


def _after_fork_in_parent() -> None:
    for checkpointer in list(_LIVE):
        if checkpointer._busy.locked():
            checkpointer._busy.release()


def _after_fork_in_child() -> None:
    for checkpointer in list(_LIVE):
        checkpointer._thread = None  # threads do not survive a fork
        checkpointer._stopping = True
        if checkpointer._busy.locked():
            checkpointer._busy.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


class Checkpointer:
    """A daemon thread that checkpoints one SQLite database's WAL whenever it is woken."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._busy = threading.Lock()  # held while this thread is inside SQLite; forks wait
        _LIVE.add(self)
        self.runs = 0
        """Checkpoints run so far (for tests and diagnostics)."""
        self.error: BaseException | None = None
        """The last error a checkpoint raised (the next one is still tried)."""

    def wake(self) -> None:
        """Ask for a checkpoint soon (after a commit); starts the thread on first use."""
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stopping:
                    thread = threading.Thread(
                        target=self._run, name="bpass-wal-checkpoint", daemon=True
                    )
                    thread.fork_safe = True  # type: ignore[attr-defined]  # see the docstring
                    self._thread = thread
                    thread.start()
        self._wake.set()

    def close(self) -> None:
        """Stop the thread (after a last checkpoint) and wait for it."""
        with self._lock:
            self._stopping = True
            thread, self._thread = self._thread, None
        self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        try:
            with self._busy:
                conn = sqlite3.connect(self.path, timeout=120, isolation_level=None)
                conn.execute("PRAGMA busy_timeout=120000")
                conn.execute("PRAGMA synchronous=FULL")  # the checkpoint's fsyncs, as writers'
        except sqlite3.Error as exc:  # no checkpoints from here: the writers' backstop remains
            self.error = exc
            return
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                try:
                    with self._busy:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.runs += 1
                except sqlite3.Error as exc:  # e.g. the file was removed under us
                    self.error = exc
                if self._stopping:
                    return
        finally:
            with self._busy:
                conn.close()
