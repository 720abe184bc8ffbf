"""Whether this process may fork now without handing its children a held lock."""

from __future__ import annotations

import threading

__all__ = ["fork_is_safe"]


def fork_is_safe() -> bool:
    """True when no other thread of this process can be inside C code holding a lock.

    A forked child inherits every lock in the state it had at the fork. A thread that was
    inside SQLite (a WAL checkpoint, a query of another connection) or OpenSSL at that moment
    leaves their internal mutexes held for good in the child, whose first query or hash then
    blocks forever. The threads of the standard library's own process pools (the executor's
    manager thread, the queues' feeder threads) only wait on pipes and pickle, and CPython
    itself forks beside them; so do threads marked ``fork_safe = True`` (their owner makes a
    fork wait until they hold no such lock, e.g. with :func:`os.register_at_fork`). Any other
    thread might be anywhere.
    """
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is current or not thread.is_alive():
            continue
        if (
            type(thread).__name__ == "_ExecutorManagerThread"
            or thread.name == "QueueFeederThread"
            or getattr(thread, "fork_safe", False) is True
        ):
            continue
        return False
    return True
