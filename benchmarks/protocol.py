"""The comparison protocol (AutoML Benchmark conventions): outer split, metric, scoring, winner."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

METRIC_BY_TASK = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
HIGHER_IS_BETTER = {"roc_auc": True, "log_loss": False, "rmse": False}
TIE_TOLERANCE = 0.005


def outer_split(
    df: pd.DataFrame, target: str, task: str, seed: int = 0, test_size: float = 0.2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded 80/20 split (stratified for classification); same rows for every framework."""
    stratify = df[target] if task in ("binary", "multiclass") else None
    train, test = train_test_split(
        df, test_size=test_size, random_state=seed, stratify=stratify, shuffle=True
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def align_proba(proba: np.ndarray, classes: Sequence, labels: Sequence) -> np.ndarray:
    """Reorder probability columns from a framework's ``classes`` to ``labels``.

    Classes the framework never saw get probability 0; rows are renormalised to sum to 1.
    """
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        raise ValueError(
            f"predict_proba returned shape {proba.shape} but the model reports "
            f"{len(classes)} classes {list(classes)!r}"
        )
    index = {label_key(c): i for i, c in enumerate(classes)}
    unknown = set(index) - {label_key(lab) for lab in labels}
    if unknown:
        raise ValueError(f"model classes {sorted(unknown)} are not dataset labels {list(labels)}")
    out = np.zeros((proba.shape[0], len(labels)))
    for j, lab in enumerate(labels):
        if label_key(lab) in index:
            out[:, j] = proba[:, index[label_key(lab)]]
    total = out.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return out / total


def label_key(label: object) -> str:
    """Compare labels across frameworks that may return 1, 1.0, np.int64(1) or '1'."""
    if isinstance(label, float | np.floating) and float(label).is_integer():
        return str(int(label))
    return str(label)


def score(
    task: str,
    y_true: pd.Series,
    predictions: np.ndarray,
    classes: Sequence | None,
    labels: Sequence | None = None,
) -> float:
    """Score test predictions with the task's metric (probabilities for classification)."""
    if task == "regression":
        return float(root_mean_squared_error(np.asarray(y_true, float), np.asarray(predictions)))
    if classes is None:
        raise ValueError(f"task {task!r} needs the class order of predict_proba's columns")
    labels = list(labels) if labels is not None else sorted(pd.unique(y_true), key=label_key)
    proba = align_proba(predictions, classes, labels)
    y = np.array([label_key(v) for v in y_true])
    if task == "binary":
        return float(roc_auc_score(y == label_key(labels[1]), proba[:, 1]))
    onehot = (y[:, None] == np.array([label_key(lab) for lab in labels])[None, :]).astype(int)
    return float(log_loss(onehot, np.clip(proba, 1e-15, 1.0)))


def normalised(metric: str, value: float, best: float) -> float:
    """Score as a fraction of the best one (1.0 = best; lower = worse) for charts."""
    if value is None or math.isnan(value) or best is None or math.isnan(best):
        return float("nan")
    if HIGHER_IS_BETTER[metric]:
        return value / best if best else float("nan")
    return best / value if value else 1.0


def verdict(metric: str, scores: Mapping[str, float]) -> dict[str, str]:
    """Per framework: "win", "tie" (within 0.5 % of the best, relative) or "loss".

    A missing/NaN score (failed or killed run) is a loss. Only one framework can "win";
    when the runner-up is within tolerance everyone within it gets "tie".
    """
    valid = {k: v for k, v in scores.items() if v is not None and not math.isnan(v)}
    out = dict.fromkeys(scores, "loss")
    if not valid:
        return out
    best = (max if HIGHER_IS_BETTER[metric] else min)(valid.values())
    close = [k for k, v in valid.items() if abs(v - best) <= TIE_TOLERANCE * abs(best)]
    for k in close:
        out[k] = "tie" if len(close) > 1 else "win"
    return out
