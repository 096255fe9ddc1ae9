"""Run one trial and record it: fit, score, explain, log the model, render its notebook.

The same function runs in worker processes and, for the baseline, in the calling process; it
only needs a :class:`TrialContext` (what every trial of an experiment shares) and a task
(which run to log into and which configuration to fit).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import tracking
from automl.core import tags
from automl.core.records import (
    CHARTED_TOP_K,
    PruningRule,
    TaskKind,
    TrialConfig,
    TrialState,
    WorkerReply,
    WorkerTask,
)
from automl.features import hook as features_hook
from automl.notebooks.source_run import NotebookRun
from automl.tabular import charts, fit, importance, metrics, preprocessing
from automl.tabular.ensemble import ENSEMBLE_FAMILY, EnsembleModel, score_predictions
from automl.tabular.family import TRIAL_PARAMS
from automl.tabular.plan import DataPlan
from automl.tabular.prepared import PreparedCache
from automl.tabular.split import FOLD_COL, SPLIT_COL

logger = logging.getLogger(__name__)

TOP_FEATURES_AS_TAGS = 5
# Until the search charts the leaderboard's best (automl.tabular.charts), a trial says why it has
# no charts.
CHARTS_PENDING = (
    f"not drawn: only the top {CHARTED_TOP_K} of the leaderboard get charts, after the search"
)


@dataclass
class TrialContext:
    """What every trial of one experiment shares, built once per process."""

    plan: DataPlan
    data: pd.DataFrame
    tracking_uri: str
    experiment_id: str
    experiment_name: str
    snapshot_path: str
    notebook_dir: str
    n_threads: int = 1
    _client: tracking.TrackingClient | None = field(default=None, repr=False)
    # The preprocessing every trial of this process fits again on the same rows, fitted once.
    prepared: PreparedCache = field(default_factory=PreparedCache, repr=False)

    @classmethod
    def from_setup(cls, setup: dict[str, Any]) -> TrialContext:
        """Build the context in a worker from the parent's setup message."""
        setup = dict(setup)
        plan = DataPlan.from_dict(setup.pop("plan"))
        data = pd.read_parquet(setup["snapshot_path"])
        return cls(plan=plan, data=data, **setup)

    def to_setup(self) -> dict[str, Any]:
        """The message that lets a worker rebuild this context."""
        return {
            "plan": self.plan.to_dict(),
            "tracking_uri": self.tracking_uri,
            "experiment_id": self.experiment_id,
            "experiment_name": self.experiment_name,
            "snapshot_path": self.snapshot_path,
            "notebook_dir": self.notebook_dir,
            "n_threads": self.n_threads,
        }

    @property
    def client(self) -> tracking.TrackingClient:
        if self._client is None:
            self._client = tracking.TrackingClient(self.tracking_uri)
        return self._client

    def pruning_callback(self, task: WorkerTask) -> Pruning:
        """The ``report(step, value) -> bool`` hook of ``task`` (its pruning rule, if any)."""
        return Pruning(task.pruning, self.client, task.run_id)


@dataclass
class Pruning:
    """A trial's ``report(step, value) -> should_prune`` hook: the search's median rule, applied
    here (none: never pruned), and the values reported, for the study. A trial whose run the search has already
    ended (KILLED when a cluster's scheduler was lost) stops with :class:`TrialWrittenOff`."""

    rule: PruningRule | None
    client: tracking.TrackingClient
    run_id: str
    values: list[float] = field(default_factory=list)

    def __call__(self, step: int, value: float) -> bool:
        if self.client.get_run(self.run_id).info.status != "RUNNING":
            raise TrialWrittenOff(f"run {self.run_id} was ended by the search")
        self.values.append(float(value))
        return self.rule is not None and self.rule.should_prune(step, self.values)


class TrialWrittenOff(RuntimeError):
    """The trial's Optuna trial was finished by the search while it still ran."""


