"""Metric histories for display: downsampled by min/max per bucket, never cut off."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from automl.ui import constants as C


@dataclass(frozen=True)
class Series:
    """One metric's history as plotted: steps, values (None for NaN), and its true length."""

    key: str
    steps: list[int]
    values: list[float | None]
    total_points: int

    @property
    def downsampled(self) -> bool:
        return len(self.steps) < self.total_points

    def to_json(self) -> dict:
        return {"x": self.steps, "y": self.values, "name": self.key}


def downsample(
    key: str, steps: np.ndarray, values: np.ndarray, max_points: int = C.MAX_CHART_POINTS
) -> Series:
    """Keep the first, last, and each bucket's min and max point, so spikes stay visible.

    ``steps`` and ``values`` are one history in step order; NaN values become None (JSON null,
    a gap in the chart) and never win a bucket's min or max."""
    total = len(steps)
    if total > max_points:
        buckets = max(1, (max_points - 2) // 2)
        edges = np.linspace(0, total, buckets + 1).astype(np.int64)
        low = np.where(np.isnan(values), np.inf, values)
        high = np.where(np.isnan(values), -np.inf, values)
        picked = [np.array([0, total - 1])]
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            if hi > lo:
                picked.append(np.array([lo + low[lo:hi].argmin(), lo + high[lo:hi].argmax()]))
        keep = np.unique(np.concatenate(picked))
        steps, values = steps[keep], values[keep]
    shown = [None if math.isnan(v) else v for v in values.tolist()]
    return Series(key, steps.tolist(), shown, total)
