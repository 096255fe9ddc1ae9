"""scikit-learn estimators over the AutoML search: ``AutoMLClassifier`` and ``AutoMLRegressor``.

They follow the estimator contract (``__init__`` only stores parameters, fitted state ends in
``_``) so they drop into ``Pipeline``, ``cross_val_score``, ``GridSearchCV`` and
``CalibratedClassifierCV``. ``fit`` runs :func:`automl.classify` / :func:`automl.regress` on a
frame whose columns are the input's (arrays get ``x0..xn``) plus the target; the fitted model
is the search's winner loaded back from tracking, so a pickle holds no database handle.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

import tracking

TARGET_COLUMN = "target"
"""Name of the target column in the frame handed to the search (made unique if taken)."""


def _target_name(columns: list[str]) -> str:
    name = TARGET_COLUMN
    while name in columns:
        name = f"_{name}"
    return name


class _AutoMLEstimator(BaseEstimator):
    """What the classifier and regressor share: input checks, the search call, prediction."""

    _task: str = ""

    def __init__(
        self,
        *,
        timeout_minutes: float | None = None,
        max_trials: int | None = None,
        primary_metric: str | None = None,
        exclude_frameworks: list[str] | None = None,
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
        n_jobs: int | None = None,
        seed: int = 0,
        verbose: bool = False,
    ) -> None:
        self.timeout_minutes = timeout_minutes
        self.max_trials = max_trials
        self.primary_metric = primary_metric
        self.exclude_frameworks = exclude_frameworks
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.n_jobs = n_jobs
        self.seed = seed
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # the search imputes missing values
        return tags

    # -- input -----------------------------------------------------------------------------
    def _frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """``X`` as the search's input frame; records or checks the feature count and names."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[1] == 0 or X.shape[0] == 0:
                check_array(X, ensure_all_finite=False, dtype=None)  # the standard message
            frame = X.copy()
            frame.columns = [str(c) for c in frame.columns]
            return frame.reset_index(drop=True)
        array = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype="numeric")
        return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])

    def _search_frame(self, X: Any, y: Any) -> tuple[pd.DataFrame, str]:
        frame = self._frame(X, reset=True)
        y = column_or_1d(y, warn=True)
        if len(y) != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {len(y)}: pass one target per row")
        if len(frame) < 2:
            raise ValueError(f"n_samples={len(frame)}: a search needs at least 2 samples")
        target = _target_name(list(frame.columns))
        frame[target] = y
        return frame, target

    def _search_kwargs(self, target: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(
            target_col=target,
            timeout_minutes=self.timeout_minutes,
            max_trials=self.max_trials,
            exclude_frameworks=self.exclude_frameworks,
            experiment_name=self.experiment_name or f"sklearn_{self._task}_{uuid.uuid4().hex[:12]}",
            n_jobs=self.n_jobs,
            seed=self.seed,
            verbose=self.verbose,
        )
        if self.primary_metric is not None:
            kwargs["primary_metric"] = self.primary_metric
        return kwargs

    def _run_search(self, search: Any, frame: pd.DataFrame, kwargs: dict[str, Any]) -> Any:
        """Run the search in ``tracking_uri`` (then restore the caller's) and keep its winner."""
        previous = tracking.get_tracking_uri()
        if self.tracking_uri is not None:
            tracking.set_tracking_uri(self.tracking_uri)
        try:
            summary = search(frame, **kwargs)
            best = summary.best_trial
            model = tracking.load_model(summary.registered_model_uri or best.model_uri)
        finally:
            if self.tracking_uri is not None:
                tracking.set_tracking_uri(previous)
        self.summary_ = summary
        self.best_run_id_ = best.run_id
        self.model_uri_ = summary.registered_model_uri or best.model_uri
        self.model_ = model
        return self

    def _predict_frame(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        frame = self._frame(X, reset=False)
        if isinstance(X, pd.DataFrame):
            return frame
        # arrays are named as at fit time: x0..xn, or the fitted frame's names
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            frame.columns = [str(c) for c in names]
        return frame

    def predict(self, X: Any) -> np.ndarray:
        """Predictions of the search's winner for ``X``."""
        frame = self._predict_frame(X)
        return np.asarray(self.model_.predict(frame))


class AutoMLClassifier(ClassifierMixin, _AutoMLEstimator):
    """Searches classifiers with :func:`automl.classify` and predicts with the winner.

    After ``fit``: ``classes_``, ``n_features_in_``, ``feature_names_in_`` (DataFrame input),
    ``summary_`` (the :class:`automl.AutoMLSummary`), ``best_run_id_`` and ``model_uri_``.
    """

    _task = "classification"

    def fit(self, X: Any, y: Any) -> AutoMLClassifier:
        """Search classifiers for ``y`` given ``X`` under the budget."""
        import automl

        frame, target = self._search_frame(X, y)
        labels = frame[target].to_numpy()
        check_classification_targets(labels)
        self.classes_ = np.unique(labels)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has a single class ({self.classes_[0]!r}): a classifier needs at least 2"
            )
        kwargs = self._search_kwargs(target)
        if len(self.classes_) == 2:
            kwargs["pos_label"] = self.classes_[1]  # scikit-learn's convention: the greater label
        return self._run_search(automl.classify, frame, kwargs)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        frame = self._predict_frame(X)
        proba = np.asarray(self.model_.predict_proba(frame), dtype=float)
        model_classes = list(self.model_.classes_ or self.classes_)
        order = [model_classes.index(c) for c in self.classes_.tolist()]
        return proba[:, order]

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, of the same kind as ``classes_``."""
        labels = super().predict(X)
        return labels.astype(self.classes_.dtype, copy=False)


class AutoMLRegressor(RegressorMixin, _AutoMLEstimator):
    """Searches regressors with :func:`automl.regress` and predicts with the winner.

    After ``fit``: ``n_features_in_``, ``feature_names_in_`` (DataFrame input), ``summary_``,
    ``best_run_id_`` and ``model_uri_``.
    """

    _task = "regression"

    def fit(self, X: Any, y: Any) -> AutoMLRegressor:
        """Search regressors for ``y`` given ``X`` under the budget."""
        import automl

        frame, target = self._search_frame(X, y)
        frame[target] = check_array(
            frame[target].to_numpy(), ensure_2d=False, dtype="numeric", input_name="y"
        )
        return self._run_search(automl.regress, frame, self._search_kwargs(target))
