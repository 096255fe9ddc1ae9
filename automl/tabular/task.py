"""Classification and regression as a :class:`~automl.core.task.SearchTask`, and their entry point.

:func:`run_search` is what ``classify`` and ``regress`` call. It reads and plans the data (semantic
types, split, row cap for the budget) before anything is stored, then hands a
:class:`TabularTask` to the shared search loop.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

import tracking
from automl.core import tags
from automl.core.budget import DEFAULT_TIMEOUT_MINUTES, Budget
from automl.core.inputs import alert, load_dataset
from automl.core.optuna_adapter import quiet_optuna
from automl.core.records import TaskKind, TrialConfig, WorkerReply, WorkerTask
from automl.core.run import run_search as run_core_search
from automl.core.spec import SearchSpec
from automl.core.summary import AutoMLSummary, TrialInfo
from automl.core.task import RefitPlan, SearchEnvironment, SearchTask
from automl.core.trials import score_line, trial_config
from automl.features import hook as features_hook
from automl.tabular import families, metrics, split
from automl.tabular.fit import REFIT_PARTS
from automl.tabular.plan import DataPlan, make_plan
from automl.tabular.trial import SPLIT_COL, TrialContext, run_trial

logger = logging.getLogger("automl")

# Besides the fit itself, refitting the holdout winner scores it and logs its model.
REFIT_OVERHEAD_S = 1.0
ALL_ROWS, TRAIN_VAL = "all rows", "train+val"
BASELINE_FAMILIES = ("logistic_regression", "linear_regression")
# On large tables (holdout, at least LOW_FIDELITY_MIN_TRAIN training rows) every configuration
# first learns from LOW_FIDELITY_ROWS of them (FLAML starts from 10k rows too); the best go on
# to every row (automl.core.trials.TrialBook.promotes).
LOW_FIDELITY_ROWS, LOW_FIDELITY_MIN_TRAIN = 10_000, 40_000
CHEAP_FAMILIES = (*BASELINE_FAMILIES, "decision_tree")


class TabularTask(SearchTask):
    """A planned table: its families, space, split and how its winner is refit."""

    runner = "automl.tabular.trial"
    cheap_families = CHEAP_FAMILIES
    ensembles = True

    def __init__(
        self, plan: DataPlan, prepared: pd.DataFrame, alerts: list[dict[str, Any]],
        exclude_frameworks: list[str], feature_spec: Any = None, retrain_full: bool = True,
    ) -> None:  # fmt: skip
        self.retrain_full = retrain_full
        self.n_folds = int(plan.n_folds)
        self.plan = plan
        self.feature_spec = feature_spec  # a TrainingSet's lookups, recorded on the parent run
        self.prepared = prepared
        self.alerts = alerts
        self.name = plan.task
        self.primary_metric = plan.primary_metric
        spec = metrics.metric_spec(plan.primary_metric)
        self.metric_key = spec.key
        self.greater_is_better = spec.greater_is_better
        self.validation = plan.validation
        self.families = families.available_families(plan, exclude_frameworks)
        self.n_rows = len(prepared)
        parts = prepared[SPLIT_COL].value_counts()
        self.part_rows = {part: int(parts.get(part, 0)) for part in ("train", "val", "test")}

    # -- the experiment ---------------------------------------------------------------------
    def parent_tags(self) -> dict[str, str]:
        return {tags.TARGET_COL: self.plan.target_col}

    def log_inputs(self, client: tracking.TrackingClient, parent_run_id: str) -> str:
        client.log_dict(parent_run_id, self.plan.to_dict(), "automl/plan.json")
        client.log_dict(parent_run_id, {"alerts": self.alerts}, "automl/alerts.json")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "training_data.parquet"
            self.prepared.to_parquet(path, index=False)
            client.log_artifact(parent_run_id, str(path), "data")
        if self.feature_spec is not None:
            features_hook.record_on_run(client.tracking_uri, parent_run_id, self.feature_spec)
        return client.download_artifacts(parent_run_id, "data/training_data.parquet")

    def write_exploration_notebook(
        self, env: SearchEnvironment, client: tracking.TrackingClient
    ) -> str | None:
        from automl.notebooks import documents

        path = Path(env.notebook_dir) / "data_exploration.ipynb"
        nb = documents.render_exploration_notebook(
            self.plan,
            snapshot_path=env.snapshot_path,
            alerts=self.alerts,
            experiment_name=env.experiment_name,
        )
        documents.write_notebook(nb, path)
        client.log_artifact(env.parent_run_id, str(path), "notebooks")
        return str(path)

    def context(self, env: SearchEnvironment) -> TrialContext:
        return TrialContext(plan=self.plan, data=self.prepared, **env.for_trials())

    def run_trial(self, context: TrialContext, task: WorkerTask) -> WorkerReply:
        return run_trial(context, task)

    # -- the space --------------------------------------------------------------------------
    def portfolio(self) -> list[TrialConfig]:
        configs = [TrialConfig.from_dict(c) for c in families.portfolio(self.plan, self.families)]
        linear = [c for c in configs if c.family in BASELINE_FAMILIES]
        if linear:  # the baseline runs first, often in this process: the cheapest model
            configs.remove(linear[0])
            configs.insert(0, linear[0])
        return configs

    def suggest(self, trial: optuna.trial.Trial) -> TrialConfig:
        return TrialConfig.from_dict(families.suggest(trial, self.plan, self.families))

    def optuna_params(self, config: TrialConfig) -> dict[str, Any]:
        return families.to_optuna_params(config.as_dict(), self.plan)

    def size_ratio(self, config: TrialConfig, seen: TrialConfig) -> float:
        ratio = families.get_family(config.family).cost_ratio(config.params, seen.params)
        return ratio * self._train_rows(config) / self._train_rows(seen)

    def _train_rows(self, config: TrialConfig) -> int:
        """The rows a trial of ``config`` learns from (train, or train+val for CV)."""
        full = self.part_rows["train"] + (self.part_rows["val"] if self.validation == "cv" else 0)
        return max(1, min(full, int(config.params.get(tags.TRAIN_ROWS) or full)))

    def rungs(self) -> int:
        large = self.validation == "holdout" and self.part_rows["train"] >= LOW_FIDELITY_MIN_TRAIN
        return 2 if large else 1

    def at_rung(self, config: TrialConfig, rung: int) -> TrialConfig:
        params = {k: v for k, v in config.params.items() if k != tags.TRAIN_ROWS}
        if rung < self.rungs() - 1:
            params[tags.TRAIN_ROWS] = LOW_FIDELITY_ROWS
        return TrialConfig(config.family, params)

    # -- the winner -------------------------------------------------------------------------
    def _rows_ratio(self, best: TrialInfo, trained_on: str) -> float:
        """Rows the refit learns from over the rows a trial's model learnt from."""
        count = self.part_rows
        trial_rows = self._train_rows(trial_config(best.params))
        refit_rows = sum(count[p] for p in REFIT_PARTS[trained_on])
        return refit_rows / max(1, trial_rows)

    def refit(self, best: TrialInfo, parent_run_id: str) -> RefitPlan | None:
        """The chosen model is refit on every row (``retrain_full``, the default): trials learnt
        from train (holdout) or train+val (CV) only. Without it, holdout winners are refit on
        train+val and cross-validated ones keep their model, the mean of fold models that learnt
        from train+val."""
        cv = self.validation != "holdout"
        if not self.retrain_full and cv:
            return None
        trained_on = ALL_ROWS if self.retrain_full else TRAIN_VAL
        rows_ratio = self._rows_ratio(best, trained_on)
        config = TrialConfig(
            best.params["model_family"],
            {k: v for k, v in best.params.items() if k != "model_family"},
        )  # an ensemble's params are its members' configs and weights
        fit_s = best.metrics.get("fit_time_seconds", 0.0) * rows_ratio
        if cv:  # a CV trial's fit time covers its k fold models
            fit_s /= self.n_folds
        expected = fit_s + best.metrics.get("predict_time_seconds", 0.0) + REFIT_OVERHEAD_S
        task = WorkerTask(
            kind=TaskKind.REFIT,
            run_id=parent_run_id,
            config=config,
            metadata={"best_trial_run_id": best.run_id, "trained_on": trained_on},
        )
        without = TRAIN_VAL if cv else "train"
        return RefitPlan(task, expected, trained_on, without, REFIT_OVERHEAD_S)

    def registration(self, best: TrialInfo, how: str) -> tuple[dict[str, str], str]:
        trained_on = how or TRAIN_VAL  # a cross-validated trial's fold models learnt from it
        text = f"AutoML winner {best.model_description}, trained on {trained_on}"
        if trained_on == ALL_ROWS:
            text += " (test scores are from before that refit, the honest estimate)"
        return {"trained_on": trained_on}, f"{text}: {score_line(best.metrics)}"

    def ensemble(self, context: TrialContext, finished: list[TrialInfo],
                 predictions: dict[str, tuple[Any, Any]], number: int,
                 parent_run_id: str, time_left: float) -> TrialInfo | None:  # fmt: skip
        from automl.tabular.ensemble_run import log_ensemble

        return log_ensemble(context, finished, predictions, number, parent_run_id, time_left)

    charts_after_search = True

    def chart(self, context: TrialContext, trial: TrialInfo,
              predictions: tuple[Any, Any]) -> None:  # fmt: skip
        from automl.tabular import charts

        y_val = charts.validation_targets(self.plan, context.data)
        charts.chart_trial(context.client, self.plan, trial.run_id, y_val, predictions[0])

    def summary_fields(self) -> dict[str, Any]:
        return {"semantic_type_conversions": dict(self.plan.semantic_type_conversions)}


