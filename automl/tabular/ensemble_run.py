"""The ensemble as a tracked run: chosen from the trials' stored predictions, logged like a trial.

After the search, greedy selection (Caruana et al., 2004) blends the best trials' validation
predictions (out-of-fold for CV). When the blend beats the best single trial on validation, it
becomes a run of its own beside the trials: members and weights as params, val and test metrics
from the blended predictions, the :class:`~automl.tabular.ensemble.EnsembleModel` of the members'
logged models, SHAP importance by input column and a notebook that rebuilds it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from automl.core import tags
from automl.core.ensemble_selection import select_ensemble
from automl.core.records import TrialState
from automl.core.summary import TrialInfo
from automl.tabular import charts, fit, metrics, thresholds
from automl.tabular.ensemble import (
    ENSEMBLE_FAMILY,
    MAX_CANDIDATES,
    ROUNDS,
    EnsembleModel,
    blend,
    member_table,
    score_predictions,
    selection_loss,
)
from automl.tabular.split import SPLIT_COL
from automl.tabular.trial import TrialContext, log_trial_model, notebook_run, save_notebook

logger = logging.getLogger("automl")
SHAP_TABLE = charts.SHAP_TABLE
ENSEMBLE_TAG = tags.ENSEMBLE
# Train metrics of an ensemble are measured on at most this many rows.
TRAIN_SCORE_ROWS = 5_000
# Logging an ensemble: a fixed part, and per member (load, pickle) besides its predictions.
BUILD_FIXED_S, BUILD_PER_MEMBER_S = 1.0, 0.3


def _member_config(info: TrialInfo) -> dict[str, Any]:
    params = {k: v for k, v in info.params.items() if k != "model_family"}
    return {"family": info.params["model_family"], "params": params}


def describe(members: list[TrialInfo], weights: list[float]) -> str:
    parts = [
        f"{w:.2f} {m.params['model_family']}#{m.number}"
        for m, w in sorted(zip(members, weights, strict=True), key=lambda mw: -mw[1])
    ]
    return f"ensemble({', '.join(parts)})"


def log_ensemble(
    ctx: TrialContext,
    finished: list[TrialInfo],
    predictions: dict[str, tuple[Any, Any]],
    number: int,
    parent_run_id: str,
    time_left: float = float("inf"),
) -> TrialInfo | None:
    """The ensemble run, or ``None`` when no blend beats the best trial on validation or it
    would not be logged within ``time_left`` seconds (its members' load, predict and pickle)."""
    started = time.monotonic()
    plan, data = ctx.plan, ctx.data
    candidates = [t for t in finished if predictions.get(t.run_id, (None, None))[0] is not None]
    candidates = candidates[:MAX_CANDIDATES]
    if len(candidates) < 2:
        return None
    val_rows = fit.validation_frame(plan, data)
    _, y_val, w_val = fit.xy(plan, val_rows)
    val_preds = [np.asarray(predictions[t.run_id][0], dtype="float64") for t in candidates]
    if any(p.shape[0] != len(y_val) for p in val_preds):
        logger.debug("ensemble skipped: the trials' validation predictions differ in rows")
        return None
    end = started + time_left
    tuned = thresholds.tunes_threshold(plan)
    # a label metric judges each blend at its own tuned cut, as the trials were judged
    loss = (thresholds.tuned_loss if tuned else selection_loss)(plan, y_val, w_val)
    # the selection leaves at least the fixed part of logging the ensemble to the time left
    selection = select_ensemble(val_preds, loss, ROUNDS, stop_at=end - BUILD_FIXED_S)
    if len(selection.trajectory) < ROUNDS:
        logger.info("ensemble selection stopped after %d of %d rounds: the time budget",
                    len(selection.trajectory), ROUNDS)  # fmt: skip
    if not selection.beats_best_single:
        return None
    members = [candidates[i] for i in selection.members]
    weights = list(selection.weights)
    if build_seconds(members) > end - time.monotonic():
        logger.info("ensemble not built: logging it would outlast the budget")
        return None
    val_blend = blend([val_preds[i] for i in selection.members], weights)
    threshold = thresholds.tune_threshold(plan, y_val, val_blend, w_val) if tuned else None
    scores = metrics.prefixed(score_predictions(plan, y_val, val_blend, w_val, threshold), "val")
    test_preds = [predictions[m.run_id][1] for m in members]
    test_rows = data[data[SPLIT_COL] == "test"]
    if len(test_rows) and all(p is not None for p in test_preds):
        _, y_te, w_te = fit.xy(plan, test_rows)
        test_blend = blend([np.asarray(p, dtype="float64") for p in test_preds], weights)
        test_scores = score_predictions(plan, y_te, test_blend, w_te, threshold)
        scores.update(metrics.prefixed(test_scores, "test"))
    scores["fit_time_seconds"] = sum(m.metrics.get("fit_time_seconds", 0.0) for m in members)
    info = _log_run(ctx, members, weights, threshold, scores, number, parent_run_id, started)
    charts.log_validation_plots(ctx.client, plan, info.run_id, y_val, val_blend)
    return info


def build_seconds(members: list[TrialInfo]) -> float:
    """Expected seconds to log an ensemble of ``members``: a fixed part for the run, its
    notebook and plots, and per member its load, pickling and predictions (its own predict
    time on validation and test, which bounds the sampled train rows too)."""
    per_member = sum(
        BUILD_PER_MEMBER_S + 2.0 * m.metrics.get("predict_time_seconds", 0.0) for m in members
    )
    return BUILD_FIXED_S + per_member


def _train_scores(ctx: TrialContext, model: EnsembleModel) -> dict[str, float]:
    """The ensemble's train_ metrics, on (a sample of at most TRAIN_SCORE_ROWS of) the rows its
    members learnt from, as a trial's are."""
    plan, data = ctx.plan, ctx.data
    parts = ("train", "val") if plan.validation == "cv" else ("train",)
    rows = data[data[SPLIT_COL].isin(parts)]
    if len(rows) > TRAIN_SCORE_ROWS:
        rows = rows.sample(TRAIN_SCORE_ROWS, random_state=int(plan.seed))
    X, y, w = fit.xy(plan, rows)
    pred = model.predict_proba(X) if plan.task == "classification" else model.predict(X)
    threshold = model.decision_threshold_
    return metrics.prefixed(score_predictions(plan, y, pred, w, threshold), "train")


def _log_run(ctx: TrialContext, members: list[TrialInfo], weights: list[float],
             threshold: float | None, scores: dict[str, float], number: int,
             parent_run_id: str, started: float) -> TrialInfo:  # fmt: skip
    client, plan = ctx.client, ctx.plan
    configs = [_member_config(m) for m in members]
    # the blend's own cut (None: argmax); the members' configs keep theirs, unused by the blend
    own = {} if threshold is None else {tags.DECISION_THRESHOLD: threshold}
    description = describe(members, weights)
    run = client.create_run(
        ctx.experiment_id,
        run_name=f"trial-{number:03d}-{ENSEMBLE_FAMILY}",
        parent_run_id=parent_run_id,
        tags={
            tags.ROLE: tags.ROLE_TRIAL,
            tags.TRIAL_NUMBER: str(number),
            ENSEMBLE_TAG: ",".join(m.run_id for m in members),
        },
    )
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        params={
            "model_family": ENSEMBLE_FAMILY,
            "ensemble.members": ",".join(m.run_id for m in members),
            "ensemble.weights": ",".join(f"{w:.6g}" for w in weights),
            "ensemble.size": len(members),
            **own,
        },
    )
    client.log_dict(
        run_id, {"members": configs, "weights": weights, **own}, "ensemble/members.json"
    )
    models = [client.load_model(m.model_uri).unwrap() for m in members]
    model = EnsembleModel(models, weights, plan, threshold)
    scores = {**_train_scores(ctx, model), **scores}
    metadata = {"model_family": ENSEMBLE_FAMILY, "primary_metric": f"val_{plan.primary_metric_key}"}
    model_info = log_trial_model(ctx, run_id, model, metadata)
    client.log_batch(run_id, metrics=scores)
    tables = [pd.read_csv(client.download_artifacts(m.run_id, SHAP_TABLE)) for m in members]
    table = member_table(tables, weights)
    client.log_text(run_id, table.to_csv(index=False), SHAP_TABLE)
    charts.log_importance_chart(client, run_id, table)
    top = [str(f) for f in table["feature"].head(5)]
    notebook_path = _write_notebook(ctx, run_id, number, configs, weights, threshold, scores)
    run_tags = {tags.TRIAL_STATE: TrialState.COMPLETE.value}
    run_tags.update({f"{tags.SHAP_TOP_FEATURE_PREFIX}{i + 1}": f for i, f in enumerate(top)})
    client.log_batch(run_id, tags=run_tags)
    client.set_terminated(run_id, "FINISHED")
    key = f"val_{plan.primary_metric_key}"
    return TrialInfo(
        run_id=run_id,
        number=number,
        state=TrialState.COMPLETE,
        metrics=scores,
        params={"model_family": ENSEMBLE_FAMILY, "members": configs, "weights": weights, **own},
        model_description=description,
        duration=time.monotonic() - started,
        evaluation_metric_score=scores[key],
        model_uri=model_info.model_uri,
        notebook_path=notebook_path,
        top_features=top,
    )


def _write_notebook(ctx: TrialContext, run_id: str, number: int, configs: list[dict[str, Any]],
                    weights: list[float], threshold: float | None,
                    scores: dict[str, float]) -> str | None:  # fmt: skip
    from automl.notebooks.ensemble import render_ensemble_notebook

    try:
        notebook = render_ensemble_notebook(
            ctx.plan, configs, weights, notebook_run(ctx, run_id, number, scores), threshold
        )
        return save_notebook(ctx, run_id, notebook, f"trial_{number:03d}_{ENSEMBLE_FAMILY}")
    except Exception as exc:  # noqa: BLE001 - the ensemble stands even without its notebook
        logger.warning("ensemble notebook not rendered: %s", exc, exc_info=True)
        ctx.client.set_tag(run_id, tags.NOTEBOOK_ERROR, f"{type(exc).__name__}: {exc}"[:5000])
        return None
