"""Metric histories for display: downsampled by min/max per bucket, never cut off."""

from __future__ import annotations

from dataclasses import dataclass

import tracking
from automl.ui import constants as C


@dataclass(frozen=True)
class Series:
    """One metric's history as plotted: steps, values, and how many points it really has."""

    key: str
    steps: list[int]
    values: list[float]
    total_points: int

    @property
    def downsampled(self) -> bool:
        return len(self.steps) < self.total_points


def downsample(
    key: str, history: list[tracking.Metric], max_points: int = C.MAX_CHART_POINTS
) -> Series:
    """Keep the first, last, and each bucket's min and max point, so spikes stay visible."""
    total = len(history)
    if total <= max_points:
        return Series(key, [m.step for m in history], [m.value for m in history], total)
    buckets = max(1, (max_points - 2) // 2)
    size = total / buckets
    picked: list[int] = [0]
    for b in range(buckets):
        lo, hi = int(b * size), min(total, int((b + 1) * size))
        if lo >= hi:
            continue
        chunk = range(lo, hi)
        low = min(chunk, key=lambda i: history[i].value)
        high = max(chunk, key=lambda i: history[i].value)
        picked.extend(sorted({low, high}))
    picked.append(total - 1)
    keep = sorted(set(picked))
    return Series(key, [history[i].step for i in keep], [history[i].value for i in keep], total)
