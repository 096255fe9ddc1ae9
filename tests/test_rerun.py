"""`automl rerun`: a trial's notebook re-executed in a real Jupyter kernel, logged as a new run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import automl
import tracking
from automl.cli import main as cli_main
from automl.rerun import RERUN_TAG, RerunError, rerun

pytestmark = pytest.mark.xdist_group("rerun")

TIMING_METRICS = {"fit_time_seconds", "predict_time_seconds", "shap_time_seconds"}


def _trial() -> str:
    rng = np.random.RandomState(0)
    df = pd.DataFrame(rng.randn(80, 3), columns=["a", "b", "c"])
    df["y"] = (df.a + 0.5 * rng.randn(80) > 0).astype(int)
    summary = automl.classify(df, target_col="y", max_trials=1, n_jobs=1, verbose=False)
    return summary.best_trial.run_id


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

    # a changed hyperparameter reaches the model the notebook fits
    assert cli_main(["rerun", run_id, "--param", "C=0.001"]) == 0
    changed = [r for r in _reruns(client, run_id) if r != same.run_id]
    assert len(changed) == 1
    other = client.get_run(changed[0])
    assert float(other.data.params["model.C"]) == 0.001
    assert other.data.metrics["val_log_loss"] != pytest.approx(source.data.metrics["val_log_loss"])

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


def test_bad_parameters_and_data_are_refused_before_any_kernel(tmp_path):
    run_id = _trial()
    client = tracking.TrackingClient()
    with pytest.raises(RerunError, match=r"not a parameter of this trial; valid: C=1.0"):
        rerun(run_id, ["alpha=3"])
    with pytest.raises(RerunError, match="expected a float"):
        rerun(run_id, ["C=big"])
    with pytest.raises(RerunError, match="must be a float in the range"):
        rerun(run_id, ["C=-1"])
    bad = tmp_path / "other.csv"
    pd.DataFrame({"a": [1.0], "z": [2.0]}).to_csv(bad, index=False)
    with pytest.raises(RerunError, match=r"missing column\(s\)"):
        rerun(run_id, data=str(bad))
    assert cli_main(["rerun", run_id, "--param", "nope=1"]) == 2
    assert _reruns(client, run_id) == []
