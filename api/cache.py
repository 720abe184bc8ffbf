"""In-memory caches: record bodies (immutable once accepted) and the latest checkpoint."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable


class RecordCache:
    """Least-recently-used record bodies by hash, up to a total number of bytes; thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, record_hash: str) -> bytes | None:
        """The cached body of ``record_hash``, if any."""
        with self._lock:
            body = self._items.get(record_hash)
            if body is not None:
                self._items.move_to_end(record_hash)
            return body

    def put(self, record_hash: str, body: bytes) -> None:
        """Remember a stored record's body (only what the ledger returned, never input)."""
        if len(body) > self.max_bytes:
            return
        with self._lock:
            if record_hash in self._items:
                return
            self._items[record_hash] = body
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)


class LogHead:
    """The latest signed checkpoint this process has seen, served for up to ``ttl`` seconds.

    Appends made through this process update it at once (so a client reads its own writes);
    appends by other processes on the same database show within ``ttl``. ``ttl`` 0 disables it.
    When it has expired, :meth:`latest` loads it once for all the requests that ask meanwhile.
    """

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._size = -1
        self._note = ""
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self._loading: asyncio.Task[tuple[int, str]] | None = None  # on the loop that started it

    async def latest(self, load: Callable[[], Awaitable[str]]) -> tuple[int, str]:
        """(tree size, checkpoint note): from memory while fresh, else from ``load`` (the
        database, in a thread). One load at a time per event loop: the requests arriving while
        it runs wait for it instead of each starting their own. (Each expiry used to send every
        request in flight to the thread pool to read the same row; at 1,000 requests/s those
        reads stalled the server for 20-120 ms once a second, measured.) A failed load fails
        the requests waiting for it; the next request tries again."""
        head = self.fresh()
        if head is not None:
            return head
        if self.ttl <= 0:  # no cache: every request reads after it arrived, none shares a read
            return self.loaded(await load())
        task = self._loading
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(self._load(load))
            self._loading = task
        # shield: a waiter cancelled (its client went away) does not cancel the others' load.
        return await asyncio.shield(task)

    async def _load(self, load: Callable[[], Awaitable[str]]) -> tuple[int, str]:
        return self.loaded(await load())

    def fresh(self) -> tuple[int, str] | None:
        """(tree size, checkpoint note) if loaded from the database less than ``ttl`` ago."""
        with self._lock:
            if self.clock() - self._loaded_at < self.ttl and self._size >= 0:
                return self._size, self._note
        return None

    def loaded(self, note: str) -> tuple[int, str]:
        """Remember a checkpoint just read from the database; the newest (size, note) known."""
        size = int(note.split("\n", 2)[1])
        with self._lock:
            if size >= self._size:
                self._size, self._note = size, note
            self._loaded_at = self.clock()
            return self._size, self._note

    def appended(self, tree_size: int, note: str) -> None:
        """Remember the checkpoint of an append made through this process (if it is newer)."""
        with self._lock:
            if tree_size > self._size:
                self._size, self._note = tree_size, note


class ViewCache:
    """Rendered passport reads (views, bundles) by (what, who, log size); thread-safe LRU.

    A passport's content for one access role changes only when a record is appended, and every
    append grows the log: keyed by the tree size, an entry can never be stale, only outgrown
    (it then ages out). Bounded by the total bytes it holds.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> bytes | None:
        """The cached body under ``key``, if any."""
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: tuple[str, ...], body: bytes) -> None:
        """Remember a rendered body (too large ones are not kept)."""
        if len(body) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = body
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)
