"""The search's Optuna study: created beside the tracking store, asked and told by the loop.

One study per experiment, so that running a search again on the same experiment resumes it: the
sampler learns from the earlier trials and the portfolio's defaults already tried are skipped.
Creating Optuna's tables in a fresh store takes seconds, so the study is made in a background
thread while the first trial runs.
"""

from __future__ import annotations

import json
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

import optuna

from automl.core import optuna_adapter
from automl.core.records import TrialConfig, TrialState
from automl.core.task import SearchTask

# Pruning starts once this many trials have finished, from their second reported step.
PRUNER_STARTUP_TRIALS, PRUNER_WARMUP_STEPS = 5, 1
# A suggestion identical to a finished trial is told that trial's value and drawn again, at
# most this many times in a row.
MAX_REPEATS = 20
RUNNING = optuna.trial.TrialState.RUNNING
# A RUNNING trial this old with no live run is an orphan (a search opens its run at once).
ORPHAN_AFTER_S = 5.0


def _key(config: TrialConfig) -> str:
    return json.dumps([config.family, config.params], sort_keys=True, default=str)


class SearchStudy:
    """Ask/tell over one Optuna study in the tracking database, on behalf of a task."""

    def __init__(self, task: SearchTask, storage_url: str, study_name: str, seed: int,
                 live: list[int] | None = None) -> None:  # fmt: skip
        self.task = task
        self.study_name = study_name
        self._seen: dict[str, float | None] = {}
        self._future: Future[optuna.Study] = ThreadPoolExecutor(
            1, thread_name_prefix="optuna"
        ).submit(self._create, storage_url, seed, None if live is None else set(live))

    def _create(self, storage_url: str, seed: int, live: set[int] | None) -> optuna.Study:
        """The study, with the RUNNING trials that no live search runs failed: their search
        died, they would never finish. ``live`` is None when no other search is alive; else
        trials younger than a few seconds are left alone (a live search may be opening them)."""
        study = self._open(storage_url, seed)
        settled = datetime.now() - timedelta(seconds=ORPHAN_AFTER_S)
        for trial in study.get_trials(deepcopy=False, states=(RUNNING,)):
            young = trial.datetime_start is None or trial.datetime_start >= settled
            if live is None or (trial.number not in live and not young):
                study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        return study

    def _open(self, storage_url: str, seed: int) -> optuna.Study:
        with warnings.catch_warnings():  # TPE's `group` option is marked experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.create_study(
                study_name=self.study_name,
                storage=optuna_adapter.storage(storage_url),
                direction="maximize" if self.task.greater_is_better else "minimize",
                sampler=optuna.samplers.TPESampler(
                    seed=seed, multivariate=True, group=True, constant_liar=True
                ),
                pruner=optuna.pruners.MedianPruner(
                    n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_STEPS
                ),
                load_if_exists=True,
            )

    @property
    def study(self) -> optuna.Study:
        return self._future.result()

    def defaults_not_run(self, portfolio: list[TrialConfig]) -> list[TrialConfig]:
        """``portfolio`` without the defaults an earlier search of the experiment finished."""
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        done = [t.params for t in self.study.get_trials(deepcopy=False, states=states)]
        return [c for c in portfolio if self.task.optuna_params(c) not in done]

    def ask(
        self, default: TrialConfig | None, family: str | None = None
    ) -> tuple[optuna.trial.Trial, TrialConfig]:
        """An Optuna trial and its configuration: ``default`` exactly, or the sampler's choice
        (of ``family`` when given). A suggestion that repeats a finished configuration is told
        its known value and drawn again, so no configuration is fitted twice."""
        study = self.study
        if default is not None:
            study.enqueue_trial(self.task.optuna_params(default))
        for attempt in range(MAX_REPEATS):
            if default is None and family:
                study.enqueue_trial({"family": family}, skip_if_exists=False)
            trial = study.ask()
            config = self.task.suggest(trial)
            if default is not None:
                config = default
            seen = self._seen.get(_key(config))
            if seen is None or default is not None or attempt == MAX_REPEATS - 1:
                break
            study.tell(trial, seen)
        self._seen.setdefault(_key(config), None)
        return trial, config

    def tell(
        self,
        trial: optuna.trial.Trial,
        config: TrialConfig,
        value: float | None = None,
        state: optuna.trial.TrialState | None = None,
    ) -> None:
        self.study.tell(trial, value, state=state)
        if value is not None:
            self._seen[_key(config)] = value

    def tell_outcome(
        self, trial: optuna.trial.Trial, config: TrialConfig, state: TrialState, value: float | None
    ) -> None:
        """Tell the study how a trial ended (KILLED and FAIL are both failures to Optuna)."""
        if state == TrialState.COMPLETE:
            self.tell(trial, config, value)
        elif state == TrialState.PRUNED:
            self.tell(trial, config, state=optuna.trial.TrialState.PRUNED)
        else:
            self.tell(trial, config, state=optuna.trial.TrialState.FAIL)
