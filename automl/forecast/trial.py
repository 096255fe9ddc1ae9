"""Run one forecasting trial and record it as a tracked run.

The same function runs in worker processes and, for the first (baseline) trial, in the calling
process: backtest the configuration, log params, ``val_*`` / ``test_*`` metrics, the model
(``task="forecast"``) and a plot of a few series, then finish the run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import tracking
from automl.core import tags
from automl.core.records import TaskKind, TrialConfig, TrialState, WorkerReply, WorkerTask
from automl.forecast import plots
from automl.forecast.backtest import backtest, fit_final
from automl.forecast.data import Panel

logger = logging.getLogger(__name__)


@dataclass
class ForecastContext:
    """What every trial of one forecasting experiment shares (sent once to each worker)."""

    panel: Panel
    horizon: int
    n_folds: int
    primary_metric: str
    tracking_uri: str
    experiment_id: str
    experiment_name: str
    n_threads: int = 1
    seed: int = 0
    snapshot_path: str | None = None
    notebook_dir: str | None = None
    _client: tracking.TrackingClient | None = field(default=None, repr=False)

    def to_setup(self) -> dict[str, Any]:
        return {
            "panel": self.panel,
            "horizon": self.horizon,
            "n_folds": self.n_folds,
            "primary_metric": self.primary_metric,
            "tracking_uri": self.tracking_uri,
            "experiment_id": self.experiment_id,
            "experiment_name": self.experiment_name,
            "n_threads": self.n_threads,
            "seed": self.seed,
            "snapshot_path": self.snapshot_path,
            "notebook_dir": self.notebook_dir,
        }

    @classmethod
    def from_setup(cls, setup: dict[str, Any]) -> ForecastContext:
        return cls(**setup)

    @property
    def client(self) -> tracking.TrackingClient:
        if self._client is None:
            self._client = tracking.TrackingClient(self.tracking_uri)
        return self._client


def trial_params(ctx: ForecastContext, config: dict[str, Any]) -> dict[str, Any]:
    """The run's params: family, literal hyperparameters and how the data was prepared."""
    params: dict[str, Any] = {"model_family": config["family"]}
    params.update({f"model.{k}": v for k, v in config["params"].items()})
    params.update({f"data.{k}": v for k, v in ctx.panel.prep.items()})
    params.update(
        {
            "data.horizon": ctx.horizon,
            "data.identity_cols": ",".join(ctx.panel.identity_cols),
            "validation.n_folds": ctx.n_folds,
            "validation.scheme": "rolling_origin",
        }
    )
    return params


def refit_winner(ctx: ForecastContext, task: WorkerTask) -> WorkerReply:
    """Refit the winning configuration on all data and log it as ``model`` of run ``run_id``."""
    config = task.config
    model = fit_final(
        config.family, config.params, ctx.panel, ctx.horizon, random_state=ctx.seed, n_jobs=1
    )
    info = ctx.client.log_model(
        task.run_id, model, "model", None, task="forecast", metadata=task.metadata
    )
    return WorkerReply(state=TrialState.COMPLETE, model_uri=info.model_uri)


