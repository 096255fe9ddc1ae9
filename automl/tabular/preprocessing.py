"""Preprocessing per data plan and model family, and the public transformers notebooks import.

Every transformer here takes plain literal parameters, so a trial notebook can rebuild the exact
pipeline as constructor calls. The :class:`~sklearn.compose.ColumnTransformer` produced by
:func:`build_preprocessor` selects columns by name, so pipelines predict from raw input frames.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder
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


class _ColumnwiseMixin(TransformerMixin, BaseEstimator):
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


class NumericCoercer(_ColumnwiseMixin):
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


class CategoricalCleaner(_ColumnwiseMixin):
    """Turn each column into text categories (``1`` and ``1.0`` agree), missing stays NaN."""

    def fit(self, X: Any, y: Any = None) -> CategoricalCleaner:
        self._remember(_frame(X))
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = _frame(X)
        out = np.empty(X.shape, dtype=object)
        for i, column in enumerate(X.columns):
            out[:, i] = _map_unique(X[column], _category_text, object)
        return out


def _map_unique(values: pd.Series, fn: Callable[[Any], Any], dtype: Any) -> np.ndarray:
    """``fn`` applied once per distinct value (fast on long columns); missing -> NaN."""
    codes, uniques = pd.factorize(values.astype("object"), use_na_sentinel=True)
    mapped = np.asarray([fn(u) for u in uniques] + [np.nan], dtype=dtype)
    return mapped[codes]  # code -1 (missing) picks the trailing NaN


class BooleanEncoder(_ColumnwiseMixin):
    """Map yes/no-like values (True/False, 1/0, yes/no, y/n, t/f) to 1.0/0.0; others -> NaN."""

    def fit(self, X: Any, y: Any = None) -> BooleanEncoder:
        self._remember(_frame(X))
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = _frame(X)
        out = np.empty(X.shape, dtype="float64")
        for i, column in enumerate(X.columns):
            out[:, i] = _map_unique(X[column], _boolean_value, "float64")
        return out


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


class DatetimeFeatures(_ColumnwiseMixin):
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


class TextFeatures(_ColumnwiseMixin):
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


class HighCardinalityEncoder(_ColumnwiseMixin):
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


def target_type(plan: Any) -> str:
    """sklearn's target type of the plan: "continuous", "binary" or "multiclass"."""
    if plan.task == "regression":
        return "continuous"
    return "binary" if len(plan.classes or ()) == 2 else "multiclass"


def _imputer(spec: Mapping[str, Any]) -> SimpleImputer:
    kwargs: dict[str, Any] = {"strategy": spec["strategy"], "keep_empty_features": True}
    if spec["strategy"] == "constant":
        kwargs["fill_value"] = spec.get("fill_value")
    return SimpleImputer(**kwargs)


def _spec_key(spec: Mapping[str, Any]) -> tuple:
    return (spec["strategy"], repr(spec.get("fill_value")))


def _group_by_imputer(plan: Any, kind: str, default: dict) -> list[tuple[dict, list[str]]]:
    groups: dict[tuple, tuple[dict, list[str]]] = {}
    for column in plan.feature_columns.get(kind, []):
        spec = plan.imputers.get(column, default)
        groups.setdefault(_spec_key(spec), (spec, []))[1].append(column)
    return list(groups.values())


def _kind_steps(plan: Any, kind: str, spec: Mapping[str, Any], encoding: str) -> list[tuple]:
    scaled = encoding == "onehot_scaled"
    scale = [("scale", StandardScaler())] if scaled else []
    if kind == "numeric":
        return [("coerce", NumericCoercer()), ("impute", _imputer(spec)), *scale]
    if kind == "boolean":
        return [("encode", BooleanEncoder()), ("impute", _imputer(spec))]
    if kind == "datetime":
        return [("features", DatetimeFeatures()), ("impute", _imputer(spec)), *scale]
    if kind == "text":
        fill = spec.get("fill_value") if spec["strategy"] == "constant" else ""
        return [("tfidf", TextFeatures(max_features=100 if scaled else 30, fill_value=str(fill)))]
    clean = [("clean", CategoricalCleaner()), ("impute", _imputer(spec))]
    if spec["strategy"] in ("mean", "median"):
        clean = [
            ("coerce", NumericCoercer()),
            ("impute", _imputer(spec)),
            ("clean", CategoricalCleaner()),
        ]
    if kind == "high_cardinality":
        encoder = HighCardinalityEncoder(
            target_type=target_type(plan), cv=5, random_state=int(plan.seed)
        )
        return [*clean, ("encode", encoder), *scale]
    if encoding == "ordinal":
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64
        )
    else:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    return [*clean, ("encode", encoder)]


