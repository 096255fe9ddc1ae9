"""Forecast accuracy metrics with the M3/M4 competition definitions.

Each metric is computed per series and averaged over series (as in the competitions):
sMAPE = mean(200 |y - f| / (|y| + |f|)); MASE = MAE / in-sample MAE of the seasonal naive
forecast (lag ``m``; lag 1 when the history is shorter than ``m + 1``); MAPE and MdAPE are in
percent and skip zero actuals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from automl.core.spec import AutoMLInputError

METRICS = ("smape", "mase", "mae", "rmse", "mse", "mape", "mdape")
GREATER_IS_BETTER = dict.fromkeys(METRICS, False)


def _smape(y: np.ndarray, f: np.ndarray) -> float:
    denom = np.abs(y) + np.abs(f)
    ratio = np.divide(2 * np.abs(y - f), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * ratio.mean())


def _ape(y: np.ndarray, f: np.ndarray) -> np.ndarray:
    nz = y != 0
    return 100 * np.abs((y[nz] - f[nz]) / y[nz])


def mase_scale(history: np.ndarray, season_length: int) -> float:
    """In-sample MAE of the seasonal naive forecast (the MASE denominator)."""
    m = season_length if len(history) > season_length else 1
    if len(history) <= m:
        return float("nan")
    return float(np.mean(np.abs(history[m:] - history[:-m])))


def series_metrics(
    y: np.ndarray, f: np.ndarray, history: np.ndarray, season_length: int
) -> dict[str, float]:
    """All metrics for one series' forecast ``f`` of actuals ``y``."""
    y = np.asarray(y, dtype=float)
    f = np.asarray(f, dtype=float)
    err = y - f
    mae = float(np.mean(np.abs(err)))
    mse = float(np.mean(err**2))
    scale = mase_scale(np.asarray(history, dtype=float), season_length)
    ape = _ape(y, f)
    return {
        "smape": _smape(y, f),
        "mase": mae / scale if scale and np.isfinite(scale) and scale > 0 else float("nan"),
        "mae": mae,
        "rmse": float(np.sqrt(mse)),
        "mse": mse,
        "mape": float(ape.mean()) if ape.size else float("nan"),
        "mdape": float(np.median(ape)) if ape.size else float("nan"),
    }


def panel_metrics(
    actuals: Sequence[np.ndarray],
    forecasts: Sequence[np.ndarray],
    histories: Sequence[np.ndarray],
    season_length: int,
) -> dict[str, float]:
    """Metrics averaged over series (NaNs, e.g. MASE of a constant history, are skipped)."""
    rows = [
        series_metrics(y, f, h, season_length)
        for y, f, h in zip(actuals, forecasts, histories, strict=True)
    ]
    out = {}
    for name in METRICS:
        vals = np.array([r[name] for r in rows], dtype=float)
        vals = vals[np.isfinite(vals)]
        out[name] = float(vals.mean()) if vals.size else float("nan")
    return out


def check_metric(primary_metric: str) -> str:
    """Validate ``primary_metric`` (case-insensitive)."""
    name = str(primary_metric).lower()
    if name not in METRICS:
        raise AutoMLInputError(f"primary_metric {primary_metric!r} is not one of {list(METRICS)}")
    return name
