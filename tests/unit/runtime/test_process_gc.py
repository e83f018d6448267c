"""A node process tunes the garbage collector once started (`runtime.process.tune_gc`):
start-up's objects are frozen out of collections and young collections run far less often;
cycles made afterwards are still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from minicanton.runtime.process import GC_YOUNG_THRESHOLD, tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_tuning_freezes_what_exists_and_raises_the_young_threshold(restored_gc: None) -> None:
    tune_gc()
    assert gc.get_freeze_count() > 0
    young, middle, old = gc.get_threshold()
    assert young == GC_YOUNG_THRESHOLD and middle >= 50 and old >= 100


def test_cycles_made_after_tuning_are_still_collected(restored_gc: None) -> None:
    tune_gc()
    cycle = _Cycle()
    gone = weakref.ref(cycle)
    del cycle
    assert gone() is not None  # a cycle waits for a collection
    allocated = [[] for _ in range(2 * GC_YOUNG_THRESHOLD)]  # enough for a young collection
    assert gone() is None and len(allocated) == 2 * GC_YOUNG_THRESHOLD
