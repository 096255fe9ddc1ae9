"""Bad input gets a specific error and stores nothing."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import tracking
from tracking import Metric

pytest_plugins = ["tracking_fixtures"]


@pytest.fixture
def run_id(client):
    return client.create_run("0").info.run_id


def assert_empty(client, run_id):
    data = client.get_run(run_id).data
    assert data.params == {} and data.metrics == {} and data.tags == {}
    assert client.get_metric_history(run_id, "ok") == []


def test_unknown_ids(client):
    missing = "0" * 32
    with pytest.raises(tracking.ResourceNotFoundError, match=f"run_id '{missing}' does not exist"):
        client.log_metric(missing, "m", 1.0)
    with pytest.raises(tracking.ResourceNotFoundError, match=missing):
        client.get_run(missing)
    with pytest.raises(tracking.InvalidInputError, match="run_id 'abc' is not a run id"):
        client.get_run("abc")
    with pytest.raises(tracking.ResourceNotFoundError, match="experiment_id '77'"):
        client.create_run("77")
    with pytest.raises(tracking.InvalidInputError, match="experiment_id 'x1'"):
        client.create_run("x1")
    with pytest.raises(tracking.ResourceNotFoundError, match="experiment_id '5'"):
        client.delete_experiment("5")


@pytest.mark.parametrize("value", ["0.5", None, [1.0], True, {"a": 1}])
def test_non_numeric_metric_rejected(client, run_id, value):
    with pytest.raises(tracking.InvalidInputError, match="metric 'bad' value .* is not a number"):
        client.log_batch(run_id, metrics=[Metric("ok", 1.0, 1, 0), Metric("bad", value, 1, 0)])
    assert_empty(client, run_id)


def test_nan_inf_and_numpy_values_kept(client, run_id):
    client.log_batch(
        run_id,
        metrics={"nan": math.nan, "pinf": math.inf, "ninf": -math.inf, "np": np.float32(0.5)},
    )
    client.log_metric(run_id, "zero_d", np.array(2.0))
    metrics = client.get_run(run_id).data.metrics
    assert math.isnan(metrics["nan"]) and metrics["pinf"] == math.inf
    assert metrics["ninf"] == -math.inf and metrics["np"] == 0.5 and metrics["zero_d"] == 2.0
    assert math.isnan(client.get_metric_history(run_id, "nan")[0].value)


@pytest.mark.parametrize("key", ["a/b", "a\\b", "line\nbreak", "nul\x00", "", "..", "x" * 251])
def test_bad_keys_rejected_atomically(client, run_id, key):
    with pytest.raises(tracking.InvalidInputError, match="key"):
        client.log_batch(run_id, metrics={"ok": 1.0}, params={key: "v"})
    with pytest.raises(tracking.InvalidInputError, match="key"):
        client.log_batch(run_id, params={"ok": 1}, metrics={key: 1.0})
    with pytest.raises(tracking.InvalidInputError, match="key"):
        client.log_batch(run_id, params={"ok": 1}, tags={key: "v"})
    assert_empty(client, run_id)


def test_over_long_values_rejected(client, run_id):
    with pytest.raises(tracking.InvalidInputError, match="param 'p' value is 6001 characters"):
        client.log_batch(run_id, metrics={"ok": 1.0}, params={"p": "x" * 6001})
    with pytest.raises(tracking.InvalidInputError, match="tag 't' value is 8001 characters"):
        client.log_batch(run_id, metrics={"ok": 1.0}, tags={"t": "x" * 8001})
    with pytest.raises(tracking.InvalidInputError, match="experiment name is 501 characters"):
        client.create_experiment("e" * 501)
    assert_empty(client, run_id)
    client.log_param(run_id, "p", "x" * 6000)  # exactly at the limit is fine
    assert len(client.get_run(run_id).data.params["p"]) == 6000


def test_conflicting_duplicates_and_bad_steps(client, run_id):
    with pytest.raises(tracking.InvalidInputError, match="given twice"):
        client.log_batch(run_id, params=[("a", "1"), ("a", "2")])
    with pytest.raises(tracking.InvalidInputError, match="step 1.5 must be an integer"):
        client.log_metric(run_id, "ok", 1.0, step=1.5)
    with pytest.raises(tracking.InvalidInputError, match="64-bit"):
        client.log_metric(run_id, "ok", 1.0, step=2**63)
    with pytest.raises(tracking.InvalidInputError, match="too large"):
        client.log_metric(run_id, "ok", 10**400)
    with pytest.raises(tracking.InvalidInputError, match="status 'DONE'"):
        client.set_terminated(run_id, "DONE")
    assert_empty(client, run_id)


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../escape.txt", "/abs/escape.txt"])
def test_artifact_paths_cannot_escape(client, run_id, tmp_path, path):
    source = tmp_path / "f.txt"
    source.write_text("x")
    root = client.get_artifact_uri(run_id)
    with pytest.raises(tracking.InvalidInputError, match="artifact"):
        client.log_text(run_id, "x", path)
    with pytest.raises(tracking.InvalidInputError, match="artifact_path"):
        client.log_artifact(run_id, str(source), os.path.dirname(path) or "..")
    with pytest.raises(tracking.InvalidInputError, match="escapes|absolute"):
        client.download_artifacts(run_id, path)
    parent = os.path.dirname(os.path.dirname(root))
    leftovers = [f for _, _, files in os.walk(parent) for f in files]
    assert leftovers == []
