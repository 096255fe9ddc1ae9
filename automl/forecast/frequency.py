"""Frequencies: parse user aliases/words, infer them from timestamps, check they agree.

Internally every series lives on a regular ``pandas.Period`` grid; ``Frequency`` records the period
alias, whether the user's timestamps sit at the start or the end of each period (so forecasts come
back in the same style) and the season length used by seasonal models and MASE.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from automl.core.spec import AutoMLInputError

_WORDS = {
    "s": "s", "sec": "s", "second": "s", "seconds": "s", "secondly": "s",
    "t": "min", "min": "min", "minute": "min", "minutes": "min", "minutely": "min",
    "h": "h", "hr": "h", "hour": "h", "hours": "h", "hourly": "h",
    "d": "D", "day": "D", "days": "D", "daily": "D",
    "b": "B", "bd": "B", "business": "B", "businessday": "B", "business_day": "B",
    "w": "W", "week": "W", "weeks": "W", "weekly": "W",
    "m": "M", "ms": "M", "me": "M", "bm": "M", "bms": "M", "month": "M", "months": "M", "monthly": "M",
    "q": "Q", "qs": "Q", "qe": "Q", "quarter": "Q", "quarters": "Q", "quarterly": "Q",
    "y": "Y", "ys": "Y", "ye": "Y", "a": "Y", "as": "Y", "ae": "Y", "year": "Y", "years": "Y",
    "yearly": "Y", "annual": "Y", "annually": "Y",
}  # fmt: skip

# Approximate length of one unit, to compare a user's frequency with the timestamps' spacing.
_UNIT_DAYS = {
    "s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "D": 1.0, "B": 1.4, "W": 7.0,
    "M": 30.44, "Q": 91.31, "Y": 365.25,
}  # fmt: skip
_SEASON = {"s": 60, "min": 60, "h": 24, "D": 7, "B": 5, "W": 52, "M": 12, "Q": 4, "Y": 1}
_EPOCH = np.datetime64("1970-01-01", "D")
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class Frequency:
    """A regular time grid: ``unit`` x ``multiple``, the pandas period alias and anchoring."""

    unit: str
    multiple: int = 1
    week_end: str = "SUN"
    anchor: str = "start"

    @property
    def alias(self) -> str:
        """The pandas *period* alias, e.g. ``"M"``, ``"W-SAT"``, ``"15min"``."""
        base = self.base_alias
        return base if self.multiple == 1 else f"{self.multiple}{base}"

    @property
    def base_alias(self) -> str:
        """The period alias of one unit (multiples are handled by integer division)."""
        return {"W": f"W-{self.week_end}", "Q": "Q-DEC", "Y": "Y-DEC"}.get(self.unit, self.unit)

    @property
    def season_length(self) -> int:
        """Observations per seasonal cycle (1 = no seasonality)."""
        base = _SEASON[self.unit]
        if self.multiple > 1 and base % self.multiple == 0:
            return base // self.multiple
        return base if self.multiple == 1 else 1

    @property
    def days(self) -> float:
        return _UNIT_DAYS[self.unit] * self.multiple

    def to_periods(self, times: pd.Series | pd.DatetimeIndex) -> pd.Index:
        """Map timestamps onto this grid's periods (business days: a day count)."""
        index = pd.DatetimeIndex(times)
        if self.unit == "B":
            days = index.normalize().values.astype("M8[D]")
            return pd.Index(np.busday_count(_EPOCH, days), dtype=np.int64)
        return index.to_period(self.base_alias)

    def ordinal(self, periods: pd.Index) -> np.ndarray:
        """Integer positions on the grid (consecutive periods differ by one)."""
        if self.unit == "B":
            return np.asarray(periods, dtype=np.int64) // self.multiple
        return np.asarray(periods.asi8, dtype=np.int64) // self.multiple

    def from_ordinal(self, ordinals: np.ndarray) -> pd.DatetimeIndex:
        """Timestamps for grid positions, in the user's start/end style."""
        ordinals = np.asarray(ordinals, dtype=np.int64) * self.multiple
        if self.unit == "B":
            return pd.DatetimeIndex(np.busday_offset(_EPOCH, ordinals).astype("M8[ns]"))
        periods = pd.PeriodIndex.from_ordinals(ordinals, freq=self.base_alias)
        if self.anchor == "end":
            return pd.DatetimeIndex(periods.end_time).normalize()
        return pd.DatetimeIndex(periods.start_time)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Frequency:
        return cls(**d)


