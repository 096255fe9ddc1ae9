"""Metric histories as the charts draw them (long ones arrive downsampled from ``reads``)."""

from __future__ import annotations

import math
from dataclasses import dataclass


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


def series(key: str, steps: list[int], values: list[float]) -> Series:
    """A whole (short) history as plotted: NaN becomes None, a gap in the chart (JSON null)."""
    shown = [None if v is None or math.isnan(v) else v for v in values]
    return Series(key, list(steps), shown, len(steps))
