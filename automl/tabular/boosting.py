"""Early stopping for boosted trees (LightGBM), as trials use it.

Holdout trials stop on the validation part and keep the best round. Cross-validated trials grow
every fold past its best round (:class:`StopKeepingTrees`), pick one round count from the mean
validation curve, then cut each fold's model to it (:func:`keep_rounds`): the same model a fresh
fit with ``n_estimators`` = that count gives, which is what the trial's notebook does.
"""

from __future__ import annotations

import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

# A part of the data as features (raw or preprocessed), target and sample weights (or None).
Part = tuple[pd.DataFrame, pd.Series, np.ndarray | None]


class StopKeepingTrees:
    """Early stopping that keeps every tree grown (LightGBM's own callback truncates the model
    to its best round, but CV needs each fold's predictions at a round chosen afterwards)."""

    order = 30

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best = np.inf
        self.best_round = 0

    def __call__(self, env: Any) -> None:
        _data, _name, value, higher_better = env.evaluation_result_list[0][:4]
        score = -value if higher_better else value
        if score < self.best:
            self.best, self.best_round = score, env.iteration
        elif env.iteration - self.best_round >= self.patience:
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)


def fit_early_stopping(
    plan: Any,
    model: Any,
    patience: int,
    train: Part,
    evaluation: Part,
    keep_trees: bool = False,
) -> tuple[Any, list[float]]:
    """Fit the LightGBM ``model`` on ``train`` watching ``evaluation`` (each preprocessed
    features, target and weights); returns the model and the eval loss curve.

    Without ``keep_trees`` the model is cut to its best round (what a fresh fit with
    ``n_estimators`` = that round gives); with it every grown tree is kept.
    """
    (Xt, y, w), (Xe, y_eval, w_eval) = train, evaluation
    if plan.task == "classification":  # a class absent from training cannot be scored
        known = np.asarray(pd.Series(y_eval).isin(set(pd.Series(y).unique())))
        if not known.all():
            Xe, y_eval = Xe[known], y_eval[known]
            w_eval = None if w_eval is None else w_eval[known]
    stopper = (
        StopKeepingTrees(patience)
        if keep_trees
        else lgb.early_stopping(patience, first_metric_only=True, verbose=False)
    )
    # ``eval_set`` (deprecated in LightGBM 4.7) because ``eval_y`` skips the classifier's
    # label encoding there; the fitted model is the same.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*eval_set.*deprecated")
        model.fit(
            Xt,
            y,
            sample_weight=w,
            eval_set=[(Xe, y_eval)],
            eval_sample_weight=None if w_eval is None else [w_eval],
            callbacks=[stopper],
        )
    results = model.evals_result_["valid_0"]
    curve = list(results[next(iter(results))])
    return model, curve


def keep_rounds(model: Any, rounds: int) -> Any:
    """Cut the fitted LightGBM ``model`` to its first ``rounds`` trees, in place."""
    booster = model.booster_
    booster.model_from_string(booster.model_to_string(num_iteration=int(rounds)))
    booster.best_iteration = int(rounds)  # what predict() uses when no round is given
    return model