def _features(ctx: TrialContext, part: str) -> tuple[pd.DataFrame, pd.Series]:
    rows = ctx.data[ctx.data[SPLIT_COL] == part]
    X = rows.drop(columns=[c for c in (SPLIT_COL, FOLD_COL) if c in rows.columns])
    y = X.pop(ctx.plan.target_col)
    return X, y


def _log_importance(ctx: TrialContext, run_id: str, table: pd.DataFrame) -> list[str]:
    """Log the SHAP table; return the top features (logged as tags)."""
    ctx.client.log_text(run_id, table.to_csv(index=False), charts.SHAP_TABLE)
    return [str(f) for f in table["feature"].head(TOP_FEATURES_AS_TAGS)]


def _params_to_log(ctx: TrialContext, config: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"model_family": config["family"]}
    searched = {k: v for k, v in config["params"].items() if k not in TRIAL_PARAMS}
    params.update({f"model.{k}": v for k, v in searched.items()})
    for name in TRIAL_PARAMS:  # the threshold tuned on validation, the rows learnt from
        if config["params"].get(name) is not None:
            params[name] = config["params"][name]
    params["preprocessing.validation"] = ctx.plan.validation
    params["preprocessing.class_weight"] = ctx.plan.class_weight
    for kind, columns in ctx.plan.feature_columns.items():
        params[f"preprocessing.n_{kind}"] = len(columns)
    described = preprocessing.describe(ctx.plan, config["family"])
    params.update({f"preprocessing.{k}": v for k, v in described.items()})
    return params


def log_trial_model(ctx: TrialContext, run_id: str, pipeline: Any, metadata: dict[str, Any]) -> Any:
    """Log a fitted pipeline as ``model`` of ``run_id``, with raw input columns as its example
    (and, for a search on a training set, its feature spec in the model's metadata)."""
    example = ctx.data.head(5).drop(
        columns=[ctx.plan.target_col, SPLIT_COL, FOLD_COL], errors="ignore"
    )
    metadata = {**metadata, **features_hook.model_metadata(ctx.tracking_uri, run_id)}
    threshold = getattr(pipeline, "decision_threshold_", None)
    if threshold is not None:  # the cut its predict() uses, beside the model itself
        metadata[tags.DECISION_THRESHOLD] = float(threshold)
    return ctx.client.log_model(
        run_id,
        pipeline,
        artifact_path="model",
        input_example=example,
        task=ctx.plan.task,
        metadata=metadata,
    )


def refit_winner(ctx: TrialContext, task: WorkerTask) -> WorkerReply:
    """Refit the winning configuration on the rows ``task.metadata["trained_on"]`` names and log
    it as ``model`` of run ``task.run_id`` (the search's parent run), with ``refit_*`` metrics."""
    started = time.perf_counter()
    trained_on = task.metadata.get("trained_on", "all rows")
    config = task.config
    if config.family == ENSEMBLE_FAMILY:  # each member again, blended with the same weights
        members = [
            fit.refit(ctx.plan, member, ctx.data, ctx.n_threads, trained_on, ctx.prepared)
            for member in config.params["members"]
        ]
        model: Any = EnsembleModel(
            [m.pipeline for m in members],
            config.params["weights"],
            ctx.plan,
            config.params.get(tags.DECISION_THRESHOLD),  # the blend's cut, tuned on validation
        )
        scores = _refit_scores(ctx, model, trained_on)
        fit_seconds = sum(m.fit_seconds for m in members)
        result = fit.FitResult(model, scores, config.as_dict(), fit_seconds)
    else:
        result = fit.refit(
            ctx.plan, config.as_dict(), ctx.data, ctx.n_threads, trained_on, ctx.prepared
        )
        model = result.pipeline
    timings = {"fitting": time.perf_counter() - started}
    t = time.perf_counter()
    metadata = {**task.metadata, "model_family": config.family}
    model_info = log_trial_model(ctx, task.run_id, model, metadata)
    metrics = {f"refit_{k}": v for k, v in result.metrics.items()}
    metrics["refit_fit_time_seconds"] = result.fit_seconds
    ctx.client.log_batch(task.run_id, metrics=metrics)
    timings["logging"] = time.perf_counter() - t
    return WorkerReply(
        state=TrialState.COMPLETE,
        model_uri=model_info.model_uri,
        metrics=dict(result.metrics),
        timings=timings,
    )


