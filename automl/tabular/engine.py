"""The search: one Optuna study per experiment, trials in worker processes, a hard deadline.

``run_search`` is what ``classify`` and ``regress`` call. It validates everything before touching
the store, prepares the data once (plan, split, snapshot) while the worker processes start, then
runs a cheap baseline, the portfolio of strong defaults and TPE until the time or trial budget is
spent. Whatever is still running at the deadline is killed and recorded as KILLED. The winner is
registered.
"""

from __future__ import annotations

import functools
import logging
import os
import statistics
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

import registry
import tracking
from automl.core import optuna_adapter, tags
from automl.core.budget import DEFAULT_TIMEOUT_MINUTES, Budget
from automl.core.executor import TaskResult
from automl.core.local_executor import LocalProcessExecutor
from automl.core.optuna_adapter import quiet_optuna
from automl.core.progress import SearchProgress
from automl.core.records import TaskKind, TrialConfig, TrialState, WorkerTask
from automl.core.spec import SearchSpec
from automl.core.summary import AutoMLSummary, TrialInfo
from automl.features import hook as features_hook
from automl.notebooks import documents as notebooks
from automl.tabular import data as data_module
from automl.tabular import families, metrics, split
from automl.tabular.plan import DataPlan, make_plan
from automl.tabular.trial import CHARTED_TOP_K, SPLIT_COL, TrialContext, run_trial

logger = logging.getLogger("automl")

# Besides the fit itself, refitting the holdout winner scores it and logs its model.
_REFIT_OVERHEAD_S = 1.0
# With budgets this small on data this small, the baseline runs in this process, before the
# workers start. Otherwise, on data this small, this process runs the cheap defaults (linear
# baseline, decision tree) itself while the workers are still importing their libraries.
_IN_PROCESS_ROWS = 20_000
_IN_PROCESS_BASELINE_MAX_BUDGET_S = 30.0
_BASELINE_FAMILIES = ("logistic_regression", "linear_regression")
_CHEAP_FAMILIES = (*_BASELINE_FAMILIES, "decision_tree")
# The run tag that says a trial ran in the search's own process rather than in a worker.
RAN_IN_TAG = tags.RAN_IN


@dataclass
class _Trial:
    number: int
    run_id: str
    config: dict[str, Any]
    optuna_trial: optuna.trial.Trial | None
    started: float = field(default_factory=time.monotonic)


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _model_description(config: dict[str, Any], width: int = 90) -> str:
    """``family(param=value, ...)`` with unset parameters left out, cut to ``width``."""
    shown = {k: v for k, v in config["params"].items() if v is not None}
    params = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in sorted(shown.items())
    )
    text = f"{config['family']}({params})"
    return text if len(text) <= width else text[: width - 4] + "...)"


def _size_ratio(params: dict[str, Any], seen: dict[str, Any]) -> float:
    """How much bigger ``params`` is than a finished trial's ``seen`` (tree counts of forests)."""
    new, old = params.get("n_estimators"), seen.get("n_estimators")
    if params.get("early_stopping_rounds") or not new or not old:
        return 1.0  # boosting: early stopping decides the rounds
    return float(new) / float(old)


