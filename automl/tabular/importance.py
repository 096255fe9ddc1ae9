"""SHAP feature importance of a fitted trial pipeline, per ORIGINAL input column.

Trees use exact tree SHAP (LightGBM's native ``pred_contrib``; ``shap.TreeExplainer`` for
scikit-learn trees), linear models ``shap.LinearExplainer``. Values of all encoded columns of one
input column (one-hot, date parts, TF-IDF terms) are summed per row before averaging |SHAP|, so a
one-hot-expanded column counts once.
"""

from __future__ import annotations

import copy
import time
import warnings
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor

from automl.tabular.ensemble import member_table
from automl.tabular.families import get_family
from automl.tabular.preprocessing import feature_sources

DEFAULT_ROWS = 200
_MIN_SHARE_ROWS = 10  # rows each fold model explains before the rows are shared out
COST_SHARE = 0.07  # of the fit time, leaving room for the transform and grouping


def _as_3d(values: Any, n_rows: int, n_features: int) -> np.ndarray:
    """SHAP values as (rows, features, outputs) whatever the explainer returned."""
    if isinstance(values, list):
        return np.stack([np.asarray(v) for v in values], axis=-1)
    values = np.asarray(values)
    if values.ndim == 2:
        return values[:, :, None]
    if values.shape[1] != n_features and values.shape[0] == n_rows:
        return np.moveaxis(values, 1, 2)
    return values


def _lightgbm_values(model: Any, Xt: np.ndarray) -> np.ndarray:
    contrib = np.asarray(model.predict(Xt, pred_contrib=True))
    n, p = Xt.shape
    outputs = contrib.shape[1] // (p + 1)
    return contrib.reshape(n, outputs, p + 1)[:, :, :p].transpose(0, 2, 1)


def _linear_values(model: Any, Xt: np.ndarray) -> np.ndarray:
    """Interventional linear SHAP, ``coef * (x - mean(background))`` per output.

    This is what ``shap.LinearExplainer(model, background)`` returns (the background being
    the explained rows), computed directly to skip the explainer's setup cost.
    """
    scale = 1.0
    if isinstance(model, TransformedTargetRegressor):
        scale = float(np.ravel(getattr(model.transformer_, "scale_", [1.0]))[0])
        model = model.regressor_
    coef = np.atleast_2d(np.asarray(model.coef_, dtype="float64")) * scale
    centred = Xt - Xt.mean(axis=0, keepdims=True)
    return centred[:, :, None] * coef.T[None, :, :]


