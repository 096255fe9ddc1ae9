"""Forecasting as a :class:`~automl.core.task.SearchTask`: a regular panel of series, backtested.

Trials are scored by rolling-origin backtesting (the mean validation metric over the cutoffs);
the winner is refit on all data before it is registered, so that it forecasts from the last point.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import optuna

import tracking
from automl.core import tags
from automl.core.records import TaskKind, TrialConfig, WorkerReply, WorkerTask
from automl.core.summary import TrialInfo
from automl.core.task import RefitPlan, SearchEnvironment, SearchTask
from automl.core.trials import score_line
from automl.forecast import families
from automl.forecast.data import Panel
from automl.forecast.trial import ForecastContext, run_forecast_trial

N_FOLDS = 3
TRAINED_ON_ALL = "all data"
TRAINED_ON_TRIAL = "the data before the test window"


class ForecastTask(SearchTask):
    """A prepared panel, its horizon and the forecasting families searched on it."""

    name = "forecast"
    runner = "automl.forecast.trial"
    greater_is_better = False
    validation = "rolling_origin"
    cheap_families = ("seasonal_naive",)

    def __init__(self, panel: Panel, horizon: int, primary_metric: str, seed: int,
                 names: list[str], alerts: list[dict[str, Any]],
                 retrain_full: bool = True) -> None:  # fmt: skip
        self.panel = panel
        self.retrain_full = retrain_full
        self.horizon = int(horizon)
        self.primary_metric = self.metric_key = primary_metric
        self.seed = seed
        self.families = names
        self.alerts = alerts
        self.n_rows = len(panel.to_frame())

    def parent_tags(self) -> dict[str, str]:
        return {tags.TARGET_COL: self.panel.target_col, tags.TIME_COL: self.panel.time_col}

    def log_inputs(self, client: tracking.TrackingClient, parent_run_id: str) -> str:
        panel = self.panel
        client.log_batch(
            parent_run_id,
            params={
                **{f"data.{k}": v for k, v in panel.prep.items()},
                "data.horizon": self.horizon,
                "data.identity_cols": ",".join(panel.identity_cols),
            },
        )
        client.log_dict(parent_run_id, {"alerts": self.alerts}, "automl/alerts.json")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "series.parquet"
            panel.to_frame().to_parquet(path, index=False)
            client.log_artifact(parent_run_id, str(path), "data")
        return client.download_artifacts(parent_run_id, "data/series.parquet")

    def context(self, env: SearchEnvironment) -> ForecastContext:
        return ForecastContext(
            panel=self.panel,
            horizon=self.horizon,
            n_folds=N_FOLDS,
            primary_metric=self.primary_metric,
            tracking_uri=env.tracking_uri,
            experiment_id=env.experiment_id,
            experiment_name=env.experiment_name,
            n_threads=1,
            seed=self.seed,
            snapshot_path=env.snapshot_path,
            notebook_dir=env.notebook_dir,
        )

    def run_trial(self, context: ForecastContext, task: WorkerTask) -> WorkerReply:
        return run_forecast_trial(context, task)

    def portfolio(self) -> list[TrialConfig]:
        m, h = self.panel.season_length, self.horizon
        return [TrialConfig.from_dict(c) for c in families.portfolio(self.families, m, h)]

    def suggest(self, trial: optuna.trial.Trial) -> TrialConfig:
        m, h = self.panel.season_length, self.horizon
        return TrialConfig.from_dict(families.suggest(trial, self.families, m, h))

    def optuna_params(self, config: TrialConfig) -> dict[str, Any]:
        return families.to_optuna_params(config.as_dict())

    def refit(self, best: TrialInfo, parent_run_id: str) -> RefitPlan | None:
        """The winner is refit on all data (unless ``retrain_full=False``). Per-series model
        selection and start-up make that one fit cost about as much as the whole backtest:
        that much is kept back for it."""
        if not self.retrain_full:
            return None
        family = best.params["model_family"]
        params = {k: v for k, v in best.params.items() if k != "model_family"}
        task = WorkerTask(
            kind=TaskKind.REFIT,
            run_id=parent_run_id,
            config=TrialConfig(family, params),
            metadata={
                "model_family": family,
                "best_trial_run_id": best.run_id,
                "horizon": self.horizon,
                "frequency": self.panel.freq.alias,
                "trained_on": TRAINED_ON_ALL,
            },
        )
        expected = best.metrics.get("fit_time_seconds", 0.0)
        return RefitPlan(task, expected, TRAINED_ON_ALL, TRAINED_ON_TRIAL)

    def registration(self, best: TrialInfo, how: str) -> tuple[dict[str, str], str]:
        scores = score_line(best.metrics)
        what = "refit on all data" if how == TRAINED_ON_ALL else "trial model"
        text = f"AutoML forecast winner {best.model_description}, {what}: {scores}"
        return {"task": "forecast", "trained_on": how}, text
