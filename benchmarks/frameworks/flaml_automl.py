"""FLAML's AutoML with the documented settings: the scoring metric as objective, time_budget, n_jobs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from flaml import AutoML

from benchmarks.frameworks import Adapter, FitJob
from benchmarks.protocol import METRIC_BY_TASK

FLAML_TASK = {
    "binary": "classification",
    "multiclass": "classification",
    "regression": "regression",
}


def as_categories(X: pd.DataFrame, dtypes: dict[str, pd.CategoricalDtype] | None = None):
    """Text columns as pandas ``category`` (FLAML's documented input); ``dtypes`` from training."""
    X = X.copy()
    if dtypes is None:
        dtypes = {
            c: pd.CategoricalDtype(sorted(X[c].dropna().unique()))
            for c in X.columns
            if pd.api.types.is_object_dtype(X[c]) or pd.api.types.is_string_dtype(X[c])
        }
    for col, dtype in dtypes.items():
        X[col] = X[col].astype(dtype)
    return X, dtypes


_JSON_CHARS = str.maketrans({c: "_" for c in '"[]{}:,'})


def lightgbm_safe_names(columns: pd.Index) -> dict[str, str]:
    """Renaming that LightGBM accepts (no JSON special characters), kept unique.

    FLAML passes column names to LightGBM, which rejects e.g. spambase's ``re:`` and ``C[``;
    a FLAML user has to rename such columns, so the adapter does it for train and test alike.
    """
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        new = str(col).translate(_JSON_CHARS)
        while new in used:
            new += "_"
        used.add(new)
        mapping[col] = new
    return mapping


class FLAMLAutoML(Adapter):
    """``flaml.AutoML().fit`` on the training part; log file in the work directory."""

    def fit(self, job: FitJob) -> None:
        train, target, task, budget_s = job.train, job.target, job.task, job.budget_s
        n_jobs, seed, workdir = job.n_jobs, job.seed, job.workdir
        self.task = task
        X = train.drop(columns=[target])
        self.names = lightgbm_safe_names(X.columns)
        X, self.dtypes = as_categories(X.rename(columns=self.names))
        self.automl = AutoML()
        self.automl.fit(
            X,
            train[target],
            task=FLAML_TASK[task],
            metric=METRIC_BY_TASK[task],
            time_budget=budget_s,
            n_jobs=n_jobs,
            seed=seed,
            log_file_name=str(workdir / "flaml.log"),
            verbose=0,
        )
        self.n_trials = int(getattr(self.automl, "modelcount", 0) or 0)
        self.best_model = f"{self.automl.best_estimator} {self.automl.best_config}"
        self.details = {
            "best_val_loss": self.automl.best_loss,
            "best_estimator": self.automl.best_estimator,
            "best_per_estimator": {
                k: None if v is None else round(float(v), 6)
                for k, v in (self.automl.best_loss_per_estimator or {}).items()
            },
        }

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, list | None]:
        X, _ = as_categories(X.rename(columns=self.names), self.dtypes)
        if self.task != "regression":
            return self.automl.predict_proba(X), list(self.automl.classes_)
        return self.automl.predict(X), None
