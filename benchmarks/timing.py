"""Wall-clock timing shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeat: int = 1, *, warm_up: bool = False) -> float:
    """Median wall time of ``repeat`` calls of ``fn``, in seconds; with ``warm_up``, after one
    untimed call (caches filled, connections open)."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
