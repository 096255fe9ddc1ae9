"""AutoGluon-Tabular with a preset that fits the budget, the same time limit and cores.

AutoGluon pins older pandas and scikit-learn than this project, so it lives in a virtualenv of
its own: ``benchmarks.run`` starts this adapter's worker with the interpreter named by
``AUTOML_BENCH_PYTHON_AUTOGLUON`` (``benchmarks/setup_autogluon.sh`` makes it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.frameworks import Adapter, FitJob

AG_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "root_mean_squared_error"}
AG_PROBLEM = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
# "medium_quality" is AutoGluon's preset for prototyping under short limits; the stacked presets
# ("best"/"high") spend their first minutes on bagging and are documented for hour-long budgets.
PRESET = "medium_quality"


class AutoGluonTabular(Adapter):
    """``TabularPredictor(...).fit(train, time_limit=budget, num_cpus=cores)``."""

    def fit(self, job: FitJob) -> None:
        train, target, task, budget_s = job.train, job.target, job.task, job.budget_s
        n_jobs, seed, workdir = job.n_jobs, job.seed, job.workdir
        from autogluon.tabular import TabularPredictor

        self.task = task
        self.predictor = TabularPredictor(
            label=target,
            problem_type=AG_PROBLEM[task],
            eval_metric=AG_METRIC[task],
            path=str(workdir / "autogluon"),
            verbosity=0,
        ).fit(
            train,
            time_limit=budget_s,
            presets=PRESET,
            num_cpus=n_jobs,
            num_gpus=0,
            ag_args_fit={"random_seed": seed},
        )
        board = self.predictor.leaderboard(silent=True)
        self.n_trials = len(board)
        self.best_model = str(self.predictor.model_best)
        self.details = {
            "preset": PRESET,
            "best_val_score": float(board["score_val"].max()),
            "models": list(board["model"])[:10],
        }

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, list | None]:
        if self.task != "regression":
            proba = self.predictor.predict_proba(X)
            return proba.to_numpy(), list(proba.columns)
        return self.predictor.predict(X).to_numpy(), None
