"""This project's engine, called as a user would: ``automl.classify`` / ``automl.regress``."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

import automl
from benchmarks.frameworks import Adapter, FitJob
from benchmarks.protocol import METRIC_BY_TASK


class AutoMLEngine(Adapter):
    """Runs the engine with its tracking store, notebooks and artifacts inside the work directory."""

    def fit(self, job: FitJob) -> None:
        train, target, task, budget_s = job.train, job.target, job.task, job.budget_s
        n_jobs, seed, workdir = job.n_jobs, job.seed, job.workdir
        os.environ["AUTOML_TRACKING_URI"] = str(workdir / "automl-runs")
        os.chdir(workdir)
        run = automl.regress if task == "regression" else automl.classify
        self.task = task
        self.summary = run(
            train,
            target_col=target,
            primary_metric=METRIC_BY_TASK[task],
            timeout_minutes=budget_s / 60.0,
            experiment_name=f"bench-{workdir.name}",
            n_jobs=n_jobs,
            seed=seed,
            verbose=False,
        )
        self.n_trials = len(self.summary.trials)
        best = self.summary.best_trial
        self.best_model = best.model_description
        breakdown = getattr(self.summary, "time_breakdown", None)
        self.time_breakdown = {k: float(v) for k, v in breakdown.items()} if breakdown else None
        self.details = _details(self.summary)

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, list | None]:
        # the registered winner: refit on train+validation when the search used a holdout
        self.model = automl.load_model(
            self.summary.registered_model_uri or self.summary.best_trial.model_uri
        )
        if self.task == "regression":
            return np.asarray(self.model.predict(X), dtype=float), None
        proba = self.model.predict_proba(X)
        if isinstance(proba, pd.DataFrame):
            return proba.to_numpy(dtype=float), list(proba.columns)
        return np.asarray(proba, dtype=float), self._classes()

    def _classes(self) -> list:
        metadata = getattr(self.model, "metadata", None) or {}
        classes = metadata.get("classes") if isinstance(metadata, dict) else None
        if classes is None:
            classes = getattr(self.model.unwrap(), "classes_", None)
        if classes is None:
            raise RuntimeError("the engine's model exposes no class order (metadata 'classes')")
        return list(classes)


def _details(summary) -> dict:
    """What explains a score: validation scheme, trial states, families tried, best val score."""
    trials = list(getattr(summary, "all_trials", None) or summary.trials)
    states: dict[str, int] = {}
    families: dict[str, int] = {}
    for t in trials:
        states[t.state] = states.get(t.state, 0) + 1
        family = str(t.params.get("model_family", "?"))
        families[family] = families.get(family, 0) + 1
    best = summary.trials[0] if summary.trials else None
    return {
        "validation": getattr(summary, "validation", None),
        "states": states,
        "families": families,
        "best_val": None if best is None else best.evaluation_metric_score,
        "best_number": None if best is None else best.number,
        "engine_wall": getattr(summary, "wall_time", None),
    }
