"""Train and score ONE trial: the single definition the engine runs and notebooks reproduce.

Holdout: fit on ``train``, score train/val/test. CV: fit on k-1 folds of train+val and score
the held-out fold (val metrics = mean over folds); the trial's model is the mean of the k fold
models (:class:`~automl.tabular.ensemble.FoldAverage`, no sixth fit), which scores test.
LightGBM stops early on the validation part (holdout) or picks one round count for all folds
(CV, best mean validation loss); the returned config fixes ``n_estimators`` to that count with
early stopping off, so fitting the returned config reproduces the same models literally.
A low-fidelity trial (``params["train_rows"]``, holdout only) learns from that many of the
training rows and is scored on the same validation and test rows as any other.
A binary classifier searched for a label metric (F1, accuracy, precision, recall) picks its
decision threshold on the validation predictions (out-of-fold for CV) before any metric is
computed (:mod:`automl.tabular.thresholds`); every metric, test included, is measured at it, the
returned config records it (``params["decision_threshold"]``) and the pipeline predicts at it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from automl.core.tags import DECISION_THRESHOLD, TRAIN_ROWS
from automl.tabular import metrics as metrics_module
from automl.tabular import thresholds
from automl.tabular.boosting import Part, fit_early_stopping, keep_rounds
from automl.tabular.ensemble import FoldAverage, blend
from automl.tabular.families import get_family
from automl.tabular.prepared import Prepared, PreparedCache
from automl.tabular.split import FOLD_COL, SPLIT_COL, training_rows

ReportFn = Callable[[int, float], bool]


class TrialPruned(optuna.TrialPruned):
    """Raised when ``report`` asks to stop after a CV fold; carries the partial metrics."""

    def __init__(self, step: int, value: float, metrics: dict[str, float]) -> None:
        super().__init__(f"pruned after fold {step} (validation value {value:.6g})")
        self.step = step
        self.value = value
        self.metrics = metrics


@dataclass
class FitResult:
    """The fitted model, ``train_/val_/test_`` metrics and the config actually used.

    The model is a pipeline (holdout, refits) or a cross-validated trial's fold average.
    Unpacks as ``pipeline, metrics, config = fit_and_score(...)``. ``val_y`` and
    ``val_predictions`` (probabilities in ``plan.classes`` order, or predicted values) are the
    validation targets and predictions behind the ``val_`` metrics: the val part for holdout,
    out-of-fold predictions of train+val for CV, so plots need no refit and no extra predict.
    """

    pipeline: Any
    metrics: dict[str, float]
    config: dict[str, Any]
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    fold_metrics: list[dict[str, float]] = field(default_factory=list)
    val_y: pd.Series | None = None
    val_predictions: np.ndarray | None = None
    test_predictions: np.ndarray | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.pipeline, self.metrics, self.config))


def xy(plan: Any, frame: pd.DataFrame) -> Part:
    """Features (raw columns), target and sample weights (or ``None``) of a part of the data."""
    X = frame[plan.feature_names]
    y = frame[plan.target_col]
    w = None
    if plan.sample_weight_col is not None:
        w = frame[plan.sample_weight_col].to_numpy(dtype="float64")
    return X, y, w


def _uses_early_stopping(config: Mapping[str, Any]) -> bool:
    return get_family(config["family"]).uses_early_stopping(config["params"])


def validation_frame(plan: Any, df_prepared: pd.DataFrame) -> pd.DataFrame:
    """The rows behind a trial's ``val_predictions``, in their order: the val part for holdout,
    train+val fold by fold for CV (the order out-of-fold predictions are gathered in)."""
    split = df_prepared[SPLIT_COL]
    if plan.validation != "cv":
        return df_prepared[split == "val"]
    pool = df_prepared[split != "test"]
    folds = pool[FOLD_COL].to_numpy()
    return pd.concat([pool[folds == fold] for fold in range(int(plan.n_folds))])


def _build_model(plan: Any, config: Mapping[str, Any], n_threads: int) -> Any:
    return get_family(config["family"], plan).build(plan, dict(config["params"]), n_threads)


def _fit_model(plan: Any, config: Mapping[str, Any], Xt, y, w, n_threads: int) -> Any:
    """The trial's model fit on preprocessed features ``Xt``."""
    model = _build_model(plan, config, n_threads)
    if w is None:
        return model.fit(Xt, y)
    return model.fit(Xt, y, sample_weight=w)


