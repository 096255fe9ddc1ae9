"""Typed records that cross module and process boundaries: trial state, config, task, reply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Charts (evaluation plots, the SHAP bar chart) cost more than many fits on small data: after the
# search, only the leaderboard's top this-many get theirs (while the budget lasts). Every trial
# keeps its metrics, model, SHAP table and notebook.
CHARTED_TOP_K = 5


class TrialState(StrEnum):
    """What became of a trial. A ``str`` so that ``state == "COMPLETE"`` keeps working."""

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"
    KILLED = "KILLED"


class TaskKind(StrEnum):
    """What a worker is asked to do."""

    TRIAL = "trial"
    REFIT = "refit"


@dataclass(frozen=True)
class TrialConfig:
    """A model family and its hyperparameters, kept apart."""

    family: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The ``{"family": ..., "params": ...}`` form the family code works with."""
        return {"family": self.family, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> TrialConfig:
        return cls(family=str(config["family"]), params=dict(config.get("params", {})))


@dataclass(frozen=True)
class PruningRule:
    """Optuna's median pruning, decided by the worker: stop after step ``s`` when the best value
    reported so far is worse than ``medians[s]``, the median of the completed trials' values at
    that step (``None``: no verdict at that step)."""

    medians: tuple[float | None, ...]
    greater_is_better: bool

    def should_prune(self, step: int, values: Sequence[float]) -> bool:
        """Whether a trial that reported ``values`` (steps 0..``step``) stops here."""
        if step >= len(self.medians) or self.medians[step] is None or not values:
            return False
        median = self.medians[step]
        if any(v != v for v in values):  # NaN: Optuna prunes it too
            return True
        if self.greater_is_better:
            return max(values) < median
        return min(values) > median


@dataclass(frozen=True)
class WorkerTask:
    """One job for a worker: a trial to fit and log into ``run_id``, or the winner's refit."""

    kind: TaskKind
    run_id: str
    config: TrialConfig
    number: int = -1
    # When to stop after a CV fold (the search's median rule); None: never pruned.
    pruning: PruningRule | None = None
    # For a refit: what the logged model's metadata says (trained_on, best trial, ...).
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class WorkerReply:
    """What a worker answers for a task (a trial's outcome, or the refit's model)."""

    state: TrialState
    config: TrialConfig | None = None
    value: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    model_uri: str | None = None
    notebook_path: str | None = None
    top_features: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    # The predictions behind the val_ metrics (out-of-fold for CV) and the test part's, in the
    # task's row order: what ensemble selection blends without refitting anything.
    val_predictions: Any = None
    test_predictions: Any = None
    # The primary validation value after each step (CV fold): the study's intermediate values.
    intermediate_values: tuple[float, ...] = ()
