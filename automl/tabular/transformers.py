"""The column transformers preprocessing pipelines are built from (public: notebooks import them).

Each takes plain literal parameters, so a trial notebook can rebuild the exact pipeline as
constructor calls, and works column by column on raw input frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import TargetEncoder
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from automl.tabular.semantic import boolean_key

MISSING_CATEGORY = "__missing__"
SKLEARN_VERSION = tuple(int(p) for p in sklearn.__version__.split(".")[:2] if p.isdigit())
ENCODINGS = ("onehot_scaled", "onehot", "ordinal")
TRUE_KEYS = frozenset({"true", "yes", "y", "t", "1"})
FALSE_KEYS = frozenset({"false", "no", "n", "f", "0"})


def _frame(X: Any) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)


class ColumnwiseMixin(TransformerMixin, BaseEstimator):
    """Remembers input column names so output names and sources can be reported."""

    def _remember(self, X: pd.DataFrame) -> None:
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_in_")
        return np.asarray(self._names_out(), dtype=object)

    def _names_out(self) -> list[str]:
        return list(self.feature_names_in_)

    def feature_sources(self) -> list[str]:
        """Input column each output column comes from (one entry per output column)."""
        return list(self.feature_names_in_)


class NumericCoercer(ColumnwiseMixin):
    """Turn each column into float64 (numbers as text, nullable ints, booleans, durations in
    seconds); anything else, and +-inf, becomes NaN (then imputed)."""

    def fit(self, X: Any, y: Any = None) -> NumericCoercer:
        self._remember(_frame(X))
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = _frame(X)
        out = np.empty(X.shape, dtype="float64")
        for i, column in enumerate(X.columns):
            values = X[column]
            if pd.api.types.is_bool_dtype(values):
                values = values.astype("float64")
            elif pd.api.types.is_timedelta64_dtype(values):
                values = values.dt.total_seconds()
            elif not pd.api.types.is_numeric_dtype(values):
                values = pd.to_numeric(values.astype("object"), errors="coerce")
            out[:, i] = pd.Series(values).astype("float64").to_numpy(na_value=np.nan)
        out[~np.isfinite(out)] = np.nan  # +-inf count as missing
        return out


def _category_text(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return np.nan
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def _map_unique(values: pd.Series, fn: Callable[[Any], Any], dtype: Any) -> np.ndarray:
    """``fn`` applied once per distinct value (fast on long columns); missing -> NaN."""
    codes, uniques = pd.factorize(values.astype("object"), use_na_sentinel=True)
    mapped = np.asarray([fn(u) for u in uniques] + [np.nan], dtype=dtype)
    return mapped[codes]  # code -1 (missing) picks the trailing NaN


class _ValueMapper(ColumnwiseMixin):
    """A stateless transformer mapping each distinct value of every column through
    :meth:`_value` into an array of ``_dtype``."""

    _dtype: Any = object

    def fit(self, X: Any, y: Any = None) -> _ValueMapper:
        self._remember(_frame(X))
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = _frame(X)
        out = np.empty(X.shape, dtype=self._dtype)
        for i, column in enumerate(X.columns):
            out[:, i] = _map_unique(X[column], self._value, self._dtype)
        return out

    @staticmethod
    def _value(value: Any) -> Any:
        raise NotImplementedError


class CategoricalCleaner(_ValueMapper):
    """Turn each column into text categories (``1`` and ``1.0`` agree), missing stays NaN."""

    _dtype = object

    @staticmethod
    def _value(value: Any) -> Any:
        return _category_text(value)


class BooleanEncoder(_ValueMapper):
    """Map yes/no-like values (True/False, 1/0, yes/no, y/n, t/f) to 1.0/0.0; others -> NaN."""

    _dtype = "float64"

    @staticmethod
    def _value(value: Any) -> Any:
        return _boolean_value(value)


def _boolean_value(value: Any) -> float:
    key = boolean_key(value)
    if key in TRUE_KEYS:
        return 1.0
    if key in FALSE_KEYS:
        return 0.0
    return np.nan


def parse_datetimes(values: pd.Series) -> pd.Series:
    """Parse a column to naive UTC timestamps (NaT where a value is not a date)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            return values.dt.tz_convert("UTC").dt.tz_localize(None)
        return values
    text = values.astype("object").where(values.notna(), None)
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    if parsed.notna().sum() < values.notna().sum():
        parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_localize(None)