class _Search:
    """State of one running search; ``run_search`` drives it."""

    def __init__(
        self,
        plan: DataPlan,
        prepared: pd.DataFrame,
        alerts: list[dict[str, Any]],
        budget: Budget,
        experiment_name: str,
        register_model_name: str | None,
        n_jobs: int | None,
        exclude_frameworks: list[str] | None,
        verbose: bool,
    ) -> None:
        self.plan = plan
        self.prepared = prepared
        self.alerts = alerts
        self.budget = budget
        self.started = budget.started
        self.experiment_name = experiment_name
        self.register_model_name = register_model_name or experiment_name
        self.verbose = verbose
        self.metric = metrics.metric_spec(plan.primary_metric)
        self.families = families.available_families(plan, exclude_frameworks)
        cores = _cores()
        self.n_workers = cores if not n_jobs or n_jobs < 0 else min(n_jobs, cores)
        self.threads = max(1, cores // self.n_workers)
        self.client = tracking.TrackingClient()
        self.worker_capacity = 0.0
        workers = min(self.n_workers, budget.max_trials or self.n_workers)
        self.executor = LocalProcessExecutor(workers, self.threads, runner="automl.tabular.trial")
        self._defaults_checked = False
        self.in_process_seconds = 0.0
        # Holdout winners are refit on train+val at the end: the search keeps that time back.
        self.refit_estimate = 0.0
        self.refit_model_uri: str | None = None
        self.timings: dict[str, float] = {}
        self.trials: list[TrialInfo] = []
        self.in_flight: dict[int, _Trial] = {}
        self.next_number = 0
        self.portfolio: list[dict[str, Any]] = []

    # -- setup ------------------------------------------------------------------------------
    def setup_tracking(self) -> None:
        t = time.perf_counter()
        self.client.mark_dead_runs()  # trials of a search whose process died are KILLED, not RUNNING
        experiment = self.client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            experiment_id = self.client.create_experiment(self.experiment_name)
            experiment = self.client.get_experiment(experiment_id)
            self._defaults_checked = True  # a new experiment: no study results to skip
        self.experiment = experiment
        parent = self.client.create_run(
            experiment.experiment_id,
            run_name=f"automl-{self.plan.task}",
            tags={
                "automl.role": "parent",
                "automl.task": self.plan.task,
                "automl.target_col": self.plan.target_col,
                "automl.primary_metric": self.plan.primary_metric,
            },
        )
        self.parent_run_id = parent.info.run_id
        self.client.log_dict(self.parent_run_id, self.plan.to_dict(), "automl/plan.json")
        self.client.log_dict(self.parent_run_id, {"alerts": self.alerts}, "automl/alerts.json")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "training_data.parquet"
            self.prepared.to_parquet(path, index=False)
            self.client.log_artifact(self.parent_run_id, str(path), "data")
        self.snapshot_path = self.client.download_artifacts(
            self.parent_run_id, "data/training_data.parquet"
        )
        self.notebook_dir = str(Path(self.snapshot_path).parent.parent / "notebooks")
        Path(self.notebook_dir).mkdir(parents=True, exist_ok=True)
        self.storage_url = self.client.engine.url.render_as_string(hide_password=False)
        self.study_name = f"automl-{experiment.experiment_id}"
        self.client.set_tag(self.parent_run_id, "automl.optuna_study", self.study_name)
        # Creating Optuna's tables in a fresh store takes seconds: do it while the baseline runs.
        self._study_future = ThreadPoolExecutor(1, thread_name_prefix="optuna").submit(
            self._create_study
        )
        self.portfolio = families.portfolio(self.plan, self.families)
        linear = [c for c in self.portfolio if c["family"] in _BASELINE_FAMILIES]
        if linear:  # the baseline runs first, in this process: make it the cheapest model
            self.portfolio.remove(linear[0])
            self.portfolio.insert(0, linear[0])
        self.timings["setup"] = time.perf_counter() - t

    def _create_study(self) -> optuna.Study:
        with warnings.catch_warnings():  # TPE's `group` option is marked experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return self._create_study_quietly()

    def _create_study_quietly(self) -> optuna.Study:
        return optuna.create_study(
            study_name=self.study_name,
            storage=optuna_adapter.storage(self.storage_url),
            direction="maximize" if self.metric.greater_is_better else "minimize",
            sampler=optuna.samplers.TPESampler(
                seed=self.plan.seed, multivariate=True, group=True, constant_liar=True
            ),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
            load_if_exists=True,
        )

    @property
    def study(self) -> optuna.Study:
        return self._study_future.result()

    def write_exploration_notebook(self) -> str | None:
        t = time.perf_counter()
        path = Path(self.notebook_dir) / "data_exploration.ipynb"
        try:
            nb = notebooks.render_exploration_notebook(
                self.plan,
                snapshot_path=self.snapshot_path,
                alerts=self.alerts,
                experiment_name=self.experiment_name,
            )
            notebooks.write_notebook(nb, path)
            self.client.log_artifact(self.parent_run_id, str(path), "notebooks")
        except Exception as exc:  # noqa: BLE001 - the search goes on without the notebook
            logger.warning("data exploration notebook not rendered: %s", exc, exc_info=True)
            return None
        finally:
            self.timings["notebooks"] = time.perf_counter() - t
        return str(path)

    def context(self) -> TrialContext:
        return TrialContext(
            plan=self.plan,
            data=self.prepared,
            tracking_uri=self.client.tracking_uri,
            experiment_id=self.experiment.experiment_id,
            experiment_name=self.experiment_name,
            snapshot_path=self.snapshot_path,
            notebook_dir=self.notebook_dir,
            n_threads=self.threads,
            optuna_storage=self.storage_url,
            study_name=self.study_name,
        )

    # -- trials -----------------------------------------------------------------------------
    def trials_left(self) -> bool:
        return self.budget.trials_left(self.next_number)

    def new_trial(self, ask_optuna: bool = True, time_left: float = float("inf")) -> _Trial | None:
        """Take the next configuration (portfolio first, then Optuna's) and open its run.

        Configurations expected to outlast ``time_left`` are not started: a default is dropped,
        and Optuna is steered to a family that fits. ``None`` when no family is expected to fit.
        """
        if ask_optuna:
            self._skip_defaults_already_run()
        while self.portfolio and self.estimated_seconds(self.portfolio[0]) > time_left:
            self.portfolio.pop(0)
        default = self.portfolio.pop(0) if self.portfolio else None
        optuna_trial = None
        if ask_optuna or default is None:
            family = None
            if default is None:
                fitting = self._families_that_fit(time_left)
                if not fitting:
                    return None
                if len(fitting) < len(self.families):
                    family = self._preferred_family(fitting)
            optuna_trial = self._ask(default, family)
            config = default or families.suggest(optuna_trial, self.plan, self.families)
        else:
            config = default
        return self._open_trial(config, optuna_trial)

    def _open_trial(
        self, config: dict[str, Any], optuna_trial: optuna.trial.Trial | None, **tags: str
    ) -> _Trial:
        number = self.next_number
        self.next_number += 1
        run = self.client.create_run(
            self.experiment.experiment_id,
            run_name=f"trial-{number:03d}-{config['family']}",
            parent_run_id=self.parent_run_id,
            tags={"automl.role": "trial", "automl.trial_number": str(number), **tags},
        )
        return _Trial(number, run.info.run_id, config, optuna_trial)

    def estimated_seconds(self, config: dict[str, Any]) -> float:
        """How long a trial of ``config`` is expected to take, from the trials seen so far.

        The median duration of finished trials of its family (forests scaled by their tree
        count); without one, the longest a trial of the family has already run (killed or still
        running) is a lower bound. 0 when nothing is known: unknown families are tried.
        """
        family = config["family"]
        finished = [
            t.duration * _size_ratio(config["params"], t.params)
            for t in self.trials
            if t.state == "COMPLETE" and t.params["model_family"] == family
        ]
        if finished:
            return statistics.median(finished)
        now = time.monotonic()
        seen = [
            t.duration
            for t in self.trials
            if t.state == "KILLED" and t.params["model_family"] == family
        ]
        seen += [now - t.started for t in self.in_flight.values() if t.config["family"] == family]
        return max(seen, default=0.0)

    def _families_that_fit(self, time_left: float) -> list[str]:
        return [
            f
            for f in self.families
            if self.estimated_seconds({"family": f, "params": {}}) <= time_left
        ]

    def _preferred_family(self, fitting: list[str]) -> str:
        """Of the families that fit, the one with the best trial so far; else the quickest."""
        for trial in self.finished():
            if trial.params["model_family"] in fitting:
                return trial.params["model_family"]
        return min(fitting, key=lambda f: self.estimated_seconds({"family": f, "params": {}}))

    def _skip_defaults_already_run(self) -> None:
        """When an experiment is resumed, its study already holds some portfolio results."""
        if self._defaults_checked:
            return
        self._defaults_checked = True
        done = [
            t.params
            for t in self.study.get_trials(deepcopy=False)
            if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        ]
        self.portfolio = [
            c for c in self.portfolio if families.to_optuna_params(c, self.plan) not in done
        ]

    def _ask(self, default: dict[str, Any] | None, family: str | None = None) -> optuna.trial.Trial:
        """An Optuna trial; for a portfolio default, one that records exactly its values; with
        ``family``, one of that family (the sampler chooses its hyperparameters)."""
        if default is not None:
            self.study.enqueue_trial(families.to_optuna_params(default, self.plan))
        elif family:
            self.study.enqueue_trial({"family": family}, skip_if_exists=False)
        optuna_trial = self.study.ask()
        families.suggest(optuna_trial, self.plan, self.families)
        return optuna_trial

    def _tell(self, trial: _Trial, value: float | None = None, state: Any = None) -> None:
        if trial.optuna_trial is None:  # the baseline ran before the study existed
            trial.optuna_trial = self._ask(trial.config)
        self.client.set_tag(trial.run_id, "automl.optuna_trial", str(trial.optuna_trial.number))
        self.study.tell(trial.optuna_trial, value, state=state)

    def task(self, trial: _Trial, prunable: bool = True) -> WorkerTask:
        done = self.finished()
        return WorkerTask(
            kind=TaskKind.TRIAL,
            run_id=trial.run_id,
            number=trial.number,
            config=TrialConfig.from_dict(trial.config),
            optuna_trial_id=trial.optuna_trial._trial_id
            if prunable and trial.optuna_trial is not None
            else None,
            chart_if_better_than=done[CHARTED_TOP_K - 1].evaluation_metric_score
            if len(done) >= CHARTED_TOP_K
            else None,
            greater_is_better=self.metric.greater_is_better,
        )

    def record(self, trial: _Trial, result: TaskResult) -> None:
        """Turn a worker's reply into an Optuna verdict and a TrialInfo."""
        duration = time.monotonic() - trial.started
        if not result.ok:
            self.client.set_tag(trial.run_id, "automl.error", (result.error or "")[-5000:])
            self.client.set_terminated(trial.run_id, "FAILED")
            self._tell(trial, state=optuna.trial.TrialState.FAIL)
            self._add_info(trial, "FAIL", {}, trial.config, duration)
            return
        reply = result.value
        for phase, seconds in reply.timings.items():
            self.timings[phase] = self.timings.get(phase, 0.0) + seconds
        state = reply.state
        if state == "COMPLETE":
            self._tell(trial, reply.value)
        elif state == "PRUNED":
            self._tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self._tell(trial, state=optuna.trial.TrialState.FAIL)
        self._add_info(trial, state, reply.metrics, reply.config.as_dict(), duration, reply)
        holdout = self.plan.validation == "holdout"
        if state == "COMPLETE" and holdout and self.finished()[0].run_id == trial.run_id:
            # a new winner: keep back the time to refit it, unless that time has passed already
            seconds = self._refit_seconds(reply.metrics)
            self.refit_estimate = seconds if self.budget.time_left() > seconds else 0.0

    @functools.cached_property
    def _refit_rows_ratio(self) -> float:
        """Rows of train+val over rows of train: how much more data the refit learns from."""
        parts = self.prepared[SPLIT_COL].value_counts()
        rows = max(1, int(parts.get("train", 0)))
        return (rows + int(parts.get("val", 0))) / rows

    def _refit_seconds(self, trial_metrics: dict[str, float]) -> float:
        """Expected duration of refitting a trial on train+val: its fit scaled by the rows."""
        fit_seconds = trial_metrics.get("fit_time_seconds", 0.0) * self._refit_rows_ratio
        return fit_seconds + trial_metrics.get("predict_time_seconds", 0.0) + _REFIT_OVERHEAD_S

    def _add_info(
        self,
        trial: _Trial,
        state: str,
        trial_metrics: dict[str, float],
        config: dict[str, Any],
        duration: float,
        reply: Any = None,
    ) -> None:
        self.trials.append(
            TrialInfo(
                run_id=trial.run_id,
                number=trial.number,
                state=state,
                metrics=dict(trial_metrics),
                params={"model_family": config["family"], **config["params"]},
                model_description=_model_description(config),
                duration=duration,
                evaluation_metric_score=getattr(reply, "value", None),
                model_uri=getattr(reply, "model_uri", None),
                notebook_path=getattr(reply, "notebook_path", None),
                top_features=list(getattr(reply, "top_features", [])),
            )
        )

    def mark_killed(self, number: int, seconds: float) -> None:
        trial = self.in_flight.pop(number)
        self.client.log_batch(
            trial.run_id,
            tags={"automl.trial_state": "KILLED", "automl.error": "stopped at the time budget"},
        )
        self.client.set_terminated(trial.run_id, "KILLED")
        self._tell(trial, state=optuna.trial.TrialState.FAIL)
        self._add_info(trial, "KILLED", {}, trial.config, seconds)

    def finished(self) -> list[TrialInfo]:
        done = [t for t in self.trials if t.state == "COMPLETE"]
        sign = -1.0 if self.metric.greater_is_better else 1.0
        return sorted(done, key=lambda t: (sign * t.evaluation_metric_score, t.number))

    def best(self) -> tuple[float | None, str | None]:
        done = self.finished()
        if not done:
            return None, None
        return done[0].evaluation_metric_score, done[0].params["model_family"]

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        """Hand trials to idle workers until a budget is spent; kill what runs at the deadline.

        The first trial is the cheapest baseline; with a tiny budget on small data it runs in
        this process before the workers start. Otherwise the workers were started (by
        ``start_workers``) while the data was being prepared, and until one of them is ready
        this process runs the cheap defaults itself (small data only), so that the seconds a
        worker spends importing its libraries are not lost to the search. Until some trial has
        finished, the deadline stretches into the promised slack so that even a tiny budget
        yields one model.
        """
        progress = SearchProgress(
            self.budget.timeout_s, self.metric.key, enabled=self.verbose, started=self.started
        )
        try:
            self._search(progress)
        except BaseException:
            self.executor.shutdown(on_killed=self.mark_killed)
            self._account_workers()
            raise
        finally:
            progress.close(len(self.trials), *self.best())
        # Trials still running at the deadline are stopped; idle workers stay for the refit.
        self.executor.kill_running(on_killed=self.mark_killed)

    def _search(self, progress: SearchProgress) -> None:
        executor = self.executor
        if self.baseline_in_process():
            # Workers start after it: on few cores they would only slow the baseline down.
            self.run_here(self.new_trial(ask_optuna=False))
            if not self.trials_left() or not self.budget.can_start():
                return
            executor.start()
        executor.send_setup(self.context().to_setup())
        while True:
            now = time.monotonic()
            # the time a holdout winner needs to be refit on train+val is kept back (plus the
            # moment it takes to stop the trials still running)
            keep_back = self.budget.refit_reserve(self.refit_estimate)
            have_result = any(t.state == TrialState.COMPLETE for t in self.trials)
            if now >= self.budget.stop_at(keep_back, have_result):
                break
            if not self.in_flight and not self.trials_left():
                break
            nothing_fits = False
            while (
                executor.idle_count()
                and self.trials_left()
                and (self.next_number == 0 or self.budget.can_start(keep_back, now))
            ):
                first = self.next_number == 0
                time_left = float("inf") if first else self.budget.time_left(keep_back, now)
                trial = self.new_trial(time_left=time_left)
                if trial is None:
                    nothing_fits = True
                    break
                self.in_flight[trial.number] = trial
                executor.submit(trial.number, self.task(trial, prunable=trial.number > 0))
            if nothing_fits and not self.in_flight and have_result:
                logger.info("no model family is expected to finish in the time left: done")
                break
            ran_here = self.run_cheap_trial_while_workers_boot()
            for result in executor.poll(timeout=0.0 if ran_here else 0.2):
                self.record(self.in_flight.pop(result.key), result)
            progress.update(len(self.trials), len(self.in_flight), *self.best())

    def _account_workers(self) -> None:
        """Worker time for the breakdown: capacity (workers x their lifetime) and busy time."""
        executor = self.executor
        self.timings["worker_busy"] = executor.busy_seconds + self.in_process_seconds
        if executor.started:
            self.worker_capacity = executor.capacity_seconds()

    def refit_winner(self) -> None:
        """Refit a holdout winner on train+val, in an idle worker, before it is registered.

        Holdout trials learn from the train part only (60 % of the rows; cross-validated ones
        are refit on train+val already). The refit model is logged in the parent run and
        registered; the trial keeps its own model, metrics and notebook. When the refit cannot
        finish within the budget, the trial's model is registered and an alert says so.
        """
        try:
            done = self.finished()
            if self.plan.validation != "holdout" or not done:
                return
            best = done[0]
            params = {k: v for k, v in best.params.items() if k != "model_family"}
            task = WorkerTask(
                kind=TaskKind.REFIT,
                run_id=self.parent_run_id,
                config=TrialConfig(best.params["model_family"], params),
                metadata={"best_trial_run_id": best.run_id, "trained_on": "train+val"},
            )
            reply = self._run_refit(task, self._refit_seconds(best.metrics))
            if reply is None:
                self.alerts.append(
                    data_module.alert(
                        "budget",
                        f"the winner ({best.model_description}) was not refit on train+validation "
                        "within the time budget: the registered model is the trial's own, "
                        "trained on the train part",
                    )
                )
                return
            self.refit_model_uri = reply.model_uri
            for phase, seconds in reply.timings.items():
                self.timings[phase] = self.timings.get(phase, 0.0) + seconds
        finally:
            self.executor.shutdown()
            self._account_workers()

    def _run_refit(self, task: WorkerTask, expected_s: float) -> Any:
        """The refit's reply, or None when it failed or would not finish within the budget."""
        executor, budget = self.executor, self.budget
        if budget.time_left() <= expected_s:
            return None
        result = None
        if executor.idle_count():
            executor.submit("refit", task)
            while result is None and budget.time_left() > 0:
                wait = min(0.2, max(0.0, budget.time_left()))
                result = next(iter(executor.poll(timeout=wait)), None)
        else:  # no worker is left (each was stopped mid-trial): refit here, the estimate fits
            result = self._run_in_process("refit", task)
        if result is not None and not result.ok:
            logger.warning("refit of the winner failed: %s", result.error)
        return result.value if result is not None and result.ok else None

    def start_workers(self) -> None:
        """Start the worker processes now, so they import while the experiment is set up."""
        if not self.baseline_in_process():
            self.executor.start()

    def baseline_in_process(self) -> bool:
        """Tiny budgets on small data: no time to wait for a worker to start."""
        timeout = self.budget.timeout_s
        return (
            timeout is not None
            and timeout <= _IN_PROCESS_BASELINE_MAX_BUDGET_S
            and len(self.prepared) <= _IN_PROCESS_ROWS
        )

    def run_cheap_trial_while_workers_boot(self) -> bool:
        """Run the next cheap default here if every worker is still starting; True if one ran.

        A worker needs seconds to import its libraries, which this process has done already.
        Only cheap models on small data run here, so that the search is never held up long
        once a worker is ready.
        """
        executor = self.executor
        if executor.idle_count() or not executor.booting_count() or not self.trials_left():
            return False
        if len(self.prepared) > _IN_PROCESS_ROWS:
            return False
        self._skip_defaults_already_run()
        # the first default of each cheap family: the workers bring the stronger models
        config = next(
            (
                c
                for c in self.portfolio
                if c["family"] in _CHEAP_FAMILIES
                and not any(t.params["model_family"] == c["family"] for t in self.trials)
            ),
            None,
        )
        if config is None:
            return False
        if not self.budget.fits(self.estimated_seconds(config)):
            return False
        self.portfolio.remove(config)
        self.run_here(self._open_trial(config, None, **{RAN_IN_TAG: "search process"}))
        return True

    def run_here(self, trial: _Trial) -> None:
        """Run ``trial`` in this process (Optuna is told when its study exists)."""
        self.record(trial, self._run_in_process(trial.number, self.task(trial, prunable=False)))

    def _run_in_process(self, key: Any, task: WorkerTask) -> TaskResult:
        """Run ``task`` in this process as a worker would: an exception is a failed result."""
        started = time.monotonic()
        try:
            return TaskResult(key=key, ok=True, value=run_trial(self.context(), task))
        except Exception as exc:  # noqa: BLE001 - reported like a worker's error, not raised
            logger.debug("task %s failed in the search process", key, exc_info=True)
            return TaskResult(key=key, ok=False, error=f"{type(exc).__name__}: {exc}")
        finally:
            self.in_process_seconds += time.monotonic() - started

    # -- wrap up ----------------------------------------------------------------------------
    def register_winner(self) -> Any:
        done = self.finished()
        if not done:
            return None
        t = time.perf_counter()
        best = done[0]
        description = ", ".join(
            f"{k}={v:.5g}"
            for k, v in sorted(best.metrics.items())
            if k.startswith(("val_", "test_"))
        )
        refit = self.refit_model_uri is not None
        holdout = self.plan.validation == "holdout"
        version = registry.register_model(
            self.refit_model_uri or best.model_uri,
            self.register_model_name,
            tags={
                "run_id": best.run_id,
                "experiment": self.experiment_name,
                # cross-validated trials are refit on train+val; holdout ones saw train only
                "trained_on": "train" if holdout and not refit else "train+val",
            },
            description=f"AutoML winner {best.model_description}"
            f"{', refit on train+validation' if refit else ''}: {description}",
        )
        self.timings["registration"] = time.perf_counter() - t
        return version

    def close_parent(self, summary: AutoMLSummary) -> None:
        done = summary.trials
        metrics_out: dict[str, float] = {"n_trials": float(len(summary.all_trials))}
        if done:
            best = done[0]
            metrics_out.update(
                {k: v for k, v in best.metrics.items() if k.startswith(("val_", "test_"))}
            )
            self.client.set_tag(self.parent_run_id, "automl.best_run_id", best.run_id)
        self.client.log_batch(self.parent_run_id, metrics=metrics_out)
        self.client.log_text(
            self.parent_run_id, summary.leaderboard.to_csv(index=False), "automl/leaderboard.csv"
        )
        self.client.log_dict(self.parent_run_id, summary.time_breakdown, "automl/time.json")
        self.client.log_dict(self.parent_run_id, {"alerts": self.alerts}, "automl/alerts.json")
        self.client.set_terminated(self.parent_run_id, "FINISHED")


@quiet_optuna()
def run_search(dataset: pd.DataFrame | str | os.PathLike, spec: SearchSpec) -> AutoMLSummary:
    """Search models for ``spec.task`` on ``dataset``; see :func:`automl.classify`."""
    t = time.perf_counter()
    task, target_col, primary_metric = spec.task, spec.target_col, spec.primary_metric
    feature_spec = features_hook.spec_for(dataset)  # a TrainingSet: join, then record it
    frame = data_module.load_dataset(dataset.load_df() if feature_spec else dataset)
    budget = spec.budget()
    plan, alerts, prepared = make_plan(
        frame,
        task=task,
        target_col=target_col,
        primary_metric=primary_metric,
        seed=spec.seed,
        exclude_frameworks=list(spec.exclude_frameworks),
        **spec.options,
    )
    prepared, sample_alerts = split.sample_for_budget(prepared, plan, budget.max_train_rows)
    alerts = list(alerts) + list(sample_alerts)
    if budget.defaulted:
        alerts.append(
            data_module.alert(
                "budget",
                f"no timeout_minutes or max_trials given: the search stops after "
                f"{DEFAULT_TIMEOUT_MINUTES:g} minutes",
            )
        )
    for alert in alerts:
        logger.warning("%s: %s", alert.get("kind"), alert.get("message"))
    prep_seconds = time.perf_counter() - t

    search = _Search(
        plan,
        prepared,
        alerts,
        budget,
        spec.experiment_name or spec.default_experiment_name(),
        spec.register_model_name,
        spec.n_jobs,
        list(spec.exclude_frameworks),
        spec.verbose,
    )
    search.timings["data_prep"] = prep_seconds
    search.start_workers()
    try:
        search.setup_tracking()
        if feature_spec is not None:
            features_hook.record_on_run(
                search.client.tracking_uri, search.parent_run_id, feature_spec
            )
    except BaseException:
        search.executor.shutdown()
        raise
    try:
        exploration = search.write_exploration_notebook()
        search.run()
        search.refit_winner()
    except BaseException:
        search.executor.shutdown()
        search.client.set_terminated(search.parent_run_id, "KILLED")
        raise
    version = search.register_winner()
    summary = AutoMLSummary(
        experiment=search.experiment,
        task=task,
        primary_metric=primary_metric,
        metric_key=search.metric.key,
        greater_is_better=search.metric.greater_is_better,
        trials=search.finished(),
        all_trials=sorted(search.trials, key=lambda t: t.number),
        parent_run_id=search.parent_run_id,
        alerts=alerts,
        semantic_type_conversions=dict(plan.semantic_type_conversions),
        registered_model_version=version,
        exploration_notebook_path=exploration,
        validation=plan.validation,
        wall_time=time.monotonic() - budget.started,
    )
    summary.time_breakdown = _time_breakdown(search, summary.wall_time)
    search.close_parent(summary)
    summary.wall_time = time.monotonic() - budget.started
    return summary


def _time_breakdown(search: _Search, wall: float) -> dict[str, float]:
    """Seconds per phase; ``idle`` is worker capacity that ran no trial."""
    phases = dict(search.timings)
    busy = phases.pop("worker_busy", 0.0)
    phases["idle_workers"] = max(0.0, search.worker_capacity - busy)
    phases["wall"] = wall
    return {k: round(v, 4) for k, v in phases.items()}
