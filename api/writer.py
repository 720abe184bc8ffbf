"""Group commit for single-record appends: concurrent ``POST /records`` share one transaction.

Each append costs the ledger one write transaction (and, on SQLite, one fsync); under concurrent
load most of that cost is shared if the pending records go through one
:meth:`~passport.ledger.pipeline.Ledger.append_batch`. The result must be exactly what appending
them one
by one, in arrival order, would give:

* a batch is all-or-nothing, so when item *i* is rejected (``BatchItemError``) it gets its error
  and the batch is retried without it: items before it are unaffected, items after it that
  depended on it (the same issuer's chain) now fail on their own, as they would have sequentially;
* any other failure (a conflict with another process, the database) falls back to one by one;
* the same record submitted twice in one group gets ``existing=True`` the second time.

One writer thread drains a queue; callers wait on a future, from any event loop. Nothing is
delayed on purpose: a lone request is committed at once, and requests arriving during a commit
form the next group.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from api.errors import ServerBusyError
from passport.errors import BatchItemError
from passport.ledger.log import Receipt
from passport.ledger.pipeline import Ledger
from signing.errors import BpassError

log = logging.getLogger("bpass.api")


@dataclass
class _Pending:
    body: bytes | dict[str, Any]
    disclosures: tuple[str, ...] | None = None
    future: Future[Receipt] = field(default_factory=Future)


class AppendCoalescer:
    """Serialises this process's single appends through one writer thread, in groups."""

    def __init__(self, ledger: Ledger, *, max_group: int = 256, max_pending: int = 10_000) -> None:
        self.ledger = ledger
        self.max_group = max_group
        self.max_pending = max_pending
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(
        self, body: bytes | dict[str, Any], disclosures: Sequence[str] | None = None
    ) -> Future[Receipt]:
        """Queue one record's bytes (or document, with a confidential record's Disclosures);
        the future holds its receipt or its typed error."""
        if self._queue.qsize() >= self.max_pending:
            raise ServerBusyError("too many appends are waiting; retry shortly")
        pending = _Pending(body, None if disclosures is None else tuple(disclosures))
        with self._lock:
            if self._closed:
                raise ServerBusyError("the server is shutting down")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="bpass-writer", daemon=True)
                self._thread.start()
            self._queue.put(pending)
        return pending.future

    def close(self) -> None:
        """Finish what is queued, then stop the writer thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: Sequence[_Pending]) -> None:
        pending = list(group)
        while pending:
            try:
                bodies = [p.body for p in pending]
                if any(p.disclosures is not None for p in pending):
                    receipts = self.ledger.append_batch(bodies, [p.disclosures for p in pending])
                else:
                    receipts = self.ledger.append_batch(bodies)
            except BatchItemError as exc:
                pending.pop(exc.index).future.set_exception(exc.error)
                continue
            except BpassError:
                if len(pending) == 1:
                    self._one(pending[0])
                else:
                    for p in pending:
                        self._one(p)
                return
            except Exception as exc:  # the database itself failed: every caller gets a 500
                log.exception("group append failed")
                for p in pending:
                    p.future.set_exception(exc)
                return
            seen: set[str] = set()
            for p, receipt in zip(pending, receipts, strict=True):
                if receipt.record_hash in seen and not receipt.existing:
                    receipt = receipt._replace(existing=True)
                seen.add(receipt.record_hash)
                p.future.set_result(receipt)
            return

    def _one(self, pending: _Pending) -> None:
        try:
            if pending.disclosures is None:
                pending.future.set_result(self.ledger.append(pending.body))
            else:
                pending.future.set_result(self.ledger.append(pending.body, pending.disclosures))
        except Exception as exc:
            pending.future.set_exception(exc)
