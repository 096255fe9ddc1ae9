"""Forecasting core without tracking: frequencies, data prep, metrics, families, backtest, model."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from automl.forecast import ForecastModel, prepare_panel
from automl.forecast.backtest import backtest, fold_offsets
from automl.forecast.frequency import infer_frequency, parse_frequency, resolve_frequency
from automl.forecast.metrics import panel_metrics, series_metrics


def _airline_like(n: int = 96, seed: int = 0) -> np.ndarray:
    """Trend x multiplicative yearly season, as in the classic airline passengers series."""
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return (100 + 2.0 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) * rng.normal(1, 0.01, n)


def _multi_series(n_series: int = 3, n: int = 72) -> pd.DataFrame:
    frames = []
    for k in range(n_series):
        frames.append(
            pd.DataFrame(
                {
                    "store": f"s{k}",
                    "region": "north" if k % 2 else "south",
                    "date": pd.date_range("2015-01-01", periods=n, freq="MS"),
                    "sales": _airline_like(n, seed=k) * (k + 1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def co2() -> pd.DataFrame:
    """statsmodels' weekly Mauna Loa CO2, 1958-1967 (real data with gaps)."""
    import statsmodels.api as sm

    data = sm.datasets.co2.load_pandas().data
    data = data.loc["1958":"1967"].reset_index().rename(columns={"index": "date"})
    return data


# -- frequency --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "unit", "multiple", "season"),
    [("D", "D", 1, 7), ("day", "D", 1, 7), ("MS", "M", 1, 12), ("month", "M", 1, 12),
     ("Q", "Q", 1, 4), ("quarterly", "Q", 1, 4), ("Y", "Y", 1, 1), ("hour", "h", 1, 24),
     ("15min", "min", 15, 4), ("W-SAT", "W", 1, 52), ("week", "W", 1, 52)],
)  # fmt: skip
def test_parse_frequency_aliases_and_words(text, unit, multiple, season):
    freq = parse_frequency(text)
    assert (freq.unit, freq.multiple, freq.season_length) == (unit, multiple, season)


def test_parse_frequency_rejects_nonsense():
    with pytest.raises(ValueError, match="frequency='fortnightly-ish'"):
        parse_frequency("fortnightly-ish")


@pytest.mark.parametrize(
    ("pandas_freq", "unit", "anchor"),
    [("MS", "M", "start"), ("ME", "M", "end"), ("QS", "Q", "start"), ("D", "D", "start"),
     ("W-SAT", "W", "end"), ("h", "h", "start"), ("YE", "Y", "end"), ("B", "B", "start")],
)  # fmt: skip
def test_infer_frequency_round_trips_timestamps(pandas_freq, unit, anchor):
    times = pd.date_range("2020-01-01", periods=30, freq=pandas_freq)
    freq = infer_frequency([times])
    assert (freq.unit, freq.anchor) == (unit, anchor)
    ordinals = freq.ordinal(freq.to_periods(times))
    assert np.array_equal(np.diff(ordinals), np.ones(29))
    assert list(freq.from_ordinal(ordinals)) == list(times)


def test_frequency_contradicting_timestamps_is_an_error():
    daily = pd.date_range("2020-01-01", periods=60, freq="D")
    with pytest.raises(
        ValueError, match="frequency='M' contradicts the timestamps in time_col 'date'"
    ):
        resolve_frequency("M", [daily], "date")
    assert (
        resolve_frequency("month", [pd.date_range("2020-01-31", periods=5, freq="ME")], "d").anchor
        == "end"
    )


# -- data prep --------------------------------------------------------------------------------
def test_prepare_fills_gaps_and_aggregates_duplicates(co2):
    panel, alerts = prepare_panel(co2, target_col="co2", time_col="date", horizon=8)
    kinds = {a["kind"] for a in alerts}
    assert panel.freq.alias == "W-SAT" and panel.season_length == 52
    assert "missing_timestamps" in kinds and panel.prep["n_filled"] > 0
    assert not np.isnan(panel.values[0]).any()
    observed = co2.dropna()
    expected_weeks = (observed["date"].max() - observed["date"].min()).days // 7 + 1
    assert len(panel.values[0]) == expected_weeks
    assert panel.prep["n_filled"] == expected_weeks - len(observed)

    dup = pd.DataFrame({"t": ["2020-01-01", "2020-01-01", "2020-01-02"] + [f"2020-01-{d:02d}" for d in range(3, 20)],
                        "y": [1.0, 3.0] + list(range(18))})  # fmt: skip
    panel, alerts = prepare_panel(dup, target_col="y", time_col="t", horizon=2)
    assert panel.values[0][0] == 2.0
    assert any(a["kind"] == "duplicate_timestamps" for a in alerts)


