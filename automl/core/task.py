"""The task strategy: what differs between searching tables and searching series.

The one search loop (:mod:`automl.core.search`) asks a :class:`SearchTask` for its portfolio of
strong defaults, its search space, how much bigger one configuration is than another, what the
workers share, how to refit and how to describe the winner. Everything else (the study, the
budget, trials in flight, kills at the deadline, registration) belongs to the loop. FLAML's
``Task`` (``flaml/automl/task/task.py``) is the pattern.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import Any

import optuna

import tracking
from automl.core.records import TrialConfig, WorkerReply, WorkerTask
from automl.core.summary import TrialInfo


@dataclass(frozen=True)
class SearchEnvironment:
    """Where a search's trials log to: what the loop knows once the parent run exists."""

    tracking_uri: str
    experiment_id: str
    experiment_name: str
    parent_run_id: str
    snapshot_path: str
    notebook_dir: str
    n_threads: int

    def for_trials(self) -> dict[str, Any]:
        """What a task's trial context takes from here, by field name (all but the parent run,
        which trials do not log to)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "parent_run_id"}


@dataclass(frozen=True)
class RefitPlan:
    """How the winner is refit before it is registered (``None`` from the task: no refit)."""

    task: WorkerTask
    expected_seconds: float
    # What the registered version's ``trained_on`` tag says after a refit / without one.
    trained_on: str
    trained_on_without_refit: str
    # Of ``expected_seconds``, what goes to scoring and logging the refit model (paid once
    # however many models an ensemble's refit fits).
    overhead_seconds: float = 0.0


class SearchTask(ABC):
    """One kind of search (classification, regression, forecasting) as the loop sees it.

    Attributes set by each implementation: ``name`` (the task name on the parent run), ``runner``
    (the module a worker imports: ``context_from_setup`` and ``run_trial``), ``metric_key``,
    ``primary_metric``, ``greater_is_better``, ``validation`` (the scheme's name), ``families``
    (the model families searched), ``cheap_families`` (defaults the search process may run itself
    while workers start), ``n_rows`` (rows a trial learns from) and ``alerts``.
    """

    name: str
    runner: str
    metric_key: str
    primary_metric: str
    greater_is_better: bool
    validation: str
    families: list[str]
    cheap_families: tuple[str, ...] = ()
    n_rows: int = 0
    alerts: list[dict[str, Any]]

    # -- the experiment ---------------------------------------------------------------------
    @abstractmethod
    def parent_tags(self) -> dict[str, str]:
        """Tags of the search's parent run besides its role (target, time column, ...)."""

    @abstractmethod
    def log_inputs(self, client: tracking.TrackingClient, parent_run_id: str) -> str:
        """Log the prepared data and its description to the parent run; the snapshot's path."""

    def write_exploration_notebook(
        self, env: SearchEnvironment, client: tracking.TrackingClient
    ) -> str | None:
        """The data exploration notebook's path, if the task writes one."""
        return None

    @abstractmethod
    def context(self, env: SearchEnvironment) -> Any:
        """What every trial shares: a runner context with ``to_setup()`` for the workers."""

    @abstractmethod
    def run_trial(self, context: Any, task: WorkerTask) -> WorkerReply:
        """Run ``task`` in this process, exactly as a worker would."""

    # -- the space --------------------------------------------------------------------------
    @abstractmethod
    def portfolio(self) -> list[TrialConfig]:
        """Strong defaults, tried in order before the sampler's suggestions; cheapest first."""

    @abstractmethod
    def suggest(self, trial: optuna.trial.Trial) -> TrialConfig:
        """A configuration from the search space, drawn through ``trial``."""

    @abstractmethod
    def optuna_params(self, config: TrialConfig) -> dict[str, Any]:
        """``config`` in the study's parameter names, to enqueue it as a fixed trial."""

    def size_ratio(self, config: TrialConfig, seen: TrialConfig) -> float:
        """How much longer ``config`` should take than a finished ``seen`` of its family."""
        return 1.0

    # -- fidelity ---------------------------------------------------------------------------
    def rungs(self) -> int:
        """How many fidelity levels a configuration climbs: each starts at level 0, the
        cheapest, and the best go on (:meth:`TrialBook.promotes`); 1: full fidelity only."""
        return 1

    def at_rung(self, config: TrialConfig, rung: int) -> TrialConfig:
        """``config`` at fidelity level ``rung`` (the last level: full fidelity)."""
        return config

    # -- the winner -------------------------------------------------------------------------
    @abstractmethod
    def refit(self, best: TrialInfo, parent_run_id: str) -> RefitPlan | None:
        """How the winner is refit before registration; ``None`` when it needs no refit."""

    @abstractmethod
    def registration(self, best: TrialInfo, how: str) -> tuple[dict[str, str], str]:
        """Tags and description of the registered version (``how`` says what it was fit on)."""

    # Whether :meth:`ensemble` may blend trials (the loop then keeps time back to build it).
    ensembles: bool = False

    def ensemble(self, context: Any, finished: list[TrialInfo],
                 predictions: dict[str, tuple[Any, Any]], number: int,
                 parent_run_id: str, time_left: float) -> TrialInfo | None:  # fmt: skip
        """An ensemble of ``finished`` trials logged as run number ``number``, or ``None`` when
        none beats the best trial on validation or it cannot be logged in ``time_left``
        seconds. ``predictions`` maps a trial's run id to its (validation, test) predictions."""
        return None

    # Whether :meth:`chart` draws the leaderboard's best trials' charts after the search (their
    # trials draw none); otherwise each trial draws its own.
    charts_after_search: bool = False

    def chart(self, context: Any, trial: TrialInfo, predictions: tuple[Any, Any]) -> None:
        """Draw ``trial``'s charts from its kept (validation, test) predictions (only called
        when :attr:`charts_after_search`)."""
        raise NotImplementedError(f"{type(self).__name__} charts no trials after the search")

    def summary_fields(self) -> dict[str, Any]:
        """Task-specific fields of the :class:`~automl.core.summary.AutoMLSummary`."""
        return {}
