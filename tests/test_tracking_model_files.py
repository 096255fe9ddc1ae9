"""Model files are compressed when logged, old uncompressed ones still load, and a run's model
can be deleted while its metrics and other artifacts stay (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.ensemble import RandomForestClassifier

import tracking
from tracking.model_digests import digests

pytest_plugins = ["tracking_fixtures"]


@pytest.fixture
def forest():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(2000, 5)), columns=list("abcde"))
    y = np.where(X["a"] + rng.normal(size=2000) > 0, "pos", "neg")
    return RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y), X


def _logged(client, model):
    exp_id = client.create_experiment("files")
    run_id = client.create_run(exp_id).info.run_id
    return run_id, client.log_model(run_id, model)


def test_logged_model_is_compressed_and_loads(client, forest, tmp_path):
    model, X = forest
    run_id, info = _logged(client, model)
    logged = os.path.join(client.download_artifacts(run_id, "model"), "model.joblib")
    raw = tmp_path / "raw.joblib"
    joblib.dump(model, raw)
    assert os.path.getsize(logged) * 3 < os.path.getsize(raw)
    loaded = client.load_model(info.model_uri)
    assert list(loaded.predict(X.head(50))) == list(model.predict(X.head(50)))


def test_model_logged_uncompressed_before_still_loads(client, forest):
    """A model folder from before compression (and before the store kept digests)."""
    model, X = forest
    run_id, info = _logged(client, model)
    folder = client.download_artifacts(run_id, "model")
    joblib.dump(model, os.path.join(folder, "model.joblib"))
    meta_path = Path(folder, "MLmodel.json")
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256(Path(folder, "model.joblib").read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))
    with client.engine.begin() as conn:
        conn.execute(sa.delete(digests).where(digests.c.run_id == run_id))
    loaded = client.load_model(info.model_uri)
    assert list(loaded.predict(X.head(20))) == list(model.predict(X.head(20)))


def test_delete_model_keeps_metrics_and_other_artifacts(client, forest):
    model, _ = forest
    run_id, info = _logged(client, model)
    client.log_metric(run_id, "val_f1", 0.8)
    client.log_text(run_id, "# notebook", "notebook.ipynb")
    client.delete_model(run_id)
    assert client.get_run(run_id).data.metrics == {"val_f1": 0.8}
    assert [f.path for f in client.list_artifacts(run_id)] == ["notebook.ipynb"]
    with pytest.raises(tracking.ResourceNotFoundError):
        client.load_model(info.model_uri)
    with pytest.raises(tracking.ResourceNotFoundError, match="has no model at 'model'"):
        client.delete_model(run_id)
    with pytest.raises(tracking.InvalidInputError):
        client.delete_model(run_id, "../..")