def test_prepare_identity_list_builds_one_series_per_combination():
    df = _multi_series(4)
    panel, _ = prepare_panel(
        df, target_col="sales", time_col="date", horizon=6, identity_col=["region", "store"]
    )
    assert len(panel) == 4
    assert panel.keys[0] == ("north", "s1")
    assert panel.identity_cols == ["region", "store"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"horizon": 0}, "horizon: must be a positive integer"),
     ({"horizon": -3}, "horizon: must be a positive integer"),
     ({"time_col": "nope"}, "time_col 'nope' is not a column"),
     ({"target_col": "label"}, "target_col 'label' must be numeric"),
     ({"frequency": "D"}, "frequency='D' contradicts"),
     ({"horizon": 40}, "no series is long enough for horizon=40")],
)  # fmt: skip
def test_prepare_bad_inputs_raise_clear_errors(kwargs, message):
    df = _multi_series(1, n=60)
    df["label"] = "x"
    args = {"target_col": "sales", "time_col": "date", "horizon": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        prepare_panel(df, **args)


def test_unparseable_time_col_names_the_column():
    df = pd.DataFrame({"when": ["yesterday", "today", "tomorrow"] * 5, "y": range(15)})
    with pytest.raises(ValueError, match="time_col 'when' does not parse as dates"):
        prepare_panel(df, target_col="y", time_col="when", horizon=1)


def test_short_series_get_baseline_with_alert():
    df = _multi_series(2, n=72)
    short = df[(df["store"] == "s1")].head(10)
    df = pd.concat([df[df["store"] == "s0"], short])
    panel, alerts = prepare_panel(
        df, target_col="sales", time_col="date", horizon=4, identity_col="store"
    )
    assert any(a["kind"] == "short_series" for a in alerts)
    model = ForecastModel("ets", {"trend": "auto", "seasonal": "none"}, horizon=4)
    model.fit(panel.head(4))  # the short series keeps 6 points
    assert model.n_fallback_ == 1
    out = model.predict()
    assert len(out) == 8 and out["yhat"].notna().all()
    y = panel.values[1]
    assert np.allclose(out["yhat"].iloc[4:], y[-5])  # naive (no full season known)


# -- metrics ----------------------------------------------------------------------------------
def test_metrics_match_competition_definitions():
    y = np.array([100.0, 200.0, 0.0])
    f = np.array([110.0, 180.0, 10.0])
    history = np.array([10.0, 20.0, 15.0, 25.0])
    m = series_metrics(y, f, history, season_length=1)
    assert m["smape"] == pytest.approx(100 * (20 / 210 + 40 / 380 + 2) / 3)
    assert m["mase"] == pytest.approx(np.mean([10, 20, 10]) / np.mean([10, 5, 10]))
    assert m["mape"] == pytest.approx((10 + 10) / 2)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean([100, 400, 100])))
    # mean over series, not over pooled points
    pm = panel_metrics([y[:1], y[1:2]], [f[:1], f[1:2]], [history, history], 1)
    assert pm["mae"] == pytest.approx(15.0)


# -- families, backtest, model ----------------------------------------------------------------
@pytest.fixture(scope="module")
def panel():
    df = _multi_series(2, n=60)
    panel, _ = prepare_panel(
        df, target_col="sales", time_col="date", horizon=6, identity_col="store"
    )
    return panel


@pytest.mark.parametrize(
    ("family", "params"),
    [("naive", {}), ("seasonal_naive", {}), ("drift", {}),
     ("ets", {"trend": "add_damped", "seasonal": "mul"}), ("ets", {"trend": "auto", "seasonal": "deseasonalize"}),
     ("theta", {"theta": 2.0, "deseasonalize": True}), ("ensemble", {"members": "theta+ets+snaive"}),
     ("arima", {"max_p": 1, "max_q": 1, "seasonal": "deseasonalize", "criterion": "aicc"}),
     ("stl", {"model": "ets", "robust": False}), ("stl", {"model": "ets", "robust": True}),
     ("lightgbm", {"n_lags": 24, "n_estimators": 60, "num_leaves": 8, "min_child_samples": 5})],
)  # fmt: skip
def test_each_family_fits_and_predicts_with_intervals(panel, family, params):
    model = ForecastModel(family, params, horizon=6).fit(panel.head(6))
    assert model.n_fallback_ == 0
    out = model.predict()
    assert list(out.columns) == ["date", "store", "yhat", "yhat_lower", "yhat_upper"]
    assert len(out) == 12 and out["yhat"].notna().all()
    assert (out["yhat_lower"] <= out["yhat"] + 1e-9).all() and (
        out["yhat"] <= out["yhat_upper"] + 1e-9
    ).all()
    assert out["date"].iloc[0] == pd.Timestamp("2019-07-01")  # right after the fitted history
    actual = np.concatenate([v[-6:] for v in panel.values])
    smape = np.mean(200 * np.abs(actual - out["yhat"]) / (np.abs(actual) + np.abs(out["yhat"])))
    assert smape < 40  # every family tracks a clean seasonal series


def test_seasonal_models_beat_naive_on_seasonal_data(panel):
    naive = backtest("naive", {}, panel, 6)
    theta = backtest("theta", {"theta": 2.0, "deseasonalize": True}, panel, 6)
    assert theta.val_metrics["smape"] < 0.6 * naive.val_metrics["smape"]


