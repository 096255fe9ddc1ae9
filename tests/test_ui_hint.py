"""A verbose search ends by saying how to open its experiment in ``automl ui``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris

import automl
import tracking


def test_a_verbose_search_ends_with_the_ui_command_and_the_experiment_link(capsys):
    summary = automl.classify(
        load_iris(as_frame=True).frame,
        target_col="target",
        max_trials=1,
        experiment_name="hinted",
        verbose=True,
    )
    out = capsys.readouterr().out
    assert f"automl ui --tracking-uri {tracking.get_tracking_uri()}" in out
    assert out.rstrip().endswith(f"/experiments/{summary.experiment.experiment_id}")


def test_a_quiet_search_prints_no_hint(capsys):
    automl.regress(
        load_iris(as_frame=True).frame.drop(columns="target"),
        target_col="petal width (cm)",
        max_trials=1,
        experiment_name="quiet",
        verbose=False,
    )
    assert "automl ui" not in capsys.readouterr().out


def test_a_verbose_forecast_ends_with_the_ui_command_too(capsys):
    dates = pd.date_range("2020-01-01", periods=40, freq="D")
    series = pd.DataFrame({"date": dates, "sales": np.arange(40.0) % 7 + 1})
    summary = automl.forecast(series, target_col="sales", time_col="date", max_trials=1)
    out = capsys.readouterr().out
    assert f"automl ui --tracking-uri {tracking.get_tracking_uri()}" in out
    assert out.rstrip().endswith(f"/experiments/{summary.experiment.experiment_id}")
