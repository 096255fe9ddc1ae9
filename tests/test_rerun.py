"""`automl rerun`: a trial's notebook re-executed in a real Jupyter kernel, logged as a new run."""

from __future__ import annotations

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
from notebook_fixtures import kernel_manager, labelled_metrics, with_probe

import automl
import tracking
from automl.cli import main as cli_main
from automl.rerun import RERUN_TAG, RerunError, rerun

pytestmark = pytest.mark.xdist_group("rerun")

TIMING_METRICS = {"fit_time_seconds", "predict_time_seconds", "shap_time_seconds"}


def _data() -> pd.DataFrame:
    rng = np.random.RandomState(0)
    df = pd.DataFrame(rng.randn(80, 3), columns=["a", "b", "c"])
    df["y"] = (df.a + 0.5 * rng.randn(80) > 0).astype(int)
    return df


def _trial(df: pd.DataFrame | None = None) -> str:
    df = _data() if df is None else df
    summary = automl.classify(df, target_col="y", max_trials=1, n_jobs=1, verbose=False)
    return summary.best_trial.run_id


def _tracked(run: tracking.Run) -> dict[str, float]:
    return {k: v for k, v in run.data.metrics.items() if k not in TIMING_METRICS}


def _reruns(client: tracking.TrackingClient, run_id: str) -> list[str]:
    exp = client.get_run(run_id).info.experiment_id
    runs = client.search_runs([exp], f"tags.`{RERUN_TAG}` = '{run_id}'")
    return [r.info.run_id for r in runs]


