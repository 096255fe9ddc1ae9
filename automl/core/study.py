"""The search's Optuna study: asked and told in memory, mirrored to the tracking store.

One stored study per experiment, so that running a search again on the same experiment resumes
it: the sampler learns from the earlier trials and the portfolio's defaults already tried are
skipped. The loop itself asks and tells an in-memory copy (loaded from the stored study when
the search starts), so no database round trip sits between two trials: a background thread
writes each trial to the stored study as it is asked (RUNNING) and told (its verdict, its
intermediate values and its run id), in that order. The stored study stays what Optuna's tools
inspect and what the next search resumes; a search killed part-way leaves its last trials
RUNNING there, and the next search fails them. A trial's number is the same in both copies
(and on its run's ``automl.optuna_trial`` tag) unless two searches of one experiment run at
once; its stored copy names its run either way (user attribute ``automl.run_id``).

Pruning follows Optuna's ``MedianPruner``: the search hands each trial a :class:`PruningRule`
(the median of the completed trials' values at each step) and the worker decides on its own,
with no database between its folds.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

import numpy as np
import optuna

from automl.core import optuna_adapter
from automl.core.records import PruningRule, TrialConfig, TrialState
from automl.core.task import SearchTask

logger = logging.getLogger("automl")

# Pruning starts once this many trials have completed, from their second reported step.
PRUNER_STARTUP_TRIALS, PRUNER_WARMUP_STEPS = 5, 1
# A suggestion identical to a finished trial is told that trial's value and drawn again, at
# most this many times in a row.
MAX_REPEATS = 20
RUNNING = optuna.trial.TrialState.RUNNING
FINISHED = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.FAIL,
)
# A RUNNING trial this old with no live run is an orphan (a search opens its run at once).
ORPHAN_AFTER_S = 5.0
# The user attribute of a stored trial that names its tracking run.
RUN_ID_ATTR = "automl.run_id"
# How long closing waits for the stored study to catch up.
MIRROR_CLOSE_TIMEOUT_S = 30.0


def _key(config: TrialConfig) -> str:
    return json.dumps([config.family, config.params], sort_keys=True, default=str)


class SearchStudy:
    """Ask/tell over an in-memory Optuna study on behalf of a task, mirrored to the stored one."""

    def __init__(self, task: SearchTask, storage_url: str, study_name: str, seed: int,
                 live: list[int] | None = None) -> None:  # fmt: skip
        self.task = task
        self.study_name = study_name
        self._seen: dict[str, float | None] = {}
        self._stored: optuna.storages.BaseStorage | None = None
        self._stored_study_id = -1
        # memory trial id -> the stored trial's id (a future: the mirror thread creates it)
        self._stored_ids: dict[int, Future[int]] = {}
        self._mirror = ThreadPoolExecutor(1, thread_name_prefix="optuna-mirror")
        self._mirror_failed = False
        self._future: Future[optuna.Study] = self._mirror.submit(
            self._create, storage_url, seed, None if live is None else set(live)
        )

    # -- opening ----------------------------------------------------------------------------
    def _create(self, storage_url: str, seed: int, live: set[int] | None) -> optuna.Study:
        """The in-memory study, loaded with the stored study's finished trials.

        RUNNING stored trials that no live search runs are failed first: their search died,
        they would never finish. ``live`` is None when no other search is alive; else trials
        younger than a few seconds are left alone (a live search may be opening them)."""
        stored = self._open(optuna_adapter.storage(storage_url), seed)
        settled = datetime.now() - timedelta(seconds=ORPHAN_AFTER_S)
        for trial in stored.get_trials(deepcopy=False, states=(RUNNING,)):
            young = trial.datetime_start is None or trial.datetime_start >= settled
            if live is None or (trial.number not in live and not young):
                stored.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        self._stored = stored._storage
        self._stored_study_id = self._stored.get_study_id_from_name(self.study_name)
        memory = self._open(optuna.storages.InMemoryStorage(), seed)
        memory.add_trials(stored.get_trials(deepcopy=False, states=FINISHED))
        return memory

    def _open(self, storage: optuna.storages.BaseStorage, seed: int) -> optuna.Study:
        with warnings.catch_warnings():  # TPE's `group` option is marked experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.create_study(
                study_name=self.study_name,
                storage=storage,
                direction="maximize" if self.task.greater_is_better else "minimize",
                sampler=optuna.samplers.TPESampler(
                    seed=seed, multivariate=True, group=True, constant_liar=True
                ),
                load_if_exists=True,
            )

    @property
    def study(self) -> optuna.Study:
        """The in-memory study the loop asks and tells."""
        return self._future.result()

    def defaults_not_run(self, portfolio: list[TrialConfig]) -> list[TrialConfig]:
        """``portfolio`` without the defaults an earlier search of the experiment finished."""
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        done = [t.params for t in self.study.get_trials(deepcopy=False, states=states)]
        return [c for c in portfolio if self.task.optuna_params(c) not in done]

    # -- ask and tell -----------------------------------------------------------------------
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
            self._mirror_ask(trial)
            seen = self._seen.get(_key(config))
            if seen is None or default is not None or attempt == MAX_REPEATS - 1:
                break
            self.tell(trial, config, seen)
        self._seen.setdefault(_key(config), None)
        return trial, config

    def tell(
        self,
        trial: optuna.trial.Trial,
        config: TrialConfig,
        value: float | None = None,
        state: optuna.trial.TrialState | None = None,
        run_id: str | None = None,
        intermediate: tuple[float, ...] = (),
    ) -> None:
        for step, reported in enumerate(intermediate):
            trial.report(reported, step)
        self.study.tell(trial, value, state=state)
        if value is not None:
            self._seen[_key(config)] = value
        self._mirror_tell(trial, run_id)

    def tell_outcome(self, trial: optuna.trial.Trial, config: TrialConfig, state: TrialState,
                     value: float | None, run_id: str | None = None,
                     intermediate: tuple[float, ...] = ()) -> None:  # fmt: skip
        """Tell the study how a trial ended (KILLED and FAIL are both failures to Optuna)."""
        optuna_state = {
            TrialState.COMPLETE: None,
            TrialState.PRUNED: optuna.trial.TrialState.PRUNED,
        }.get(state, optuna.trial.TrialState.FAIL)
        if state != TrialState.COMPLETE:
            value = None
        self.tell(trial, config, value, optuna_state, run_id, intermediate)

    def pruning_rule(self) -> PruningRule | None:
        """Optuna's median rule over the trials completed so far; None before there are enough
        (``PRUNER_STARTUP_TRIALS``)."""
        done = self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if len(done) < PRUNER_STARTUP_TRIALS:
            return None
        by_step: dict[int, list[float]] = {}
        for trial in done:
            for step, value in trial.intermediate_values.items():
                by_step.setdefault(step, []).append(value)
        if not by_step:
            return None
        medians: list[float | None] = []
        for step in range(max(by_step) + 1):
            values = [v for v in by_step.get(step, []) if not math.isnan(v)]
            useful = step >= PRUNER_WARMUP_STEPS and values
            medians.append(float(np.median(values)) if useful else None)
        return PruningRule(tuple(medians), self.task.greater_is_better)

    # -- the stored copy --------------------------------------------------------------------
    def _mirror_ask(self, trial: optuna.trial.Trial) -> None:
        frozen = self.study._storage.get_trial(trial._trial_id)
        self._stored_ids[trial._trial_id] = self._mirror.submit(self._store_new, frozen)

    def _mirror_tell(self, trial: optuna.trial.Trial, run_id: str | None) -> None:
        frozen = self.study._storage.get_trial(trial._trial_id)
        stored_id = self._stored_ids.pop(trial._trial_id, None)
        if stored_id is not None:
            self._mirror.submit(self._store_outcome, stored_id, frozen, run_id)

    def _store_new(self, frozen: optuna.trial.FrozenTrial) -> int:
        assert self._stored is not None
        try:
            return self._stored.create_new_trial(self._stored_study_id, template_trial=frozen)
        except Exception:
            self._warn_once()
            raise

    def _store_outcome(self, stored_id: Future[int], frozen: optuna.trial.FrozenTrial,
                       run_id: str | None) -> None:  # fmt: skip
        try:
            trial_id = stored_id.result()
            storage = self._stored
            assert storage is not None
            for step, value in frozen.intermediate_values.items():
                storage.set_trial_intermediate_value(trial_id, step, value)
            if run_id is not None:
                storage.set_trial_user_attr(trial_id, RUN_ID_ATTR, run_id)
            storage.set_trial_state_values(trial_id, frozen.state, frozen.values)
        except Exception:
            self._warn_once()

    def _warn_once(self) -> None:
        if not self._mirror_failed:
            self._mirror_failed = True
            logger.warning(
                "the Optuna study %r in the tracking store could not be updated; the search "
                "goes on, and its runs hold every trial", self.study_name, exc_info=True
            )  # fmt: skip

    def close(self, timeout: float = MIRROR_CLOSE_TIMEOUT_S) -> None:
        """Wait (up to ``timeout`` seconds) until the stored study holds every trial told."""
        done = self._mirror.submit(lambda: None)
        try:
            done.result(timeout=timeout)
        except Exception:  # noqa: BLE001 - the runs keep every trial either way
            logger.warning("the stored Optuna study %r is behind", self.study_name)
        self._mirror.shutdown(wait=False)