@quiet_optuna()
def run_search(dataset: pd.DataFrame | str | os.PathLike, spec: SearchSpec) -> AutoMLSummary:
    """Search models for ``spec.task`` on ``dataset``; see :func:`automl.classify`."""
    t = time.perf_counter()
    feature_spec = features_hook.spec_for(dataset)  # a TrainingSet: join, then record it
    frame = load_dataset(dataset.load_df() if feature_spec else dataset)
    budget = spec.budget()
    task = _plan_task(frame, spec, budget, feature_spec)
    return run_core_search(task, spec, budget, time.perf_counter() - t)


def _plan_task(
    frame: pd.DataFrame, spec: SearchSpec, budget: Budget, feature_spec: Any
) -> TabularTask:
    plan, alerts, prepared = make_plan(
        frame,
        task=spec.task,
        target_col=spec.target_col,
        primary_metric=spec.primary_metric,
        seed=spec.seed,
        exclude_frameworks=list(spec.exclude_frameworks),
        time_budget_s=budget.timeout_s,
        **spec.options,
    )
    prepared, sample_alerts = split.sample_for_budget(prepared, plan, budget.max_train_rows)
    alerts = list(alerts) + list(sample_alerts)
    if budget.defaulted:
        alerts.append(
            alert(
                "budget",
                f"no timeout_minutes or max_trials given: the search stops after "
                f"{DEFAULT_TIMEOUT_MINUTES:g} minutes",
            )
        )
    for item in alerts:
        logger.warning("%s: %s", item.get("kind"), item.get("message"))
    return TabularTask(
        plan, prepared, alerts, list(spec.exclude_frameworks), feature_spec, spec.retrain_full
    )
