"""Trial notebooks for forecasting: rerun one trial's backtest from the experiment's data snapshot.

The notebook loads the regularised series the search used (a Parquet artifact of the parent run),
rebuilds the panel with the same frequency, runs the same rolling-origin backtest with the trial's
literal hyperparameters, checks the metrics against the tracked ones and plots the test forecast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from automl.notebooks.documents import write_notebook
from automl.notebooks.environment import text_to_notebook


def _py(value: Any) -> str:
    return repr(value)


def render_forecast_notebook(
    *,
    family: str,
    params: dict[str, Any],
    run_id: str,
    experiment_name: str,
    trial_number: int,
    snapshot_path: str,
    tracking_uri: str,
    target_col: str,
    time_col: str,
    identity_cols: list[str],
    frequency: str,
    horizon: int,
    n_folds: int,
    seed: int,
    metrics: dict[str, float],
):
    """The notebook (nbformat v4) reproducing forecasting trial ``trial_number``."""
    tracked = {k: v for k, v in metrics.items() if k.startswith(("val_", "test_"))}
    identity = identity_cols[0] if len(identity_cols) == 1 else (identity_cols or None)
    rows = "\n".join(f"| `{k}` | {v:.6g} |" for k, v in sorted(tracked.items()))
    text = f"""# %% [markdown]
# # Forecasting trial {trial_number}: `{family}`
#
# Experiment `{experiment_name}`, run `{run_id}`. Rerunning this notebook repeats the trial's
# rolling-origin backtest ({n_folds} validation cutoffs, the last {horizon} points of every
# series as the test part) and checks the metrics against the tracked ones.
#
# | metric | tracked |
# |---|---|
{chr(10).join("# " + line for line in rows.splitlines())}

# %%
import numpy as np
import pandas as pd

import tracking
from automl.forecast import prepare_panel
from automl.forecast.backtest import backtest
from automl.forecast.plots import forecast_plot

tracking.set_tracking_uri({_py(tracking_uri)})

# %% [markdown]
# ## Data: the regularised series of the experiment

# %%
df = pd.read_parquet({_py(snapshot_path)})
panel, alerts = prepare_panel(
    df,
    target_col={_py(target_col)},
    time_col={_py(time_col)},
    horizon={horizon},
    frequency={_py(frequency)},
    identity_col={_py(identity)},
)
print(len(panel), "series, frequency", panel.freq.alias, "season length", panel.season_length)

# %% [markdown]
# ## Model and backtest

# %%
family = {_py(family)}
params = {_py(dict(params))}
result = backtest(family, params, panel, {horizon}, n_folds={n_folds}, random_state={seed})
reproduced = {{f"val_{{k}}": v for k, v in result.val_metrics.items()}}
reproduced.update({{f"test_{{k}}": v for k, v in result.test_metrics.items()}})

# %%
tracked = {_py(tracked)}
comparison = pd.DataFrame(
    {{"tracked": tracked, "reproduced": {{k: reproduced[k] for k in tracked}}}}
)
print(comparison)
assert np.allclose(comparison["tracked"], comparison["reproduced"], rtol=1e-6, atol=1e-9)

# %% [markdown]
# ## Test-window forecast of a few series

# %%
fig = forecast_plot(result.model, panel, {horizon}, "trial {trial_number}: {family}")
"""
    return text_to_notebook(text)


def write_forecast_notebook(path: str | Path, **kwargs: Any) -> Path:
    """Render and write the notebook; ``kwargs`` as :func:`render_forecast_notebook`."""
    kwargs["metrics"] = json.loads(json.dumps(kwargs["metrics"]))
    return write_notebook(render_forecast_notebook(**kwargs), path)
