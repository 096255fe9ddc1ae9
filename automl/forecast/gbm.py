"""LightGBM as one global model over all series, forecasting recursively.

Each training row is a point of some series described by its previous ``n_lags`` values and
rolling means, all divided by the mean of the last ``norm_window`` values (so series of any scale
and level share one model), plus its position in the season and calendar month. The target is the
point divided by the same level. Forecasts feed their own predictions back as lags. Intervals come
from the pooled quantiles of the in-sample normalised residuals, widened with sqrt(step): they are
approximate.
"""

from __future__ import annotations

import numpy as np

from automl.forecast.frequency import Frequency
from automl.forecast.local import LocalForecast, baseline

DEFAULT_PARAMS = {
    "n_lags": 24,
    "num_leaves": 31,
    "learning_rate": 0.05,
    "n_estimators": 300,
    "min_child_samples": 20,
    "feature_fraction": 0.9,
    "lambda_l2": 0.0,
    "objective": "l2",
    "max_samples_per_series": 200,
}


class GlobalLGBM:
    """A fitted global LightGBM forecaster over a panel's histories."""

    def __init__(self, params: dict, freq: Frequency, random_state: int = 0, n_threads: int = 1):
        self.params = {**DEFAULT_PARAMS, **params}
        self.freq = freq
        self.random_state = random_state
        self.n_threads = n_threads

    @property
    def n_lags(self) -> int:
        """The lags in use: ``params["n_lags"]``, capped by the histories at ``fit``."""
        return int(getattr(self, "n_lags_", self.params["n_lags"]))

    @staticmethod
    def usable_lags(requested: int, lengths: list[int]) -> int:
        """``requested`` capped so that at least half of the series are longer than it.

        A series no longer than the lags gives no training row and is forecast by the baseline;
        when the lags exceed every history (short series, or early backtest cutoffs) the model
        would have nothing to learn from. Fewer lags degrade it gracefully instead.
        """
        if not lengths:
            return requested
        return max(2, min(requested, int(np.median(lengths)) - 1))

    @property
    def windows(self) -> list[int]:
        """Rolling-mean widths: 3, one season and two, those shorter than the lags."""
        m = self.freq.season_length
        return sorted({w for w in (3, m, 2 * m) if 1 < w <= self.n_lags})

    @property
    def norm_window(self) -> int:
        """The recent values whose mean scales a row: one season (4 without seasons)."""
        m = self.freq.season_length
        return max(1, min(m if m > 1 else 4, self.n_lags))

    def _features(self, lagmat: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the last ``n_lags`` values (oldest first) -> (features, level)."""
        level = np.abs(lagmat[:, -self.norm_window :]).mean(axis=1)
        level = np.where(level > 0, level, 1.0)
        norm = lagmat / level[:, None]
        cols = [norm[:, ::-1]]
        for w in self.windows:
            cols.append(norm[:, -w:].mean(axis=1, keepdims=True))
        cols.append(norm[:, -self.norm_window :].std(axis=1, keepdims=True))
        cols.append((positions % max(self.freq.season_length, 1))[:, None].astype(float))
        months = self.freq.from_ordinal(positions).month.to_numpy()
        cols.append(months[:, None].astype(float))
        return np.hstack(cols), level

    def fit(self, values: list[np.ndarray], starts: np.ndarray) -> GlobalLGBM:
        import lightgbm as lgb

        self.n_lags_ = self.usable_lags(int(self.params["n_lags"]), [len(y) for y in values])
        L = self.n_lags
        cap = int(self.params["max_samples_per_series"])
        X_parts, y_parts = [], []
        for y, start in zip(values, starts, strict=True):
            if len(y) <= L:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(y, L + 1)[-cap:]
            positions = start + L + np.arange(len(y) - L)[-cap:]
            X, level = self._features(windows[:, :L], positions)
            X_parts.append(X)
            y_parts.append(windows[:, L] / level)
        if not X_parts:
            raise ValueError(f"no series is longer than n_lags={L}")
        X = np.vstack(X_parts)
        target = np.concatenate(y_parts)
        lgb_params = {
            "objective": self.params["objective"],
            "num_leaves": int(self.params["num_leaves"]),
            "learning_rate": float(self.params["learning_rate"]),
            "min_child_samples": int(self.params["min_child_samples"]),
            "feature_fraction": float(self.params["feature_fraction"]),
            "lambda_l2": float(self.params["lambda_l2"]),
            "num_threads": self.n_threads,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }
        self.booster_ = lgb.train(
            lgb_params, lgb.Dataset(X, target), num_boost_round=int(self.params["n_estimators"])
        )
        resid = target - self.booster_.predict(X, num_threads=self.n_threads)
        self.resid_q_ = np.quantile(resid, [0.025, 0.975])
        return self

    def forecast(self, values: list[np.ndarray], starts: np.ndarray, h: int) -> list[LocalForecast]:
        """Recursive ``h``-step forecasts for each history (baseline for too-short ones)."""
        L = self.n_lags
        out: list[LocalForecast | None] = [None] * len(values)
        long_idx = [i for i, y in enumerate(values) if len(y) >= L]
        for i, y in enumerate(values):
            if len(y) < L:
                fc = baseline(np.asarray(y, float), h, self.freq.season_length)
                fc.fallback = True
                out[i] = fc
        if long_idx:
            hist = np.vstack([np.asarray(values[i][-L:], float) for i in long_idx])
            ends = np.array([starts[i] + len(values[i]) for i in long_idx])
            preds = np.empty((len(long_idx), h))
            levels = np.empty((len(long_idx), h))
            for k in range(h):
                X, level = self._features(hist, ends + k)
                yhat = self.booster_.predict(X, num_threads=self.n_threads) * level
                preds[:, k] = yhat
                levels[:, k] = level
                hist = np.hstack([hist[:, 1:], yhat[:, None]])
            widen = np.sqrt(np.arange(1, h + 1))
            for row, i in enumerate(long_idx):
                lo = preds[row] + self.resid_q_[0] * levels[row] * widen
                hi = preds[row] + self.resid_q_[1] * levels[row] * widen
                out[i] = LocalForecast(preds[row], lo, hi)
        return out  # type: ignore[return-value]
