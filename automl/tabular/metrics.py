"""Metrics under Databricks AutoML names (``f1_score``, ``roc_auc``, ``r2_score``, ...)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm


@dataclass(frozen=True)
class MetricSpec:
    """A user-facing metric: its Databricks key (``val_<key>`` is tracked) and direction."""

    name: str
    key: str
    greater_is_better: bool
    task: str

    @property
    def direction(self) -> str:
        """Optuna direction: ``"maximize"`` or ``"minimize"``."""
        return "maximize" if self.greater_is_better else "minimize"


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("f1", "f1_score", True, "classification"),
        MetricSpec("roc_auc", "roc_auc", True, "classification"),
        MetricSpec("log_loss", "log_loss", False, "classification"),
        MetricSpec("accuracy", "accuracy_score", True, "classification"),
        MetricSpec("precision", "precision_score", True, "classification"),
        MetricSpec("recall", "recall_score", True, "classification"),
        MetricSpec("r2", "r2_score", True, "regression"),
        MetricSpec("rmse", "root_mean_squared_error", False, "regression"),
        MetricSpec("mse", "mean_squared_error", False, "regression"),
        MetricSpec("mae", "mean_absolute_error", False, "regression"),
    )
}
DEFAULT_METRIC = {"classification": "f1", "regression": "r2"}
PREFIXES = ("train", "val", "test")


def metric_spec(name: str) -> MetricSpec:
    """The :class:`MetricSpec` of a user metric name (``"f1"``) or a Databricks key."""
    if name in METRICS:
        return METRICS[name]
    for spec in METRICS.values():
        if spec.key == name:
            return spec
    raise ValueError(f"primary_metric: unknown metric {name!r}; use one of {sorted(METRICS)}")


def primary_metric_key(name: str) -> str:
    """Databricks key of a user metric name: ``"rmse"`` -> ``"root_mean_squared_error"``."""
    return metric_spec(name).key


def align_columns(plan: Any, proba: Any, fitted_classes: Any) -> np.ndarray:
    """Reorder probability columns from ``fitted_classes`` to ``plan.classes`` (0 if missing)."""
    proba = np.asarray(proba, dtype="float64")
    fitted = [plain_label(c) for c in fitted_classes]
    wanted = [plain_label(c) for c in plan.classes]
    if fitted == wanted:
        return proba
    out = np.zeros((proba.shape[0], len(wanted)))
    for j, cls in enumerate(fitted):
        out[:, wanted.index(cls)] = proba[:, j]
    return out


def aligned_proba(plan: Any, estimator: Any, X: Any) -> np.ndarray:
    """``predict_proba`` with columns in ``plan.classes`` order (0 for classes never fitted)."""
    return align_columns(plan, estimator.predict_proba(X), estimator.classes_)


def plain_label(label: Any) -> Any:
    """A class label as a plain Python value (numpy scalars unwrapped, ``1.0`` as ``1``), so
    labels read from different sources compare and serialise alike."""
    if isinstance(label, np.generic):
        label = label.item()
    if isinstance(label, float) and label.is_integer():
        return int(label)
    return label


def labels_from_proba(plan: Any, proba: np.ndarray) -> np.ndarray:
    """Predicted labels: the class with the highest probability (as ``predict`` does)."""
    return np.asarray(plan.classes, dtype=object)[np.argmax(proba, axis=1)]


def _safe(fn, *args, **kwargs) -> float:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(fn(*args, **kwargs))
    except ValueError:
        return float("nan")


def class_indices(plan: Any, y: Any) -> np.ndarray:
    """Position of each label in ``plan.classes`` (-1 for a label the plan does not know)."""
    lookup = {plain_label(c): i for i, c in enumerate(plan.classes)}
    text = {str(plain_label(c)): i for i, c in enumerate(plan.classes)}
    out = np.empty(len(y), dtype="int64")
    for j, value in enumerate(np.asarray(y, dtype=object)):
        key = plain_label(value)
        try:
            out[j] = lookup[key]
        except (KeyError, TypeError):
            out[j] = text.get(str(key), -1)
    return out


def classification_scores(
    plan: Any, y: Any, proba: np.ndarray, sample_weight: Any = None, threshold: Any = None
) -> dict[str, float]:
    """All classification metrics from probabilities aligned to ``plan.classes``.

    Binary metrics use ``plan.pos_label``; multiclass ones ``plan.multiclass_average`` (macro).
    ``threshold`` (binary only): labels are ``plan.pos_label`` where its probability is at least
    the threshold (a trial's tuned decision threshold); ``None``: the most probable class.
    """
    n_classes = len(plan.classes)
    labels = list(range(n_classes))
    y_true = class_indices(plan, y)
    y_pred = np.argmax(proba, axis=1)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype="float64")
    if n_classes == 2:
        pos = int(class_indices(plan, [plan.pos_label])[0])
        average: dict[str, Any] = {"average": "binary", "pos_label": pos, "labels": labels}
        if threshold is not None:
            y_pred = np.where(np.asarray(proba)[:, pos] >= float(threshold), pos, 1 - pos)
    else:
        average = {"average": plan.multiclass_average or "macro", "labels": labels}
    scores = {
        "accuracy_score": _safe(skm.accuracy_score, y_true, y_pred, sample_weight=w),
        "f1_score": _safe(
            skm.f1_score, y_true, y_pred, sample_weight=w, zero_division=0.0, **average
        ),
        "precision_score": _safe(
            skm.precision_score, y_true, y_pred, sample_weight=w, zero_division=0.0, **average
        ),
        "recall_score": _safe(
            skm.recall_score, y_true, y_pred, sample_weight=w, zero_division=0.0, **average
        ),
    }
    clipped = np.clip(proba, 1e-15, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    scores["log_loss"] = _safe(skm.log_loss, y_true, clipped, sample_weight=w, labels=labels)
    if n_classes == 2:
        scores["roc_auc"] = _safe(
            skm.roc_auc_score, (y_true == pos).astype(int), proba[:, pos], sample_weight=w
        )
    else:
        scores["roc_auc"] = _safe(
            skm.roc_auc_score,
            y_true,
            clipped,
            sample_weight=w,
            multi_class="ovr",
            average=plan.multiclass_average or "macro",
            labels=labels,
        )
    return scores


def regression_scores(y: Any, pred: np.ndarray, sample_weight: Any = None) -> dict[str, float]:
    """All regression metrics."""
    y_true = np.asarray(pd.to_numeric(pd.Series(y).astype("object")), dtype="float64")
    w = None if sample_weight is None else np.asarray(sample_weight, dtype="float64")
    mse = _safe(skm.mean_squared_error, y_true, pred, sample_weight=w)
    return {
        "r2_score": _safe(skm.r2_score, y_true, pred, sample_weight=w),
        "root_mean_squared_error": float(np.sqrt(mse)),
        "mean_squared_error": mse,
        "mean_absolute_error": _safe(skm.mean_absolute_error, y_true, pred, sample_weight=w),
    }


def evaluate(
    plan: Any,
    pipeline: Any,
    X: pd.DataFrame,
    y: Any,
    sample_weight: Any = None,
    *,
    threshold: float | None = None,
) -> dict[str, float]:
    """Every metric of the plan's task for ``pipeline`` on ``(X, y)``, unprefixed Databricks keys.

    Multiclass f1/precision/recall/roc_auc use ``plan.multiclass_average`` (macro). Binary label
    metrics are measured at ``threshold`` (the positive class where its probability is at least
    it); ``None``: at the pipeline's own decision threshold if it has one, else by argmax.
    """
    if plan.task == "classification":
        if threshold is None:
            threshold = getattr(pipeline, "decision_threshold_", None)
        proba = aligned_proba(plan, pipeline, X)
        return classification_scores(plan, y, proba, sample_weight, threshold)
    pred = np.asarray(pipeline.predict(X), dtype="float64")
    return regression_scores(y, pred, sample_weight)


def prefixed(scores: dict[str, float], prefix: str) -> dict[str, float]:
    """``{"f1_score": x}`` -> ``{"val_f1_score": x}``."""
    return {f"{prefix}_{k}": v for k, v in scores.items()}
