"""Decision thresholds: the cut on the positive class's probability at which a binary classifier
predicts the positive class, tuned on validation predictions when the search's metric scores
labels (F1, accuracy, precision, recall).

Those metrics see only the labels, so a model's probabilities are worth what the cut that turns
them into labels makes of them; 0.5 suits calibrated models on balanced classes. On a target with
16 % positives, boosted trees and forests scored F1 0.29-0.36 at 0.5 where logistic regression
scored 0.58. As scikit-learn's ``TunedThresholdClassifierCV`` and AutoGluon's
``calibrate_decision_threshold`` do, each trial picks its cut on its own validation predictions
(out-of-fold for CV): the test rows never choose it, so test metrics measured at it stay honest.

Rule (:func:`tune_threshold`): F1 and accuracy take the cut that maximises them over every
distinct cut of the validation scores (midpoints between consecutive distinct values, and 0.5
itself); precision and recall the cut maximising them while the other one stays at least what it
is at 0.5 (else the cuts 1 and 0 would win). Ties go to the cut nearest 0.5, so a model whose
default cut is already best keeps 0.5. A sample is predicted positive when its score is at least
the cut (scikit-learn's ``FixedThresholdClassifier`` convention).

Multiclass tasks and the other metrics (ROC AUC, log loss) keep argmax: nothing is tuned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from automl.core.tags import DECISION_THRESHOLD
from automl.tabular import metrics

DEFAULT_THRESHOLD = 0.5
# The primary metrics (Databricks keys) whose value depends on the cut.
THRESHOLD_METRICS = ("f1_score", "accuracy_score", "precision_score", "recall_score")
# Metric values this close count as equal (sums of the same weights in another order).
_TIE = 1e-12

__all__ = [
    "DECISION_THRESHOLD",
    "DEFAULT_THRESHOLD",
    "ThresholdPipeline",
    "config_threshold",
    "tune_threshold",
    "tuned_loss",
    "tunes_threshold",
    "with_threshold",
]


def tunes_threshold(plan: Any) -> bool:
    """Whether trials of ``plan`` tune their cut: binary classification with a label metric."""
    return (
        plan.task == "classification"
        and len(plan.classes or ()) == 2
        and plan.primary_metric_key in THRESHOLD_METRICS
    )


def positive_column(plan: Any) -> int:
    """The column of ``plan.pos_label`` in probabilities aligned to ``plan.classes``."""
    return int(metrics.class_indices(plan, [plan.pos_label])[0])


def _cuts(scores: np.ndarray) -> np.ndarray:
    """Candidate cuts: 0.5 and the midpoints between consecutive distinct values of ``scores``
    with 0 and 1 added (so "every row positive" and "none" are candidates too), ascending."""
    values = np.unique(np.concatenate([[0.0, 1.0], scores]))
    midpoints = (values[:-1] + values[1:]) / 2.0
    return np.unique(np.concatenate([midpoints, [DEFAULT_THRESHOLD]]))


def _counts(
    positive: np.ndarray, scores: np.ndarray, weights: np.ndarray, cuts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Weighted true and false positives at each cut (score >= cut is positive), vectorised:
    one sort of the scores and a cumulative sum, looked up at every cut."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    pos_w = np.where(positive, weights, 0.0)[order]
    neg_w = np.where(positive, 0.0, weights)[order]
    # weight of rows strictly below position i, for i = 0..n
    pos_below = np.concatenate([[0.0], np.cumsum(pos_w)])
    neg_below = np.concatenate([[0.0], np.cumsum(neg_w)])
    total_pos, total_neg = float(pos_below[-1]), float(neg_below[-1])
    first_at_or_above = np.searchsorted(sorted_scores, cuts, side="left")
    tp = total_pos - pos_below[first_at_or_above]
    fp = total_neg - neg_below[first_at_or_above]
    return tp, fp, total_pos, total_neg


def safe_ratio(top: np.ndarray, bottom: np.ndarray | float) -> np.ndarray:
    """``top / bottom``, 0 where ``bottom`` is 0 (scikit-learn's ``zero_division=0``)."""
    bottom = np.broadcast_to(np.asarray(bottom, dtype="float64"), top.shape)
    return np.divide(top, bottom, out=np.zeros_like(top), where=bottom != 0)


def metric_curve(
    key: str, tp: np.ndarray, fp: np.ndarray, total_pos: float, total_neg: float
) -> np.ndarray:
    """A label metric (Databricks key) at each cut from its weighted counts, as scikit-learn
    defines it with ``zero_division=0``."""
    if key == "accuracy_score":
        return safe_ratio(tp + (total_neg - fp), total_pos + total_neg)
    if key == "precision_score":
        return safe_ratio(tp, tp + fp)
    if key == "recall_score":
        return safe_ratio(tp, total_pos)
    if key == "f1_score":  # 2TP / (2TP + FP + FN), FN = P - TP
        return safe_ratio(2.0 * tp, tp + fp + total_pos)
    raise ValueError(f"no decision threshold for metric {key!r}; use one of {THRESHOLD_METRICS}")


# The metric that must not fall below its value at 0.5 while another is maximised.
_GUARDED_BY = {"precision_score": "recall_score", "recall_score": "precision_score"}


def tune_threshold(plan: Any, y: Any, proba: Any, sample_weight: Any = None) -> float:
    """The cut that maximises the plan's primary metric on ``(y, proba)`` (see the module's rule).

    ``proba``: probabilities with columns in ``plan.classes`` order (a trial's
    ``val_predictions``, a blend of them, or :func:`automl.tabular.aligned_proba`). Deterministic:
    the same predictions always give the same cut. 0.5 when the plan tunes nothing.
    """
    if not tunes_threshold(plan):
        return DEFAULT_THRESHOLD
    proba = np.asarray(proba, dtype="float64")
    target = _Target.of(plan, y, sample_weight)
    if target is None or proba.ndim != 2 or proba.shape[0] != len(target.known):
        return DEFAULT_THRESHOLD
    return target.best(proba)[0]


def tuned_loss(plan: Any, y: Any, sample_weight: Any = None) -> Callable[[np.ndarray], float]:
    """The plan's primary metric at the cut :func:`tune_threshold` would choose, negated: what
    ensemble selection minimises, so a blend is judged as the model it becomes (predicting at
    its own tuned cut) and compared with trials scored the same way."""
    target = _Target.of(plan, y, sample_weight)
    if target is None:
        return lambda proba: 0.0
    return lambda proba: -target.best(np.asarray(proba, dtype="float64"))[1]


@dataclass(frozen=True)
class _Target:
    """Validation labels as the rule needs them: which rows are positive, their weights."""

    key: str
    pos: int
    known: np.ndarray
    positive: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, plan: Any, y: Any, sample_weight: Any) -> _Target | None:
        y_idx = metrics.class_indices(plan, y)
        known = y_idx >= 0
        if not known.any():
            return None
        pos = positive_column(plan)
        weights = (
            np.ones(int(known.sum()))
            if sample_weight is None
            else np.asarray(sample_weight, dtype="float64")[known]
        )
        return cls(plan.primary_metric_key, pos, known, y_idx[known] == pos, weights)

    def best(self, proba: np.ndarray) -> tuple[float, float]:
        """The chosen cut for ``proba`` and the metric there."""
        scores = proba[self.known, self.pos]
        cuts = _cuts(scores)
        tp, fp, total_pos, total_neg = _counts(self.positive, scores, self.weights, cuts)
        values = metric_curve(self.key, tp, fp, total_pos, total_neg)
        at_default = int(np.searchsorted(cuts, DEFAULT_THRESHOLD))
        guard = _GUARDED_BY.get(self.key)
        if guard is not None:
            other = metric_curve(guard, tp, fp, total_pos, total_neg)
            values = np.where(other >= other[at_default] - _TIE, values, -np.inf)
        top = float(np.max(values))
        distance = np.where(values >= top - _TIE, np.abs(cuts - DEFAULT_THRESHOLD), np.inf)
        chosen = int(np.argmin(distance))  # the lowest of two equally near cuts
        return float(cuts[chosen]), float(values[chosen])


