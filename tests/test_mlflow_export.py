"""`automl export-mlflow` against a real `mlflow server` process on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import mlflow
import numpy as np
import pandas as pd
import pytest

import automl
import registry
import tracking
from automl.cli import main as cli_main
from automl.interop import MlflowExportError, export_to_mlflow

pytestmark = pytest.mark.xdist_group("mlflow_export")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow_server")
    port = _free_port()
    mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
    proc = subprocess.Popen(
        [
            mlflow_bin,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root}/mlflow.db",
            "--artifacts-destination",
            str(root / "artifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("mlflow server exited at start") from None
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _data() -> pd.DataFrame:
    rng = np.random.RandomState(0)
    df = pd.DataFrame(rng.randn(80, 3), columns=["a", "b", "c"])
    df["y"] = (df.a + 0.3 * rng.randn(80) > 0).astype(int)
    return df


def test_export_copies_runs_metrics_artifacts_and_models(mlflow_server, tmp_path):
    df = _data()
    summary = automl.classify(
        df, target_col="y", max_trials=2, n_jobs=1, verbose=False, experiment_name="churn"
    )
    version = summary.registered_model_version
    registry.set_registered_model_alias(version.name, "champion", version.version)

    result = export_to_mlflow("churn", mlflow_server)
    client = mlflow.MlflowClient(mlflow_server)
    source = tracking.TrackingClient()
    ours = source.search_runs([summary.experiment.experiment_id])
    theirs = client.search_runs([result.experiment_id])
    assert len(theirs) == len(ours) == len(result.created_runs)
    assert sum(r.info.parent_run_id is not None for r in ours) == len(ours) - 1 >= 2
    points = {"ours": 0, "theirs": 0}
    for run in ours:
        new = client.get_run(result.run_ids[run.info.run_id])
        assert new.data.params == {k: str(v) for k, v in run.data.params.items()}
        assert run.data.tags and {
            k: v
            for k, v in new.data.tags.items()
            if k in run.data.tags and k != "mlflow.parentRunId"
        } == {k: v for k, v in run.data.tags.items() if k != "mlflow.parentRunId"}
        assert new.data.tags["automl.source_run_id"] == run.info.run_id
        assert new.info.status == run.info.status
        assert new.info.start_time == run.info.start_time
        parent = run.info.parent_run_id
        assert new.data.tags.get("mlflow.parentRunId") == (
            result.run_ids[parent] if parent else None
        )
        for key in run.data.metrics:
            mine = [
                (m.value, m.step, m.timestamp)
                for m in source.get_metric_history(run.info.run_id, key)
            ]
            copied = [
                (m.value, m.step, m.timestamp)
                for m in client.get_metric_history(new.info.run_id, key)
            ]
            assert sorted(copied) == sorted(mine), key
            points["ours"] += len(mine)
            points["theirs"] += len(copied)
        names = {f.path for f in client.list_artifacts(new.info.run_id)}
        assert names == {f.path for f in source.list_artifacts(run.info.run_id)}

    assert points["theirs"] == points["ours"] > len(ours)  # histories, not just last values
    registered = client.search_model_versions(f"name = '{version.name}'")
    assert [(v.version, v.run_id) for v in registered] == [
        (result.model_versions[f"{version.name}/{version.version}"], result.run_ids[version.run_id])
    ]
    champion = client.get_model_version_by_alias(version.name, "champion")
    assert champion.version == registered[0].version
    assert champion.tags["automl.source_model_version"] == f"{version.name}/{version.version}"

    best = client.get_run(result.run_ids[summary.best_trial.run_id])
    assert any(
        f.path.endswith(".ipynb") for f in client.list_artifacts(best.info.run_id, "notebooks")
    )
    assert any(f.path.endswith(".png") for f in client.list_artifacts(best.info.run_id, "plots"))
    local = mlflow.artifacts.download_artifacts(
        f"runs:/{best.info.run_id}/model", tracking_uri=mlflow_server, dst_path=str(tmp_path / "m")
    )
    from mlflow.models import Model

    mlmodel = Model.load(os.path.join(local, "MLmodel"))
    assert "python_function" in mlmodel.flavors and mlmodel.signature is not None
    assert [c.name for c in mlmodel.signature.inputs.inputs] == ["a", "b", "c"]

    mlflow.set_tracking_uri(mlflow_server)
    X = df[["a", "b", "c"]]
    served = mlflow.pyfunc.load_model(f"models:/{version.name}@champion")
    expected = automl.load_model(summary.registered_model_uri).predict(X)
    np.testing.assert_array_equal(np.asarray(served.predict(X)), np.asarray(expected))
    trial_model = mlflow.pyfunc.load_model(f"runs:/{best.info.run_id}/model")
    np.testing.assert_array_equal(
        np.asarray(trial_model.predict(X)), np.asarray(summary.best_trial.load_model().predict(X))
    )

    # a second export (here through the CLI) adds and changes nothing
    before = {r.info.run_id: r.info.end_time for r in client.search_runs([result.experiment_id])}
    assert cli_main(["export-mlflow", "churn", "--to", mlflow_server]) == 0
    after = {r.info.run_id: r.info.end_time for r in client.search_runs([result.experiment_id])}
    assert after == before
    assert len(client.search_model_versions(f"name = '{version.name}'")) == 1
    again = export_to_mlflow("churn", mlflow_server)
    assert again.created_runs == [] and again.created_versions == []
    assert len(again.skipped_runs) == len(ours)


def test_export_refuses_unknown_and_foreign_experiments(mlflow_server):
    with pytest.raises(MlflowExportError, match="no experiment named 'nope'"):
        export_to_mlflow("nope", mlflow_server)
    automl.classify(
        _data(), target_col="y", max_trials=1, n_jobs=1, verbose=False, experiment_name="taken"
    )
    mlflow.MlflowClient(mlflow_server).create_experiment("taken")
    with pytest.raises(MlflowExportError, match="not exported from ours"):
        export_to_mlflow("taken", mlflow_server)
    assert cli_main(["export-mlflow", "nope", "--to", mlflow_server]) == 2
