"""Validate a long frame and turn it into regular per-series arrays (a ``Panel``).

Duplicate timestamps are aggregated by their mean, missing timestamps and missing targets are
filled by linear interpolation (carried at the edges); each of these is reported as an alert and
recorded in ``Panel.prep`` so a run's parameters say what was done to the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from automl.core.spec import AutoMLInputError
from automl.forecast.frequency import Frequency, resolve_frequency

FILL_METHOD = "linear_interpolation"
AGGREGATION = "mean"
# Shortest history the statistical families fit (see automl.forecast.local.min_length).
MIN_MODEL_LENGTH = 8
# Shortest series a search can backtest at all (test, validation and a little to train on).
MIN_SERIES_POINTS = 6


@dataclass
class Panel:
    """Many regular series: values on a grid starting at ``starts[i]`` (grid ordinals)."""

    keys: list[tuple]
    values: list[np.ndarray]
    starts: np.ndarray
    freq: Frequency
    time_col: str
    target_col: str
    identity_cols: list[str] = field(default_factory=list)
    prep: dict = field(default_factory=dict)

    @property
    def season_length(self) -> int:
        return self.freq.season_length

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(v) for v in self.values], dtype=int)

    def __len__(self) -> int:
        return len(self.keys)

    def head(self, drop_last: int) -> Panel:
        """The same series without their last ``drop_last`` points (series left empty dropped)."""
        keep = [i for i, v in enumerate(self.values) if len(v) > drop_last]
        return self.select(keep, drop_last)

    def select(self, indices: list[int], drop_last: int = 0) -> Panel:
        """A panel of the series at ``indices`` (optionally without their last points)."""
        end = (lambda v: len(v) - drop_last) if drop_last else (lambda v: len(v))
        return Panel(
            keys=[self.keys[i] for i in indices],
            values=[self.values[i][: end(self.values[i])] for i in indices],
            starts=self.starts[indices] if len(indices) else self.starts[:0],
            freq=self.freq,
            time_col=self.time_col,
            target_col=self.target_col,
            identity_cols=list(self.identity_cols),
            prep=dict(self.prep),
        )

    def to_frame(self) -> pd.DataFrame:
        """The regularised long frame: identity columns, time, target."""
        frames = []
        for key, y, start in zip(self.keys, self.values, self.starts, strict=True):
            frame = pd.DataFrame(
                {
                    self.time_col: self.freq.from_ordinal(start + np.arange(len(y))),
                    self.target_col: y,
                }
            )
            for col, value in zip(self.identity_cols, key, strict=True):
                frame.insert(len(frame.columns) - 2, col, value)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def normalize_identity(identity_col: str | list[str] | None) -> list[str]:
    if identity_col is None:
        return []
    if isinstance(identity_col, str):
        return [identity_col]
    cols = list(identity_col)
    if not all(isinstance(c, str) for c in cols):
        raise AutoMLInputError(
            f"identity_col must be a column name or a list of names, got {identity_col!r}"
        )
    return cols


def _parse_times(df: pd.DataFrame, time_col: str) -> pd.Series:
    raw = df[time_col]
    if pd.api.types.is_datetime64_any_dtype(raw):
        times = raw
    else:
        if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
            raise AutoMLInputError(
                f"time_col {time_col!r} holds numbers, not timestamps; convert it to dates "
                "(e.g. pd.to_datetime) before calling forecast"
            )
        try:
            times = pd.to_datetime(raw, errors="raise", format="mixed")
        except (ValueError, TypeError) as exc:
            raise AutoMLInputError(
                f"time_col {time_col!r} does not parse as dates ({exc}); give ISO dates such as "
                "'2024-01-31' or a datetime column"
            ) from None
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return times


def _parse_target(df: pd.DataFrame, target_col: str) -> pd.Series:
    raw = df[target_col]
    if pd.api.types.is_bool_dtype(raw) or not (
        pd.api.types.is_numeric_dtype(raw)
        or pd.api.types.is_object_dtype(raw)
        or pd.api.types.is_string_dtype(raw)
    ):
        raise AutoMLInputError(f"target_col {target_col!r} must be numeric, got dtype {raw.dtype}")
    values = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & values.isna()
    if bad.any():
        example = raw[bad].iloc[0]
        raise AutoMLInputError(
            f"target_col {target_col!r} must be numeric; {int(bad.sum())} value(s) are not, "
            f"e.g. {example!r}: clean them (pd.to_numeric(df[{target_col!r}], errors='coerce') "
            "turns them into gaps the series fill) or pick the numeric column"
        )
    values = values.astype(float)
    if np.isinf(values).any():
        raise AutoMLInputError(
            f"target_col {target_col!r}: contains {int(np.isinf(values).sum())} infinite "
            "value(s); replace them by NaN (filled by interpolation) or a finite value"
        )
    return values


def prepare_panel(
    df: pd.DataFrame,
    *,
    target_col: str,
    time_col: str,
    horizon: int,
    frequency: str | None = None,
    identity_col: str | list[str] | None = None,
) -> tuple[Panel, list[dict]]:
    """Check the inputs and build the regular ``Panel``; returns it with the data alerts."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"dataset must be a pandas DataFrame, got {type(df).__name__}")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise AutoMLInputError(
            f"horizon: must be a positive integer number of steps, got {horizon!r} "
            "(e.g. horizon=12 forecasts 12 periods ahead)"
        )
    identity_cols = normalize_identity(identity_col)
    for arg, col in [("target_col", target_col), ("time_col", time_col)] + [
        ("identity_col", c) for c in identity_cols
    ]:
        if col not in df.columns:
            raise AutoMLInputError(
                f"{arg} {col!r} is not a column of the dataset; columns: {list(df.columns)}"
            )
    named = [("target_col", target_col), ("time_col", time_col)] + [
        ("identity_col", c) for c in identity_cols
    ]
    clashes = sorted({a for a, c in named for b, d in named if a != b and c == d})
    if clashes:
        raise AutoMLInputError(
            f"{' and '.join(clashes)} name the same column; give each its own column "
            "(target to forecast, time stamps, series ids)"
        )
    if len(df) == 0:
        raise AutoMLInputError("dataset has no rows")

    alerts: list[dict] = []
    frame = pd.DataFrame({"_t": _parse_times(df, time_col), "_y": _parse_target(df, target_col)})
    for col in identity_cols:
        frame[col] = df[col].to_numpy()
    dropped = frame["_t"].isna() | (
        frame[identity_cols].isna().any(axis=1) if identity_cols else False
    )
    if dropped.any():
        alerts.append(
            _alert(
                "dropped_rows",
                f"{int(dropped.sum())} row(s) without a timestamp or identity dropped",
            )
        )
        frame = frame[~dropped]
    if frame["_y"].notna().sum() == 0:
        raise AutoMLInputError(
            f"target_col {target_col!r} has no values (every one is missing); check the column "
            "or give rows with values"
        )

    groups = (
        list(frame.groupby(identity_cols, sort=True, dropna=False))
        if identity_cols
        else [((), frame)]
    )
    times_by_series = [pd.DatetimeIndex(g["_t"].drop_duplicates().sort_values()) for _, g in groups]
    freq = resolve_frequency(frequency, times_by_series, time_col)

    keys, values, starts = [], [], []
    n_dup = n_filled = n_missing_y = 0
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        ordinals = freq.ordinal(freq.to_periods(group["_t"]))
        y = pd.Series(group["_y"].to_numpy(), index=ordinals)
        n_dup += int(y.index.duplicated().sum())
        y = y.groupby(level=0).mean()
        y = y.dropna() if y.notna().any() else y
        if y.notna().sum() == 0:
            continue
        full = np.arange(y.index.min(), y.index.max() + 1)
        n_missing_y += int(len(full) - len(y))
        y = y.reindex(full)
        if y.isna().any():
            n_filled += int(y.isna().sum())
            y = y.interpolate(method="linear").ffill().bfill()
        keys.append(key)
        values.append(y.to_numpy(dtype=float))
        starts.append(int(full[0]))

    if n_dup:
        alerts.append(
            _alert(
                "duplicate_timestamps",
                f"{n_dup} duplicate timestamp(s) aggregated by {AGGREGATION}",
            )
        )
    if n_filled:
        alerts.append(
            _alert(
                "missing_timestamps",
                f"{n_filled} missing timestamp(s)/value(s) filled by {FILL_METHOD}",
            )
        )

    panel = Panel(
        keys=keys,
        values=values,
        starts=np.asarray(starts, dtype=np.int64),
        freq=freq,
        time_col=time_col,
        target_col=target_col,
        identity_cols=identity_cols,
        prep={
            "frequency": freq.alias,
            "season_length": freq.season_length,
            "fill_method": FILL_METHOD,
            "aggregation": AGGREGATION,
            "n_series": len(keys),
            "n_filled": n_filled,
            "n_duplicates_aggregated": n_dup,
        },
    )
    lengths = panel.lengths
    needed = max(2 * horizon + 1, MIN_SERIES_POINTS)
    if not len(panel) or lengths.max() < needed:
        raise AutoMLInputError(
            f"no series is long enough for horizon={horizon}: the longest has {int(lengths.max(initial=0))} "
            f"points but at least {needed} are needed (horizon points to test, horizon to validate, "
            "one to train); lower horizon or give more history"
        )
    short = int((lengths < horizon + MIN_MODEL_LENGTH).sum())
    if short:
        alerts.append(
            _alert(
                "short_series",
                f"{short} series have fewer than {MIN_MODEL_LENGTH} points before the last "
                f"{horizon}: statistical and LightGBM models leave them to a seasonal naive / "
                "naive baseline",
            )
        )
    return panel, alerts


def _alert(kind: str, message: str) -> dict:
    return {"kind": kind, "message": message}