def predicted_labels(classes: Any, pos_label: Any, proba: Any, threshold: float) -> Any:
    """Labels from probabilities with columns in ``classes`` order: ``pos_label`` where its
    probability is at least ``threshold``, the other class elsewhere."""
    classes = np.asarray(classes)
    plain = [metrics.plain_label(c) for c in classes]
    pos = plain.index(metrics.plain_label(pos_label))
    positive = np.asarray(proba)[:, pos] >= threshold
    return np.where(positive, classes[pos], classes[1 - pos])


class ThresholdPipeline(Pipeline):
    """A fitted binary classification pipeline that predicts at a tuned cut.

    ``predict_proba`` is the pipeline's own; ``predict`` gives ``pos_label_`` where its
    probability is at least ``decision_threshold_``. Both are fitted attributes (set by
    :func:`with_threshold`): a clone, or a slice such as ``pipeline[:-1]``, is a plain pipeline
    again and predicts by argmax until a threshold is tuned for it.
    """

    def predict(self, X: Any, **params: Any) -> Any:
        threshold = getattr(self, "decision_threshold_", None)
        if threshold is None or params:
            return super().predict(X, **params)
        return predicted_labels(self.classes_, self.pos_label_, self.predict_proba(X), threshold)


def with_threshold(pipeline: Pipeline, plan: Any, threshold: float | None) -> Pipeline:
    """``pipeline`` (fitted, unchanged steps) predicting at ``threshold`` for ``plan.pos_label``.

    ``None``, a plan that tunes nothing, or a model that never saw the positive class: the
    pipeline is returned as it is (argmax).
    """
    if threshold is None or not tunes_threshold(plan):
        return pipeline
    fitted = [metrics.plain_label(c) for c in getattr(pipeline, "classes_", [])]
    if metrics.plain_label(plan.pos_label) not in fitted or len(fitted) != 2:
        return pipeline
    out = ThresholdPipeline(**pipeline.get_params(deep=False))
    out.decision_threshold_ = float(threshold)
    out.pos_label_ = plan.pos_label
    return out


def config_threshold(config: Any) -> float | None:
    """The cut a trial's config records (``params["decision_threshold"]``), or None."""
    params = config.get("params") if isinstance(config, dict) else getattr(config, "params", None)
    value = (params or {}).get(DECISION_THRESHOLD)
    return None if value is None else float(value)