class DatetimeFeatures(ColumnwiseMixin):
    """Calendar and cyclic features of date/time columns (strings are parsed).

    Per column: elapsed days since 1970, year, month, day, day of week, day of year, and
    sine/cosine of month, day of week and (when times vary) hour. Missing dates give NaN.
    """

    CALENDAR = ("days", "year", "month", "day", "dayofweek", "dayofyear")

    def fit(self, X: Any, y: Any = None) -> DatetimeFeatures:
        X = _frame(X)
        self._remember(X)
        self.has_time_ = []
        for column in X.columns:
            parsed = parse_datetimes(X[column]).dropna()
            has_time = bool(len(parsed) and (parsed != parsed.dt.normalize()).any())
            self.has_time_.append(has_time)
        return self

    def _parts(self, has_time: bool) -> list[str]:
        parts = [*self.CALENDAR, "month_sin", "month_cos", "dayofweek_sin", "dayofweek_cos"]
        if has_time:
            parts += ["hour", "hour_sin", "hour_cos"]
        return parts

    def _names_out(self) -> list[str]:
        return [
            f"{c}_{p}"
            for c, t in zip(self.feature_names_in_, self.has_time_, strict=True)
            for p in self._parts(t)
        ]

    def feature_sources(self) -> list[str]:
        return [
            c
            for c, t in zip(self.feature_names_in_, self.has_time_, strict=True)
            for _ in self._parts(t)
        ]

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "has_time_")
        X = _frame(X)
        blocks = []
        for column, has_time in zip(X.columns, self.has_time_, strict=True):
            t = parse_datetimes(X[column])
            dt = t.dt
            missing = t.isna().to_numpy()
            seconds = (t - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy()
            month = dt.month.to_numpy(dtype="float64", na_value=np.nan)
            dow = dt.day_of_week.to_numpy(dtype="float64", na_value=np.nan)
            cols = [
                seconds / 86400.0,
                dt.year.to_numpy(dtype="float64", na_value=np.nan),
                month,
                dt.day.to_numpy(dtype="float64", na_value=np.nan),
                dow,
                dt.day_of_year.to_numpy(dtype="float64", na_value=np.nan),
                np.sin(2 * np.pi * (month - 1) / 12),
                np.cos(2 * np.pi * (month - 1) / 12),
                np.sin(2 * np.pi * dow / 7),
                np.cos(2 * np.pi * dow / 7),
            ]
            if has_time:
                hour = (
                    dt.hour.to_numpy(dtype="float64", na_value=np.nan)
                    + dt.minute.to_numpy(dtype="float64", na_value=np.nan) / 60.0
                )
                cols += [hour, np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)]
            block = np.column_stack(cols).astype("float64")
            block[missing, :] = np.nan
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.empty((len(X), 0))


class TextFeatures(ColumnwiseMixin):
    """TF-IDF of each free-text column (at most ``max_features`` terms each), dense output."""

    def __init__(self, max_features: int = 100, fill_value: str = "") -> None:
        self.max_features = max_features
        self.fill_value = fill_value

    def _texts(self, values: pd.Series) -> list[str]:
        return [self.fill_value if pd.isna(v) else str(v) for v in values.astype("object")]

    def fit(self, X: Any, y: Any = None) -> TextFeatures:
        X = _frame(X)
        self._remember(X)
        self.vectorizers_ = []
        for column in X.columns:
            vectorizer = TfidfVectorizer(
                max_features=self.max_features, min_df=2, dtype=np.float64, sublinear_tf=True
            )
            try:
                vectorizer.fit(self._texts(X[column]))
            except ValueError:  # every document empty or below min_df: keep a 1-term vocabulary
                vectorizer = TfidfVectorizer(min_df=1, token_pattern=r"(?u)\b\w+\b|.")
                vectorizer.fit([*self._texts(X[column]), "_"])
            self.vectorizers_.append(vectorizer)
        return self

    def _names_out(self) -> list[str]:
        return [
            f"{c}_{term}"
            for c, v in zip(self.feature_names_in_, self.vectorizers_, strict=True)
            for term in v.get_feature_names_out()
        ]

    def feature_sources(self) -> list[str]:
        return [
            c
            for c, v in zip(self.feature_names_in_, self.vectorizers_, strict=True)
            for _ in v.get_feature_names_out()
        ]

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "vectorizers_")
        X = _frame(X)
        blocks = [
            v.transform(self._texts(X[c]))
            for c, v in zip(X.columns, self.vectorizers_, strict=True)
        ]
        return sparse.hstack(blocks).toarray() if blocks else np.empty((len(X), 0))


class HighCardinalityEncoder(ColumnwiseMixin):
    """Cross-fitted target encoding (sklearn ``TargetEncoder``) with seeded, reproducible folds.

    Width stays one column per input column (one per class for multiclass targets); categories
    unseen during fit get the target mean.
    """

    def __init__(self, target_type: str = "auto", cv: int = 5, random_state: int = 0) -> None:
        self.target_type = target_type
        self.cv = cv
        self.random_state = random_state

    def _encoder(self, y: Any) -> TargetEncoder:
        # "auto" would call an integer regression target (minutes, counts) multiclass.
        target_type = type_of_target(y) if self.target_type == "auto" else self.target_type
        if SKLEARN_VERSION >= (1, 9):
            splitter = KFold if target_type == "continuous" else StratifiedKFold
            cv = splitter(self.cv, shuffle=True, random_state=self.random_state)
            return TargetEncoder(target_type=target_type, cv=cv)
        return TargetEncoder(
            target_type=target_type, cv=self.cv, shuffle=True, random_state=self.random_state
        )

    def fit(self, X: Any, y: Any) -> HighCardinalityEncoder:
        self.fit_transform(X, y)
        return self

    def _codes(self, X: pd.DataFrame) -> np.ndarray:
        """Integer code of each value per column (-1: not seen in fit, so the target mean)."""
        out = np.empty(X.shape, dtype="float64")
        for i, (column, categories) in enumerate(zip(X.columns, self.categories_, strict=True)):
            out[:, i] = categories.get_indexer(X[column].astype("object"))
        return out

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        X = _frame(X)
        self._remember(X)
        # Numeric codes make TargetEncoder's sorting and lookups fast on thousands of levels.
        self.categories_ = [
            pd.Index(pd.unique(X[c].astype("object")), dtype=object) for c in X.columns
        ]
        self.encoder_ = self._encoder(y)
        out = self.encoder_.fit_transform(self._codes(X), y)
        self.n_outputs_per_column_ = out.shape[1] // max(X.shape[1], 1)
        return out

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        return self.encoder_.transform(self._codes(_frame(X)))

    def _names_out(self) -> list[str]:
        k = self.n_outputs_per_column_
        if k == 1:
            return list(self.feature_names_in_)
        return [f"{c}_{cls}" for c in self.feature_names_in_ for cls in self.encoder_.classes_]

    def feature_sources(self) -> list[str]:
        return [c for c in self.feature_names_in_ for _ in range(self.n_outputs_per_column_)]
