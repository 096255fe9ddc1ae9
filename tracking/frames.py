"""Runs as a pandas DataFrame, columns as MLflow's ``search_runs`` gives them."""

from __future__ import annotations

from typing import Any

from tracking.entities import Run

BASE_COLUMNS = (
    "run_id",
    "experiment_id",
    "run_name",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
    "parent_run_id",
)


def runs_to_frame(runs: list[Run]) -> Any:
    """One row per run; times as UTC datetimes; ``metrics.*`` floats, ``params.*``/``tags.*`` str."""
    import numpy as np
    import pandas as pd

    columns: dict[str, list] = {name: [] for name in BASE_COLUMNS}
    metric_keys = sorted({k for run in runs for k in run.data.metrics})
    param_keys = sorted({k for run in runs for k in run.data.params})
    tag_keys = sorted({k for run in runs for k in run.data.tags})
    for run in runs:
        info = run.info
        columns["run_id"].append(info.run_id)
        columns["experiment_id"].append(info.experiment_id)
        columns["run_name"].append(info.run_name)
        columns["status"].append(info.status)
        columns["artifact_uri"].append(info.artifact_uri)
        columns["start_time"].append(info.start_time)
        columns["end_time"].append(info.end_time)
        columns["parent_run_id"].append(info.parent_run_id)
    frame = pd.DataFrame(columns, columns=list(BASE_COLUMNS))
    for name in ("start_time", "end_time"):
        frame[name] = pd.to_datetime(pd.array(columns[name], dtype="Float64"), unit="ms", utc=True)
    extra = {}
    for key in metric_keys:
        extra[f"metrics.{key}"] = np.array(
            [run.data.metrics.get(key, np.nan) for run in runs], dtype=float
        )
    for key in param_keys:
        extra[f"params.{key}"] = pd.array([run.data.params.get(key) for run in runs], dtype=object)
    for key in tag_keys:
        extra[f"tags.{key}"] = pd.array([run.data.tags.get(key) for run in runs], dtype=object)
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)
    return frame
