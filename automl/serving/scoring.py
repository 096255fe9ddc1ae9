"""The path of one request: body -> DataFrame -> model -> JSON-ready predictions.

``score_request`` is the only place that turns a request into model input, so steps such as
looking features up by key (for models that carry a feature spec) go in here, between decoding
the body and checking the frame against the schema.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from automl.features.serving import with_features
from automl.serving import constants as C
from automl.serving.loader import ServedModel
from automl.serving.payload import ServingError, check_content_type, check_schema, parse_body
from tracking import InvalidInputError


@dataclass(frozen=True)
class ScoredRequest:
    """The rows a request was scored on and the predictions, one per row."""

    frame: pd.DataFrame
    predictions: list[Any]


def score_request(body: bytes, content_type: str | None, model: ServedModel) -> ScoredRequest:
    """Decode, check against the schema and predict; raises ``ServingError`` for bad input."""
    mime = check_content_type(content_type)
    parsed = parse_body(body, mime, model.schema)
    try:  # models trained on a training set get their features looked up by key (issue 19)
        looked_up = with_features(model.pinned_uri, parsed.frame)
    except InvalidInputError as exc:
        raise ServingError(str(exc)) from None
    frame = check_schema(looked_up, model.schema)
    proba = parsed.params.get(C.PARAM_PREDICT_PROBA, False)
    if not isinstance(proba, bool):
        raise ServingError(f"param {C.PARAM_PREDICT_PROBA!r} must be true or false, got {proba!r}")
    try:
        if proba:
            predictions = _probabilities(model, frame)
        else:
            predictions = _jsonable(model.predictor.predict(frame))
    except ServingError:
        raise
    except AttributeError as exc:
        raise ServingError(str(exc)) from None
    except Exception as exc:
        raise ServingError(
            "the model failed on this input; check that the columns hold what it was trained "
            f"on. Error: {type(exc).__name__}: {exc}"
        ) from None
    return ScoredRequest(frame, predictions)


def _probabilities(model: ServedModel, frame: pd.DataFrame) -> list[dict[str, float]]:
    predictor = model.predictor
    try:
        predict_proba = predictor.predict_proba
    except AttributeError:
        raise ServingError(
            f"param {C.PARAM_PREDICT_PROBA!r} needs a classifier; the served model's task is "
            f"{getattr(predictor, 'task', None)!r}"
        ) from None
    matrix = np.asarray(predict_proba(frame), dtype=float)
    classes = [str(c) for c in (model.classes or range(matrix.shape[1]))]
    return [dict(zip(classes, row.tolist(), strict=True)) for row in matrix]


def _jsonable(raw: Any) -> list[Any]:
    if isinstance(raw, pd.DataFrame):
        return [{k: _scalar(v) for k, v in row.items()} for row in raw.to_dict(orient="records")]
    if isinstance(raw, pd.Series):
        raw = raw.to_numpy()
    array = np.asarray(raw)
    if array.dtype.kind == "f":
        return [None if isinstance(v, float) and math.isnan(v) else v for v in array.tolist()]
    if array.dtype.kind in "OM":
        return [_scalar(v) for v in array.tolist()]
    return array.tolist()


def _scalar(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