def test_rerun_reproduces_metrics_and_applies_parameters(tmp_path):
    run_id = _trial()
    client = tracking.TrackingClient()
    source = client.get_run(run_id)

    same = rerun(run_id)
    new = client.get_run(same.run_id)
    assert new.data.tags[RERUN_TAG] == run_id
    expected = {k: v for k, v in source.data.metrics.items() if k not in TIMING_METRICS}
    assert set(expected) <= set(new.data.metrics)
    for key, value in expected.items():
        assert new.data.metrics[key] == pytest.approx(value, abs=1e-9), key
    files = [f.path for f in client.list_artifacts(same.run_id, "notebooks")]
    assert files == [same.notebook_path]
    executed = nbformat.read(client.download_artifacts(same.run_id, files[0]), as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)  # every cell ran, top to bottom
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    injected = [c for c in code if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "LOG_RERUN = True" in injected[0].source

    # a changed hyperparameter reaches the model the notebook fits
    assert cli_main(["rerun", run_id, "--set", "C=0.001"]) == 0
    changed = [r for r in _reruns(client, run_id) if r != same.run_id]
    assert len(changed) == 1
    other = client.get_run(changed[0])
    assert float(other.data.params["model.C"]) == 0.001
    assert other.data.metrics["val_log_loss"] != pytest.approx(source.data.metrics["val_log_loss"])

    # papermill -p C 0.001 on the trial's own notebook (its tagged parameters cell) agrees
    notebook = client.download_artifacts(run_id, same.notebook_path)
    probed = tmp_path / "probed.ipynb"
    nbformat.write(with_probe(nbformat.read(notebook, as_version=4), "pm"), probed)
    papermill.execute_notebook(
        str(probed),
        str(tmp_path / "out.ipynb"),
        parameters={"C": 0.001},
        km=kernel_manager(),
        cwd=str(tmp_path),
        progress_bar=False,
    )
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    by_papermill = labelled_metrics(executed)["pm"]
    for key, value in _tracked(other).items():
        assert by_papermill[key] == pytest.approx(value, abs=1e-9), key

    # new data with the snapshot's columns: half the targets flipped, the metrics follow
    parent = source.info.parent_run_id
    snapshot = pd.read_parquet(client.download_artifacts(parent, "data/training_data.parquet"))
    snapshot["y"] = np.where(np.arange(len(snapshot)) % 2 == 0, 1 - snapshot["y"], snapshot["y"])
    path = tmp_path / "new.parquet"
    snapshot.to_parquet(path)
    with_data = client.get_run(rerun(run_id, data=str(path)).run_id)
    assert with_data.data.tags["automl.rerun_data"] == str(path)
    assert (
        with_data.data.metrics["test_accuracy_score"] < source.data.metrics["test_accuracy_score"]
    )


def test_new_data_without_the_split_column_is_split_as_the_search_did(tmp_path):
    """A fresh DataFrame/CSV (no _automl_split; a missing target; an extra column): the notebook
    drops and splits the rows as the search did, so the metrics are the trial's to 1e-9."""
    df = _data()
    df.loc[5, "y"] = np.nan  # the search drops this row before splitting
    run_id = _trial(df)
    client = tracking.TrackingClient()
    source = client.get_run(run_id)

    fresh = df.assign(extra="ignored")
    result = rerun(run_id, data=fresh)
    new = client.get_run(result.run_id)
    for key, value in _tracked(source).items():
        assert new.data.metrics[key] == pytest.approx(value, abs=1e-9), key
    logged = new.data.tags["automl.rerun_data"]
    assert logged == f"runs:/{result.run_id}/data/rerun_data.parquet"
    assert len(pd.read_parquet(client.download_artifacts(result.run_id, "data"))) == len(df)

    # the snapshot's split without its CV folds: the notebook assigns them as the search did
    parent = source.info.parent_run_id
    snapshot = pd.read_parquet(client.download_artifacts(parent, "data/training_data.parquet"))
    no_folds = client.get_run(rerun(run_id, data=snapshot.drop(columns="_automl_fold")).run_id)
    for key, value in _tracked(source).items():
        assert no_folds.data.metrics[key] == pytest.approx(value, abs=1e-9), key

    # a CSV and another seed: SEED reaches the split, so other rows are validated
    path = tmp_path / "fresh.csv"
    df.to_csv(path, index=False)
    reseeded = client.get_run(rerun(run_id, ["SEED=7"], data=str(path)).run_id)
    assert reseeded.data.tags["automl.rerun_data"] == str(path)
    assert reseeded.data.metrics["val_log_loss"] != pytest.approx(
        source.data.metrics["val_log_loss"], abs=1e-9
    )


@pytest.fixture
def no_kernel(monkeypatch):
    """Any Jupyter kernel launched from here on fails the test (every local kernel, nbclient's
    and papermill's included, is started by jupyter_client's LocalProvisioner)."""
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    async def refuse(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise AssertionError("a Jupyter kernel was started")

    monkeypatch.setattr(LocalProvisioner, "launch_kernel", refuse)


def test_bad_parameters_and_data_are_refused_before_any_kernel(tmp_path, no_kernel):
    run_id = _trial()
    client = tracking.TrackingClient()
    with pytest.raises(RerunError, match=r"not a parameter of this trial; valid: C=1.0, SEED=0"):
        rerun(run_id, ["alpha=3"])
    with pytest.raises(RerunError, match="expected a float"):
        rerun(run_id, ["C=big"])
    with pytest.raises(RerunError, match="must be a float in the range"):
        rerun(run_id, ["C=-1"])
    with pytest.raises(RerunError, match=r"SEED=-1: must be an int"):
        rerun(run_id, {"SEED": -1})
    with pytest.raises(RerunError, match="--data PATH instead"):
        rerun(run_id, ["DATA_PATH=/tmp/x.csv"])
    with pytest.raises(RerunError, match="LOG_RERUN: automl rerun sets it"):
        rerun(run_id, ["LOG_RERUN=False"])
    bad = tmp_path / "other.csv"
    pd.DataFrame({"a": [1.0], "z": [2.0]}).to_csv(bad, index=False)
    with pytest.raises(RerunError, match=r"missing column\(s\) \['b', 'c', 'y'\]"):
        rerun(run_id, data=str(bad))
    split = _data().assign(_automl_split="holdout")
    with pytest.raises(RerunError, match=r"_automl_split must hold only.*'holdout'"):
        rerun(run_id, data=split)
    assert cli_main(["rerun", run_id, "--param", "nope=1"]) == 2
    assert _reruns(client, run_id) == []

    # a wrapped estimator: alpha is the inner regressor's, checked by its own constraints
    df = _data().assign(y=lambda d: d.a * 2.0 + d.b)
    summary = automl.regress(df, target_col="y", max_trials=1, n_jobs=1, verbose=False)
    assert summary.best_trial.notebook_path.endswith("_linear_regression.ipynb")
    with pytest.raises(RerunError, match=r"'alpha' parameter of Ridge must be a float"):
        rerun(summary.best_trial.run_id, ["alpha=-1.0"])
    assert _reruns(client, summary.best_trial.run_id) == []

    # LightGBM declares no constraints: its own checks refuse the value, still before a kernel
    boosted = automl.classify(
        _data(),
        target_col="y",
        max_trials=1,
        n_jobs=1,
        exclude_frameworks=["sklearn"],
        verbose=False,
    ).best_trial.run_id
    with pytest.raises(RerunError, match=r"LGBMClassifier refuses.*num_leaves.*valid parameters"):
        rerun(boosted, ["num_leaves=-3"])
    with pytest.raises(RerunError, match="expected a int"):
        rerun(boosted, ["num_leaves=2.5"])
    assert _reruns(client, boosted) == []

    # a forecast trial's notebook has a parameters cell but no re-run logging: refused up front
    series = pd.DataFrame(
        {"ds": pd.date_range("2021-01-01", periods=60, freq="D"), "y": np.arange(60) * 0.1}
    )
    forecast = automl.forecast(
        series, target_col="y", time_col="ds", horizon=7, max_trials=1, verbose=False
    )
    with pytest.raises(RerunError, match="cannot log a re-run"):
        rerun(forecast.best_trial.run_id)
