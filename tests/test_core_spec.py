"""The search spec: every shared argument is checked once, up front, for tables and series
alike; each error names the argument and nothing is stored."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import automl
import tracking


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=40), "y": [0, 1] * 20})


def _series() -> pd.DataFrame:
    dates = pd.date_range("2020-01-01", periods=30, freq="D")
    return pd.DataFrame({"date": dates, "sales": np.arange(30.0) % 7})


SHARED_CASES = [
    ({"timeout_minutes": 0}, "timeout_minutes: must be a positive"),
    ({"timeout_minutes": -1.5}, "timeout_minutes: must be a positive"),
    ({"timeout_minutes": float("inf")}, "timeout_minutes: must be a positive"),
    ({"max_trials": 0}, "max_trials: must be a positive integer"),
    ({"max_trials": 2.5}, "max_trials: must be a positive integer"),
    ({"n_jobs": -5}, r"n_jobs: must be a positive integer or -1"),
    ({"seed": "abc"}, "seed: must be a non-negative integer, got 'abc'"),
    ({"experiment_name": ""}, "experiment_name: must be a non-blank string"),
    ({"register_model_name": "a/b"}, "register_model_name: cannot contain '/'"),
    ({"register_model_name": "  "}, "register_model_name: must be a non-blank string"),
    ({"verbose": "yes"}, "verbose: must be True or False"),
]


def _store_is_empty(store) -> bool:
    names = [e.name for e in tracking.TrackingClient(str(store)).search_experiments()]
    return not [n for n in names if n.startswith("automl_")]


@pytest.mark.parametrize(("kwargs", "message"), SHARED_CASES)
def test_classify_refuses_bad_shared_arguments_before_storing(tmp_path, kwargs, message):
    store = tmp_path / "store"
    tracking.set_tracking_uri(str(store))
    with pytest.raises(automl.tabular.data.AutoMLInputError, match=message):
        automl.classify(_table(), target_col="y", **{"max_trials": 1, "verbose": False, **kwargs})
    assert _store_is_empty(store)


@pytest.mark.parametrize(("kwargs", "message"), SHARED_CASES)
def test_forecast_gets_the_same_checks(tmp_path, kwargs, message):
    store = tmp_path / "store"
    tracking.set_tracking_uri(str(store))
    with pytest.raises(ValueError, match=message):
        automl.forecast(
            _series(), target_col="sales", time_col="date",
            **{"max_trials": 1, "verbose": False, **kwargs},
        )  # fmt: skip
    assert _store_is_empty(store)
