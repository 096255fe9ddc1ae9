"""A tampered run folder never gets its pickle loaded: the store's digest and the folder bound.

Each case rewrites the run's model folder as someone with write access to the artifacts (but not
to the store) could, including a matching sha256 in ``MLmodel.json``, and checks that every load
path (``runs:/``, ``automl.load_model(run_id)``, ``models:/``) refuses it without unpickling.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import automl
import registry
import tracking

pytest_plugins = ["registry_fixtures"]


class _Payload:
    """Unpickling this writes a marker file: the code execution the checks must prevent."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def _logged(name: str = "m") -> tuple[str, str]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=30)})
    y = np.where(X["a"] > 0, "pos", "neg")
    with tracking.start_run() as run:
        info = tracking.log_model(LogisticRegression().fit(X, y))
    return run.info.run_id, info.model_uri


def _write_evil(path: str, marker: str) -> str:
    with open(path, "wb") as handle:
        pickle.dump(_Payload(marker), handle)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _rewrite_meta(folder: str, **changes) -> None:
    meta_path = os.path.join(folder, "MLmodel.json")
    meta = json.loads(Path(meta_path).read_text())
    meta.update(changes)
    Path(meta_path).write_text(json.dumps(meta))


def _loaders(run_id: str, uri: str):
    yield "runs:/", lambda: tracking.load_model(uri)
    yield "automl.load_model(run_id)", lambda: automl.load_model(run_id)
    version = registry.register_model(uri, "guarded")
    yield "models:/", lambda: registry.load_model(f"models:/guarded/{version.version}")
    yield "tracking models:/", lambda: tracking.load_model(f"models:/guarded/{version.version}")


def _assert_refused(run_id: str, uri: str, marker: Path, what: str) -> None:
    for label, load in _loaders(run_id, uri):
        with pytest.raises(tracking.ModelIntegrityError, match=what) as caught:
            load()
        assert run_id in str(caught.value), label
        assert not marker.exists(), f"{label} unpickled the payload"


def test_replaced_pickle_with_rewritten_sha_is_refused(store, tmp_path):
    run_id, uri = _logged()
    folder = tracking.download_artifacts(uri)
    marker = tmp_path / "marker"
    digest = _write_evil(os.path.join(folder, "model.joblib"), str(marker))
    _rewrite_meta(folder, sha256=digest)
    _assert_refused(run_id, uri, marker, "recorded at log time")


@pytest.mark.parametrize("form", ["absolute", "dotdot"])
def test_model_file_outside_the_folder_is_refused(store, tmp_path, form):
    run_id, uri = _logged()
    folder = tracking.download_artifacts(uri)
    marker = tmp_path / "marker"
    outside = tmp_path / "evil.joblib"
    digest = _write_evil(str(outside), str(marker))
    name = str(outside) if form == "absolute" else os.path.relpath(outside, folder)
    assert form == "absolute" or name.startswith("..")
    _rewrite_meta(folder, model_file=name, sha256=digest)
    _assert_refused(run_id, uri, marker, "model_file")


def test_symlinked_model_file_is_refused(store, tmp_path):
    run_id, uri = _logged()
    folder = tracking.download_artifacts(uri)
    marker = tmp_path / "marker"
    outside = tmp_path / "evil.joblib"
    digest = _write_evil(str(outside), str(marker))
    os.remove(os.path.join(folder, "model.joblib"))
    os.symlink(outside, os.path.join(folder, "model.joblib"))
    _rewrite_meta(folder, sha256=digest)
    _assert_refused(run_id, uri, marker, "outside the model folder")


def test_untouched_model_loads_on_every_path(store):
    run_id, uri = _logged()
    frame = pd.DataFrame({"a": [-1.0, 1.0]})
    for label, load in _loaders(run_id, uri):
        assert list(load().predict(frame)) == ["neg", "pos"], label
