"""log_model / load_model: files written, checksum, schema checks, resolvers, forecast models."""

from __future__ import annotations

import json
import os
import sys
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import tracking

pytest_plugins = ["tracking_fixtures"]


@pytest.fixture
def frame() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40), "c": ["x", "y"] * 20})
    y = pd.Series(np.where(X["a"] > 0, "pos", "neg"))
    return X, y


def test_log_and_load_classifier(local_fluent, frame):
    X, y = frame
    model = LogisticRegression().fit(X[["a", "b"]], y)
    with tracking.start_run() as run:
        info = tracking.log_model(model, input_example=X[["a", "b"]], metadata={"k": 1})
    assert info.model_uri == f"runs:/{run.info.run_id}/model"
    folder = tracking.download_artifacts(info.model_uri)
    assert sorted(os.listdir(folder)) == [
        "MLmodel.json",
        "input_example.json",
        "model.joblib",
        "requirements.txt",
    ]
    meta = json.loads(Path(folder, "MLmodel.json").read_text())
    assert meta["task"] == "classification" and meta["classes"] == ["neg", "pos"]
    assert meta["input_schema"] == [
        {"name": "a", "dtype": "float64"},
        {"name": "b", "dtype": "float64"},
    ]
    assert "scikit-learn" in meta["library_versions"] and meta["metadata"] == {"k": 1}
    predictor = tracking.load_model(info.model_uri)
    shuffled = X[["c", "b", "a"]]  # extra column and other order
    np.testing.assert_array_equal(predictor.predict(shuffled), model.predict(X[["a", "b"]]))
    np.testing.assert_allclose(
        predictor.predict_proba(shuffled), model.predict_proba(X[["a", "b"]])
    )
    assert predictor.unwrap().__class__ is LogisticRegression
    with pytest.raises(tracking.InvalidInputError, match=r"missing column\(s\) \['b'\]"):
        predictor.predict(X[["a"]])


def test_regressor_has_no_predict_proba(local_fluent, frame):
    X, _ = frame
    model = LinearRegression().fit(X[["a"]], X["b"])
    info = tracking.log_model(model, "reg", input_example=X[["a"]])
    predictor = tracking.load_model(info.model_uri)
    assert predictor.task == "regression"
    assert not hasattr(predictor, "predict_proba")


def test_checksum_and_version_mismatch(local_fluent, frame):
    X, y = frame
    info = tracking.log_model(LogisticRegression().fit(X[["a"]], y), input_example=X[["a"]])
    folder = tracking.download_artifacts(info.model_uri)
    meta_path = os.path.join(folder, "MLmodel.json")
    meta = json.loads(Path(meta_path).read_text())
    meta["library_versions"]["scikit-learn"] = "0.0.1"
    Path(meta_path).write_text(json.dumps(meta))
    with pytest.warns(tracking.ModelVersionMismatchWarning, match="scikit-learn 0.0.1"):
        tracking.load_model(info.model_uri)
    with open(os.path.join(folder, "model.joblib"), "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(tracking.ModelIntegrityError, match="sha256"):
        tracking.load_model(info.model_uri)


class _Forecaster:
    def predict(self, df=None):
        return ("forecast", df)


def test_forecast_passthrough(local_fluent):
    info = tracking.log_model(_Forecaster(), task="forecast")
    predictor = tracking.load_model(info.model_uri)
    marker = pd.DataFrame({"ds": [1, 2]})
    assert predictor.predict(marker)[1] is not None and predictor.predict(marker)[1].equals(marker)
    assert predictor.predict() == ("forecast", None)


def test_entry_point_resolver(local_fluent, tmp_path, monkeypatch, frame):
    X, y = frame
    info = tracking.log_model(LogisticRegression().fit(X[["a"]], y), input_example=X[["a"]])
    dist = tmp_path / "site" / "demo_resolver-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-resolver\nVersion: 1.0\n")
    scheme = f"demo{uuid.uuid4().hex[:8]}"  # resolvers are cached per process and scheme
    (dist / "entry_points.txt").write_text(
        f"[tracking.uri_resolvers]\n{scheme} = demo_resolver_mod:resolve\n"
    )
    (tmp_path / "site" / "demo_resolver_mod.py").write_text(
        f"def resolve(uri):\n    return {info.model_uri!r}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predictor = tracking.load_model(f"{scheme}:/anything")
    assert predictor.metadata["sha256"] == info.sha256
    with pytest.raises(tracking.InvalidInputError, match="no resolver for nosuch:/"):
        tracking.load_model("nosuch:/x")
    sys.modules.pop("demo_resolver_mod", None)
