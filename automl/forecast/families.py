"""The forecasting model families Optuna chooses from: search spaces and strong defaults.

A trial configuration is ``{"family": name, "params": {...}}`` with literal hyperparameters, the
same shape as the tabular engine's, so every trial can be reproduced from its logged params.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import optuna

from automl.core.spec import AutoMLInputError
from automl.forecast.local import ENSEMBLE_MEMBERS

FRAMEWORKS = ("baseline", "statsmodels", "lightgbm")


@dataclass(frozen=True)
class ForecastFamily:
    """One family: its framework (for ``exclude_frameworks``), search space and defaults."""

    name: str
    framework: str
    suggest: Callable[[optuna.Trial, int, int], dict]
    defaults: Callable[[int, int], dict]


def _no_params(trial: optuna.Trial, m: int, horizon: int) -> dict:
    return {}


def _ets(trial: optuna.Trial, m: int, horizon: int) -> dict:
    return {
        "trend": trial.suggest_categorical("ets.trend", ["auto", "none", "add", "add_damped"]),
        "seasonal": trial.suggest_categorical(
            "ets.seasonal", ["auto", "deseasonalize", "none", "add", "mul"]
        ),
    }


def _theta(trial: optuna.Trial, m: int, horizon: int) -> dict:
    return {
        "theta": trial.suggest_float("theta.theta", 1.0, 3.0),
        "deseasonalize": trial.suggest_categorical("theta.deseasonalize", [True, False]),
    }


def _ensemble(trial: optuna.Trial, m: int, horizon: int) -> dict:
    return {"members": trial.suggest_categorical("ensemble.members", list(ENSEMBLE_MEMBERS))}


def _arima(trial: optuna.Trial, m: int, horizon: int) -> dict:
    return {
        "max_p": trial.suggest_int("arima.max_p", 1, 3),
        "max_q": trial.suggest_int("arima.max_q", 1, 3),
        "seasonal": trial.suggest_categorical(
            "arima.seasonal", ["deseasonalize", "sarima", "none"]
        ),
        "criterion": trial.suggest_categorical("arima.criterion", ["aicc", "aic", "bic"]),
    }


def _stl(trial: optuna.Trial, m: int, horizon: int) -> dict:
    return {
        "model": trial.suggest_categorical("stl.model", ["ets", "arima"]),
        "robust": trial.suggest_categorical("stl.robust", [False, True]),
    }


def _lgbm_lags(m: int, horizon: int) -> int:
    return max(2 * m, horizon, 8)


def _lightgbm(trial: optuna.Trial, m: int, horizon: int) -> dict:
    top = max(3 * m, 2 * horizon, 12)
    return {
        "n_lags": trial.suggest_int("lightgbm.n_lags", max(2, min(m, 4)), top),
        "num_leaves": trial.suggest_int("lightgbm.num_leaves", 4, 64, log=True),
        "learning_rate": trial.suggest_float("lightgbm.learning_rate", 0.01, 0.3, log=True),
        "n_estimators": trial.suggest_int("lightgbm.n_estimators", 50, 600, log=True),
        "min_child_samples": trial.suggest_int("lightgbm.min_child_samples", 5, 100, log=True),
        "feature_fraction": trial.suggest_float("lightgbm.feature_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lightgbm.lambda_l2", 1e-3, 10.0, log=True),
        "objective": trial.suggest_categorical("lightgbm.objective", ["l2", "l1"]),
    }


# The order is the portfolio's: with a short budget only the first few defaults are tried, so the
# families most likely to win come first. Seasonal naive is the baseline that runs while the
# workers start. Theta is next: strong on monthly data at a fraction of a second for 50 series,
# a safety net when the budget is too short for anything else. The Theta/ETS/seasonal-naive
# combination follows, the most accurate default on the M3 monthly and Tourism quarterly
# benchmark sets (Theta alone loses to ETS on Tourism) at about 10 times Theta's fit time.
# Naive and drift rarely beat seasonal naive on seasonal data and come last.
FAMILIES: dict[str, ForecastFamily] = {
    f.name: f
    for f in (
        ForecastFamily("seasonal_naive", "baseline", _no_params, lambda m, h: {}),
        ForecastFamily(
            "theta", "statsmodels", _theta, lambda m, h: {"theta": 2.0, "deseasonalize": True}
        ),
        ForecastFamily(
            "ensemble", "statsmodels", _ensemble, lambda m, h: {"members": ENSEMBLE_MEMBERS[0]}
        ),
        ForecastFamily(
            "ets", "statsmodels", _ets, lambda m, h: {"trend": "auto", "seasonal": "deseasonalize"}
        ),
        ForecastFamily(
            "lightgbm",
            "lightgbm",
            _lightgbm,
            lambda m, h: {"n_lags": _lgbm_lags(m, h), "objective": "l1"},
        ),
        ForecastFamily(
            "arima",
            "statsmodels",
            _arima,
            lambda m, h: {"max_p": 2, "max_q": 2, "seasonal": "deseasonalize", "criterion": "aicc"},
        ),
        ForecastFamily("stl", "statsmodels", _stl, lambda m, h: {"model": "ets", "robust": False}),
        ForecastFamily("naive", "baseline", _no_params, lambda m, h: {}),
        ForecastFamily("drift", "baseline", _no_params, lambda m, h: {}),
    )
}


def available_families(exclude_frameworks: list[str] | None, season_length: int) -> list[str]:
    """Family names left after ``exclude_frameworks`` (baselines can never be excluded)."""
    excluded = set()
    for name in exclude_frameworks or []:
        key = str(name).lower()
        if key not in FRAMEWORKS and key not in FAMILIES:
            raise AutoMLInputError(
                f"exclude_frameworks: unknown framework {name!r}; use any of "
                f"{[f for f in FRAMEWORKS if f != 'baseline']} or a family name {sorted(FAMILIES)}"
            )
        excluded.add(key)
    names = [
        f.name
        for f in FAMILIES.values()
        if f.name not in excluded and (f.framework not in excluded or f.framework == "baseline")
    ]
    if season_length < 2:
        names = [n for n in names if n != "stl"]
    return names


def portfolio(names: list[str], season_length: int, horizon: int) -> list[dict]:
    """Strong default configurations, in ``FAMILIES`` order (the likeliest winners first)."""
    return [{"family": n, "params": FAMILIES[n].defaults(season_length, horizon)} for n in names]


def suggest(trial: optuna.Trial, names: list[str], season_length: int, horizon: int) -> dict:
    """Let Optuna pick a family and its hyperparameters (conditional search space)."""
    family = trial.suggest_categorical("family", names)
    return {"family": family, "params": FAMILIES[family].suggest(trial, season_length, horizon)}


def to_optuna_params(config: dict) -> dict:
    """A configuration as the Optuna parameter names (to enqueue the portfolio)."""
    prefixed = {f"{config['family']}.{k}": v for k, v in config["params"].items()}
    return {"family": config["family"], **prefixed}
