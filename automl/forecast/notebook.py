"""Trial notebooks for forecasting: rerun one trial's backtest from the experiment's data snapshot.

Rendered from ``notebook_templates/trial_forecast.py.j2`` with the same escaping filters as the
tabular notebooks. The notebook loads the regularised series the search used (a Parquet artifact
of the parent run), rebuilds the panel with the same frequency, runs the same rolling-origin
backtest with the trial's literal hyperparameters (a tagged ``parameters`` cell), checks the
metrics against the tracked ones and plots the test forecast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from automl.notebooks.documents import write_notebook
from automl.notebooks.environment import render_cells
from automl.notebooks.source_run import NotebookRun

TEMPLATE = "trial_forecast.py.j2"


def render_forecast_notebook(
    run: NotebookRun,
    *,
    family: str,
    params: dict[str, Any],
    target_col: str,
    time_col: str,
    identity_cols: list[str],
    frequency: str,
    horizon: int,
    n_folds: int,
    seed: int,
) -> nbformat.NotebookNode:
    """The notebook (nbformat v4) reproducing forecasting trial ``run``."""
    identity = identity_cols[0] if len(identity_cols) == 1 else (identity_cols or None)
    context = {
        **run.context(),
        "family": family,
        "params": dict(params),
        "target_col": target_col,
        "time_col": time_col,
        "identity": identity,
        "frequency": frequency,
        "horizon": int(horizon),
        "n_folds": int(n_folds),
        "seed": int(seed),
        "plot_title": f"trial {run.trial_number}: {family}",
    }
    return render_cells(TEMPLATE, context)


def write_forecast_notebook(path: str | Path, run: NotebookRun, **kwargs: Any) -> Path:
    """Render and write the notebook; ``kwargs`` as :func:`render_forecast_notebook`."""
    return write_notebook(render_forecast_notebook(run, **kwargs), path)
