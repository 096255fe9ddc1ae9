"""The tracked run a notebook reproduces: what every notebook renderer is told about it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Metrics a notebook checks its reproduction against (train metrics are not re-derived).
CHECKED_PREFIXES = ("val_", "test_")


@dataclass(frozen=True)
class NotebookRun:
    """Which run a notebook rebuilds and where its data is.

    ``metrics`` are the run's tracked metrics; ``n_threads`` must equal what the run's fit used so
    that multi-threaded models match.
    """

    run_id: str
    experiment_name: str
    trial_number: int
    snapshot_path: str | os.PathLike[str]
    tracking_uri: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    n_threads: int = 1

    @property
    def checked_metrics(self) -> dict[str, float]:
        """The validation and test metrics a rerun of the notebook must reproduce."""
        return {
            str(k): float(v) for k, v in self.metrics.items() if str(k).startswith(CHECKED_PREFIXES)
        }

    def context(self) -> dict[str, Any]:
        """The template variables every notebook shares (header and the data it reads)."""
        return {
            "run_id": str(self.run_id),
            "experiment_name": str(self.experiment_name),
            "trial_number": int(self.trial_number),
            "snapshot_path": str(self.snapshot_path),
            "tracking_uri": str(self.tracking_uri),
            "tracked": self.checked_metrics,
        }
