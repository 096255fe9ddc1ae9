"""A run's charts: validation plots from its predictions and the SHAP importance bar chart.

Rendering a PNG costs more than many fits on small data, so trials do not draw them. After the
search, the leaderboard's best trials get theirs from the validation predictions the search kept
(see :meth:`automl.tabular.task.TabularTask.chart`); an ensemble draws its own when it is logged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import tracking
from automl.tabular import fit, plots

SHAP_TABLE = "shap/feature_importance.csv"
SHAP_CHART = "shap/feature_importance.png"
# automl.tabular.plots lays its figures out itself: no tight bounding box (a second draw pass).
SAVE_KWARGS = {"dpi": 80}


def log_validation_plots(
    client: tracking.TrackingClient, plan: Any, run_id: str, y_val: Any, predictions: Any
) -> None:
    """``plots/val_<name>.png`` of ``run_id`` from validation targets and predictions."""
    for name, figure in plots.evaluation_plots(plan, y_val, predictions).items():
        client.log_figure(run_id, figure, f"plots/val_{name}.png", save_kwargs=SAVE_KWARGS)
        plots.close(figure)


def log_importance_chart(client: tracking.TrackingClient, run_id: str, table: pd.DataFrame) -> None:
    """The bar chart of a SHAP importance table, beside the table."""
    figure = plots.importance_plot(table)
    client.log_figure(run_id, figure, SHAP_CHART, save_kwargs=SAVE_KWARGS)
    plots.close(figure)


def validation_targets(plan: Any, data: pd.DataFrame) -> pd.Series:
    """The targets in the order of every trial's validation predictions (out-of-fold for CV)."""
    return fit.xy(plan, fit.validation_frame(plan, data))[1]


def chart_trial(
    client: tracking.TrackingClient, plan: Any, run_id: str, y_val: Any, predictions: Any
) -> None:
    """Draw a finished trial's charts from its kept validation predictions and logged SHAP
    table."""
    log_validation_plots(client, plan, run_id, y_val, np.asarray(predictions, dtype="float64"))
    table = pd.read_csv(client.download_artifacts(run_id, SHAP_TABLE))
    log_importance_chart(client, run_id, table)
