"""The fluent API: active-run stack, statuses, URI resolution, artifacts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tracking

pytest_plugins = ["tracking_fixtures"]


def test_context_manager_statuses_and_nesting(fluent):
    exp = tracking.set_experiment("fluent")
    with tracking.start_run(run_name="parent") as parent:
        tracking.log_params({"a": 1})
        tracking.log_metrics({"m": 0.25}, step=3)
        tracking.set_tags({"k": "v"})
        with tracking.start_run(nested=True) as child:
            assert tracking.active_run().info.run_id == child.info.run_id
        with pytest.raises(tracking.InvalidInputError, match="already active.*nested=True"):
            tracking.start_run()
    with pytest.raises(RuntimeError), tracking.start_run(run_name="boom") as failing:
        raise RuntimeError("x")
    assert tracking.active_run() is None
    got_parent = tracking.get_run(parent.info.run_id)
    assert got_parent.info.status == "FINISHED"
    assert got_parent.info.experiment_id == exp.experiment_id
    assert got_parent.data.metrics == {"m": 0.25} and got_parent.data.params == {"a": "1"}
    assert tracking.get_run(child.info.run_id).info.parent_run_id == parent.info.run_id
    assert tracking.get_run(failing.info.run_id).info.status == "FAILED"


def test_resume_run_by_id(fluent):
    with tracking.start_run() as run:
        tracking.log_metric("m", 1.0)
    with tracking.start_run(run_id=run.info.run_id):
        assert tracking.get_run(run.info.run_id).info.status == "RUNNING"
        tracking.log_metric("m", 2.0, step=1)
    resumed = tracking.get_run(run.info.run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.metrics["m"] == 2.0


def test_artifacts_and_runs_uri(fluent, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    with tracking.start_run() as run:
        tracking.log_artifact(str(source), "docs")
        tracking.log_text("t", "texts/a.txt")
        tracking.log_dict({"x": [1, 2]}, "cfg.json")
        with pytest.raises(tracking.InvalidInputError, match="escapes"):
            tracking.log_text("evil", "../../evil.txt")
    local = tracking.download_artifacts(f"runs:/{run.info.run_id}/docs/notes.txt")
    assert Path(local).read_text() == "hello"
    run_folder = Path(tracking.get_run(run.info.run_id).info.artifact_uri)
    assert not (run_folder.parent / "evil.txt").exists()
    assert not (run_folder.parent.parent / "evil.txt").exists()
    client = tracking.TrackingClient()
    names = [f.path for f in client.list_artifacts(run.info.run_id)]
    assert names == ["cfg.json", "docs", "texts"]
    with tracking.start_run() as second:  # runs:/ URIs are accepted wherever a file is
        tracking.log_artifact(f"runs:/{run.info.run_id}/docs/notes.txt", "copied")
        tracking.log_artifacts(f"runs:/{run.info.run_id}/texts")
    copied = client.download_artifacts(second.info.run_id, "copied/notes.txt")
    assert Path(copied).read_text() == "hello"
    assert [f.path for f in client.list_artifacts(second.info.run_id)] == ["a.txt", "copied"]


def test_uri_resolution(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOML_TRACKING_URI", raising=False)
    tracking.set_tracking_uri(None)
    assert tracking.get_tracking_uri() == f"sqlite:///{tmp_path}/automl-runs/tracking.db"
    monkeypatch.setenv("AUTOML_TRACKING_URI", "elsewhere")
    assert tracking.get_tracking_uri() == str(tmp_path / "elsewhere")
    client = tracking.TrackingClient()
    assert os.path.isfile(tmp_path / "elsewhere" / "tracking.db")
    assert client.artifact_root == str(tmp_path / "elsewhere" / "artifacts")
    tracking.set_tracking_uri(f"sqlite:///{tmp_path}/x/db.sqlite")
    try:
        assert tracking.TrackingClient().artifact_root == str(tmp_path / "x" / "artifacts")
    finally:
        tracking.set_tracking_uri(None)
