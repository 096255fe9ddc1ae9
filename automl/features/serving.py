"""Serving models trained on a training set: keys + request-time columns in, features looked up.

The spec a model was trained with is recorded on its run (``log_training_set``); a model URI
(``runs:/`` or a pinned ``models:/name/3``) leads to that run, so any loaded or served version
finds its lookups. Specs are cached per URI: a pinned version never changes.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

import registry
import tracking
from automl.features.entities import FeatureSpec
from automl.features.lineage import run_feature_spec
from automl.features.online import add_online_features
from automl.features.store import FeatureStore


def _run_id(model_uri: str) -> str | None:
    if model_uri.startswith("runs:/"):
        return model_uri[len("runs:/") :].split("/", 1)[0]
    if model_uri.startswith("models:/"):
        return registry.get_client().get_model_version_by_uri(model_uri).run_id
    return None


@functools.lru_cache(maxsize=64)
def _spec(tracking_uri: str, model_uri: str) -> FeatureSpec | None:
    run_id = _run_id(model_uri)
    return None if run_id is None else run_feature_spec(FeatureStore(tracking_uri), run_id)


def model_feature_spec(model_uri: str) -> FeatureSpec | None:
    """The feature spec the model at ``model_uri`` was trained with, or None."""
    return _spec(tracking.get_tracking_uri(), model_uri)


def with_features(model_uri: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus the features the model's spec looks up by key (unchanged without a spec).

    Raises ``MissingFeatureKeyError`` (an ``InvalidInputError``) naming an unknown key whose
    features have no default.
    """
    spec = model_feature_spec(model_uri)
    return frame if spec is None else add_online_features(spec, frame)


def score_batch(model_uri: str, frame: pd.DataFrame, **predict_kwargs: Any) -> Any:
    """Predict from keys + request-time columns (Databricks' ``fe.score_batch``)."""
    model = tracking.load_model(model_uri)
    return model.predict(with_features(model_uri, frame), **predict_kwargs)
