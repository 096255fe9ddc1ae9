"""Render reproducible trial notebooks and the per-experiment data exploration notebook.

A trial notebook rebuilds one trial as plain code (preprocessing, split, model with literal
hyperparameters, fit, evaluation) from the experiment's Parquet snapshot, so running it top to
bottom reproduces the trial's metrics and leaves code a data scientist can read and change.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import nbformat

from automl.notebooks.environment import render_cells
from automl.notebooks.source_run import NotebookRun
from automl.notebooks.trial import trial_context
from automl.tabular.split import FOLD_COL, SPLIT_COL

SPLIT_COLUMNS = [SPLIT_COL, FOLD_COL]
NOTEBOOK_METADATA_KEY = "automl"
HYPERPARAMETERS_KEY = "hyperparameters"


def render_trial_notebook(
    plan: Any,
    config: Mapping[str, Any],
    run: NotebookRun,
    *,
    experiment_id: str,
    feature_lookups: Mapping[str, Any] | None = None,
) -> nbformat.NotebookNode:
    """The notebook that reproduces trial ``config`` of ``plan`` (tracked as ``run``) from the
    data snapshot.

    ``feature_lookups`` (``automl.features.notebook.trial_notebook_context``) adds the cells
    that rebuild a training set from the feature store at the recorded table versions.
    """
    context = trial_context(
        plan,
        config,
        n_threads=run.n_threads,
        **run.context(),
        experiment_id=str(experiment_id),
        metrics={str(k): float(v) for k, v in run.metrics.items()},
        generated_by=_generated_by(),
        feature_lookups=feature_lookups,
    )
    nb = render_cells(f"trial_{plan.task}.py.j2", context)
    # Which constructor parameter each parameters-cell hyperparameter sets (``automl rerun``
    # checks new values against the trial's estimator with it before any kernel starts).
    nb.metadata[NOTEBOOK_METADATA_KEY] = {HYPERPARAMETERS_KEY: context["hyperparameter_paths"]}
    return nb


def render_exploration_notebook(
    plan: Any,
    *,
    snapshot_path: str | os.PathLike[str],
    alerts: Sequence[Any],
    experiment_name: str,
    n_rows: int | None = None,
    n_columns: int | None = None,
) -> nbformat.NotebookNode:
    """The data exploration notebook of an experiment: types, missing values, target, alerts.

    ``n_rows``/``n_columns`` (of the snapshot) only feed the header; they are read from the
    Parquet metadata when omitted.
    """
    if n_rows is None or n_columns is None:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(snapshot_path).metadata
        names = set(meta.schema.names)
        n_rows = meta.num_rows if n_rows is None else n_rows
        n_columns = len(names - set(SPLIT_COLUMNS)) if n_columns is None else n_columns
    semantic_types = {
        column: kind for kind, columns in plan.feature_columns.items() for column in columns
    }
    semantic_types[plan.target_col] = "target"
    context = {
        "experiment_name": str(experiment_name),
        "task": plan.task,
        "target_col": plan.target_col,
        "snapshot_path": str(snapshot_path),
        "split_columns": SPLIT_COLUMNS,
        "semantic_types": semantic_types,
        "dropped_columns": dict(plan.dropped_columns),
        "conversions": dict(plan.semantic_type_conversions),
        "alerts": [_plain_alert(a) for a in alerts],
        "n_rows": int(n_rows),
        "n_columns": int(n_columns),
        "generated_by": _generated_by(),
    }
    return render_cells("exploration.py.j2", context)


def write_notebook(nb: nbformat.NotebookNode, path: str | os.PathLike[str]) -> Path:
    """Validate ``nb`` against the nbformat v4 schema and write it to ``path`` (parents created)."""
    nbformat.validate(nb)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(nbformat.writes(nb, version=4), encoding="utf-8")
    tmp.replace(path)
    return path


def _plain_alert(alert: Any) -> Any:
    if isinstance(alert, str | int | float) or alert is None:
        return alert
    if dataclasses.is_dataclass(alert) and not isinstance(alert, type):
        alert = dataclasses.asdict(alert)
    elif hasattr(alert, "to_dict"):
        alert = alert.to_dict()
    if isinstance(alert, Mapping):
        return {str(k): _plain_value(v) for k, v in alert.items()}
    return str(alert)


def _plain_value(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain_value(v) for v in value]
    return str(value)


@cache
def _generated_by() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"automl-tracked {version('automl-tracked')}"
    except PackageNotFoundError:
        return "automl-tracked"