def run_forecast_trial(ctx: ForecastContext, task: WorkerTask) -> WorkerReply:
    """Backtest and log one configuration into run ``task.run_id``; never raises for a bad fit.

    A refit task refits the winner on all data instead (see ``refit_winner``).
    """
    if task.kind is TaskKind.REFIT:
        return refit_winner(ctx, task)
    run_id, number, config = task.run_id, task.number, task.config.as_dict()
    typed = TrialConfig.from_dict(config)
    client = ctx.client
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        result = backtest(
            config["family"],
            config["params"],
            ctx.panel,
            ctx.horizon,
            n_folds=ctx.n_folds,
            random_state=ctx.seed,
            n_jobs=ctx.n_threads,
        )
    except Exception as exc:  # noqa: BLE001 - a failing configuration is a result, not a crash
        logger.debug("forecast trial %s failed", number, exc_info=True)
        message = f"{type(exc).__name__}: {exc}"[:5000]
        client.log_batch(
            run_id, tags={tags.TRIAL_STATE: TrialState.FAIL.value, tags.ERROR: message}
        )
        client.set_terminated(run_id, "FAILED")
        timings["fitting"] = time.perf_counter() - started
        return WorkerReply(state=TrialState.FAIL, error=message, config=typed, timings=timings)
    fit_seconds = time.perf_counter() - started
    timings["fitting"] = fit_seconds

    t = time.perf_counter()
    metrics = {f"val_{k}": v for k, v in result.val_metrics.items()}
    metrics.update({f"test_{k}": v for k, v in result.test_metrics.items()})
    metrics = {k: v for k, v in metrics.items() if v == v}  # NaN metrics are not logged
    metrics["fit_time_seconds"] = fit_seconds
    metrics["n_fallback_series"] = float(result.model.n_fallback_)
    for i, fold in enumerate(result.fold_metrics):
        if fold.get(ctx.primary_metric) == fold.get(ctx.primary_metric):
            client.log_metric(
                run_id, f"val_{ctx.primary_metric}_fold", fold[ctx.primary_metric], step=i
            )
    client.log_batch(run_id, metrics=metrics, params=trial_params(ctx, config))
    model_info = client.log_model(
        run_id,
        result.model,
        "model",
        None,
        task="forecast",
        metadata={
            "model_family": config["family"],
            "primary_metric": f"val_{ctx.primary_metric}",
            "horizon": ctx.horizon,
            "frequency": ctx.panel.freq.alias,
            "trained_on": "all but the last horizon points (test part)",
        },
    )
    try:
        figure = plots.forecast_plot(
            result.model, ctx.panel, ctx.horizon, f"trial {number}: {config['family']}"
        )
        client.log_figure(run_id, figure, "plots/test_forecast.png", save_kwargs=plots.SAVE_KWARGS)
        plots.close(figure)
    except Exception as exc:  # noqa: BLE001 - a plot failure does not void the trial
        logger.warning("trial %s: forecast plot failed: %s", number, exc)
    client.log_batch(
        run_id, tags={tags.TRIAL_STATE: TrialState.COMPLETE.value, tags.TRIAL_NUMBER: str(number)}
    )
    timings["logging"] = time.perf_counter() - t
    t = time.perf_counter()
    notebook_path = None
    if ctx.snapshot_path and ctx.notebook_dir:
        try:
            notebook_path = _write_notebook(ctx, run_id, number, config, metrics)
        except Exception as exc:  # noqa: BLE001 - the trial stands even without its notebook
            logger.warning("trial %s: notebook not rendered: %s", number, exc)
            client.set_tag(run_id, tags.NOTEBOOK_ERROR, f"{type(exc).__name__}: {exc}"[:5000])
    timings["notebooks"] = time.perf_counter() - t
    client.set_terminated(run_id, "FINISHED")
    value = metrics.get(f"val_{ctx.primary_metric}")
    if value is None:
        return WorkerReply(
            state=TrialState.FAIL,
            error=f"val_{ctx.primary_metric} is undefined for this data",
            config=typed,
            metrics=metrics,
            timings=timings,
        )
    return WorkerReply(
        state=TrialState.COMPLETE,
        value=value,
        metrics=metrics,
        config=typed,
        timings=timings,
        model_uri=model_info.model_uri,
        notebook_path=notebook_path,
    )


def _write_notebook(
    ctx: ForecastContext, run_id: str, number: int, config: dict[str, Any], metrics: dict
) -> str:
    from pathlib import Path

    from automl.forecast.notebook import write_forecast_notebook
    from automl.notebooks.source_run import NotebookRun

    path = Path(ctx.notebook_dir) / f"trial_{number:03d}_{config['family']}.ipynb"
    run = NotebookRun(
        run_id, ctx.experiment_name, number, ctx.snapshot_path, ctx.tracking_uri, metrics
    )
    write_forecast_notebook(
        path,
        run,
        family=config["family"],
        params=config["params"],
        target_col=ctx.panel.target_col,
        time_col=ctx.panel.time_col,
        identity_cols=ctx.panel.identity_cols,
        frequency=ctx.panel.freq.alias,
        horizon=ctx.horizon,
        n_folds=ctx.n_folds,
        seed=ctx.seed,
    )
    ctx.client.log_artifact(run_id, str(path), "notebooks")
    return str(path)


# What ``automl.core.worker`` calls in a runner module.
context_from_setup = ForecastContext.from_setup
run_trial = run_forecast_trial
