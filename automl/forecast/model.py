"""``ForecastModel``: one family + hyperparameters fitted on every series of a panel.

It keeps the histories it was fitted on and the forecasts for ``horizon`` steps, pickles with
joblib, and predicts either the next ``horizon`` steps of every series (``predict()``) or the rows
of a frame of future timestamps (``predict(df)``), returning time, identity columns, ``yhat``,
``yhat_lower`` and ``yhat_upper`` (95% interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl.forecast.data import Panel
from automl.forecast.frequency import Frequency
from automl.forecast.local import LocalForecast, fit_forecast

LOCAL_FAMILIES = ("naive", "seasonal_naive", "drift", "ets", "theta", "ensemble", "arima", "stl")
GLOBAL_FAMILIES = ("lightgbm",)


def _local_chunk(family: str, params: dict, chunk: list[np.ndarray], m: int, h: int) -> list:
    return [fit_forecast(family, params, y, m, h) for y in chunk]


def forecast_local(
    family: str, params: dict, values: list[np.ndarray], m: int, h: int, n_jobs: int = 1
) -> list[LocalForecast]:
    """Fit-and-forecast every series, in ``n_jobs`` processes when that pays off."""
    cheap = family in ("naive", "seasonal_naive", "drift")
    if n_jobs <= 1 or cheap or len(values) < 8:
        return _local_chunk(family, params, values, m, h)
    from joblib import Parallel, delayed

    n_chunks = min(len(values), 4 * n_jobs)
    bounds = np.linspace(0, len(values), n_chunks + 1).astype(int)
    chunks = [values[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    results = Parallel(n_jobs=n_jobs, backend="loky")(
        delayed(_local_chunk)(family, params, chunk, m, h) for chunk in chunks
    )
    return [fc for part in results for fc in part]


class ForecastModel:
    """A forecasting model over many series (sklearn-style: ``fit(panel)`` then ``predict``)."""

    def __init__(
        self, family: str, params: dict | None = None, horizon: int = 1, random_state: int = 0,
        n_jobs: int = 1,
    ):  # fmt: skip
        if family not in LOCAL_FAMILIES + GLOBAL_FAMILIES:
            raise ValueError(f"unknown forecasting family {family!r}")
        self.family = family
        self.params = dict(params or {})
        self.horizon = int(horizon)
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, panel: Panel) -> ForecastModel:
        """Fit on every series of ``panel`` and forecast ``horizon`` steps past each history."""
        self.freq_: Frequency = panel.freq
        self.keys_ = list(panel.keys)
        self.values_ = [np.asarray(v, float) for v in panel.values]
        self.starts_ = np.asarray(panel.starts, dtype=np.int64)
        self.time_col_ = panel.time_col
        self.target_col_ = panel.target_col
        self.identity_cols_ = list(panel.identity_cols)
        self.prep_ = dict(panel.prep)
        if self.family in GLOBAL_FAMILIES:
            from automl.forecast.gbm import GlobalLGBM

            self.global_ = GlobalLGBM(self.params, self.freq_, self.random_state, self.n_jobs)
            self.global_.fit(self.values_, self.starts_)
        self.forecasts_ = self._forecast(list(range(len(self.keys_))), self.horizon)
        self.n_fallback_ = int(sum(fc.fallback for fc in self.forecasts_))
        return self

    @property
    def season_length(self) -> int:
        return self.freq_.season_length

    def _forecast(self, indices: list[int], h: int) -> list[LocalForecast]:
        values = [self.values_[i] for i in indices]
        if self.family in GLOBAL_FAMILIES:
            return self.global_.forecast(values, self.starts_[indices], h)
        return forecast_local(self.family, self.params, values, self.season_length, h, self.n_jobs)

    def _series_forecast(self, i: int, steps: int) -> LocalForecast:
        if steps <= self.horizon:
            return self.forecasts_[i]
        return self._forecast([i], steps)[0]

    def predict(self, df: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecasts for the next ``horizon`` steps of every series, or for ``df``'s rows.

        ``df`` needs the time column and the identity columns; its timestamps must lie after
        the end of their series' history.
        """
        if df is None:
            rows = [(i, s) for i in range(len(self.keys_)) for s in range(1, self.horizon + 1)]
            times = None
        else:
            rows, times = self._rows_for(df)
        by_series: dict[int, int] = {}
        for i, s in rows:
            by_series[i] = max(by_series.get(i, 0), s)
        cache = {i: self._series_forecast(i, s) for i, s in by_series.items()}
        yhat = np.array([cache[i].mean[s - 1] for i, s in rows], dtype=float)
        lower = np.array([cache[i].lower[s - 1] for i, s in rows], dtype=float)
        upper = np.array([cache[i].upper[s - 1] for i, s in rows], dtype=float)
        if times is None:
            ends = np.array([self.starts_[i] + len(self.values_[i]) - 1 + s for i, s in rows])
            times = self.freq_.from_ordinal(ends) if len(rows) else pd.DatetimeIndex([])
        out = {self.time_col_: times}
        for j, col in enumerate(self.identity_cols_):
            out[col] = [self.keys_[i][j] for i, _ in rows]
        out.update({"yhat": yhat, "yhat_lower": lower, "yhat_upper": upper})
        return pd.DataFrame(out, index=None if df is None else df.index)

    def _rows_for(self, df: pd.DataFrame) -> tuple[list[tuple[int, int]], np.ndarray]:
        if not isinstance(df, pd.DataFrame):
            raise TypeError(
                f"predict expects a DataFrame of future timestamps, got {type(df).__name__}"
            )
        missing = [c for c in [self.time_col_, *self.identity_cols_] if c not in df.columns]
        if missing:
            raise ValueError(f"predict: input is missing column(s) {missing}")
        try:
            times = pd.to_datetime(df[self.time_col_], format="mixed")
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"predict: column {self.time_col_!r} does not parse as dates ({exc})"
            ) from None
        if times.isna().any():
            raise ValueError(f"predict: column {self.time_col_!r} has missing timestamps")
        ordinals = self.freq_.ordinal(self.freq_.to_periods(times))
        index = {k: i for i, k in enumerate(self.keys_)}
        ids = (
            list(zip(*(df[c].tolist() for c in self.identity_cols_), strict=True))
            if self.identity_cols_
            else [()] * len(df)
        )
        rows = []
        for key, ordinal in zip(ids, ordinals, strict=True):
            if key not in index:
                raise ValueError(
                    f"predict: unknown series {dict(zip(self.identity_cols_, key, strict=True))}"
                )
            i = index[key]
            step = int(ordinal - (self.starts_[i] + len(self.values_[i]) - 1))
            if step < 1:
                raise ValueError(
                    f"predict: timestamp {times.iloc[len(rows)]} is not after the end of the "
                    f"history of series {dict(zip(self.identity_cols_, key, strict=True)) or 'the series'}"
                )
            rows.append((i, step))
        return rows, df[self.time_col_].to_numpy()

    def forecast_arrays(self) -> list[LocalForecast]:
        """The ``horizon``-step forecasts, in series order (what the metrics are computed on)."""
        return list(self.forecasts_)
