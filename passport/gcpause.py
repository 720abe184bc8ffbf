"""Pausing Python's cyclic garbage collector around bulk work.

An append batch, an audit chunk or a bundle check allocates tens of thousands of small objects
(parsed records, tuples of proof hashes) that reference counting frees on its own: they hold no
reference cycles. Each 700 allocations still start a young-generation collection, and the
objects surviving into the old generations trigger full collections that walk every live
object of the process. Measured on a batch of 1,000 records: building the receipts' inclusion
proofs took 9.6 us a record with the collector on and 2.7 us with it paused; the whole batch,
128 against 121 us a record.

:func:`paused` disables the collector for the duration of a block and re-enables it when the
outermost paused block of the process ends, if it was enabled when that block began. Blocks may
nest and may run in several threads at once; cycles made meanwhile are collected afterwards.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector disabled (see the module docstring)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