def _refit_scores(ctx: TrialContext, model: Any, trained_on: str) -> dict[str, float]:
    """A refit ensemble's train_ (and, when the test part was held out, test_) metrics."""
    plan, data = ctx.plan, ctx.data
    in_pool = data[SPLIT_COL].isin(fit.REFIT_PARTS[trained_on])
    scores: dict[str, float] = {}
    for part, rows in (("train", data[in_pool]), ("test", data[~in_pool])):
        if len(rows):
            X, y, w = fit.xy(plan, rows)
            pred = model.predict_proba(X) if plan.task == "classification" else model.predict(X)
            scored = score_predictions(plan, y, pred, w, model.decision_threshold_)
            scores.update(metrics.prefixed(scored, part))
    return scores


def run_trial(ctx: TrialContext, task: WorkerTask) -> WorkerReply:
    """Fit, score and log one trial into the run ``task.run_id``; never raises for a bad fit.

    The reply says COMPLETE / PRUNED / FAIL, the primary validation value, metrics, the
    configuration actually used and where time went. A refit task refits the winner instead
    (see :func:`refit_winner`).
    """
    if task.kind is TaskKind.REFIT:
        return refit_winner(ctx, task)
    run_id, number, config = task.run_id, task.number, task.config.as_dict()
    client = ctx.client
    timings: dict[str, float] = {}
    started = time.perf_counter()
    report = ctx.pruning_callback(task)
    try:
        result = fit.fit_and_score(ctx.plan, config, ctx.data, ctx.n_threads, report, ctx.prepared)
    except fit.TrialPruned as pruned:
        timings["fitting"] = time.perf_counter() - started
        client.log_batch(run_id, metrics=pruned.metrics, params=_params_to_log(ctx, config))
        client.set_tag(run_id, tags.TRIAL_STATE, TrialState.PRUNED.value)
        client.set_terminated(run_id, "FINISHED")
        return WorkerReply(
            state=TrialState.PRUNED,
            metrics=dict(pruned.metrics),
            config=TrialConfig.from_dict(config),
            timings=timings,
            intermediate_values=tuple(report.values),
        )
    except TrialWrittenOff as exc:
        # The search already recorded this trial (KILLED when its cluster's scheduler was lost):
        # its run keeps that state instead of being overwritten FAILED.
        return WorkerReply(
            state=TrialState.KILLED, error=str(exc), config=TrialConfig.from_dict(config)
        )
    except Exception as exc:  # noqa: BLE001 - a failing configuration is a result, not a crash
        logger.debug("trial %s failed", number, exc_info=True)
        timings["fitting"] = time.perf_counter() - started
        message = f"{type(exc).__name__}: {exc}"[:5000]
        client.log_batch(
            run_id, tags={tags.TRIAL_STATE: TrialState.FAIL.value, tags.ERROR: message}
        )
        client.set_terminated(run_id, "FAILED")
        return WorkerReply(
            state=TrialState.FAIL,
            error=message,
            config=TrialConfig.from_dict(config),
            timings=timings,
        )
    timings["fitting"] = time.perf_counter() - started
    pipeline, config = result.pipeline, result.config
    metrics = dict(result.metrics)
    metrics["fit_time_seconds"] = result.fit_seconds
    metrics["predict_time_seconds"] = result.predict_seconds

    t = time.perf_counter()
    metric_key = f"val_{ctx.plan.primary_metric_key}"
    client.log_batch(run_id, metrics=metrics, params=_params_to_log(ctx, config))
    metadata = {"model_family": config["family"], "primary_metric": metric_key}
    model_info = log_trial_model(ctx, run_id, pipeline, metadata)
    timings["logging"] = time.perf_counter() - t

    t = time.perf_counter()
    X_val, _ = _features(ctx, "val")
    table = importance.shap_importance(
        ctx.plan, pipeline, X_val, config["family"], fit_seconds=result.fit_seconds
    )
    timings["shap"] = time.perf_counter() - t

    t = time.perf_counter()
    client.log_metric(run_id, "shap_time_seconds", timings["shap"])
    top_features = _log_importance(ctx, run_id, table)
    run_tags = {
        tags.TRIAL_STATE: TrialState.COMPLETE.value,
        tags.TRIAL_NUMBER: str(number),
        tags.CHARTS: CHARTS_PENDING,
    }
    run_tags.update(
        {f"{tags.SHAP_TOP_FEATURE_PREFIX}{i + 1}": f for i, f in enumerate(top_features)}
    )
    client.log_batch(run_id, tags=run_tags)
    timings["logging"] += time.perf_counter() - t

    t = time.perf_counter()
    try:
        notebook_path = _write_notebook(ctx, run_id, number, config, metrics)
    except Exception as exc:  # noqa: BLE001 - the trial stands even if its notebook cannot be made
        logger.warning("trial %s: notebook not rendered: %s", number, exc, exc_info=True)
        client.set_tag(run_id, tags.NOTEBOOK_ERROR, f"{type(exc).__name__}: {exc}"[:5000])
        notebook_path = None
    timings["notebooks"] = time.perf_counter() - t

    client.set_terminated(run_id, "FINISHED")
    return WorkerReply(
        state=TrialState.COMPLETE,
        value=metrics[metric_key],
        metrics=metrics,
        config=TrialConfig.from_dict(config),
        timings=timings,
        model_uri=model_info.model_uri,
        notebook_path=notebook_path,
        top_features=top_features,
        val_predictions=_compact(result.val_predictions),
        test_predictions=_compact(result.test_predictions),
        intermediate_values=tuple(report.values),
    )


