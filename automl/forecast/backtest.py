"""Rolling-origin backtesting: the single function that scores a forecasting trial.

The last ``horizon`` points of every series are the test part. Before them, ``n_folds`` cutoffs
``step`` points apart each train on the history up to the cutoff and validate on the next
``horizon`` points; the validation metric is the mean over folds. The model fitted on everything
but the test part is scored on the test part and returned; the winner of a search is later refit
on all data (``fit_final``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from automl.forecast.data import Panel
from automl.forecast.metrics import METRICS, panel_metrics
from automl.forecast.model import ForecastModel

MIN_TRAIN = 3


@dataclass
class BacktestResult:
    model: ForecastModel
    val_metrics: dict[str, float]
    test_metrics: dict[str, float]
    fold_metrics: list[dict[str, float]] = field(default_factory=list)
    cutoffs: list[int] = field(default_factory=list)


def fold_offsets(horizon: int, n_folds: int, step: int | None = None) -> list[int]:
    """How many points each fold holds out at the end of the series (test included)."""
    step = step or horizon
    return [2 * horizon + i * step for i in range(n_folds)]


def _score(model: ForecastModel, panel: Panel, held_out: int, horizon: int) -> dict[str, float]:
    """Fit on ``panel`` minus its last ``held_out`` points; score the next ``horizon`` of them."""
    keep = [i for i, n in enumerate(panel.lengths) if n - held_out >= MIN_TRAIN]
    if not keep:
        return {}
    sub = panel.select(keep)
    train = sub.head(held_out)
    model.fit(train)
    actuals = [y[len(y) - held_out : len(y) - held_out + horizon] for y in sub.values]
    forecasts = [fc.mean for fc in model.forecast_arrays()]
    return panel_metrics(actuals, forecasts, train.values, panel.season_length)


def backtest(
    family: str,
    params: dict,
    panel: Panel,
    horizon: int,
    *,
    n_folds: int = 3,
    step: int | None = None,
    random_state: int = 0,
    n_jobs: int = 1,
) -> BacktestResult:
    """Validation (mean over rolling origins) and test metrics of one configuration."""
    fold_metrics, cutoffs = [], []
    for held_out in fold_offsets(horizon, n_folds, step):
        model = ForecastModel(family, params, horizon, random_state, n_jobs)
        scores = _score(model, panel, held_out, horizon)
        if scores:
            fold_metrics.append(scores)
            cutoffs.append(held_out)
    if not fold_metrics:
        raise ValueError(f"no series is long enough to validate a horizon of {horizon}")
    val = {
        name: float(np.nanmean([f[name] for f in fold_metrics]))
        if any(np.isfinite(f[name]) for f in fold_metrics)
        else float("nan")
        for name in METRICS
    }
    model = ForecastModel(family, params, horizon, random_state, n_jobs)
    test = _score(model, panel, horizon, horizon)
    return BacktestResult(model, val, test, fold_metrics, cutoffs)


def fit_final(
    family: str, params: dict, panel: Panel, horizon: int, *, random_state: int = 0, n_jobs: int = 1
) -> ForecastModel:
    """The configuration refit on all data: forecasts start after the last observation."""
    return ForecastModel(family, params, horizon, random_state, n_jobs).fit(panel)
