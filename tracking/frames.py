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
    """One row per run: times as UTC datetimes, ``metrics.*`` float, ``params.*``/``tags.*``
    object (None where a run lacks the key)."""
    import numpy as np
    import pandas as pd

    def objects(values: list) -> pd.Series:
        return pd.Series(values, dtype=object)

    def times(values: list) -> pd.Series:
        return pd.Series(pd.to_datetime(pd.array(values, dtype="Float64"), unit="ms", utc=True))

    infos = [run.info for run in runs]
    data: dict[str, pd.Series] = {
        name: objects([getattr(info, name) for info in infos])
        for name in BASE_COLUMNS
        if name not in ("start_time", "end_time")
    }
    data["start_time"] = times([info.start_time for info in infos])
    data["end_time"] = times([info.end_time for info in infos])
    for key in sorted({k for run in runs for k in run.data.metrics}):
        values = [run.data.metrics.get(key, np.nan) for run in runs]
        data[f"metrics.{key}"] = pd.Series(values, dtype=float)
    for prefix, attr in (("params", "params"), ("tags", "tags")):
        for key in sorted({k for run in runs for k in getattr(run.data, attr)}):
            data[f"{prefix}.{key}"] = objects([getattr(run.data, attr).get(key) for run in runs])
    order = list(BASE_COLUMNS) + [name for name in data if name not in BASE_COLUMNS]
    return pd.DataFrame(data, columns=order)
