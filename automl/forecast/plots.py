"""Plot of history, forecast and 95% interval against the actuals, for a few series."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from automl.forecast.data import Panel
from automl.forecast.model import ForecastModel

MAX_SERIES = 4
MAX_HISTORY = 120


def forecast_plot(model: ForecastModel, panel: Panel, horizon: int, title: str = ""):
    """History (fitted part), the model's test-window forecast with its interval, the actuals.

    ``model`` was fitted on ``panel`` minus the last ``horizon`` points of each series.
    """
    index = {k: i for i, k in enumerate(model.keys_)}
    shown = [i for i, k in enumerate(panel.keys) if k in index][:MAX_SERIES]
    # A bare Figure (no pyplot): no global backend switch, nothing to close.
    fig = Figure(figsize=(9, 2.6 * len(shown)))
    axes = fig.subplots(len(shown), 1, squeeze=False)
    for ax, i in zip(axes[:, 0], shown, strict=True):
        j = index[panel.keys[i]]
        y = panel.values[i]
        times = panel.freq.from_ordinal(panel.starts[i] + np.arange(len(y)))
        fc = model.forecasts_[j]
        n_hist = len(y) - horizon
        start = max(0, n_hist - MAX_HISTORY)
        ax.plot(times[start:n_hist], y[start:n_hist], color="black", lw=1, label="history")
        ax.plot(times[n_hist:], y[n_hist:], color="gray", lw=1, ls="--", label="actual")
        ax.plot(times[n_hist:], fc.mean, color="tab:blue", lw=1.5, label="forecast")
        ax.fill_between(
            times[n_hist:], fc.lower, fc.upper, color="tab:blue", alpha=0.2, label="95%"
        )
        label = ", ".join(
            f"{c}={v}" for c, v in zip(panel.identity_cols, panel.keys[i], strict=True)
        )
        ax.set_title(label or panel.target_col, fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0, 0].legend(fontsize=8, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=10)
    _fixed_layout(fig, len(shown))
    return fig


def _fixed_layout(fig: Figure, n_rows: int) -> None:
    """Margins in inches for ``n_rows`` stacked panels.

    ``tight_layout`` (and saving with ``bbox_inches="tight"``) each render the figure once more
    to measure its labels, which tripled the plot's share of a short trial; the labels here have
    a known size, so fixed margins give the same picture from a single render (save with
    ``SAVE_KWARGS``).
    """
    height = fig.get_figheight()
    # room for the suptitle above, the tick labels below, each panel's title between panels
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.35 / height, top=1 - 0.6 / height,
                        hspace=0.3)  # fmt: skip


# ``log_figure``'s arguments for a figure laid out by ``forecast_plot``: no second render.
SAVE_KWARGS: dict = {}


def close(fig) -> None:
    """Release the figure's canvas (a bare Figure needs no pyplot bookkeeping)."""
    fig.clear()