def _pipeline(prepared: Prepared, model: Any) -> Pipeline:
    """The fitted preprocessing and model as the one pipeline a trial returns."""
    return Pipeline([("preprocess", prepared.preprocess), ("model", model)])


def _predict(plan: Any, model: Any, Xt: np.ndarray, num_iteration: int | None = None):
    """Probabilities in ``plan.classes`` order (classification) or predictions (regression),
    from preprocessed features."""
    kwargs = {} if num_iteration is None else {"num_iteration": num_iteration}
    if plan.task == "classification":
        proba = model.predict_proba(Xt, **kwargs)
        return metrics_module.align_columns(plan, proba, model.classes_)
    return np.asarray(model.predict(Xt, **kwargs), dtype="float64")


def _fold_average_predict(plan: Any, folds: list[tuple[Prepared, Any]], part: str, X) -> np.ndarray:
    """What the fold average predicts for ``X`` (the rows ``part`` names): the mean of its
    fold models' predictions, each through its own fold's preprocessing."""
    preds = [_predict(plan, model, prepared.transform(part, X)) for prepared, model in folds]
    return blend(preds, [1.0 / len(folds)] * len(folds))


def _scores(
    plan: Any,
    model: Any,
    Xt,
    y,
    w,
    num_iteration: int | None = None,
    threshold: float | None = None,
) -> tuple[dict[str, float], np.ndarray]:
    """Metrics of ``model`` on preprocessed ``(Xt, y)`` and the predictions behind them."""
    pred = _predict(plan, model, Xt, num_iteration)
    return _scored(plan, y, pred, w, threshold), pred


def _scored(plan: Any, y, pred: np.ndarray, w, threshold: float | None = None) -> dict[str, float]:
    """Every metric of the plan's task from predictions (binary labels at ``threshold``)."""
    if plan.task == "classification":
        return metrics_module.classification_scores(plan, y, pred, w, threshold)
    return metrics_module.regression_scores(y, pred, w)


def _tuned_threshold(plan: Any, y, pred: np.ndarray | None, w) -> float | None:
    """The decision threshold tuned on validation ``(y, pred)``; None when the plan tunes none
    (regression, multiclass, ROC AUC, log loss) or there are no validation rows."""
    if pred is None or len(pred) == 0 or not thresholds.tunes_threshold(plan):
        return None
    return thresholds.tune_threshold(plan, y, pred, w)


