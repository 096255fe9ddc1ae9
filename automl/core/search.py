"""The search loop, shared by every task: ask, submit, record, kill at the deadline.

:class:`Search` drives one search for a :class:`~automl.core.task.SearchTask`. Trials run in an
:class:`~automl.core.executor.Executor` (local worker processes, or a Dask cluster); the Optuna
study, the tracking runs, the :class:`~automl.core.budget.Budget` and registration stay in this
process. The first trial is the task's cheapest default; with a tiny budget on small data it runs
here before the workers start, and otherwise this process runs the cheap defaults itself while
the workers import their libraries. Whatever is still running at the deadline is killed and
recorded as KILLED. What follows the loop (ensemble, refit, registration) is
:mod:`automl.core.winner`; :func:`automl.core.run.run_search` drives both.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import tracking
from automl.core import records, resume, tags
from automl.core.budget import Budget
from automl.core.executor import Executor, TaskResult
from automl.core.inputs import alert
from automl.core.local_executor import LocalProcessExecutor
from automl.core.progress import SearchProgress
from automl.core.records import TrialState, WorkerTask
from automl.core.spec import SearchSpec
from automl.core.study import SearchStudy
from automl.core.summary import TrialInfo
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
ENSEMBLE_BUILD_S, ENSEMBLE_RESERVE_SHARE, ENSEMBLE_TOP = 1.5, 0.15, 3
# One trial's charts, drawn after the search (the slowest so far once one is timed); the loop
# keeps back time for the leaders' charts up to this share of the budget.
CHART_SECONDS, CHART_RESERVE_SHARE = 0.5, 0.04


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

    return cluster_executor(
        spec.cluster, tracking_uri, task.runner, threads=threads,
        deadline=budget.grace_deadline_wall(),
    )  # fmt: skip


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
        workers = min(self.n_workers, budget.max_trials or self.n_workers)
        # before the store is opened: a refused cluster set-up leaves no file behind
        self.executor = _executor(
            spec, task, budget, workers, self.threads, tracking.get_tracking_uri()
        )
        self.client = tracking.TrackingClient()
        self.book = TrialBook(task.greater_is_better, task.size_ratio)
        self.timings: dict[str, float] = {}
        self.in_process_seconds = 0.0
        self.worker_capacity = 0.0
        # Trial numbers: an experiment searched before continues its numbering.
        self.next_number = self.first_number = 0
        self.refit_estimate = 0.0
        self.refit_model_uri: str | None = None
        self._resumed_checked = False
        self._trial_runs: list[Any] = []  # the experiment's trial runs, when it is resumed
        # (validation, test) predictions of each completed trial, by run id, for the ensemble
        self.predictions: dict[str, tuple[Any, Any]] = {}
        # Fidelity levels, and the trials promoted to the next one, waiting for a worker.
        self.rungs = task.rungs()
        self.promoted: list[OpenTrial] = []

    # -- setup ------------------------------------------------------------------------------
    def setup_tracking(self) -> None:
        """The experiment, the parent run with the data snapshot, the study and the context."""
        t = time.perf_counter()
        client = self.client
        # trials of a search whose process died are KILLED, not RUNNING, in the store and study
        dead = client.mark_dead_runs()
        known = client.get_experiment_by_name(self.experiment_name) is not None
        self._resumed_checked = not known  # a new experiment: no study results to skip
        self.experiment = client.get_or_create_experiment(self.experiment_name)
        live = self._resume_numbering(dead) if known else None
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
        digest = resume.data_digest(snapshot)
        if known:
            same_data = resume.same_data_parents(
                client, self.experiment.experiment_id, digest, self.parent_run_id
            )
            self.book.earlier = resume.earlier_trials(
                client, self._trial_runs, same_data, self.task.metric_key
            )
        notebook_dir = Path(snapshot).parent.parent / "notebooks"
        notebook_dir.mkdir(parents=True, exist_ok=True)
        storage_url = client.engine.url.render_as_string(hide_password=False)
        study_name = f"automl-{self.experiment.experiment_id}"
        client.log_batch(
            self.parent_run_id, tags={tags.OPTUNA_STUDY: study_name, tags.DATA_DIGEST: digest}
        )
        self.study = SearchStudy(self.task, storage_url, study_name, self.spec.seed, live)
        self.env = SearchEnvironment(
            tracking_uri=client.tracking_uri,
            experiment_id=self.experiment.experiment_id,
            experiment_name=self.experiment_name,
            parent_run_id=self.parent_run_id,
            snapshot_path=snapshot,
            notebook_dir=str(notebook_dir),
            n_threads=self.threads,
        )
        self.context = self.task.context(self.env)
        self.portfolio = self.task.portfolio()
        self.timings["setup"] = time.perf_counter() - t

    def _resume_numbering(self, dead_runs: list[str]) -> list[int] | None:
        """On an experiment searched before: number this search's trials after the earlier ones,
        and return the Optuna trials still being run by a live search (None: no other search is
        alive). Any other RUNNING one was left by a search that died, and is failed."""
        client = self.client
        runs = client.search_runs(
            [self.experiment.experiment_id],
            filter_string=f"tags.`{tags.ROLE}` = '{tags.ROLE_TRIAL}'",
            run_view_type="ALL",
            max_results=50_000,
        )
        self._trial_runs = runs
        numbers = [int(r.data.tags.get(tags.TRIAL_NUMBER, -1)) for r in runs]
        self.first_number = self.next_number = max(numbers, default=-1) + 1
        for run_id in set(dead_runs) & {r.info.run_id for r in runs}:
            client.set_tag(run_id, tags.ERROR, "its search process died before the trial ended")
        searching = client.search_runs(
            [self.experiment.experiment_id],
            filter_string=f"tags.`{tags.ROLE}` = '{tags.ROLE_PARENT}' and status = 'RUNNING'",
            max_results=1,
        )
        if not searching:  # no other search is alive: every RUNNING Optuna trial is an orphan
            return None
        live = [r.data.tags.get(tags.OPTUNA_TRIAL) for r in runs if r.info.status == "RUNNING"]
        return [int(n) for n in live if n is not None]

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
        return self.budget.trials_left(self.next_number - self.first_number)

    @property
    def first_trial(self) -> bool:
        """Whether no trial of this search has been opened yet."""
        return self.next_number == self.first_number

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
        while self.promoted:
            trial = self.promoted.pop(0)
            if book.estimated_seconds(trial.config) <= time_left:
                return self._open(trial.config, trial.optuna_trial, trial, **{
                    tags.PROMOTED_FROM: trial.run_id})  # fmt: skip
            self._tell(trial, TrialState.PRUNED, None, trial.earlier_values)
        while (
            self.portfolio and book.estimated_seconds(self._cheapest(self.portfolio[0])) > time_left
        ):
            self.portfolio.pop(0)
        default = self.portfolio.pop(0) if self.portfolio else None
        if not ask_optuna and default is not None:
            return self._open(default, None)
        family = None
        if default is None:
            probe = lambda f: self._cheapest(records.TrialConfig(f))  # noqa: E731
            fitting = book.families_that_fit(self.task.families, time_left, probe)
            if not fitting:
                return None
            if len(fitting) < len(self.task.families):
                family = book.preferred_family(fitting)
        optuna_trial, config = self.study.ask(default, family)
        return self._open(self._cheapest(config), optuna_trial)

    def _cheapest(self, config: records.TrialConfig) -> records.TrialConfig:
        """``config`` at the lowest fidelity level, where every configuration starts."""
        return self.task.at_rung(config, 0) if self.rungs > 1 else config

    def _open(self, config: records.TrialConfig, optuna_trial: Any,
              promoted: OpenTrial | None = None, **extra_tags: str) -> OpenTrial:  # fmt: skip
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
        if promoted is None:
            return OpenTrial(number, run.info.run_id, config, optuna_trial)
        return OpenTrial(number, run.info.run_id, config, optuna_trial,
                         rung=promoted.rung, earlier_values=promoted.earlier_values)  # fmt: skip

    def worker_task(self, trial: OpenTrial, prunable: bool = True) -> WorkerTask:
        optuna_trial = trial.optuna_trial
        return WorkerTask(
            kind=records.TaskKind.TRIAL,
            run_id=trial.run_id,
            number=trial.number,
            config=trial.config,
            pruning=self.study.pruning_rule() if prunable and optuna_trial else None,
        )

    # -- recording outcomes -----------------------------------------------------------------
    def _tell(self, trial: OpenTrial, state: TrialState, value: float | None = None,
              intermediate: tuple[float, ...] = ()) -> None:  # fmt: skip
        if trial.optuna_trial is None:  # it ran before the study was asked: record it now
            trial.optuna_trial, _ = self.study.ask(trial.config)
            self.client.set_tag(trial.run_id, tags.OPTUNA_TRIAL, str(trial.optuna_trial.number))
        self.study.tell_outcome(
            trial.optuna_trial, trial.config, state, value, trial.run_id, intermediate
        )

    def record(self, trial: OpenTrial, result: TaskResult) -> None:
        """Turn a worker's reply into an Optuna verdict and a TrialInfo."""
        duration = time.monotonic() - trial.started
        if not result.ok:
            self.client.set_tag(trial.run_id, tags.ERROR, (result.error or "")[-5000:])
            self.client.set_terminated(trial.run_id, "FAILED")
            self._tell(trial, TrialState.FAIL)
            self.book.add(trial, TrialState.FAIL, duration)
            return
        reply: records.WorkerReply = result.value
        for phase, seconds in reply.timings.items():
            self.timings[phase] = self.timings.get(phase, 0.0) + seconds
        state = TrialState(reply.state)
        info = self.book.add(trial, state, duration, reply)
        if state == TrialState.COMPLETE and trial.rung < self.rungs - 1 and trial.optuna_trial:
            self._promote_or_stop(trial, float(reply.value))
        else:
            self._tell(trial, state, reply.value, trial.earlier_values + reply.intermediate_values)
        if state == TrialState.COMPLETE:
            if reply.val_predictions is not None:
                self.predictions[info.run_id] = (reply.val_predictions, reply.test_predictions)
            self._update_refit_estimate(info)

    def _promote_or_stop(self, trial: OpenTrial, value: float) -> None:
        """A trial below full fidelity finished: its configuration goes on to the next level
        (its Optuna trial stays open until then), or Optuna is told it was pruned there."""
        values = (*trial.earlier_values, value)
        if self.book.promotes(trial.rung, value):
            rung = trial.rung + 1
            config = self.task.at_rung(trial.config, rung)
            self.promoted.append(OpenTrial(trial.number, trial.run_id, config, trial.optuna_trial,
                                           rung=rung, earlier_values=values))  # fmt: skip
        else:
            self._tell(trial, TrialState.PRUNED, None, values)

    def _refit_plan(self, info: TrialInfo) -> RefitPlan | None:
        return self.task.refit(info, self.parent_run_id)

    def _update_refit_estimate(self, info: TrialInfo) -> None:
        """Keep back the time to refit the winner (and, while it is affordable, to build an
        ensemble of the best few and refit them) and to chart the leaders, unless that time has
        passed already."""
        done = self.book.finished()
        top = done[:ENSEMBLE_TOP]
        if all(t is not info for t in top):
            return
        plans = [p for p in map(self._refit_plan, top) if p is not None]
        seconds = plans[0].expected_seconds if plans else 0.0
        if self.task.ensembles and len(done) >= 2 and plans:
            fits = sum(p.expected_seconds - p.overhead_seconds for p in plans)
            blend = ENSEMBLE_BUILD_S + plans[0].overhead_seconds + fits
            affordable = self.budget.timeout_s is None or (
                blend <= ENSEMBLE_RESERVE_SHARE * self.budget.timeout_s
            )
            seconds = max(seconds, blend) if affordable else seconds
        seconds += self._chart_reserve()
        self.refit_estimate = seconds if self.budget.time_left() > seconds else 0.0

    def _chart_reserve(self) -> float:
        """Seconds kept back for drawing the leaders' charts after the search."""
        if not self.task.charts_after_search:
            return 0.0
        seconds = records.CHARTED_TOP_K * CHART_SECONDS
        timeout = self.budget.timeout_s
        return seconds if timeout is None else min(seconds, CHART_RESERVE_SHARE * timeout)

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
        progress = SearchProgress(self.budget, self.task.metric_key, enabled=self.spec.verbose)
        try:
            self._loop(progress)
        except BaseException:
            self.executor.shutdown(on_killed=self.mark_killed)
            self.account_workers()
            raise
        finally:
            progress.close(len(self.book.trials), *self.book.best())
        # Trials still running at the deadline are stopped; idle workers stay for the refit.
        self.executor.kill_running(on_killed=self.mark_killed)
        for trial in self.promoted:  # promoted, but no time was left to run them
            self._tell(trial, TrialState.PRUNED, None, trial.earlier_values)
        self.promoted.clear()

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
                and (self.first_trial or budget.can_start(keep_back, now))
            ):
                first = self.first_trial
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
            if executor.failure and not book.in_flight:  # e.g. the cluster's scheduler is gone
                self.task.alerts.append(alert("cluster", executor.failure))
                logger.warning("trials stopped: %s", executor.failure)
                break
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
        self.record(trial, self.run_in_process(trial.number, self.worker_task(trial, False)))

    def run_in_process(self, key: Any, task: WorkerTask) -> TaskResult:
        """Run ``task`` in this process as a worker would: an exception is a failed result."""
        started = time.monotonic()
        try:
            return TaskResult(key=key, ok=True, value=self.task.run_trial(self.context, task))
        except Exception as exc:  # noqa: BLE001 - reported like a worker's error, not raised
            logger.debug("task %s failed in the search process", key, exc_info=True)
            return TaskResult(key=key, ok=False, error=f"{type(exc).__name__}: {exc}")
        finally:
            self.in_process_seconds += time.monotonic() - started

    def account_workers(self) -> None:
        """Worker time for the breakdown: capacity (workers x their lifetime) and busy time."""
        self.timings["worker_busy"] = self.executor.busy_seconds + self.in_process_seconds
        if self.executor.started:
            self.worker_capacity = self.executor.capacity_seconds()
