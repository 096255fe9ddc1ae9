"""automl.forecast end to end on a tiny budget: tracked trials, registered winner, CLI, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import registry
import tracking
from automl.cli import main as cli_main
from automl.forecast import forecast


def _frame(n_series: int = 2, n: int = 48) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frames = []
    for k in range(n_series):
        t = np.arange(n)
        y = (50 + 10 * k + 0.8 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 1, n)
        frames.append(
            pd.DataFrame(
                {
                    "shop": f"shop{k}",
                    "date": pd.date_range("2018-01-31", periods=n, freq="ME"),
                    "sales": y,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    """One small search shared by the assertions below (its store lives in its own folder)."""
    store = tmp_path_factory.mktemp("forecast-store")
    tracking.set_tracking_uri(str(store))
    try:
        result = forecast(
            _frame(),
            target_col="sales",
            time_col="date",
            identity_col="shop",
            horizon=4,
            max_trials=3,
            timeout_minutes=3,
            experiment_name="fc_e2e",
            n_jobs=1,
            verbose=False,
        )
    finally:
        tracking.set_tracking_uri(None)
    return store, result


def test_every_trial_is_a_tracked_child_run(summary):
    store, result = summary
    tracking.set_tracking_uri(str(store))
    client = tracking.TrackingClient()
    assert [t.model_description.split("(")[0] for t in result.all_trials] == [
        "seasonal_naive", "theta", "ensemble",
    ]  # fmt: skip
    assert all(t.state == "COMPLETE" for t in result.all_trials)
    for trial in result.all_trials:
        run = client.get_run(trial.run_id)
        assert run.info.parent_run_id == result.parent_run_id
        assert run.info.status == "FINISHED"
        for key in ("val_smape", "test_smape", "val_mase", "test_mae", "test_rmse"):
            assert key in run.data.metrics, key
        assert run.data.params["model_family"] == trial.params["model_family"]
        assert run.data.params["data.frequency"] == "M"
        assert run.data.params["data.fill_method"] == "linear_interpolation"
        listed = {a.path for a in client.list_artifacts(trial.run_id)}
        assert {"model", "plots"} <= listed
        assert [m.step for m in client.get_metric_history(trial.run_id, "val_smape_fold")] == [
            0,
            1,
            2,
        ]
    # the seasonal models win on seasonal data, and the ranking follows the validation metric
    assert result.best_trial.params["model_family"] in ("seasonal_naive", "theta", "ensemble")
    scores = [t.evaluation_metric_score for t in result.trials]
    assert scores == sorted(scores)


def test_winner_is_refit_on_all_data_and_registered(summary):
    store, result = summary
    tracking.set_tracking_uri(str(store))
    version = result.registered_model_version
    assert version is not None and version.name == "fc_e2e"
    model = registry.load_model("models:/fc_e2e/1")
    out = model.predict()
    assert list(out.columns) == ["date", "shop", "yhat", "yhat_lower", "yhat_upper"]
    assert len(out) == 8
    # refit on all data: the forecast starts right after the last observed month
    assert out["date"].min() == pd.Timestamp("2022-01-31")
    future = model.predict(pd.DataFrame({"shop": ["shop1"], "date": ["2022-03-31"]}))
    assert future["yhat"].iloc[0] == pytest.approx(out[out["shop"] == "shop1"]["yhat"].iloc[2])
    # a trial's own model was fitted without the test part
    trial_model = tracking.load_model(result.best_trial.model_uri)
    assert trial_model.predict()["date"].min() == pd.Timestamp("2021-09-30")
    assert trial_model.metadata["task"] == "forecast"


def test_cli_runs_a_forecast(tmp_path, capsys):
    path = tmp_path / "sales.csv"
    _frame(1, 40).drop(columns="shop").to_csv(path, index=False)
    out_csv = tmp_path / "fc.csv"
    code = cli_main(
        ["--tracking-uri", str(tmp_path / "store"), "forecast", str(path), "--target", "sales",
         "--time", "date", "--horizon", "3", "--max-trials", "1", "--experiment", "cli_fc",
         "--output", str(out_csv), "--quiet"]
    )  # fmt: skip
    assert code == 0
    assert "seasonal_naive" in capsys.readouterr().out
    written = pd.read_csv(out_csv)
    assert len(written) == 3 and {"yhat", "yhat_lower", "yhat_upper"} <= set(written.columns)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"horizon": 0}, "horizon: must be a positive integer"),
     ({"primary_metric": "r2"}, "primary_metric 'r2' is not one of"),
     ({"exclude_frameworks": ["sklearn"]}, "exclude_frameworks: unknown framework 'sklearn'"),
     ({"max_trials": 0}, "max_trials must be a positive integer"),
     ({"frequency": "W"}, "frequency='W' contradicts")],
)  # fmt: skip
def test_bad_arguments_fail_before_anything_is_stored(tmp_path, kwargs, message):
    tracking.set_tracking_uri(str(tmp_path / "store"))
    args = {
        "target_col": "sales",
        "time_col": "date",
        "identity_col": "shop",
        "horizon": 2,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        forecast(_frame(), **args)
    assert tracking.TrackingClient().get_experiment_by_name("automl_forecast_sales") is None
    assert not [e for e in tracking.search_experiments() if e.name.startswith("automl_forecast")]


def test_trial_notebook_reproduces_the_tracked_metrics(summary):
    """Execute the theta trial's notebook in a real Jupyter kernel: its asserts compare metrics."""
    import nbformat
    from nbclient import NotebookClient

    store, result = summary
    trial = next(t for t in result.all_trials if t.params["model_family"] == "theta")
    assert trial.notebook_path is not None
    nb = nbformat.read(trial.notebook_path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    outputs = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "reproduced" in outputs and f"{trial.metrics['val_smape']:.4f}"[:5] in outputs
    listed = {a.path for a in tracking.TrackingClient(str(store)).list_artifacts(trial.run_id)}
    assert "notebooks" in listed


def test_no_trial_starts_that_would_not_finish_before_the_deadline():
    import time

    from automl.core.budget import Budget
    from automl.core.records import TrialConfig, TrialState, WorkerReply
    from automl.core.trials import OpenTrial, TrialBook

    book = TrialBook(greater_is_better=False, size_ratio=lambda config, seen: 1.0)
    for number, (family, seconds) in enumerate([("seasonal_naive", 0.5), ("ensemble", 6.0)]):
        trial = OpenTrial(number, f"run{number}", TrialConfig(family), None)
        reply = WorkerReply(TrialState.COMPLETE, value=1.0)
        book.add(trial, TrialState.COMPLETE, seconds, reply)
    assert book.estimated_seconds(TrialConfig("ensemble")) == 6.0  # its family's own duration
    assert book.estimated_seconds(TrialConfig("arima")) == 0.0  # unknown families are tried
    assert book.families_that_fit(["seasonal_naive", "ensemble"], 4.0) == ["seasonal_naive"]
    budget = Budget(timeout_s=20.0, max_trials=None, started=time.monotonic())
    # 19.5 s to the deadline: 9.5 s left after keeping 10 s back fits 6 s, 4.5 s does not
    assert budget.fits(6.0, keep_back=10.0) and not budget.fits(6.0, keep_back=15.0)