def _without_threshold(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` as the fit starts from: a threshold it records is tuned again."""
    params = {k: v for k, v in (config.get("params") or {}).items() if k != DECISION_THRESHOLD}
    return {"family": config["family"], "params": params}


def _final_config(config: Mapping[str, Any], rounds: int) -> dict[str, Any]:
    params = dict(config["params"])
    params["n_estimators"] = int(rounds)
    params["early_stopping_rounds"] = None
    return {"family": config["family"], "params": params}


def _check_config(plan: Any, config: Mapping[str, Any], df: pd.DataFrame) -> None:
    if not isinstance(config, Mapping) or "family" not in config:
        raise ValueError(f"config: expected {{'family': ..., 'params': {{...}}}}, got {config!r}")
    if SPLIT_COL not in df.columns:
        raise ValueError(
            f"df_prepared: column {SPLIT_COL!r} missing; run automl.tabular.split.assign_split"
        )
    if plan.validation == "cv" and FOLD_COL not in df.columns:
        raise ValueError(f"df_prepared: column {FOLD_COL!r} missing for cross-validation")


def fit_and_score(
    plan: Any,
    config: Mapping[str, Any],
    df_prepared: pd.DataFrame,
    n_threads: int = 1,
    report: ReportFn | None = None,
    cache: PreparedCache | None = None,
) -> FitResult:
    """Fit the trial ``config`` on the plan's split of ``df_prepared`` and score it.

    ``report(step, value) -> should_prune`` is called after each CV fold with that fold's
    primary validation metric; when it returns True, :class:`TrialPruned` is raised.
    ``cache`` (one per ``df_prepared``) keeps the fitted preprocessing for the next trials.
    Returns a :class:`FitResult` (unpacks to ``pipeline, metrics, config``).
    """
    _check_config(plan, config, df_prepared)
    cache = PreparedCache() if cache is None else cache
    # The configuration comes from our own validated search spaces: scikit-learn's per-call
    # parameter checks (~5 ms each, dozens per trial in metrics alone) only add time.
    with warnings.catch_warnings(), sklearn.config_context(skip_parameter_validation=True):
        # Solvers that stop at max_iter still give a usable model; the trial's score says how good.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _fit_and_score(plan, config, df_prepared, n_threads, report, cache)


def _fit_and_score(
    plan: Any,
    config: Mapping[str, Any],
    df_prepared: pd.DataFrame,
    n_threads: int,
    report: ReportFn | None,
    cache: PreparedCache,
) -> FitResult:
    config = _without_threshold(config)
    encoding = get_family(config["family"], plan).encoding
    split = df_prepared[SPLIT_COL]
    test = df_prepared[split == "test"]
    timer = {"fit": 0.0, "predict": 0.0}

    def timed(kind: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timer[kind] += time.perf_counter() - start

    fold_scores: list[dict[str, float]] = []
    val_y, val_pred = None, None
    if plan.validation == "cv":
        folds, scores, config, fold_scores, (val_y, val_pred), threshold = _cross_validate(
            plan, config, df_prepared, n_threads, report, timed, cache, encoding
        )
        pipeline = FoldAverage([_pipeline(p, m) for p, m in folds], plan, threshold)
        threshold = pipeline.decision_threshold_
        X_pool, y_pool, w_pool = xy(plan, df_prepared[split != "test"])
        pool_pred = timed("predict", _fold_average_predict, plan, folds, "pool", X_pool)
        results = {"train": _scored(plan, y_pool, pool_pred, w_pool, threshold), "val": scores}
    else:
        train, val = df_prepared[split == "train"], df_prepared[split == "val"]
        train = training_rows(plan, train, config["params"].get(TRAIN_ROWS))
        (X_tr, y_tr, w_tr), (X_va, y_va, w_va) = xy(plan, train), xy(plan, val)
        prepared = timed("fit", cache.fitted, plan, encoding, ("train", len(train)), X_tr, y_tr)
        fit_part = (prepared.fit_matrix, y_tr, w_tr)
        Xt_va = timed("predict", prepared.transform, "val", X_va) if len(val) else None
        if _uses_early_stopping(config) and len(val):
            patience = int(config["params"]["early_stopping_rounds"])
            model, _curve = timed("fit", fit_early_stopping, plan,
                                  _build_model(plan, config, n_threads), patience, fit_part,
                                  (Xt_va, y_va, w_va))  # fmt: skip
            config = _final_config(config, max(1, model.best_iteration_))
        else:
            if _uses_early_stopping(config):
                config = _final_config(config, config["params"]["n_estimators"])
            model = timed("fit", _fit_model, plan, config, *fit_part, n_threads)
        threshold = None
        if len(val):  # the validation predictions choose the threshold every metric is taken at
            val_pred = timed("predict", _predict, plan, model, Xt_va)
            val_y = y_va
            threshold = _tuned_threshold(plan, y_va, val_pred, w_va)
        # the training rows as the pipeline predicts them (a cross-fitted encoding's fit output
        # differs from its transform)
        Xt_tr = timed("predict", prepared.transform, "train", X_tr)
        results = {"train": timed("predict", _scores, plan, model, Xt_tr, y_tr, w_tr,
                                  threshold=threshold)[0]}  # fmt: skip
        if len(val):
            results["val"] = _scored(plan, y_va, val_pred, w_va, threshold)
        pipeline = thresholds.with_threshold(_pipeline(prepared, model), plan, threshold)
    if getattr(pipeline, "decision_threshold_", None) is not None:
        config["params"][DECISION_THRESHOLD] = threshold
    test_pred = None
    if len(test):
        X_te, y_te, w_te = xy(plan, test)
        if plan.validation == "cv":
            test_pred = timed("predict", _fold_average_predict, plan, folds, "test", X_te)
        else:
            test_pred = timed("predict", _predict, plan, model, prepared.transform("test", X_te))
        results["test"] = _scored(plan, y_te, test_pred, w_te, threshold)
    metrics: dict[str, float] = {}
    for part in ("train", "val", "test"):
        if part in results:
            metrics.update(metrics_module.prefixed(results[part], part))
    return FitResult(
        pipeline,
        metrics,
        config,
        timer["fit"],
        timer["predict"],
        fold_scores,
        val_y,
        val_pred,
        test_pred,
    )


REFIT_PARTS = {"train+val": ("train", "val"), "all rows": ("train", "val", "test")}


def refit(
    plan: Any,
    config: Mapping[str, Any],
    df_prepared: pd.DataFrame,
    n_threads: int = 1,
    trained_on: str = "all rows",
    cache: PreparedCache | None = None,
) -> FitResult:
    """Fit a finished trial's ``config`` again on more rows, for the registered model.

    ``trained_on`` is ``"all rows"`` (every row the user gave, as FLAML's ``retrain_full`` and
    AutoGluon's ``refit_full`` do: the default) or ``"train+val"`` (the test part stays held out
    and scores the refit). ``config`` is the one the trial returned (LightGBM's round count
    fixed), so the refit is the same model on more rows. With all rows nothing is left to test
    on: the trial's own test metrics stay the honest estimate. ``cache`` shares the refit's
    preprocessing between the members of an ensemble.
    """
    _check_config(plan, config, df_prepared)
    if trained_on not in REFIT_PARTS:
        raise ValueError(f"trained_on: expected one of {list(REFIT_PARTS)}, got {trained_on!r}")
    cache = PreparedCache() if cache is None else cache
    threshold = thresholds.config_threshold(config)
    config = _without_threshold(config)
    config["params"].pop(TRAIN_ROWS, None)  # a low-fidelity winner learns from every row now
    if _uses_early_stopping(config):
        config = _final_config(config, config["params"]["n_estimators"])
    encoding = get_family(config["family"], plan).encoding
    split = df_prepared[SPLIT_COL]
    in_pool = split.isin(REFIT_PARTS[trained_on])
    pool, test = df_prepared[in_pool], df_prepared[~in_pool]
    with warnings.catch_warnings(), sklearn.config_context(skip_parameter_validation=True):
        warnings.simplefilter("ignore", ConvergenceWarning)
        X, y, w = xy(plan, pool)
        started = time.perf_counter()
        prepared = cache.fitted(plan, encoding, ("refit", trained_on), X, y)
        model = _fit_model(plan, config, prepared.fit_matrix, y, w, n_threads)
        fit_seconds = time.perf_counter() - started
        # the trial's threshold, tuned on its validation predictions, is the refit's too
        pipeline = thresholds.with_threshold(_pipeline(prepared, model), plan, threshold)
        if isinstance(pipeline, thresholds.ThresholdPipeline):
            config["params"][DECISION_THRESHOLD] = threshold
        else:
            threshold = None
        Xt = prepared.transform("train", X)
        metrics = metrics_module.prefixed(
            _scores(plan, model, Xt, y, w, threshold=threshold)[0], "train"
        )
        if len(test):
            X_te, y_te, w_te = xy(plan, test)
            Xt_te = prepared.transform("test", X_te)
            scored = _scores(plan, model, Xt_te, y_te, w_te, threshold=threshold)[0]
            metrics.update(metrics_module.prefixed(scored, "test"))
    return FitResult(pipeline, metrics, config, fit_seconds)


def _mean(values: list[float]) -> float:
    """Mean ignoring NaN (a fold where a metric is undefined); NaN when all are."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(values))


def _cross_validate(
    plan: Any,
    config: dict[str, Any],
    df: pd.DataFrame,
    n_threads: int,
    report: ReportFn | None,
    timed: Callable[..., Any],
    cache: PreparedCache,
    encoding: str,
) -> tuple[list[tuple[Prepared, Any]], dict[str, float], dict[str, Any], list[dict[str, float]],
           tuple, float | None]:  # fmt: skip
    """Per-fold fits and scores; the trial's model is the mean of the fold models.

    Returns each fold's (preprocessing, model), mean fold scores, final config, per-fold
    scores, the out-of-fold ``(targets, predictions)`` and the decision threshold tuned on them
    (or None): the fold scores are measured at it, and the fold average predicts at it.
    """
    key = plan.primary_metric_key
    pool = df[df[SPLIT_COL] != "test"]
    folds = pool[FOLD_COL].to_numpy()
    early = _uses_early_stopping(config)
    fold_scores: list[dict[str, float]] = []
    fold_preds: list[tuple[pd.Series, np.ndarray, Any]] = []
    fitted: list[tuple[Prepared, Any, np.ndarray, pd.Series, Any]] = []
    curves: list[list[float]] = []
    reported: list[float] = []
    for fold in range(int(plan.n_folds)):
        (X_tr, y_tr, w_tr), (X_va, y_va, w_va) = (
            xy(plan, pool[folds != fold]),
            xy(plan, pool[folds == fold]),
        )
        prepared = timed("fit", cache.fitted, plan, encoding, ("fold", fold), X_tr, y_tr)
        Xt_va = timed("predict", prepared.transform, "val", X_va)
        fit_part = (prepared.fit_matrix, y_tr, w_tr)
        own_rounds = None
        if early:
            patience = int(config["params"]["early_stopping_rounds"])
            model, curve = timed("fit", fit_early_stopping, plan,
                                 _build_model(plan, config, n_threads), patience, fit_part,
                                 (Xt_va, y_va, w_va), keep_trees=True)  # fmt: skip
            curves.append(curve)
            own_rounds = int(np.argmin(curve)) + 1
        else:
            model = timed("fit", _fit_model, plan, config, *fit_part, n_threads)
        fitted.append((prepared, model, Xt_va, y_va, w_va))
        scores, pred = timed("predict", _scores, plan, model, Xt_va, y_va, w_va, own_rounds)
        fold_scores.append(scores)
        fold_preds.append((y_va, pred, w_va))
        if report is not None:
            value = float(scores[key])
            so_far = _tuned_threshold(plan, *_pooled(fold_preds))
            if so_far is not None:  # as the finished trial is scored: at a tuned threshold
                value = float(_scored(plan, y_va, pred, w_va, so_far)[key])
            reported.append(value)
            running = _mean(reported)
            if report(fold, value):
                raise TrialPruned(fold, value, {f"val_{key}": running})
    if early:
        length = min(len(c) for c in curves)
        mean_curve = np.mean([c[:length] for c in curves], axis=0)
        rounds = int(np.argmin(mean_curve)) + 1
        config = _final_config(config, rounds)
        for _, model, *_ in fitted:
            keep_rounds(model, rounds)
        rescored = [timed("predict", _scores, plan, m, Xt, y, w) for _, m, Xt, y, w in fitted]
        fold_scores = [scores for scores, _ in rescored]
        fold_preds = [(y, pred, w) for (*_, y, w), (_, pred) in zip(fitted, rescored, strict=True)]
    oof_y, oof_pred, oof_w = _pooled(fold_preds)
    threshold = _tuned_threshold(plan, oof_y, oof_pred, oof_w)
    if threshold is not None:  # one threshold from all out-of-fold predictions, for every fold
        fold_scores = [_scored(plan, y, pred, w, threshold) for y, pred, w in fold_preds]
    mean_scores = {name: _mean([s[name] for s in fold_scores]) for name in fold_scores[0]}
    models = [(prepared, model) for prepared, model, *_ in fitted]
    return models, mean_scores, config, fold_scores, (oof_y, oof_pred), threshold


def _pooled(fold_preds: list[tuple[pd.Series, np.ndarray, Any]]) -> tuple:
    """Targets, predictions and weights (or None) of the folds so far, in fold order."""
    weights = [w for _, _, w in fold_preds]
    return (
        pd.concat([y for y, _, _ in fold_preds]),
        np.concatenate([pred for _, pred, _ in fold_preds], axis=0),
        None if any(w is None for w in weights) else np.concatenate(weights),
    )
