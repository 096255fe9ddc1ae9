"""The search's record of its trials: those in flight, those done, the ranking and cost estimates."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import optuna

from automl.core.records import TrialConfig, TrialState, WorkerReply
from automl.core.summary import TrialInfo

SizeRatio = Callable[[TrialConfig, TrialConfig], float]


@dataclass
class OpenTrial:
    """A trial whose run is open: handed to a worker, or about to be."""

    number: int
    run_id: str
    config: TrialConfig
    optuna_trial: optuna.trial.Trial | None
    started: float = field(default_factory=time.monotonic)
    # The fidelity level it runs at (0: the cheapest) and its configuration's values at the
    # levels below, where it was promoted from.
    rung: int = 0
    earlier_values: tuple[float, ...] = ()


# Successive halving: of the configurations finished at a fidelity level, the best 1/ETA go on.
ETA = 3


def describe(config: TrialConfig, width: int = 90) -> str:
    """``family(param=value, ...)`` with unset parameters left out, cut to ``width``."""
    shown = {k: v for k, v in config.params.items() if v is not None}
    params = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in sorted(shown.items())
    )
    text = f"{config.family}({params})"
    return text if len(text) <= width else text[: width - 4] + "...)"


def score_line(metrics: dict[str, float]) -> str:
    """``test_x=..., val_x=...``: a trial's held-out scores on one line (registered versions)."""
    return ", ".join(
        f"{k}={v:.5g}" for k, v in sorted(metrics.items()) if k.startswith(("val_", "test_"))
    )


def trial_config(params: dict) -> TrialConfig:
    """The config of a trial's ``params`` (``model_family`` plus its hyperparameters)."""
    return TrialConfig(
        params["model_family"], {k: v for k, v in params.items() if k != "model_family"}
    )


class TrialBook:
    """Every trial of one search, in the order they ended, and what they say about the next."""

    def __init__(self, greater_is_better: bool, size_ratio: SizeRatio) -> None:
        self.greater_is_better = greater_is_better
        self.size_ratio = size_ratio
        self.trials: list[TrialInfo] = []
        self.in_flight: dict[int, OpenTrial] = {}
        # Finished trials of the experiment's earlier searches on the same data: they rank
        # with this search's (see automl.core.resume) but say nothing of this one's costs.
        self.earlier: list[TrialInfo] = []
        self.rung_values: dict[int, list[float]] = {}

    def add(
        self,
        trial: OpenTrial,
        state: TrialState,
        duration: float,
        reply: WorkerReply | None = None,
    ) -> TrialInfo:
        config = reply.config if reply is not None and reply.config is not None else trial.config
        info = TrialInfo(
            run_id=trial.run_id,
            number=trial.number,
            state=state,
            metrics=dict(reply.metrics) if reply is not None else {},
            params={"model_family": config.family, **config.params},
            model_description=describe(config),
            duration=duration,
            evaluation_metric_score=reply.value if reply is not None else None,
            model_uri=reply.model_uri if reply is not None else None,
            notebook_path=reply.notebook_path if reply is not None else None,
            top_features=list(reply.top_features) if reply is not None else [],
        )
        self.trials.append(info)
        return info

    def finished(self) -> list[TrialInfo]:
        """Completed trials, best first (ties: the earlier trial)."""
        done = [t for t in self.trials if t.state == TrialState.COMPLETE] + self.earlier
        sign = -1.0 if self.greater_is_better else 1.0
        return sorted(done, key=lambda t: (sign * t.evaluation_metric_score, t.number))

    def has_result(self) -> bool:
        return bool(self.earlier) or any(t.state == TrialState.COMPLETE for t in self.trials)

    def best(self) -> tuple[float | None, str | None]:
        """The best score and its family, for the progress bar."""
        done = self.finished()
        if not done:
            return None, None
        return done[0].evaluation_metric_score, done[0].params["model_family"]

    def ran_family(self, family: str) -> bool:
        return any(t.params["model_family"] == family for t in self.trials)

    def estimated_seconds(self, config: TrialConfig) -> float:
        """How long a trial of ``config`` is expected to take, from the trials seen so far.

        The median duration of finished trials of its family, each scaled by the task's size
        ratio; without one, the longest a trial of the family has already run (killed or still
        running) is a lower bound. 0 when nothing is known: unknown families are tried.
        """
        finished = [
            t.duration * self.size_ratio(config, trial_config(t.params))
            for t in self.trials
            if t.state == TrialState.COMPLETE and t.params["model_family"] == config.family
        ]
        if finished:
            return statistics.median(finished)
        now = time.monotonic()
        seen = [
            t.duration
            for t in self.trials
            if t.state == TrialState.KILLED and t.params["model_family"] == config.family
        ]
        seen += [
            now - t.started for t in self.in_flight.values() if t.config.family == config.family
        ]
        return max(seen, default=0.0)

    def families_that_fit(self, families: list[str], time_left: float,
                          probe: Callable[[str], TrialConfig] = TrialConfig) -> list[str]:  # fmt: skip
        """The families whose trial (``probe(family)``) is expected to end within ``time_left``."""
        return [f for f in families if self.estimated_seconds(probe(f)) <= time_left]

    def promotes(self, rung: int, value: float) -> bool:
        """Whether a configuration that scored ``value`` at fidelity level ``rung`` goes on to
        the next: it is among the best ``max(1, n // ETA)`` of the ``n`` finished there so far
        (asynchronous successive halving, Li et al. 2020), so the first always goes on."""
        values = self.rung_values.setdefault(rung, [])
        values.append(float(value))
        ranked = sorted(values, reverse=self.greater_is_better)
        bar = ranked[max(1, len(values) // ETA) - 1]
        return value >= bar if self.greater_is_better else value <= bar

    def preferred_family(self, fitting: list[str]) -> str:
        """Of the families that fit, the one with the best trial so far; else the quickest."""
        for trial in self.finished():
            if trial.params["model_family"] in fitting:
                return trial.params["model_family"]
        return min(fitting, key=lambda f: self.estimated_seconds(TrialConfig(f)))
