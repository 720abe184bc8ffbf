"""The collector pause around bulk work: nested and concurrent blocks restore what was there."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from passport.gcpause import paused


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_block_disables_and_restores() -> None:
    gc.enable()
    with paused():
        assert not gc.isenabled()
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block is still running
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    with paused():
        pass
    assert not gc.isenabled()


def test_an_exception_still_restores() -> None:
    gc.enable()
    with pytest.raises(ValueError, match="boom"), paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_overlapping_blocks_in_threads_restore_after_the_last() -> None:
    gc.enable()
    inside = threading.Barrier(2)
    leave_first = threading.Event()
    states: list[bool] = []

    def first() -> None:
        with paused():
            inside.wait()
            leave_first.wait()

    def second() -> None:
        with paused():
            inside.wait()
            leave_first.set()
            # the first block has ended (or is ending); this one still runs without collector
            states.append(gc.isenabled())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert states == [False]
    assert gc.isenabled()