def _compact(predictions: Any) -> Any:
    """Predictions as float32 for the trip to the search process (ensembles need no more)."""
    return None if predictions is None else np.asarray(predictions, dtype="float32")


def _write_notebook(
    ctx: TrialContext, run_id: str, number: int, config: dict[str, Any], metrics: dict
) -> str | None:
    """Render this trial's notebook beside the experiment and log it to the run."""
    from automl.features.notebook import trial_notebook_context
    from automl.notebooks import documents as notebooks

    notebook = notebooks.render_trial_notebook(
        ctx.plan,
        config,
        notebook_run(ctx, run_id, number, metrics),
        experiment_id=ctx.experiment_id,
        feature_lookups=trial_notebook_context(ctx.tracking_uri, run_id),  # a training set
    )
    return save_notebook(ctx, run_id, notebook, f"trial_{number:03d}_{config['family']}")


def notebook_run(
    ctx: TrialContext, run_id: str, number: int, metrics: Mapping[str, float]
) -> NotebookRun:
    """What every run's notebook renderer is told about the run and where its data is."""
    return NotebookRun(
        run_id=run_id,
        experiment_name=ctx.experiment_name,
        trial_number=number,
        snapshot_path=ctx.snapshot_path,
        tracking_uri=ctx.tracking_uri,
        metrics=metrics,
        n_threads=ctx.n_threads,
    )


def save_notebook(ctx: TrialContext, run_id: str, notebook: Any, name: str) -> str:
    """Write ``notebook`` as ``<name>.ipynb`` beside the experiment and log it to the run."""
    from automl.notebooks import documents

    path = Path(ctx.notebook_dir) / f"{name}.ipynb"
    documents.write_notebook(notebook, path)
    ctx.client.log_artifact(run_id, str(path), "notebooks")
    return str(path)


# What ``automl.core.worker`` calls in a runner module.
context_from_setup = TrialContext.from_setup