def test_backtest_uses_rolling_origins_and_holds_out_the_test_part(panel):
    assert fold_offsets(6, 3) == [12, 18, 24]
    result = backtest("naive", {}, panel, 6, n_folds=3)
    assert result.cutoffs == [12, 18, 24]
    # naive forecasts are the last observed value: recompute the folds by hand
    smapes = []
    for held_out in (12, 18, 24):
        per = []
        for y in panel.values:
            last = y[len(y) - held_out - 1]
            actual = y[len(y) - held_out : len(y) - held_out + 6]
            per.append(np.mean(200 * np.abs(actual - last) / (np.abs(actual) + abs(last))))
        smapes.append(np.mean(per))
    assert result.val_metrics["smape"] == pytest.approx(np.mean(smapes))
    test = [
        np.mean(200 * np.abs(y[-6:] - y[-7]) / (np.abs(y[-6:]) + abs(y[-7]))) for y in panel.values
    ]
    assert result.test_metrics["smape"] == pytest.approx(np.mean(test))
    # the returned model never saw the test part
    assert all(
        len(v) == len(p) - 6 for v, p in zip(result.model.values_, panel.values, strict=True)
    )


def test_predict_future_frame_and_pickle(panel):
    model = ForecastModel("seasonal_naive", horizon=6).fit(panel)
    restored = pickle.loads(pickle.dumps(model))
    future = pd.DataFrame({"store": ["s1", "s0"], "date": ["2020-01-01", "2021-06-01"]})
    out = restored.predict(future)
    y1, y0 = panel.values[1], panel.values[0]
    assert out["yhat"].iloc[0] == pytest.approx(y1[-12])  # Jan 2020 = same month of last year
    assert out["yhat"].iloc[1] == pytest.approx(y0[-7])  # 18 steps ahead, beyond the horizon
    with pytest.raises(ValueError, match="unknown series"):
        restored.predict(pd.DataFrame({"store": ["zz"], "date": ["2021-01-01"]}))
    with pytest.raises(ValueError, match="not after the end of the history"):
        restored.predict(pd.DataFrame({"store": ["s0"], "date": ["2018-01-01"]}))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['store'\]"):
        restored.predict(pd.DataFrame({"date": ["2021-01-01"]}))


def test_per_series_fits_run_in_parallel_processes_with_identical_results():
    df = _multi_series(8, n=40)
    panel, _ = prepare_panel(
        df, target_col="sales", time_col="date", horizon=4, identity_col="store"
    )
    serial = ForecastModel("theta", {"theta": 2.0}, horizon=4, n_jobs=1).fit(panel).predict()
    parallel = ForecastModel("theta", {"theta": 2.0}, horizon=4, n_jobs=2).fit(panel).predict()
    pd.testing.assert_frame_equal(serial, parallel)


def test_exclude_frameworks_keeps_the_baselines():
    from automl.forecast.families import available_families, portfolio

    names = available_families(["statsmodels", "lightgbm"], season_length=12)
    assert names == ["seasonal_naive", "naive", "drift"]
    assert "stl" not in available_families(None, season_length=1)
    assert portfolio(["theta"], 12, 6) == [
        {"family": "theta", "params": {"theta": 2.0, "deseasonalize": True}}
    ]


def test_lightgbm_caps_its_lags_by_the_histories_instead_of_failing():
    # 30 points per series: 36 lags exceed every history, yet the model fits and forecasts
    df = _multi_series(3, n=30)
    panel, _ = prepare_panel(
        df, target_col="sales", time_col="date", horizon=6, identity_col="store"
    )
    params = {"n_lags": 36, "n_estimators": 30, "num_leaves": 4, "min_child_samples": 5}
    model = ForecastModel("lightgbm", params, horizon=6).fit(panel)
    assert model.global_.n_lags == 29 and model.n_fallback_ == 0
    assert model.predict()["yhat"].notna().all()
    # a fitted model keeps its capped lags through pickling (what the registry stores)
    assert pickle.loads(pickle.dumps(model)).global_.n_lags == 29


def test_heuristic_ets_start_matches_the_estimated_one_and_covers_short_series():
    from automl.forecast.local import ets

    y = _airline_like(72)
    fast = ets(y, 12, 12, trend="add_damped", seasonal="mul", init="heuristic")
    slow = ets(y, 12, 12, trend="add_damped", seasonal="mul", init="estimated")
    assert np.max(np.abs(fast.mean / slow.mean - 1)) < 0.05
    # 14 points are too few for the heuristic seasonal start: the states are estimated instead
    short = ets(y[:14], 4, 4, trend="add_damped", seasonal="add", init="heuristic")
    assert np.all(np.isfinite(short.mean))


def test_portfolio_tries_the_likeliest_winners_first():
    from automl.forecast.families import available_families, portfolio

    names = available_families(None, season_length=12)
    assert [c["family"] for c in portfolio(names, 12, 18)][:3] == [
        "seasonal_naive", "theta", "ensemble",
    ]  # fmt: skip
