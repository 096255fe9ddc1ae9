"""``forecast``: an Optuna search over forecasting families under a hard time and trial budget.

The data is validated and regularised before anything is stored. The experiment gets a parent
run, an Optuna study in the tracking database and one child run per trial. The seasonal naive
baseline runs first in this process while the workers start; the workers then run the portfolio
of strong defaults and TPE suggestions until the budget is spent, and whatever is still running at
the deadline is killed and recorded as KILLED. The best configuration (lowest mean validation
metric over the rolling origins) is refit on all data, logged in the parent run and registered.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna

import registry
import tracking
from automl.core import optuna_adapter
from automl.core.budget import Budget
from automl.core.executor import TaskResult
from automl.core.inputs import alert, load_dataset
from automl.core.local_executor import LocalProcessExecutor
from automl.core.optuna_adapter import quiet_optuna
from automl.core.progress import SearchProgress
from automl.core.records import TaskKind, TrialConfig, TrialState, WorkerReply, WorkerTask
from automl.core.spec import SearchSpec
from automl.core.summary import AutoMLSummary, TrialInfo
from automl.forecast import families
from automl.forecast.data import prepare_panel
from automl.forecast.metrics import check_metric
from automl.forecast.trial import ForecastContext, refit_winner, run_forecast_trial

logger = logging.getLogger("automl")

N_FOLDS = 3
_MAX_REPEATS = 20


def _config_key(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, default=str)


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _description(config: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in sorted(config["params"].items()))
    return f"{config['family']}({params})"


class _ForecastSearch:
    """State of one running forecasting search."""

    def __init__(self, ctx_args: dict[str, Any], names: list[str], budget: Budget,
                 n_jobs: int | None, verbose: bool) -> None:  # fmt: skip
        self.args = ctx_args
        self.names = names
        self.budget = budget
        self.verbose = verbose
        cores = _cores()
        self.n_workers = cores if not n_jobs or n_jobs < 0 else min(n_jobs, cores)
        self.client = tracking.TrackingClient()
        self.trials: list[TrialInfo] = []
        self.in_flight: dict[int, tuple] = {}
        self.next_number = 0
        self.timings: dict[str, float] = {}
        self.seen: dict[str, float | None] = {}
        self.seen_values: list[float] = []
        self.refit_estimate = 0.0
        self.family_seconds: dict[str, float] = {}

    def setup(self, experiment_name: str, alerts: list[dict]) -> None:
        self.alerts = alerts
        panel = self.args["panel"]
        experiment = self.client.get_experiment_by_name(experiment_name)
        if experiment is None:
            experiment = self.client.get_experiment(self.client.create_experiment(experiment_name))
        self.experiment = experiment
        metric = self.args["primary_metric"]
        parent = self.client.create_run(
            experiment.experiment_id,
            run_name="automl-forecast",
            tags={
                "automl.role": "parent",
                "automl.task": "forecast",
                "automl.target_col": panel.target_col,
                "automl.time_col": panel.time_col,
                "automl.primary_metric": metric,
            },
        )
        self.parent_run_id = parent.info.run_id
        self.client.log_batch(
            self.parent_run_id,
            params={
                **{f"data.{k}": v for k, v in panel.prep.items()},
                "data.horizon": self.args["horizon"],
                "data.identity_cols": ",".join(panel.identity_cols),
            },
        )
        self.client.log_dict(self.parent_run_id, {"alerts": alerts}, "automl/alerts.json")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "series.parquet"
            panel.to_frame().to_parquet(path, index=False)
            self.client.log_artifact(self.parent_run_id, str(path), "data")
        snapshot = self.client.download_artifacts(self.parent_run_id, "data/series.parquet")
        notebook_dir = Path(snapshot).parent.parent / "notebooks"
        notebook_dir.mkdir(parents=True, exist_ok=True)
        self.storage_url = self.client.engine.url.render_as_string(hide_password=False)
        self.study = optuna.create_study(
            study_name=f"automl-forecast-{experiment.experiment_id}-{self.parent_run_id[:8]}",
            storage=optuna_adapter.storage(self.storage_url),
            direction="minimize",
            sampler=optuna.samplers.TPESampler(
                seed=self.args["seed"], multivariate=True, group=True, constant_liar=True
            ),
        )
        self.client.set_tag(self.parent_run_id, "automl.optuna_study", self.study.study_name)
        m, h = panel.season_length, self.args["horizon"]
        self.portfolio = families.portfolio(self.names, m, h)
        self.ctx = ForecastContext(
            panel=panel,
            horizon=h,
            n_folds=N_FOLDS,
            primary_metric=metric,
            tracking_uri=self.client.tracking_uri,
            experiment_id=experiment.experiment_id,
            experiment_name=experiment_name,
            n_threads=1,
            seed=self.args["seed"],
            snapshot_path=snapshot,
            notebook_dir=str(notebook_dir),
        )

    def trials_left(self) -> bool:
        return self.budget.trials_left(self.next_number)

    def new_trial(self) -> tuple:
        default = self.portfolio.pop(0) if self.portfolio else None
        if default is not None:
            self.study.enqueue_trial(families.to_optuna_params(default))
        m, h = self.ctx.panel.season_length, self.ctx.horizon
        for attempt in range(_MAX_REPEATS):
            optuna_trial = self.study.ask()
            config = default or families.suggest(optuna_trial, self.names, m, h)
            if default is not None:
                families.suggest(optuna_trial, self.names, m, h)  # record the space in the study
            seen = self.seen.get(_config_key(config))
            if seen is None or default is not None or attempt == _MAX_REPEATS - 1:
                break
            # the same configuration again: tell Optuna its known result instead of refitting it
            self.study.tell(optuna_trial, seen)
        self.seen.setdefault(_config_key(config), None)
        number = self.next_number
        self.next_number += 1
        run = self.client.create_run(
            self.experiment.experiment_id,
            run_name=f"trial-{number:03d}-{config['family']}",
            parent_run_id=self.parent_run_id,
            tags={"automl.role": "trial", "automl.optuna_trial": str(optuna_trial.number)},
        )
        return number, run.info.run_id, config, optuna_trial, time.monotonic()

    @staticmethod
    def task(trial: tuple) -> WorkerTask:
        number, run_id, config, _, _ = trial
        return WorkerTask(
            kind=TaskKind.TRIAL, run_id=run_id, number=number, config=TrialConfig.from_dict(config)
        )

    def record(self, trial: tuple, result: TaskResult) -> None:
        number, run_id, config, optuna_trial, started = trial
        duration = time.monotonic() - started
        reply = result.value if result.ok else WorkerReply(TrialState.FAIL)
        if not result.ok:
            self.client.set_tag(run_id, "automl.error", (result.error or "")[-5000:])
            self.client.set_terminated(run_id, "FAILED")
        for phase, seconds in reply.timings.items():
            self.timings[phase] = self.timings.get(phase, 0.0) + seconds
        if reply.state == "COMPLETE":
            self.study.tell(optuna_trial, reply.value)
            self.seen[_config_key(config)] = reply.value
            seconds = reply.metrics.get("fit_time_seconds", 0.0)
            if reply.value <= min(self.seen_values, default=float("inf")):
                # a refit is one fit on all data, but per-series model selection and start-up
                # make it cost about as much as the whole backtest: keep that much back
                self.refit_estimate = seconds
            self.seen_values.append(reply.value)
        else:
            self.study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)
        family = config["family"]
        self.family_seconds[family] = max(duration, self.family_seconds.get(family, 0.0))
        self._add(trial, reply.state, reply.metrics, duration, reply)

    def expected_seconds(self) -> float:
        """How long the next trial will likely take: its family's slowest trial so far, or the
        slowest trial of any family when the family is new or not known before Optuna asks.

        Near the deadline a trial that cannot finish is not started: it would be killed
        unfinished, and with it the warm worker that would otherwise refit the winner at once.
        """
        slowest = max(self.family_seconds.values(), default=0.0)
        if self.portfolio:
            return self.family_seconds.get(self.portfolio[0]["family"], slowest)
        return slowest

    def can_start(self, keep_back: float) -> bool:
        """Whether a new trial would likely finish before the deadline less ``keep_back``."""
        return self.budget.fits(self.expected_seconds(), keep_back)

    def _add(self, trial: tuple, state: str, metrics: dict, duration: float, reply: Any) -> None:
        number, run_id, config, _, _ = trial
        self.trials.append(
            TrialInfo(
                run_id=run_id,
                number=number,
                state=state,
                metrics=dict(metrics),
                params={"model_family": config["family"], **config["params"]},
                model_description=_description(config),
                duration=duration,
                evaluation_metric_score=getattr(reply, "value", None),
                model_uri=getattr(reply, "model_uri", None),
                notebook_path=getattr(reply, "notebook_path", None),
            )
        )

    def mark_killed(self, number: int, seconds: float) -> None:
        trial = self.in_flight.pop(number)
        run_id, optuna_trial = trial[1], trial[3]
        self.client.log_batch(
            run_id,
            tags={"automl.trial_state": "KILLED", "automl.error": "stopped at the time budget"},
        )
        self.client.set_terminated(run_id, "KILLED")
        self.study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)
        self._add(trial, "KILLED", {}, seconds, None)

    def finished(self) -> list[TrialInfo]:
        done = [t for t in self.trials if t.state == "COMPLETE"]
        return sorted(done, key=lambda t: (t.evaluation_metric_score, t.number))

    def best(self) -> tuple[float | None, str | None]:
        done = self.finished()
        return (
            (done[0].evaluation_metric_score, done[0].params["model_family"])
            if done
            else (None, None)
        )

    def run(self) -> None:
        metric = self.args["primary_metric"]
        progress = SearchProgress(
            self.budget.timeout_s, metric, enabled=self.verbose, started=self.budget.started
        )
        executor = LocalProcessExecutor(
            self.n_workers, 1, runner="automl.forecast.trial", setup=self.ctx.to_setup()
        )
        if self.budget.max_trials != 1:
            executor.start()
        try:
            first = self.new_trial()
            reply = run_forecast_trial(self.ctx, self.task(first))
            self.record(first, TaskResult(key=first[0], ok=True, value=reply))
            while True:
                # keep back the time the current winner needs to be refit on all data
                keep_back = self.refit_estimate
                if self.budget.time_left(keep_back) <= 0 or (
                    not self.in_flight and (not self.trials_left() or not self.can_start(keep_back))
                ):
                    break
                while executor.idle_count() and self.trials_left() and self.can_start(keep_back):
                    trial = self.new_trial()
                    self.in_flight[trial[0]] = trial
                    executor.submit(trial[0], self.task(trial))
                wait = min(0.25, max(0.0, self.budget.time_left(keep_back)))
                for result in executor.poll(timeout=wait):
                    self.record(self.in_flight.pop(result.key), result)
                progress.update(len(self.trials), len(self.in_flight), *self.best())
        except BaseException:
            executor.shutdown(on_killed=self.mark_killed)
            raise
        finally:
            progress.close(len(self.trials), *self.best())
        executor.kill_running(on_killed=self.mark_killed)
        self.executor = executor  # its idle workers refit the winner

    def finalize(self, register_model_name: str) -> tuple[str | None, Any]:
        """Refit the winner on all data, log it in the parent run and register it."""
        done = self.finished()
        if not done:
            return None, None
        t = time.perf_counter()
        best = done[0]
        params = {k: v for k, v in best.params.items() if k != "model_family"}
        metadata = {
            "model_family": best.params["model_family"],
            "best_trial_run_id": best.run_id,
            "horizon": self.ctx.horizon,
            "frequency": self.ctx.panel.freq.alias,
            "trained_on": "all data",
        }
        model_uri = self._refit_in_worker(best, params, metadata)
        if model_uri is None:
            # Not refit within the budget: register the winning trial's own model instead.
            self.alerts.append(
                alert(
                    "budget",
                    f"the winner ({best.model_description}) was not refit on all data within the "
                    "time budget; the registered model is the trial's, trained up to the test "
                    "window",
                )
            )
            version = self._register(best.model_uri, register_model_name, best, "trial model")
            self.timings["refit_and_register"] = time.perf_counter() - t
            return best.model_uri, version
        version = self._register(model_uri, register_model_name, best, "refit on all data")
        self.timings["refit_and_register"] = time.perf_counter() - t
        return model_uri, version

    def _refit_in_worker(self, best: TrialInfo, params: dict, metadata: dict) -> str | None:
        """The refit model's URI, or None when no worker could finish it before the hard end."""
        executor, budget = self.executor, self.budget
        task = WorkerTask(
            kind=TaskKind.REFIT,
            run_id=self.parent_run_id,
            config=TrialConfig(best.params["model_family"], params),
            metadata=metadata,
        )
        try:
            if not executor.idle_count():
                # Every worker was stopped mid-trial: refit here if the estimate says it fits.
                if budget.finishes_before(self.refit_estimate, budget.grace_deadline):
                    return refit_winner(self.ctx, task).model_uri
                return None
            executor.submit("refit", task)
            while time.monotonic() < budget.grace_deadline:
                for result in executor.poll(timeout=0.2):
                    return result.value.model_uri if result.ok else None
            return None
        finally:
            executor.shutdown()

    def _register(self, model_uri: str, name: str, best: TrialInfo, how: str) -> Any:
        description = ", ".join(
            f"{k}={v:.5g}"
            for k, v in sorted(best.metrics.items())
            if k.startswith(("val_", "test_"))
        )
        return registry.register_model(
            model_uri,
            name,
            tags={"run_id": best.run_id, "task": "forecast"},
            description=f"AutoML forecast winner {best.model_description}, {how}: {description}",
        )

    def close_parent(self, summary: AutoMLSummary) -> None:
        out: dict[str, float] = {"n_trials": float(len(summary.all_trials))}
        if summary.trials:
            best = summary.trials[0]
            out.update({k: v for k, v in best.metrics.items() if k.startswith(("val_", "test_"))})
            self.client.set_tag(self.parent_run_id, "automl.best_run_id", best.run_id)
        self.client.log_batch(self.parent_run_id, metrics=out)
        self.client.log_text(
            self.parent_run_id, summary.leaderboard.to_csv(index=False), "automl/leaderboard.csv"
        )
        self.client.set_terminated(self.parent_run_id, "FINISHED")


