"""Models trained on a training set take keys + request-time columns; their features are looked up.

The spec a model was trained with is recorded on its run (``log_training_set``, or the AutoML
parent run of a trial); a model URI (``runs:/`` or a pinned ``models:/name/3``) or a loaded
``Predictor`` (its run id) leads to it. One path completes the input for every consumer:

* ``automl serve`` calls ``with_features`` on each request (before its schema check);
* ``automl.load_model`` / ``tracking.load_model`` / ``registry.load_model`` give a
  ``Predictor`` whose ``predict`` calls ``complete_input`` (registered as a tracking input
  resolver when ``automl.features`` is imported) when the frame lacks the model's features;
* ``score_batch`` is Databricks' ``fe.score_batch`` on top of it.

Specs are cached per (store, run): a run's spec is written once, when it starts.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import pandas as pd

import registry
import tracking
from automl.features.constants import SPEC_METADATA
from automl.features.entities import FeatureSpec
from automl.features.lineage import run_feature_spec, spec_run_id
from automl.features.online import add_online_features
from automl.features.store import FeatureStore
from tracking import InvalidInputError


def _run_id(model_uri: str) -> str | None:
    if model_uri.startswith("runs:/"):
        return model_uri[len("runs:/") :].split("/", 1)[0]
    if model_uri.startswith("models:/"):
        return registry.get_client().get_model_version_by_uri(model_uri).run_id
    return None


@functools.lru_cache(maxsize=16)
def store_for(tracking_uri: str) -> FeatureStore:
    """One ``FeatureStore`` per database for every lookup (no per-request setup)."""
    return FeatureStore(tracking_uri)


@functools.lru_cache(maxsize=16)
def client_for(tracking_uri: str) -> tracking.TrackingClient:
    """One tracking client per database (reading runs needs no feature tables)."""
    return tracking.TrackingClient(tracking_uri)


@functools.lru_cache(maxsize=256)
def _run_spec(tracking_uri: str, run_id: str) -> FeatureSpec | None:
    carrier = spec_run_id(client_for(tracking_uri), run_id)
    return None if carrier is None else run_feature_spec(store_for(tracking_uri), carrier)


def run_spec(tracking_uri: str, run_id: str) -> FeatureSpec | None:
    """The spec of run ``run_id`` (or of its parent search run), cached, or None."""
    return _run_spec(tracking_uri, run_id)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> FeatureSpec:
    return FeatureSpec.from_json(text)


def model_feature_spec(model_uri: str) -> FeatureSpec | None:
    """The feature spec the model at ``model_uri`` was trained with, or None."""
    run_id = _run_id(model_uri)
    return None if run_id is None else _run_spec(tracking.get_tracking_uri(), run_id)


def complete_request(
    spec: FeatureSpec, frame: pd.DataFrame, input_columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """``frame`` with the spec's features looked up online by key.

    Raises ``InvalidInputError`` naming the lookup keys the frame lacks, and (given the model's
    ``input_columns``) the request-time columns it lacks, with what the model takes.
    """
    outputs = set(spec.output_columns)
    keys = list(
        dict.fromkeys(
            k
            for lookup in spec.lookups
            if not all(out in frame.columns for out in lookup.features.values())
            for k in lookup.lookup_keys
        )
    )
    request_columns = [c for c in input_columns or [] if c not in outputs]
    takes = f"it takes the lookup keys {keys} plus the request-time columns {request_columns}"
    missing_keys = [k for k in keys if k not in frame.columns]
    if missing_keys:
        tables = sorted(
            {lk.table_name for lk in spec.lookups if set(lk.lookup_keys) & set(missing_keys)}
        )
        raise InvalidInputError(
            f"input: lookup key column(s) {missing_keys} missing; the model was trained on "
            f"feature table(s) {tables} looked up by key, so {takes}"
        )
    completed = add_online_features(spec, frame, store_for(spec.tracking_uri))
    missing = [c for c in request_columns if c not in completed.columns]
    if missing:
        raise InvalidInputError(
            f"input: request-time column(s) {missing} missing (the feature tables do not "
            f"provide them); {takes}"
        )
    return completed


def with_features(model_uri: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus the features the model's spec looks up by key (unchanged without a spec).

    Raises ``MissingFeatureKeyError`` (an ``InvalidInputError``) naming an unknown key whose
    features have no default.
    """
    spec = model_feature_spec(model_uri)
    return frame if spec is None else complete_request(spec, frame)


def complete_input(predictor: Any, frame: Any) -> pd.DataFrame | None:
    """Tracking input resolver: a loaded model's missing features, looked up by key.

    None (not applicable) for a model whose run did not train on a training set.
    """
    if not isinstance(frame, pd.DataFrame):
        return None
    carried = (predictor.metadata.get("metadata") or {}).get(SPEC_METADATA)
    if carried is not None:  # the model files carry the spec (AutoML's models do)
        spec = _parsed(str(carried))
    else:  # a model logged by hand in a run that log_training_set recorded
        run_id = predictor.metadata.get("run_id")
        if not run_id:
            return None
        uri = predictor.tracking_uri or tracking.get_tracking_uri()
        spec = _run_spec(uri, str(run_id))
    if spec is None:
        return None
    return complete_request(spec, frame, predictor.input_columns)


def score_batch(model_uri: str, frame: pd.DataFrame) -> Any:
    """Predict from keys + request-time columns (Databricks' ``fe.score_batch``)."""
    return tracking.load_model(model_uri).predict(frame)
