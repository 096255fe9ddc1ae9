"""What an AutoML call returns: the trials, the best one, the leaderboard and the alerts.

Names follow Databricks AutoML (``AutoMLSummary``, ``TrialInfo.mlflow_run_id``, ``model_path``,
``notebook_path``) so scripts written for it carry over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import tracking


@dataclass
class TrialInfo:
    """One finished trial: its run, metrics, parameters, model and notebook."""

    run_id: str
    number: int
    state: str
    metrics: dict[str, float]
    params: dict[str, Any]
    model_description: str
    duration: float
    evaluation_metric_score: float | None = None
    model_uri: str | None = None
    notebook_path: str | None = None
    top_features: list[str] = field(default_factory=list)

    @property
    def mlflow_run_id(self) -> str:
        """Alias of ``run_id`` for scripts written for Databricks AutoML."""
        return self.run_id

    @property
    def model_path(self) -> str | None:
        """Alias of ``model_uri`` (Databricks' name)."""
        return self.model_uri

    def load_model(self) -> Any:
        """Load this trial's fitted pipeline as a predictor taking raw input columns."""
        if self.model_uri is None:
            raise ValueError(f"trial {self.number} ({self.state}) logged no model")
        return tracking.load_model(self.model_uri)


@dataclass
class AutoMLSummary:
    """The result of ``classify`` / ``regress`` / ``forecast``.

    ``trials`` is the leaderboard, best first: the finished trials of this search and, when it
    resumed an experiment, of the earlier searches on the same data. ``all_trials`` is every
    trial this search ran, in order, whatever its state.
    """

    experiment: Any
    task: str
    primary_metric: str
    metric_key: str
    greater_is_better: bool
    trials: list[TrialInfo]
    parent_run_id: str
    alerts: list[dict[str, Any]] = field(default_factory=list)
    semantic_type_conversions: dict[str, str] = field(default_factory=dict)
    registered_model_version: Any = None
    exploration_notebook_path: str | None = None
    validation: str = "holdout"
    time_breakdown: dict[str, float] = field(default_factory=dict)
    wall_time: float = 0.0
    all_trials: list[TrialInfo] = field(default_factory=list)
    # Where the trials ran: worker slots used, and the machines (hosts) of a cluster.
    n_workers: int = 0
    hosts: list[str] = field(default_factory=list)

    @property
    def best_trial(self) -> TrialInfo:
        if not self.trials:
            raise LookupError("no trial finished within the budget")
        return self.trials[0]

    @property
    def registered_model_uri(self) -> str | None:
        """``models:/<name>/<version>`` of the registered winner, or None when nothing finished.

        When the budget allowed it, that model is the winner refit on more data than its trial
        saw: train+validation for holdout searches, all data for forecasts."""
        version = self.registered_model_version
        return None if version is None else f"models:/{version.name}/{version.version}"

    @property
    def metric_distribution(self) -> pd.Series:
        """Primary validation metric of every finished trial (for a histogram or describe())."""
        return pd.Series(
            [t.evaluation_metric_score for t in self.trials], name=f"val_{self.metric_key}"
        )

    @property
    def leaderboard(self) -> pd.DataFrame:
        """Finished trials, best first: rank, run id, model, validation and test metrics, duration."""
        rows = []
        for rank, trial in enumerate(self.trials, start=1):
            row: dict[str, Any] = {
                "rank": rank,
                "run_id": trial.run_id,
                "model": trial.model_description,
                f"val_{self.metric_key}": trial.metrics.get(f"val_{self.metric_key}"),
                f"test_{self.metric_key}": trial.metrics.get(f"test_{self.metric_key}"),
            }
            for key in sorted(trial.metrics):
                if key.startswith(("val_", "test_")) and key not in row:
                    row[key] = trial.metrics[key]
            row["duration_s"] = round(trial.duration, 3)
            rows.append(row)
        return pd.DataFrame(rows)

    def __str__(self) -> str:
        name = getattr(self.experiment, "name", self.experiment)
        lines = [
            f"AutoML {self.task} experiment {name!r}: {len(self.all_trials)} trials "
            f"({len(self.trials)} finished) in {self.wall_time:.1f}s, validation: {self.validation}",
        ]
        if self.trials:
            best = self.best_trial
            lines.append(
                f"best: {best.model_description} val_{self.metric_key}="
                f"{best.evaluation_metric_score:.5g} (run {best.run_id})"
            )
        if self.registered_model_version is not None:
            v = self.registered_model_version
            lines.append(f"registered: models:/{v.name}/{v.version}")
        for alert in self.alerts:
            lines.append(f"alert [{alert.get('kind')}]: {alert.get('message')}")
        if self.trials:
            columns = ["rank", "model", f"val_{self.metric_key}", f"test_{self.metric_key}"]
            board = self.leaderboard[columns + ["duration_s"]].head(10)
            lines.append(board.to_string(index=False))
        return "\n".join(lines)