@quiet_optuna()
def forecast(
    dataset: Any,
    *,
    target_col: str,
    time_col: str,
    horizon: int = 1,
    frequency: str | None = None,
    identity_col: str | list[str] | None = None,
    primary_metric: str = "smape",
    timeout_minutes: float | None = None,
    max_trials: int | None = None,
    exclude_frameworks: list[str] | None = None,
    experiment_name: str | None = None,
    register_model_name: str | None = None,
    n_jobs: int | None = None,
    seed: int = 0,
    verbose: bool = True,
) -> AutoMLSummary:
    """Search forecasting models for ``target_col`` over ``time_col``; track and register them.

    ``dataset`` is a long DataFrame (or CSV/Parquet path) with one row per timestamp and series;
    ``identity_col`` (a column or a list) separates the series. ``frequency`` is a pandas alias or
    a word (``"D"``, ``"day"``, ``"W"``, ``"MS"``, ``"month"``, ``"Q"``, ``"Y"``, ``"h"``,
    ``"min"``), inferred from the timestamps when omitted. Trials are scored by rolling-origin
    backtesting (mean ``primary_metric`` over the validation cutoffs: ``smape``, ``mase``, ``mae``,
    ``rmse``, ``mse``, ``mape``, ``mdape``), the last ``horizon`` points are the test part.
    ``exclude_frameworks`` takes ``"statsmodels"``, ``"lightgbm"`` or family names. The best
    model, refit on all data, is logged to the parent run and registered as
    ``register_model_name`` (default: the experiment name); it predicts ``horizon`` steps.
    """
    spec = SearchSpec.create(
        "forecast",
        target_col,
        primary_metric,
        timeout_minutes=timeout_minutes,
        max_trials=max_trials,
        n_jobs=n_jobs,
        seed=seed,
        verbose=verbose,
        experiment_name=experiment_name,
        register_model_name=register_model_name,
        exclude_frameworks=exclude_frameworks,
    )
    started = spec.started
    frame = load_dataset(dataset)
    metric = check_metric(primary_metric)
    panel, alerts = prepare_panel(
        frame,
        target_col=target_col,
        time_col=time_col,
        horizon=horizon,
        frequency=frequency,
        identity_col=identity_col,
    )
    names = families.available_families(list(spec.exclude_frameworks) or None, panel.season_length)
    for item in alerts:
        logger.warning("%s: %s", item["kind"], item["message"])
    budget = spec.budget()
    experiment_name = spec.experiment_name or spec.default_experiment_name()
    register_model_name = spec.register_model_name
    args = {"panel": panel, "horizon": int(horizon), "primary_metric": metric, "seed": spec.seed}
    search = _ForecastSearch(args, names, budget, spec.n_jobs, spec.verbose)
    search.setup(experiment_name, alerts)
    try:
        search.run()
        _, version = search.finalize(register_model_name or experiment_name)
    except BaseException:
        search.client.set_terminated(search.parent_run_id, "KILLED")
        raise
    summary = AutoMLSummary(
        experiment=search.experiment,
        task="forecast",
        primary_metric=metric,
        metric_key=metric,
        greater_is_better=False,
        trials=search.finished(),
        all_trials=sorted(search.trials, key=lambda t: t.number),
        parent_run_id=search.parent_run_id,
        alerts=alerts,
        registered_model_version=version,
        validation="rolling_origin",
        wall_time=time.monotonic() - started,
    )
    summary.time_breakdown = {k: round(v, 4) for k, v in search.timings.items()}
    search.close_parent(summary)
    summary.wall_time = time.monotonic() - started
    return summary
