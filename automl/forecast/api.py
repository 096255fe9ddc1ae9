"""``forecast``: an Optuna search over forecasting families under a hard time and trial budget.

The data is validated and regularised before anything is stored; the shared search loop
(:mod:`automl.core.search`) then runs the :class:`~automl.forecast.task.ForecastTask`: the
seasonal naive baseline first, the portfolio of strong defaults, then TPE until the budget is
spent. The best configuration (lowest mean validation metric over the rolling origins) is refit
on all data, logged in the parent run and registered.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from automl.core.inputs import load_dataset
from automl.core.optuna_adapter import quiet_optuna
from automl.core.run import run_search
from automl.core.spec import SearchSpec
from automl.core.summary import AutoMLSummary
from automl.forecast import families
from automl.forecast.data import prepare_panel
from automl.forecast.metrics import check_metric
from automl.forecast.task import ForecastTask

logger = logging.getLogger("automl")
# The arguments that describe the panel: checked against the data by ``prepare_panel``.
PANEL_ARGUMENTS = ("time_col", "horizon", "frequency", "identity_col")


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
    cluster: Any = None,
    retrain_full: bool = True,
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
    ``cluster`` runs the trials on a Dask cluster, as in :func:`automl.classify`.
    """
    spec = SearchSpec.from_call("forecast", locals(), task_only=PANEL_ARGUMENTS)
    t = time.perf_counter()
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
    task = ForecastTask(panel, horizon, metric, spec.seed, names, alerts, spec.retrain_full)
    summary = run_search(task, spec, spec.budget(), time.perf_counter() - t)
    if spec.verbose:  # end by saying how to review the leaderboard in the browser
        from automl.ui import announce

        announce(summary)
    return summary
