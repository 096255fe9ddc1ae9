"""The public entry points ``classify``, ``regress`` and ``load_model``.

Signatures follow Databricks AutoML so that scripts written for it carry over.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

import tracking
from automl.core.spec import SearchSpec
from automl.core.summary import AutoMLSummary
from automl.tabular.task import run_search

Dataset = pd.DataFrame | str | os.PathLike


def classify(
    dataset: Dataset,
    *,
    target_col: str,
    primary_metric: str = "f1",
    timeout_minutes: float | None = None,
    max_trials: int | None = None,
    exclude_cols: list[str] | None = None,
    exclude_frameworks: list[str] | None = None,
    imputers: dict[str, str | dict[str, Any]] | None = None,
    pos_label: Any = None,
    time_col: str | None = None,
    split_col: str | None = None,
    sample_weight_col: str | None = None,
    experiment_name: str | None = None,
    register_model_name: str | None = None,
    n_jobs: int | None = None,
    cluster: Any = None,
    retrain_full: bool = True,
    seed: int = 0,
    verbose: bool = True,
) -> AutoMLSummary:
    """Search classifiers for ``target_col`` and track every trial.

    ``dataset`` is a DataFrame or a CSV / Parquet path. ``primary_metric`` is one of ``f1``
    (binary F1 on ``pos_label``; macro-averaged for multiclass), ``roc_auc``, ``log_loss``,
    ``accuracy``, ``precision``, ``recall``. The search stops at ``timeout_minutes`` (fractions
    allowed) or after ``max_trials``, whichever comes first; with neither, 5 minutes. Trials
    still running at the deadline are killed and recorded as KILLED. ``exclude_frameworks``
    takes ``"sklearn"`` and ``"lightgbm"``. The winner is registered as a new version of
    ``register_model_name`` (default: the experiment name). ``cluster`` (a Dask scheduler
    address such as ``"tcp://host:8786"`` or a ``distributed.Client``) runs the trials on that
    cluster's workers; the tracking store must then be PostgreSQL. The chosen model is refit on
    every row before it is registered (``retrain_full=False`` keeps the test part out of it); the
    trial's test metrics, measured before that refit, stay the honest estimate.
    """
    return _search("classification", dataset, locals())


def regress(
    dataset: Dataset,
    *,
    target_col: str,
    primary_metric: str = "r2",
    timeout_minutes: float | None = None,
    max_trials: int | None = None,
    exclude_cols: list[str] | None = None,
    exclude_frameworks: list[str] | None = None,
    imputers: dict[str, str | dict[str, Any]] | None = None,
    time_col: str | None = None,
    split_col: str | None = None,
    sample_weight_col: str | None = None,
    experiment_name: str | None = None,
    register_model_name: str | None = None,
    n_jobs: int | None = None,
    cluster: Any = None,
    retrain_full: bool = True,
    seed: int = 0,
    verbose: bool = True,
) -> AutoMLSummary:
    """Search regressors for ``target_col``; ``primary_metric`` is ``r2``, ``rmse``, ``mse`` or
    ``mae``. Everything else is as in :func:`classify`."""
    return _search("regression", dataset, locals())


def load_model(run_id_or_uri: str) -> Any:
    """Load any trial's model by run id, or by a ``runs:/`` or ``models:/`` URI."""
    uri = run_id_or_uri if ":/" in run_id_or_uri else f"runs:/{run_id_or_uri}/model"
    return tracking.load_model(uri)


def _search(task: str, dataset: Dataset, arguments: dict[str, Any]) -> AutoMLSummary:
    """Validate the call's arguments once (one :class:`SearchSpec`), search, and with
    ``verbose`` end by saying how to review the leaderboard in the browser."""
    spec = SearchSpec.from_call(task, arguments)
    summary = run_search(dataset, spec)
    if spec.verbose:
        from automl.ui import announce

        announce(summary)
    return summary
