"""Ensembles of trials for tables: the blended model and the loss that selects its members.

Members and weights come from greedy ensemble selection (:mod:`automl.core.ensemble_selection`)
over the validation predictions (out-of-fold for CV) the trials already made, scored by the
search's primary metric. :class:`EnsembleModel` is what gets logged and registered: the weighted
mean of its members' probabilities (classification) or predictions (regression). A binary
ensemble searched for a label metric predicts at the decision threshold tuned on its blended
validation predictions (:mod:`automl.tabular.thresholds`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from automl.tabular import metrics, thresholds

ENSEMBLE_FAMILY = "ensemble"
# Candidates: the best this many finished trials; selection rounds (with replacement).
MAX_CANDIDATES, ROUNDS = 20, 25


class EnsembleModel:
    """A weighted average of fitted pipelines, used like any of them (``predict``,
    ``predict_proba`` with columns in ``classes_`` order).

    ``threshold`` (binary classification): ``predict`` gives ``plan.pos_label`` where its blended
    probability is at least it (the cut tuned on the blend's validation predictions); ``None``:
    the most probable class.
    """

    def __init__(
        self,
        members: Sequence[Any],
        weights: Sequence[float],
        plan: Any,
        threshold: float | None = None,
    ) -> None:
        if len(members) != len(weights) or not members:
            raise ValueError("members and weights: give one weight per member (at least one)")
        self.members = list(members)
        self.weights = [float(w) for w in weights]
        self.plan = plan
        if plan.task == "classification":
            self.classes_ = np.asarray(plan.classes, dtype=object)
        use = threshold is not None and thresholds.tunes_threshold(plan)
        self.decision_threshold_ = float(threshold) if use else None

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{w:.2f}*{type(m.named_steps['model']).__name__}"
            if hasattr(m, "named_steps")
            else f"{w:.2f}*{type(m).__name__}"
            for m, w in zip(self.members, self.weights, strict=True)
        )
        return f"EnsembleModel({parts})"

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Weighted mean of the members' probabilities, columns in ``classes_`` order."""
        if self.plan.task != "classification":
            raise AttributeError("predict_proba is only available for classification ensembles")
        return blend([metrics.aligned_proba(self.plan, m, X) for m in self.members], self.weights)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.plan.task == "classification":
            proba = self.predict_proba(X)
            threshold = getattr(self, "decision_threshold_", None)  # None: pickled before
            if threshold is None:
                return metrics.labels_from_proba(self.plan, proba)
            return thresholds.predicted_labels(self.classes_, self.plan.pos_label, proba, threshold)
        preds = [np.asarray(m.predict(X), dtype="float64") for m in self.members]
        return blend(preds, self.weights)


class FoldAverage(EnsembleModel):
    """A cross-validated trial's model: the mean of its fold models, each trained on all folds
    but one. It stands in for a sixth fit on train+val (AutoGluon's bagged models do the same),
    and predicts at the threshold tuned on the folds' out-of-fold predictions."""

    def __init__(self, folds: Sequence[Any], plan: Any, threshold: float | None = None) -> None:
        super().__init__(folds, [1.0 / len(folds)] * len(folds), plan, threshold)

    def __repr__(self) -> str:
        first = self.members[0]
        inner = first.named_steps["model"] if hasattr(first, "named_steps") else first
        return f"FoldAverage({len(self.members)} x {type(inner).__name__})"


def blend(predictions: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted mean of member predictions (probabilities or values)."""
    out = np.zeros_like(np.asarray(predictions[0], dtype="float64"))
    for p, w in zip(predictions, weights, strict=True):
        out += w * np.asarray(p, dtype="float64")
    return out


def score_predictions(
    plan: Any, y: Any, pred: np.ndarray, w: Any = None, threshold: float | None = None
) -> dict[str, float]:
    """Every metric of the plan's task from predictions (probabilities in ``plan.classes``
    order, or values), unprefixed Databricks keys; binary labels at ``threshold`` when given."""
    if plan.task == "classification":
        return metrics.classification_scores(plan, y, pred, w, threshold)
    return metrics.regression_scores(y, pred, w)


def selection_loss(plan: Any, y: Any, w: Any = None) -> Callable[[np.ndarray], float]:
    """The primary metric on ``y`` as a loss (lower is better), fast enough to call hundreds of
    times: in numpy but for multiclass or weighted ROC AUC, which go through scikit-learn.

    The selection runs in the search process after the loop, within the time the budget keeps
    back: through scikit-learn's metrics its 26 rounds over 17 candidates took 12 s on 160 rows
    (every score computed, with its input checks, to read one)."""
    spec = metrics.metric_spec(plan.primary_metric)
    sign = -1.0 if spec.greater_is_better else 1.0
    weights = None if w is None else np.asarray(w, dtype="float64")
    if plan.task == "regression":
        y_true = np.asarray(pd.to_numeric(pd.Series(y).astype("object")), dtype="float64")
        if spec.key in ("root_mean_squared_error", "mean_squared_error", "mean_absolute_error"):
            power = 1 if spec.key == "mean_absolute_error" else 2

            def error(pred: np.ndarray) -> float:
                value = float(np.average(np.abs(pred - y_true) ** power, weights=weights))
                return value

            return error
        if spec.key == "r2_score":
            spread = float(np.average((y_true - np.average(y_true, weights=weights)) ** 2,
                                      weights=weights))  # fmt: skip

            def r2(pred: np.ndarray) -> float:  # scikit-learn's: 1 or 0 when y is constant
                error = float(np.average((y_true - pred) ** 2, weights=weights))
                if spread == 0.0:
                    return -(1.0 if error == 0.0 else 0.0)
                return -(1.0 - error / spread)

            return r2
        return lambda pred: sign * metrics.regression_scores(y_true, pred, weights)[spec.key]
    y_idx = metrics.class_indices(plan, y)
    rows = np.arange(len(y_idx))
    if spec.key == "log_loss":

        def log_loss(proba: np.ndarray) -> float:
            clipped = np.clip(proba, 1e-15, 1.0)
            clipped = clipped / clipped.sum(axis=1, keepdims=True)
            return float(np.average(-np.log(clipped[rows, y_idx]), weights=weights))

        return log_loss
    if spec.key == "roc_auc" and len(plan.classes) == 2 and weights is None:
        pos = int(metrics.class_indices(plan, [plan.pos_label])[0])
        positive = y_idx == pos
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos and n_neg:

            def auc(proba: np.ndarray) -> float:  # Mann-Whitney U, ties get average ranks
                ranks = rankdata(proba[:, pos])
                u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0
                return -float(u / (n_pos * n_neg))

            return auc
    counted = _counted_loss(plan, spec.key, y_idx, weights)
    if counted is not None:
        return counted
    return lambda proba: sign * metrics.classification_scores(plan, y, proba, w)[spec.key]


# The metrics of predicted labels, from weighted counts per class (true, predicted, correct):
# scikit-learn's definitions with zero_division=0 (a class never predicted has precision 0).
_COUNTED = ("accuracy_score", "f1_score", "precision_score", "recall_score")


def _counted_loss(
    plan: Any, key: str, y_idx: np.ndarray, weights: np.ndarray | None
) -> Callable[[np.ndarray], float] | None:
    """Accuracy, F1, precision or recall of the argmax labels as a loss, in numpy: equal to
    :func:`metrics.classification_scores` (binary on ``plan.pos_label``, else the plan's macro
    average) at a fraction of its cost, which the selection pays hundreds of times. None for
    other metrics, or labels the plan does not know (scikit-learn's path decides those)."""
    if key not in _COUNTED or (y_idx < 0).any():
        return None
    n = len(plan.classes)
    w = np.ones(len(y_idx)) if weights is None else weights
    true_count = np.bincount(y_idx, weights=w, minlength=n)
    binary = n == 2
    pos = int(metrics.class_indices(plan, [plan.pos_label])[0]) if binary else -1
    if binary and pos < 0:
        return None

    def loss(proba: np.ndarray) -> float:
        y_pred = np.argmax(proba, axis=1)
        correct = y_pred == y_idx
        if key == "accuracy_score":
            return -float(np.average(correct, weights=weights))
        hits = np.bincount(y_idx[correct], weights=w[correct], minlength=n)
        predicted = np.bincount(y_pred, weights=w, minlength=n)
        if key == "precision_score":
            per_class = thresholds.safe_ratio(hits, predicted)
        elif key == "recall_score":
            per_class = thresholds.safe_ratio(hits, true_count)
        else:
            per_class = thresholds.safe_ratio(2.0 * hits, predicted + true_count)
        return -float(per_class[pos] if binary else np.average(per_class))

    return loss


def member_table(tables: Sequence[pd.DataFrame], weights: Sequence[float]) -> pd.DataFrame:
    """The ensemble's SHAP importance by input column: its members' tables, weighted.

    Mean |SHAP| of a weighted mean of models is at most the weighted mean of the members' (the
    triangle inequality), so this is an upper bound that ranks columns as the members do.
    """
    merged: dict[str, float] = {}
    for table, weight in zip(tables, weights, strict=True):
        for feature, value in zip(table["feature"], table["importance"], strict=True):
            merged[str(feature)] = merged.get(str(feature), 0.0) + weight * float(value)
    out = pd.DataFrame({"feature": list(merged), "importance": list(merged.values())})
    return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
