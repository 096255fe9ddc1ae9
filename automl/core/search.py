"""The search loop, shared by every task: ask, submit, record, kill at the deadline, refit, register.

:class:`Search` drives one search for a :class:`~automl.core.task.SearchTask`. Trials run in an
:class:`~automl.core.executor.Executor` (local worker processes, or a Dask cluster); the Optuna
study, the tracking runs, the :class:`~automl.core.budget.Budget` and registration stay in this
process. The first trial is the task's cheapest default; with a tiny budget on small data it runs
here before the workers start, and otherwise this process runs the cheap defaults itself while
the workers import their libraries. Whatever is still running at the deadline is killed and
recorded as KILLED. The winner is refit (when the task asks for it) in an idle worker within the
budget, then registered.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import registry
import tracking
from automl.core import tags
from automl.core.budget import Budget
from automl.core.executor import Executor, TaskResult
from automl.core.inputs import alert
from automl.core.local_executor import LocalProcessExecutor
from automl.core.progress import SearchProgress
from automl.core.records import (
    CHARTED_TOP_K,
    TaskKind,
    TrialConfig,
    TrialState,
    WorkerReply,
    WorkerTask,
)
from automl.core.spec import SearchSpec
from automl.core.study import SearchStudy
from automl.core.summary import AutoMLSummary, TrialInfo
from automl.core.task import RefitPlan, SearchEnvironment, SearchTask
from automl.core.trials import OpenTrial, TrialBook

logger = logging.getLogger("automl")

# With budgets this small on data this small, the first trial runs in this process before the
# workers start: on few cores they would only slow it down.
IN_PROCESS_ROWS = 20_000
IN_PROCESS_BASELINE_MAX_BUDGET_S = 30.0
STOPPED_AT_BUDGET = "stopped at the time budget"
# Building an ensemble run in this process (loading members, logging, its notebook) takes about
# this long; its members' refit is kept back too while it stays under this share of the budget.
ENSEMBLE_BUILD_S, ENSEMBLE_RESERVE_SHARE, ENSEMBLE_TOP = 2.0, 0.25, 3


def cores() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _executor(spec: SearchSpec, task: SearchTask, budget: Budget, n_workers: int, threads: int,
              tracking_uri: str) -> Executor:  # fmt: skip
    if spec.cluster is None:
        return LocalProcessExecutor(n_workers, threads, runner=task.runner)
    from automl.distributed import cluster_executor

    deadline = None
    if budget.timeout_s is not None:  # the workers' own hard stop, on the wall clock
        deadline = time.time() + (budget.grace_deadline - time.monotonic())
    return cluster_executor(
        spec.cluster, tracking_uri, task.runner, threads=threads, deadline=deadline
    )


class Search:
    """One running search; :func:`run_search` drives it from start to summary."""

    def __init__(self, task: SearchTask, spec: SearchSpec, budget: Budget) -> None:
        self.task = task
        self.spec = spec
        self.budget = budget
        self.experiment_name = spec.experiment_name or spec.default_experiment_name()
        self.register_model_name = spec.register_model_name or self.experiment_name
        n = cores()
        self.n_workers = n if not spec.n_jobs or spec.n_jobs < 0 else min(spec.n_jobs, n)
        self.threads = max(1, n // self.n_workers)
        self.client = tracking.TrackingClient()
        self.book = TrialBook(task.greater_is_better, task.size_ratio)
        workers = min(self.n_workers, budget.max_trials or self.n_workers)
        self.executor = _executor(
            spec, task, budget, workers, self.threads, self.client.tracking_uri
        )
        self.timings: dict[str, float] = {}
        self.in_process_seconds = 0.0
        self.worker_capacity = 0.0
        self.next_number = 0
        self.refit_estimate = 0.0
        self.refit_model_uri: str | None = None
        self._resumed_checked = False
        # (validation, test) predictions of each completed trial, by run id, for the ensemble
        self.predictions: dict[str, tuple[Any, Any]] = {}

    # -- setup ------------------------------------------------------------------------------
    def setup_tracking(self) -> None:
        """The experiment, the parent run with the data snapshot, the study and the context."""
        t = time.perf_counter()
        client = self.client
        client.mark_dead_runs()  # trials of a search whose process died are KILLED, not RUNNING
        known = client.get_experiment_by_name(self.experiment_name) is not None
        self._resumed_checked = not known  # a new experiment: no study results to skip
        self.experiment = client.get_or_create_experiment(self.experiment_name)
        parent = client.create_run(
            self.experiment.experiment_id,
            run_name=f"automl-{self.task.name}",
            tags={
                tags.ROLE: tags.ROLE_PARENT,
                tags.TASK: self.task.name,
                tags.PRIMARY_METRIC: self.task.primary_metric,
                **self.task.parent_tags(),
            },
        )
        self.parent_run_id = parent.info.run_id
        snapshot = self.task.log_inputs(client, self.parent_run_id)
        notebook_dir = Path(snapshot).parent.parent / "notebooks"
        notebook_dir.mkdir(parents=True, exist_ok=True)
        storage_url = client.engine.url.render_as_string(hide_password=False)
        study_name = f"automl-{self.experiment.experiment_id}"
        client.set_tag(self.parent_run_id, tags.OPTUNA_STUDY, study_name)
        self.study = SearchStudy(self.task, storage_url, study_name, self.spec.seed)
        self.env = SearchEnvironment(
            tracking_uri=client.tracking_uri,
            experiment_id=self.experiment.experiment_id,
            experiment_name=self.experiment_name,
            parent_run_id=self.parent_run_id,
            snapshot_path=snapshot,
            notebook_dir=str(notebook_dir),
            n_threads=self.threads,
            optuna_storage=storage_url,
            study_name=study_name,
        )
        self.context = self.task.context(self.env)
        self.portfolio = self.task.portfolio()
        self.timings["setup"] = time.perf_counter() - t

    def write_exploration_notebook(self) -> str | None:
        t = time.perf_counter()
        try:
            return self.task.write_exploration_notebook(self.env, self.client)
        except Exception as exc:  # noqa: BLE001 - the search goes on without the notebook
            logger.warning("data exploration notebook not rendered: %s", exc, exc_info=True)
            return None
        finally:
            self.timings["notebooks"] = time.perf_counter() - t

    # -- opening trials ---------------------------------------------------------------------
    def trials_left(self) -> bool:
        return self.budget.trials_left(self.next_number)

    def _skip_defaults_already_run(self) -> None:
        """When an experiment is resumed, its study already holds some portfolio results."""
        if not self._resumed_checked:
            self._resumed_checked = True
            self.portfolio = self.study.defaults_not_run(self.portfolio)

    def new_trial(
        self, ask_optuna: bool = True, time_left: float = float("inf")
    ) -> OpenTrial | None:
        """Take the next configuration (portfolio first, then Optuna's) and open its run.

        Configurations expected to outlast ``time_left`` are not started: a default is dropped,
        and Optuna is steered to a family that fits. ``None`` when no family is expected to fit.
        """
        if ask_optuna:
            self._skip_defaults_already_run()
        book = self.book
        while self.portfolio and book.estimated_seconds(self.portfolio[0]) > time_left:
            self.portfolio.pop(0)
        default = self.portfolio.pop(0) if self.portfolio else None
        if not ask_optuna and default is not None:
            return self._open(default, None)
        family = None
        if default is None:
            fitting = book.families_that_fit(self.task.families, time_left)
            if not fitting:
                return None
            if len(fitting) < len(self.task.families):
                family = book.preferred_family(fitting)
        optuna_trial, config = self.study.ask(default, family)
        return self._open(config, optuna_trial)

    def _open(self, config: TrialConfig, optuna_trial: Any, **extra_tags: str) -> OpenTrial:
        number = self.next_number
        self.next_number += 1
        run_tags = {tags.ROLE: tags.ROLE_TRIAL, tags.TRIAL_NUMBER: str(number), **extra_tags}
        if optuna_trial is not None:
            run_tags[tags.OPTUNA_TRIAL] = str(optuna_trial.number)
        run = self.client.create_run(
            self.experiment.experiment_id,
            run_name=f"trial-{number:03d}-{config.family}",
            parent_run_id=self.parent_run_id,
            tags=run_tags,
        )
        return OpenTrial(number, run.info.run_id, config, optuna_trial)

    def worker_task(self, trial: OpenTrial, prunable: bool = True) -> WorkerTask:
        optuna_trial = trial.optuna_trial
        return WorkerTask(
            kind=TaskKind.TRIAL,
            run_id=trial.run_id,
            number=trial.number,
            config=trial.config,
            optuna_trial_id=optuna_trial._trial_id if prunable and optuna_trial else None,
            chart_if_better_than=self.book.chart_threshold(CHARTED_TOP_K),
            greater_is_better=self.task.greater_is_better,
        )

    # -- recording outcomes -----------------------------------------------------------------
    def _tell(self, trial: OpenTrial, state: TrialState, value: float | None = None) -> None:
        if trial.optuna_trial is None:  # it ran before the study was asked: record it now
            trial.optuna_trial, _ = self.study.ask(trial.config)
            self.client.set_tag(trial.run_id, tags.OPTUNA_TRIAL, str(trial.optuna_trial.number))
        self.study.tell_outcome(trial.optuna_trial, trial.config, state, value)

    def record(self, trial: OpenTrial, result: TaskResult) -> None:
        """Turn a worker's reply into an Optuna verdict and a TrialInfo."""
        duration = time.monotonic() - trial.started
        if not result.ok:
            self.client.set_tag(trial.run_id, tags.ERROR, (result.error or "")[-5000:])
            self.client.set_terminated(trial.run_id, "FAILED")
            self._tell(trial, TrialState.FAIL)
            self.book.add(trial, TrialState.FAIL, duration)
            return
        reply: WorkerReply = result.value
        for phase, seconds in reply.timings.items():
            self.timings[phase] = self.timings.get(phase, 0.0) + seconds
        state = TrialState(reply.state)
        self._tell(trial, state, reply.value)
        info = self.book.add(trial, state, duration, reply)
        if state == TrialState.COMPLETE:
            if reply.val_predictions is not None:
                self.predictions[info.run_id] = (reply.val_predictions, reply.test_predictions)
            self._update_refit_estimate(info)

    def _refit_seconds(self, info: TrialInfo) -> float:
        plan = self.task.refit(info, self.parent_run_id)
        return plan.expected_seconds if plan is not None else 0.0

    def _update_refit_estimate(self, info: TrialInfo) -> None:
        """Keep back the time to refit the winner (and, while it is affordable, to build an
        ensemble of the best few and refit them), unless that time has passed already."""
        done = self.book.finished()
        top = done[:ENSEMBLE_TOP]
        if all(t is not info for t in top):
            return
        seconds = self._refit_seconds(done[0])
        if self.task.ensembles and len(done) >= 2:
            blend = ENSEMBLE_BUILD_S + sum(self._refit_seconds(t) for t in top)
            affordable = self.budget.timeout_s is None or (
                blend <= ENSEMBLE_RESERVE_SHARE * self.budget.timeout_s
            )
            seconds = max(seconds, blend) if affordable else seconds
        self.refit_estimate = seconds if self.budget.time_left() > seconds else 0.0

    def add_ensemble(self) -> None:
        """Blend the finished trials when the task can and the time allows; the ensemble then
        ranks on the leaderboard like any trial (and wins it when it beats the best one)."""
        if not self.task.ensembles or self.budget.time_left() <= ENSEMBLE_BUILD_S:
            return
        t = time.perf_counter()
        try:
            info = self.task.ensemble(
                self.context, self.book.finished(), self.predictions, self.next_number,
                self.parent_run_id,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the search's result stands without it
            logger.warning("ensemble not built: %s", exc, exc_info=True)
            info = None
        finally:
            self.timings["ensemble"] = time.perf_counter() - t
        if info is not None:
            self.next_number += 1
            self.book.trials.append(info)

    def mark_killed(self, number: int, seconds: float) -> None:
        trial = self.book.in_flight.pop(number)
        self.client.log_batch(
            trial.run_id,
            tags={tags.TRIAL_STATE: TrialState.KILLED.value, tags.ERROR: STOPPED_AT_BUDGET},
        )
        self.client.set_terminated(trial.run_id, "KILLED")
        self._tell(trial, TrialState.KILLED)
        self.book.add(trial, TrialState.KILLED, seconds)

    # -- the loop ---------------------------------------------------------------------------
    def baseline_in_process(self) -> bool:
        """Tiny budgets (or a single trial) on small data: no time to wait for a worker."""
        timeout = self.budget.timeout_s
        small = self.task.n_rows <= IN_PROCESS_ROWS
        tiny = timeout is not None and timeout <= IN_PROCESS_BASELINE_MAX_BUDGET_S
        return small and (tiny or self.budget.max_trials == 1)

    def start_workers(self) -> None:
        """Start the workers now, so that they import while the experiment is set up."""
        if not self.baseline_in_process():
            self.executor.start()

    def run(self) -> None:
        """Hand trials to idle workers until a budget is spent; kill what runs at the deadline.

        Until some trial has finished, the deadline stretches into the promised slack so that
        even a tiny budget yields one model.
        """
        progress = SearchProgress(
            self.budget.timeout_s,
            self.task.metric_key,
            enabled=self.spec.verbose,
            started=self.budget.started,
        )
        try:
            self._loop(progress)
        except BaseException:
            self.executor.shutdown(on_killed=self.mark_killed)
            self._account_workers()
            raise
        finally:
            progress.close(len(self.book.trials), *self.book.best())
        # Trials still running at the deadline are stopped; idle workers stay for the refit.
        self.executor.kill_running(on_killed=self.mark_killed)

    def _loop(self, progress: SearchProgress) -> None:
        executor, budget, book = self.executor, self.budget, self.book
        if self.baseline_in_process():
            self.run_here(self.new_trial(ask_optuna=False))
            if not self.trials_left() or not budget.can_start():
                return
            executor.start()
        executor.send_setup(self.context.to_setup())
        while True:
            now = time.monotonic()
            keep_back = budget.refit_reserve(self.refit_estimate)
            have_result = book.has_result()
            if now >= budget.stop_at(keep_back, have_result):
                break
            if not book.in_flight and not self.trials_left():
                break
            nothing_fits = False
            while (
                executor.idle_count()
                and self.trials_left()
                and (self.next_number == 0 or budget.can_start(keep_back, now))
            ):
                first = self.next_number == 0
                time_left = float("inf") if first else budget.time_left(keep_back, now)
                trial = self.new_trial(time_left=time_left)
                if trial is None:
                    nothing_fits = True
                    break
                book.in_flight[trial.number] = trial
                executor.submit(trial.number, self.worker_task(trial, prunable=not first))
            if nothing_fits and not book.in_flight and have_result:
                logger.info("no model family is expected to finish in the time left: done")
                break
            ran_here = self.run_cheap_trial_while_workers_boot()
            for result in executor.poll(timeout=0.0 if ran_here else 0.2):
                self.record(book.in_flight.pop(result.key), result)
            progress.update(len(book.trials), len(book.in_flight), *book.best())

    def run_cheap_trial_while_workers_boot(self) -> bool:
        """Run the next cheap default here if every worker is still starting; True if one ran.

        A worker needs seconds to import its libraries, which this process has done already.
        Only cheap models on small data run here, so that the search is never held up long
        once a worker is ready.
        """
        executor = self.executor
        if executor.idle_count() or not executor.booting_count() or not self.trials_left():
            return False
        if self.task.n_rows > IN_PROCESS_ROWS:
            return False
        self._skip_defaults_already_run()
        # the first default of each cheap family: the workers bring the stronger models
        config = next(
            (
                c
                for c in self.portfolio
                if c.family in self.task.cheap_families and not self.book.ran_family(c.family)
            ),
            None,
        )
        if config is None or not self.budget.fits(self.book.estimated_seconds(config)):
            return False
        self.portfolio.remove(config)
        self.run_here(self._open(config, None, **{tags.RAN_IN: tags.RAN_IN_SEARCH_PROCESS}))
        return True

    def run_here(self, trial: OpenTrial) -> None:
        """Run ``trial`` in this process (Optuna is told once its study exists)."""
        self.record(trial, self._run_in_process(trial.number, self.worker_task(trial, False)))

    def _run_in_process(self, key: Any, task: WorkerTask) -> TaskResult:
        """Run ``task`` in this process as a worker would: an exception is a failed result."""
        started = time.monotonic()
        try:
            return TaskResult(key=key, ok=True, value=self.task.run_trial(self.context, task))
        except Exception as exc:  # noqa: BLE001 - reported like a worker's error, not raised
            logger.debug("task %s failed in the search process", key, exc_info=True)
            return TaskResult(key=key, ok=False, error=f"{type(exc).__name__}: {exc}")
        finally:
            self.in_process_seconds += time.monotonic() - started

    def _account_workers(self) -> None:
        """Worker time for the breakdown: capacity (workers x their lifetime) and busy time."""
        self.timings["worker_busy"] = self.executor.busy_seconds + self.in_process_seconds
        if self.executor.started:
            self.worker_capacity = self.executor.capacity_seconds()

    # -- the winner -------------------------------------------------------------------------
    def refit_winner(self) -> RefitPlan | None:
        """Refit the winner in an idle worker within the budget, when the task asks for it.

        The refit model is logged in the parent run and registered; the trial keeps its own
        model, metrics and notebook. When the refit cannot finish within the budget, the
        trial's model is registered and an alert says so. Returns the task's refit plan.
        """
        try:
            done = self.book.finished()
            plan = self.task.refit(done[0], self.parent_run_id) if done else None
            if plan is None:
                return None
            reply = self._run_refit(plan)
            if reply is None:
                self.task.alerts.append(
                    alert(
                        "budget",
                        f"the winner ({done[0].model_description}) was not refit on "
                        f"{plan.trained_on} within the time budget: the registered model is the "
                        f"trial's own, trained on {plan.trained_on_without_refit}",
                    )
                )
                return plan
            self.refit_model_uri = reply.model_uri
            for phase, seconds in reply.timings.items():
                self.timings[phase] = self.timings.get(phase, 0.0) + seconds
            return plan
        finally:
            self.executor.shutdown()
            self._account_workers()

    def _run_refit(self, plan: RefitPlan) -> WorkerReply | None:
        """The refit's reply, or None when it failed or would not finish within the budget."""
        executor, budget = self.executor, self.budget
        if budget.time_left() <= plan.expected_seconds:
            return None
        result = None
        if executor.idle_count():
            executor.submit("refit", plan.task)
            while result is None and budget.time_left() > 0:
                wait = min(0.2, max(0.0, budget.time_left()))
                result = next(iter(executor.poll(timeout=wait)), None)
        else:  # no worker is left (each was stopped mid-trial): refit here, the estimate fits
            result = self._run_in_process("refit", plan.task)
        if result is not None and not result.ok:
            logger.warning("refit of the winner failed: %s", result.error)
        return result.value if result is not None and result.ok else None

    def register_winner(self, plan: RefitPlan | None) -> Any:
        done = self.book.finished()
        if not done:
            return None
        t = time.perf_counter()
        best = done[0]
        refit = self.refit_model_uri is not None
        how = (plan.trained_on if refit else plan.trained_on_without_refit) if plan else ""
        version_tags, description = self.task.registration(best, how)
        version = registry.register_model(
            self.refit_model_uri or best.model_uri,
            self.register_model_name,
            tags={"run_id": best.run_id, "experiment": self.experiment_name, **version_tags},
            description=description,
        )
        self.timings["registration"] = time.perf_counter() - t
        return version

    def close_parent(self, summary: AutoMLSummary) -> None:
        client = self.client
        metrics_out: dict[str, float] = {"n_trials": float(len(summary.all_trials))}
        if summary.trials:
            best = summary.trials[0]
            metrics_out.update(
                {k: v for k, v in best.metrics.items() if k.startswith(("val_", "test_"))}
            )
            client.set_tag(self.parent_run_id, tags.BEST_RUN_ID, best.run_id)
        client.log_batch(self.parent_run_id, metrics=metrics_out)
        client.log_text(
            self.parent_run_id, summary.leaderboard.to_csv(index=False), "automl/leaderboard.csv"
        )
        client.log_dict(self.parent_run_id, summary.time_breakdown, "automl/time.json")
        client.log_dict(self.parent_run_id, {"alerts": self.task.alerts}, "automl/alerts.json")
        client.set_terminated(self.parent_run_id, "FINISHED")

    def time_breakdown(self, wall: float) -> dict[str, float]:
        """Seconds per phase; ``idle_workers`` is worker capacity that ran no trial."""
        phases = dict(self.timings)
        busy = phases.pop("worker_busy", 0.0)
        phases["idle_workers"] = max(0.0, self.worker_capacity - busy)
        phases["wall"] = wall
        return {k: round(v, 4) for k, v in phases.items()}


def run_search(task: SearchTask, spec: SearchSpec, budget: Budget,
               prep_seconds: float = 0.0) -> AutoMLSummary:  # fmt: skip
    """Run ``task``'s search under ``budget`` and return its summary (the facade's loop)."""
    search = Search(task, spec, budget)
    search.timings["data_prep"] = prep_seconds
    search.start_workers()
    try:
        search.setup_tracking()
    except BaseException:
        search.executor.shutdown()
        raise
    try:
        exploration = search.write_exploration_notebook()
        search.run()
        search.add_ensemble()
        plan = search.refit_winner()
    except BaseException:
        search.executor.shutdown()
        search.client.set_terminated(search.parent_run_id, "KILLED")
        raise
    version = search.register_winner(plan)
    summary = AutoMLSummary(
        experiment=search.experiment,
        task=task.name,
        primary_metric=task.primary_metric,
        metric_key=task.metric_key,
        greater_is_better=task.greater_is_better,
        trials=search.book.finished(),
        all_trials=sorted(search.book.trials, key=lambda t: t.number),
        parent_run_id=search.parent_run_id,
        alerts=task.alerts,
        registered_model_version=version,
        exploration_notebook_path=exploration,
        validation=task.validation,
        wall_time=time.monotonic() - budget.started,
        **task.summary_fields(),
    )
    summary.time_breakdown = search.time_breakdown(summary.wall_time)
    search.close_parent(summary)
    summary.wall_time = time.monotonic() - budget.started
    return summary
