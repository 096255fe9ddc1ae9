"""Reference points from the AutoML Benchmark: a constant predictor and a budgeted random forest."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

from benchmarks.frameworks import Adapter, FitJob


def _to_epoch_seconds(X: pd.DataFrame) -> pd.DataFrame:
    return X.apply(lambda s: s.astype("datetime64[ns]").astype("int64") / 1e9)


def _encoder(X: pd.DataFrame) -> ColumnTransformer:
    """Ordinal-encode text/category columns and turn datetimes into numbers; NaN kept for the RF."""
    dates = [c for c in X.columns if pd.api.types.is_datetime64_any_dtype(X[c])]
    cats = [c for c in X.columns if c not in dates and not pd.api.types.is_numeric_dtype(X[c])]
    return ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                cats,
            ),
            ("date", FunctionTransformer(_to_epoch_seconds), dates),
        ],
        remainder="passthrough",
    )


class ConstantPredictor(Adapter):
    """Class priors (classification) or the mean (regression): the floor every run must beat."""

    def fit(self, job: FitJob) -> None:
        train, target, task = job.train, job.target, job.task
        self.n_trials, self.best_model = 1, "constant"
        self.task = task
        model = DummyRegressor() if task == "regression" else DummyClassifier(strategy="prior")
        self.model = model.fit(train.drop(columns=[target]), train[target])

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, list | None]:
        if self.task == "regression":
            return self.model.predict(X), None
        return self.model.predict_proba(X), list(self.model.classes_)


class RandomForest(Adapter):
    """Random forest grown 50 trees at a time while the next batch still fits in the budget."""

    max_trees = 2000
    batch = 50

    def fit(self, job: FitJob) -> None:
        start = time.monotonic()
        train, target, task, budget_s = job.train, job.target, job.task, job.budget_s
        n_jobs, seed = job.n_jobs, job.seed
        self.n_trials = 1
        self.task = task
        X, y = train.drop(columns=[target]), train[target]
        cls = RandomForestRegressor if task == "regression" else RandomForestClassifier
        forest = cls(n_estimators=0, warm_start=True, n_jobs=n_jobs, random_state=seed)
        self.model = Pipeline([("encode", _encoder(X)), ("forest", forest)])
        Xt = self.model[:-1].fit_transform(X, y)
        while forest.n_estimators < self.max_trees:
            batch_start = time.monotonic()
            forest.set_params(n_estimators=forest.n_estimators + self.batch)
            forest.fit(Xt, y)
            now = time.monotonic()
            if (now - start) + 1.5 * (now - batch_start) > budget_s:
                break
        self.best_model = f"random_forest({forest.n_estimators} trees)"

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, list | None]:
        if self.task == "regression":
            return self.model.predict(X), None
        return self.model.predict_proba(X), list(self.model.classes_)
