"""The cyclic garbage collector during a simulation: young collections ten times rarer.

A simulated month allocates millions of short-lived objects (events, copies, emails), almost
all freed at once by reference counting. At Python's default (a young collection every 700
net allocations) a 500-customer half-year made about a thousand collections, each walking
the young objects of the moment and promoting those alive to be walked again by the older
generations' collections: about 3% of the run's CPU time. Every 10,000 allocations most of
them are gone before any collection sees them. The older generations' thresholds (counted
in younger collections) are kept, and the previous thresholds come back after the run."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    before = gc.get_threshold()
    if before[0]:  # 0: automatic collection is off, and stays off
        gc.set_threshold(max(YOUNG_THRESHOLD, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