def _tree_values(model: Any, Xt: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # shap's import warns about matplotlib colormap APIs
        warnings.simplefilter("ignore")
        import shap

    explainer = shap.TreeExplainer(model)
    values = explainer.shap_values(Xt, check_additivity=False)
    return _as_3d(values, Xt.shape[0], Xt.shape[1])


def _fewer_trees(model: Any, n_trees: int) -> Any:
    """A shallow copy of a forest using its first ``n_trees`` trees (SHAP is a mean over trees)."""
    smaller = copy.copy(model)
    smaller.estimators_ = model.estimators_[:n_trees]
    smaller.n_estimators = len(smaller.estimators_)
    return smaller


def _forest_values(model: Any, Xt: np.ndarray, budget_s: float) -> np.ndarray:
    """Forest SHAP within ``budget_s``: time a few trees on a few rows, then use as many rows
    and trees as fit (a forest's SHAP values are the mean over its trees, so the first trees
    give an unbiased estimate)."""
    n_trees = len(model.estimators_)
    probe_trees, probe_rows = min(2, n_trees), min(5, len(Xt))  # deep trees: ms per tree-row
    start = time.perf_counter()
    probe = _tree_values(_fewer_trees(model, probe_trees), Xt[:probe_rows])
    spent = time.perf_counter() - start
    per_tree_row = spent / (probe_trees * probe_rows)
    capacity = (budget_s - spent) / max(per_tree_row, 1e-12)  # tree x row evaluations left
    if capacity < probe_trees * probe_rows:
        return probe
    rows = int(min(len(Xt), max(probe_rows, capacity // n_trees)))
    trees = int(min(n_trees, max(probe_trees, capacity // rows)))
    return _tree_values(_fewer_trees(model, trees), Xt[:rows])


def warm_up() -> None:
    """Import shap now (about a second or more), so the first trial of a worker does not pay it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap  # noqa: F401


def _within_budget(explain: Any, Xt: np.ndarray, budget_s: float) -> np.ndarray:
    """Explain a probe of rows, then as many more rows as the remaining budget allows."""
    probe = min(10, len(Xt))
    start = time.perf_counter()
    head = explain(Xt[:probe])
    per_row = (time.perf_counter() - start) / max(probe, 1)
    rows = int(min(len(Xt), probe + max(0.0, budget_s - per_row * probe) / max(per_row, 1e-12)))
    if rows <= probe:
        return head
    return np.concatenate([head, explain(Xt[probe:rows])], axis=0)


def _explain(model: Any, Xt: np.ndarray, budget_s: float | None, explainer: str) -> np.ndarray:
    """SHAP values with the explainer the model's family names (``ModelFamily.explainer``)."""
    if explainer == "linear":
        return _linear_values(model, Xt)  # closed form: cheap, and needs all rows' mean
    if explainer == "forest" and budget_s is not None:
        return _forest_values(model, Xt, budget_s)
    if explainer == "lightgbm":
        explain = partial(_lightgbm_values, model)
    else:
        explain = partial(_tree_values, model)
    if budget_s is None:
        return explain(Xt)
    return _within_budget(explain, Xt, budget_s)


def shap_values_by_column(
    plan: Any, pipeline: Any, X: pd.DataFrame, family: str, fit_seconds: float | None = None
) -> pd.DataFrame:
    """Per-row SHAP values summed back to the original input columns (rows x features);
    ``family`` (the trial's model family) says which explainer fits its model."""
    preprocess = pipeline.named_steps["preprocess"]
    model = pipeline.named_steps["model"]
    Xt = np.asarray(preprocess.transform(X[plan.feature_names]), dtype="float64")
    sources = feature_sources(preprocess)
    if len(sources) != Xt.shape[1]:
        raise RuntimeError(
            f"preprocessor output has {Xt.shape[1]} columns but {len(sources)} known sources"
        )
    budget = None if fit_seconds is None else COST_SHARE * fit_seconds
    explainer = get_family(family).explainer
    values = _explain(model, Xt, budget, explainer)  # rows x encoded features x outputs
    per_output = values.sum(axis=2) if values.shape[2] == 1 else None
    columns = plan.feature_names
    index = {c: i for i, c in enumerate(columns)}
    grouping = np.zeros((len(sources), len(columns)))
    for j, source in enumerate(sources):
        grouping[j, index[source]] = 1.0
    if per_output is not None:
        return pd.DataFrame(per_output @ grouping, columns=columns)
    # Multiclass: |SHAP| per column averaged over classes, kept per row.
    grouped = np.einsum("rfo,fc->rco", values, grouping)
    return pd.DataFrame(np.abs(grouped).mean(axis=2), columns=columns)


def shap_importance(
    plan: Any,
    pipeline: Any,
    X: pd.DataFrame,
    family: str,
    fit_seconds: float | None = None,
    max_rows: int = DEFAULT_ROWS,
) -> pd.DataFrame:
    """Mean |SHAP| per original input column on (a sample of) ``X``, largest first.

    Columns are ``feature`` and ``importance``. A cross-validated trial's fold average is
    explained through its fold models, each on its share of the rows (all of them when there
    are few), their tables averaged. With ``fit_seconds`` the explanation of scikit-learn
    forests is cut to stay under 10 % of that time (7 % for SHAP itself): fewer rows, then
    fewer trees.
    """
    if len(X) > max_rows:
        X = X.sample(max_rows, random_state=int(plan.seed))
    members = getattr(pipeline, "members", None)
    if members is not None:  # a fold average: each fold model explains its share of the rows
        k = len(members)
        share = None if fit_seconds is None else fit_seconds / k
        split = len(X) >= _MIN_SHARE_ROWS * k  # on a handful of rows every member sees them all
        tables = [
            shap_importance(plan, m, X.iloc[i::k] if split else X, family, share, max_rows)
            for i, m in enumerate(members)
        ]
        return member_table(tables, pipeline.weights)
    by_column = shap_values_by_column(plan, pipeline, X, family, fit_seconds)
    importance = by_column.abs().mean(axis=0)
    table = pd.DataFrame({"feature": importance.index, "importance": importance.to_numpy()})
    return table.sort_values(
        ["importance", "feature"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