DEFAULT_IMPUTERS = {
    "numeric": {"strategy": "median"},
    "boolean": {"strategy": "most_frequent"},
    "datetime": {"strategy": "median"},
    "categorical": {"strategy": "constant", "fill_value": MISSING_CATEGORY},
    "high_cardinality": {"strategy": "constant", "fill_value": MISSING_CATEGORY},
    "text": {"strategy": "constant", "fill_value": ""},
}
KIND_ORDER = ("numeric", "boolean", "datetime", "categorical", "high_cardinality", "text")


def build_preprocessor(plan: Any, family: Any) -> ColumnTransformer:
    """The ColumnTransformer for ``plan`` as ``family`` needs it.

    ``family`` is a family name or :class:`automl.tabular.families.ModelFamily`; its ``encoding`` picks
    one-hot + scaling (linear models), one-hot (sklearn trees) or ordinal codes (LightGBM).
    """
    encoding = family if family in ENCODINGS else _family_encoding(family)
    transformers = []
    for kind in KIND_ORDER:
        groups = _group_by_imputer(plan, kind, DEFAULT_IMPUTERS[kind])
        for i, (spec, columns) in enumerate(groups):
            name = kind if i == 0 else f"{kind}_{i}"
            transformers.append((name, Pipeline(_kind_steps(plan, kind, spec, encoding)), columns))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def _family_encoding(family: Any) -> str:
    from automl.tabular.families import FAMILIES

    if isinstance(family, str):
        if family not in FAMILIES:
            raise ValueError(
                f"family: unknown model family {family!r}; use one of {sorted(FAMILIES)}"
            )
        family = FAMILIES[family]
    return family.encoding


def build_pipeline(plan: Any, config: Mapping[str, Any], n_threads: int = 1) -> Pipeline:
    """Preprocessing + model for a trial config ``{"family": ..., "params": {...}}``."""
    from automl.tabular.families import get_family

    family = get_family(config["family"], plan)
    model = family.build(plan, dict(config.get("params") or {}), n_threads)
    return Pipeline([("preprocess", build_preprocessor(plan, family)), ("model", model)])


def _output_positions(step: Any, n_in: int) -> list[int]:
    """Input position behind each output column of one fitted step."""
    if isinstance(step, OneHotEncoder):
        return [i for i, categories in enumerate(step.categories_) for _ in categories]
    if isinstance(step, _ColumnwiseMixin):
        names = list(step.feature_names_in_)
        return [names.index(source) for source in step.feature_sources()]
    return list(range(n_in))


def feature_sources(preprocessor: ColumnTransformer) -> list[str]:
    """For a fitted preprocessor, the original input column behind each output column."""
    check_is_fitted(preprocessor, "transformers_")
    sources: list[str] = []
    for _name, transformer, columns in preprocessor.transformers_:
        if isinstance(transformer, str):
            if transformer == "passthrough":
                sources.extend(columns)
            continue
        if len(columns) == 0:
            continue
        steps = transformer.steps if isinstance(transformer, Pipeline) else [("", transformer)]
        current = list(columns)
        for _step_name, step in steps:
            current = [current[i] for i in _output_positions(step, len(current))]
        sources.extend(current)
    return sources


ENCODING_NAMES = {
    "onehot_scaled": "one-hot + standard scaling",
    "onehot": "one-hot",
    "ordinal": "ordinal codes",
}


def describe(plan: Any, family: Any) -> dict[str, str]:
    """The preprocessing choices of a trial as flat strings, e.g. for run params.

    Keys: ``categorical_encoding``, ``high_cardinality_encoding``, ``datetime_features``,
    ``text_features`` (for kinds the plan has) and ``imputer.<column>`` for every column whose
    imputer is not the default of its kind.
    """
    encoding = family if family in ENCODINGS else _family_encoding(family)
    columns = plan.feature_columns
    out: dict[str, str] = {}
    if columns.get("categorical"):
        out["categorical_encoding"] = ENCODING_NAMES[encoding]
    if columns.get("high_cardinality"):
        out["high_cardinality_encoding"] = "cross-fitted target encoding"
    if columns.get("datetime"):
        out["datetime_features"] = "calendar + cyclic (month, day of week, hour)"
    if columns.get("text"):
        limit = 100 if encoding == "onehot_scaled" else 30
        out["text_features"] = f"TF-IDF, at most {limit} terms per column"
    if encoding == "onehot_scaled":
        out["scaling"] = "standard scaling of numeric, date and target-encoded columns"
    for kind, names in columns.items():
        for column in names:
            spec = plan.imputers.get(column, DEFAULT_IMPUTERS[kind])
            if spec != DEFAULT_IMPUTERS[kind]:
                fill = f" {spec['fill_value']!r}" if spec["strategy"] == "constant" else ""
                out[f"imputer.{column}"] = f"{spec['strategy']}{fill}"
    return out
