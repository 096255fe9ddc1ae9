"""Preprocessing per data plan and model family, and the public transformers notebooks import.

Every transformer here takes plain literal parameters, so a trial notebook can rebuild the exact
pipeline as constructor calls. The :class:`~sklearn.compose.ColumnTransformer` produced by
:func:`build_preprocessor` selects columns by name, so pipelines predict from raw input frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

# The transformers live in their own module; pickled pipelines also find them here.
from automl.tabular.transformers import (  # noqa: F401
    ENCODINGS,
    MISSING_CATEGORY,
    SKLEARN_VERSION,
    BooleanEncoder,
    CategoricalCleaner,
    ColumnwiseMixin,
    DatetimeFeatures,
    HighCardinalityEncoder,
    NumericCoercer,
    TextFeatures,
    parse_datetimes,
)


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

    ``family`` is a family name or :class:`automl.tabular.family.ModelFamily`; its ``encoding`` picks
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
    if isinstance(step, ColumnwiseMixin):
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
