"""Bad data gets a clear error naming the column before anything is stored, or an alert that
says what was done (issue 17, items 9 and 11), for tables and series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import automl
import tracking


def _store_is_empty(store) -> bool:
    names = [e.name for e in tracking.TrackingClient(str(store)).search_experiments()]
    return not [n for n in names if n.startswith("automl_")]


def _table(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=n), "y": [0, 1] * (n // 2)})


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            _table().assign(y=[0, "1"] * 20),
            r"target_col 'y': mixes value types \['number', 'str'\]",
        ),
        (_table().head(3).assign(y=[0, 1, 0]), "dataset: 3 rows with a known target; at least"),
        (
            pd.DataFrame({"x": np.arange(400.0), "y": np.repeat(np.arange(200) + 0.5, 2)}),
            "target_col 'y': 200 distinct float values look like a continuous quantity",
        ),
        (_table().assign(y=[0, 1] * 19 + [0, 2]), r"target_col 'y': classes \['2'\] have a single"),
    ],
)
def test_degenerate_targets_are_refused_up_front(tmp_path, frame, message):
    store = tmp_path / "store"
    tracking.set_tracking_uri(str(store))
    with pytest.raises(ValueError, match=message):
        automl.classify(frame, target_col="y", max_trials=1, verbose=False)
    assert _store_is_empty(store)


def test_a_mixed_type_column_is_converted_with_an_alert_naming_it(tmp_path):
    tracking.set_tracking_uri(str(tmp_path / "store"))
    frame = _table()
    frame["odd"] = [1, "a", b"b", (1, 2)] * 10
    summary = automl.classify(frame, target_col="y", max_trials=1, verbose=False, n_jobs=1)
    alerts = [a for a in summary.alerts if a["kind"] == "mixed_types"]
    assert alerts and alerts[0]["column"] == "odd" and "converted to text" in alerts[0]["message"]
    assert summary.trials  # the search ran on the converted column


def test_few_rows_alert_does_not_name_a_split_col_nobody_gave(tmp_path):
    tracking.set_tracking_uri(str(tmp_path / "store"))
    summary = automl.classify(_table(12), target_col="y", max_trials=1, verbose=False, n_jobs=1)
    messages = " ".join(a["message"] for a in summary.alerts)
    assert "split_col None" not in messages


def _series(values) -> pd.DataFrame:
    dates = pd.date_range("2020-01-01", periods=len(values), freq="D")
    return pd.DataFrame({"date": dates, "sales": values})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1.0, 2.0, np.inf] + [1.0] * 27, "target_col 'sales': contains 1 infinite value"),
        ([1.0, 2.0, 3.0], "no series is long enough for horizon=1: the longest has 3 points"),
    ],
)
def test_forecast_refuses_inf_and_too_short_series(tmp_path, values, message):
    store = tmp_path / "store"
    tracking.set_tracking_uri(str(store))
    with pytest.raises(ValueError, match=message):
        automl.forecast(_series(values), target_col="sales", time_col="date", verbose=False)
    assert _store_is_empty(store)
