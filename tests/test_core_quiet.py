"""With verbose=False, a search prints nothing the user did not ask for."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

import automl
import tracking


def test_forecast_and_regress_are_silent_when_not_verbose(tmp_path, capsys, caplog):
    tracking.set_tracking_uri(str(tmp_path / "store"))
    dates = pd.date_range("2020-01-01", periods=40, freq="D")
    series = pd.DataFrame({"date": dates, "sales": np.arange(40.0) % 7 + 1})
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=60)})
    table["y"] = table["x"] * 2 + rng.normal(size=60)
    caplog.set_level(logging.INFO, logger="optuna")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        automl.forecast(series, target_col="sales", time_col="date", max_trials=1, verbose=False)
        automl.regress(table, target_col="y", max_trials=1, verbose=False, n_jobs=1)
    captured = capsys.readouterr()
    assert "A new study created" not in captured.err + captured.out + caplog.text
    assert not [w for w in caught if "friedman_mse" in str(w.message)]