def parse_frequency(frequency: str) -> Frequency:
    """Parse ``"D"``, ``"day"``, ``"MS"``, ``"15min"``, ``"W-SAT"``, ``"quarterly"``, ..."""
    if not isinstance(frequency, str) or not frequency.strip():
        raise AutoMLInputError(
            f"frequency must be a non-empty string like 'D' or 'month', got {frequency!r}"
        )
    text = frequency.strip()
    match = re.fullmatch(r"(\d*)\s*([A-Za-z_]+)(?:-([A-Za-z]{3}))?", text)
    unit = _WORDS.get(match.group(2).lower()) if match else None
    if unit is None:
        raise AutoMLInputError(
            f"frequency={frequency!r} is not understood; use a pandas alias "
            "(s, min, h, D, B, W, M/MS, Q, Y) or a word (day, week, month, quarter, year, hour, min)"
        )
    multiple = int(match.group(1)) if match.group(1) else 1
    if multiple < 1:
        raise AutoMLInputError(f"frequency={frequency!r} must have a positive multiple")
    week_end = "SUN"
    if unit == "W" and match.group(3):
        week_end = match.group(3).upper()
        if week_end not in _WEEKDAYS:
            raise AutoMLInputError(f"frequency={frequency!r}: unknown weekday {match.group(3)!r}")
    anchor = "end" if match.group(2).lower() in ("me", "qe", "ye", "ae", "bm") else "start"
    return Frequency(unit=unit, multiple=multiple, week_end=week_end, anchor=anchor)


def _ns(times: pd.DatetimeIndex) -> np.ndarray:
    return pd.DatetimeIndex(times).as_unit("ns").asi8


def _modal_spacing(times_by_series: list[pd.DatetimeIndex]) -> pd.Timedelta | None:
    diffs = [np.diff(_ns(t)) for t in times_by_series if len(t) > 1]
    diffs = np.concatenate(diffs) if diffs else np.array([], dtype=np.int64)
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return None
    values, counts = np.unique(diffs, return_counts=True)
    return pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")


def infer_frequency(times_by_series: list[pd.DatetimeIndex]) -> Frequency | None:
    """The grid the timestamps sit on (from their most common spacing); None if undecidable."""
    spacing = _modal_spacing(times_by_series)
    if spacing is None:
        return None
    allt = pd.DatetimeIndex(np.concatenate([_ns(t) for t in times_by_series]).astype("M8[ns]"))
    days = spacing / pd.Timedelta(days=1)
    seconds = int(spacing.total_seconds())
    if days < 1:
        if seconds % 3600 == 0:
            return Frequency("h", seconds // 3600)
        if seconds % 60 == 0:
            return Frequency("min", seconds // 60)
        return Frequency("s", max(seconds, 1))
    if days == 1:
        weekdays = allt.day_of_week
        if len(allt) >= 10 and not np.any(weekdays >= 5):
            return Frequency("B")
        return Frequency("D")
    if days < 7 and days == int(days):
        return Frequency("D", int(days))
    if days in (7, 14):
        dow = np.bincount(allt.day_of_week, minlength=7).argmax()
        return Frequency("W", int(days // 7), week_end=_WEEKDAYS[dow], anchor="end")
    for unit, low, high in (("M", 28, 31), ("Q", 89, 92), ("Y", 365, 366)):
        if low <= days <= high:
            return _anchored(Frequency(unit), allt)
    if 59 <= days <= 62:
        return _anchored(Frequency("M", 2), allt)
    if 181 <= days <= 184:
        return _anchored(Frequency("Q", 2), allt)
    return None


def _anchored(freq: Frequency, times: pd.DatetimeIndex) -> Frequency:
    """Start- or end-of-period style, as the user's timestamps are."""
    periods = pd.DatetimeIndex(times).to_period(freq.unit if freq.unit != "Q" else "Q-DEC")
    if np.all(
        pd.DatetimeIndex(times).normalize() == pd.DatetimeIndex(periods.end_time).normalize()
    ):
        return Frequency(freq.unit, freq.multiple, anchor="end")
    return Frequency(freq.unit, freq.multiple, anchor="start")


def resolve_frequency(
    frequency: str | None, times_by_series: list[pd.DatetimeIndex], time_col: str
) -> Frequency:
    """The user's frequency checked against the timestamps, or the inferred one."""
    inferred = infer_frequency(times_by_series)
    if frequency is None:
        if inferred is None:
            raise AutoMLInputError(
                f"cannot infer the frequency of time_col {time_col!r} (too few or irregular "
                "timestamps); pass frequency=, e.g. 'D', 'W', 'month'"
            )
        return inferred
    given = parse_frequency(frequency)
    if inferred is None:
        return given
    ratio = inferred.days / given.days
    same_unit = inferred.unit == given.unit or {inferred.unit, given.unit} == {"D", "B"}
    if not (same_unit and inferred.multiple == given.multiple) and not 0.9 <= ratio <= 1.1:
        raise AutoMLInputError(
            f"frequency={frequency!r} contradicts the timestamps in time_col {time_col!r}, which "
            f"are spaced like {inferred.alias!r}; pass frequency={inferred.alias!r} or omit it"
        )
    if given.unit == "B" and inferred.unit == "D":
        return given
    if given.unit in ("W", "M", "Q", "Y") and given.unit == inferred.unit:
        return inferred
    return given
