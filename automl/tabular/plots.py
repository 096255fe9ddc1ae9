"""Evaluation figures of a trial (matplotlib ``Figure`` objects, no pyplot state).

Classification: confusion matrix, ROC and precision-recall curves. Regression: predicted vs
actual and residuals. Plus the SHAP importance bar chart. The caller logs and closes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn import metrics as skm

from automl.tabular.metrics import aligned_proba, class_indices

TOP_FEATURES = 20


def _figure(width: float = 5.5, height: float = 4.5) -> tuple[Figure, Any]:
    figure = Figure(figsize=(width, height), dpi=80)
    figure.subplots_adjust(left=0.16, right=0.95, bottom=0.14, top=0.9)
    return figure, figure.add_subplot(1, 1, 1)


def _text_labels(values: Any) -> np.ndarray:
    return np.asarray([str(v) for v in values], dtype=object)


def confusion_matrix_plot(plan: Any, y_true: Any, y_pred: Any) -> Figure:
    """Confusion matrix with counts, classes in ``plan.classes`` order."""
    labels = _text_labels(plan.classes)
    positions = list(range(len(labels)))
    matrix = skm.confusion_matrix(
        class_indices(plan, y_true), class_indices(plan, y_pred), labels=positions
    )
    figure, ax = _figure(max(4.0, 0.6 * len(labels) + 2.5), max(3.5, 0.6 * len(labels) + 2))
    image = ax.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=ax)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            color = "white" if matrix[i, j] > threshold else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title("Confusion matrix")
    return figure


def _one_vs_rest(plan: Any, y_true: Any) -> list[tuple[str, np.ndarray, int]]:
    """``(class name, 0/1 membership, probability column)`` per curve to draw."""
    index = class_indices(plan, y_true)
    classes = list(plan.classes)
    if len(classes) == 2:
        pos = int(class_indices(plan, [plan.pos_label])[0])
        return [(str(classes[pos]), (index == pos).astype(int), pos)]
    return [(str(c), (index == j).astype(int), j) for j, c in enumerate(classes)]


def roc_curve_plot(plan: Any, y_true: Any, proba: np.ndarray) -> Figure:
    """ROC curve (one per class, one-vs-rest, for multiclass)."""
    figure, ax = _figure()
    for name, positive, column in _one_vs_rest(plan, y_true):
        if positive.min() == positive.max():
            continue
        fpr, tpr, _ = skm.roc_curve(positive, proba[:, column])
        auc = skm.auc(fpr, tpr)
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve")
    ax.legend(loc="lower right", fontsize="small")
    return figure


def pr_curve_plot(plan: Any, y_true: Any, proba: np.ndarray) -> Figure:
    """Precision-recall curve (one per class, one-vs-rest, for multiclass)."""
    figure, ax = _figure()
    for name, positive, column in _one_vs_rest(plan, y_true):
        if positive.max() == 0:
            continue
        precision, recall, _ = skm.precision_recall_curve(positive, proba[:, column])
        ap = skm.average_precision_score(positive, proba[:, column])
        ax.plot(recall, precision, label=f"{name} (AP {ap:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall curve")
    ax.legend(loc="lower left", fontsize="small")
    return figure


def predicted_vs_actual_plot(y_true: Any, y_pred: Any) -> Figure:
    """Scatter of predictions against actual values with the identity line."""
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(y_pred, dtype="float64")
    figure, ax = _figure()
    ax.scatter(y_true, y_pred, s=8, alpha=0.5)
    low = float(np.nanmin([y_true.min(), y_pred.min()]))
    high = float(np.nanmax([y_true.max(), y_pred.max()]))
    ax.plot([low, high], [low, high], linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    ax.set_title("Predicted vs actual")
    return figure


def residuals_plot(y_true: Any, y_pred: Any) -> Figure:
    """Residuals (actual - predicted) against predictions."""
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(y_pred, dtype="float64")
    figure, ax = _figure()
    ax.scatter(y_pred, y_true - y_pred, s=8, alpha=0.5)
    ax.axhline(0.0, linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel("predicted")
    ax.set_ylabel("residual (actual - predicted)")
    ax.set_title("Residuals")
    return figure


def evaluation_plots(plan: Any, y: Any, predictions: np.ndarray) -> dict[str, Figure]:
    """Figures from targets and predictions (e.g. ``FitResult.val_y/val_predictions``):
    probabilities in ``plan.classes`` order for classification, values for regression."""
    if plan.task == "classification":
        proba = np.asarray(predictions, dtype="float64")
        y_pred = np.asarray(plan.classes, dtype=object)[np.argmax(proba, axis=1)]
        return {
            "confusion_matrix": confusion_matrix_plot(plan, y, y_pred),
            "roc_curve": roc_curve_plot(plan, y, proba),
            "precision_recall_curve": pr_curve_plot(plan, y, proba),
        }
    y_pred = np.asarray(predictions, dtype="float64")
    return {
        "predicted_vs_actual": predicted_vs_actual_plot(y, y_pred),
        "residuals": residuals_plot(y, y_pred),
    }


def classification_plots(plan: Any, pipeline: Any, X: pd.DataFrame, y: Any) -> dict[str, Figure]:
    """``{"confusion_matrix", "roc_curve", "precision_recall_curve"}`` figures on ``(X, y)``."""
    return evaluation_plots(plan, y, aligned_proba(plan, pipeline, X))


def regression_plots(plan: Any, pipeline: Any, X: pd.DataFrame, y: Any) -> dict[str, Figure]:
    """``{"predicted_vs_actual", "residuals"}`` figures on ``(X, y)``."""
    return evaluation_plots(plan, y, pipeline.predict(X))


def importance_plot(table: pd.DataFrame, top: int = TOP_FEATURES) -> Figure:
    """Horizontal bar chart of the ``top`` features of a :func:`shap_importance` table."""
    shown = table.head(top).iloc[::-1]
    height = max(3.0, 0.3 * len(shown) + 1.2)
    figure, ax = _figure(6.5, height)
    longest = max((len(str(f)) for f in shown["feature"]), default=1)
    left = min(0.6, 0.04 + 0.085 * min(longest, 40) / 6.5)  # room for the labels, no tight bbox
    figure.subplots_adjust(left=left, right=0.97, bottom=0.9 / height, top=1 - 0.5 / height)
    ax.barh([str(f) for f in shown["feature"]], shown["importance"], color="#1f77b4")
    ax.set_xlabel("mean |SHAP value|")
    ax.set_title("SHAP importance per input column")
    return figure


def close(figure: Figure) -> None:
    """Release a figure's memory (figures are not registered with pyplot)."""
    figure.clear()
