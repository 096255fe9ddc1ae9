"""Reading the user's dataset (a DataFrame or a CSV/Parquet path) and the alerts a search collects.

Shared by every task: neither knows anything of tables or series beyond a DataFrame.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from automl.core.spec import AutoMLInputError


def alert(kind: str, message: str, column: str | None = None) -> dict[str, Any]:
    """One alert as collected on the summary: ``{"kind", "column", "message"}``."""
    return {"kind": kind, "column": column, "message": message}


def load_dataset(dataset: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """Return the dataset as a DataFrame: a copy of a DataFrame, or read from a CSV/Parquet path."""
    if isinstance(dataset, pd.DataFrame):
        return dataset.copy()
    if isinstance(dataset, (str, os.PathLike)):
        path = Path(dataset)
        if not path.exists():
            raise AutoMLInputError(f"dataset: file {str(path)!r} does not exist")
        suffix = "".join(path.suffixes[-2:]).lower()
        if suffix.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if suffix.endswith((".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz")):
            return pd.read_csv(path)
        raise AutoMLInputError(
            f"dataset: cannot read {str(path)!r}; give a pandas DataFrame or a .csv/.parquet file"
        )
    raise AutoMLInputError(
        f"dataset: expected a pandas DataFrame or a path to a CSV/Parquet file, "
        f"got {type(dataset).__name__}"
    )
