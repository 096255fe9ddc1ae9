"""Metric histories for display: downsampled by min/max per bucket, never cut off."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    steps = np.fromiter((m.step for m in history), dtype=np.int64, count=total)
    values = np.fromiter((m.value for m in history), dtype=np.float64, count=total)
    if total <= max_points:
        return Series(key, steps.tolist(), values.tolist(), total)
    buckets = max(1, (max_points - 2) // 2)
    edges = np.linspace(0, total, buckets + 1).astype(np.int64)
    picked = [np.array([0, total - 1])]
    filled = np.where(np.isnan(values), 0.0, values)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi > lo:
            chunk = filled[lo:hi]
            picked.append(np.array([lo + chunk.argmin(), lo + chunk.argmax()]))
    keep = np.unique(np.concatenate(picked))
    return Series(key, steps[keep].tolist(), values[keep].tolist(), total)
