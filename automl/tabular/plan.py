"""The data plan: every data decision of an experiment, made once and shared by all trials."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from automl.tabular.data import (
    AutoMLInputError,
    alert,
    drop_missing_target,
    normalise_imputer,
    unify_mixed_columns,
    validate_inputs,
)
from automl.tabular.metrics import DEFAULT_METRIC, metric_spec, plain_label
from automl.tabular.semantic import KINDS, boolean_key, detect_semantic_types

SMALL_DATA_ROWS = 5000
CV_FOLDS = 5
# Cross-validation when the data is small against the time given (FLAML's rule: rows x columns
# under 9M cells per hour of budget) and under this many rows; holdout otherwise.
CV_CELLS_PER_HOUR, CV_MAX_ROWS = 9_000_000, 100_000
IMBALANCE_RATIO = 0.1
LABEL_METRICS = ("f1", "precision", "recall")  # binary metrics that need the positive class
POSITIVE_KEYS = ("1", "true", "yes", "y", "t", "positive", "pos")
NEGATIVE_KEYS = ("0", "false", "no", "n", "f", "negative", "neg", "-1")


@dataclass
class DataPlan:
    """What every trial of an experiment shares; JSON round-trips via ``to_dict``/``from_dict``."""

    task: str
    target_col: str
    feature_columns: dict[str, list[str]]
    dropped_columns: dict[str, str] = field(default_factory=dict)
    semantic_type_conversions: dict[str, str] = field(default_factory=dict)
    imputers: dict[str, dict] = field(default_factory=dict)
    primary_metric: str = "f1"
    classes: list | None = None
    pos_label: Any = None
    multiclass_average: str | None = None
    class_weight: str | None = None
    sample_weight_col: str | None = None
    validation: str = "holdout"
    n_folds: int = 1
    seed: int = 0
    time_col: str | None = None
    split_col: str | None = None
    n_rows: int = 0

    @property
    def primary_metric_key(self) -> str:
        """Databricks key of the primary metric, e.g. ``"f1_score"``; tracked as ``val_<key>``."""
        return metric_spec(self.primary_metric).key

    @property
    def greater_is_better(self) -> bool:
        """Whether a larger primary metric is better."""
        return metric_spec(self.primary_metric).greater_is_better

    @property
    def feature_names(self) -> list[str]:
        """All feature columns, in the order of :data:`automl.tabular.semantic.KINDS`."""
        return [c for kind in KINDS for c in self.feature_columns.get(kind, [])]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (numpy scalars become Python values)."""
        return json.loads(json.dumps(asdict(self), default=_json_default))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataPlan:
        """Rebuild a plan from :meth:`to_dict` output; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _sorted_classes(values: Iterable[Any]) -> list:
    plain = [plain_label(v) for v in values]
    try:
        return sorted(plain)
    except TypeError:
        return sorted(plain, key=str)


def infer_pos_label(classes: list, target_col: str) -> Any:
    """The positive class of a usual pair (1/0, True/False, yes/no, ...); else ask for it."""
    keys = [boolean_key(c) for c in classes]
    for positive, negative in zip(POSITIVE_KEYS, NEGATIVE_KEYS, strict=False):
        if sorted(keys) == sorted([positive, negative]):
            return classes[keys.index(positive)]
    if sorted(keys) == ["-1", "1"]:
        return classes[keys.index("1")]
    raise AutoMLInputError(
        f"pos_label: cannot tell the positive class of target {target_col!r} with classes "
        f"{classes}; pass pos_label= one of them"
    )


def _guess_pos_label(classes: list, target_col: str, metric: str, alerts: list[dict]) -> Any:
    """For metrics that do not depend on it, a usual pair or else the last class (as sklearn)."""
    try:
        return infer_pos_label(classes, target_col)
    except AutoMLInputError:
        pos_label = classes[-1]
    alerts.append(
        alert(
            "pos_label",
            f"pos_label not given: {pos_label!r} is the positive class for the f1/precision/recall "
            f"metrics (the primary metric {metric!r} does not depend on it); pass pos_label= to "
            "choose",
            target_col,
        )
    )
    return pos_label


def _match_label(value: Any, classes: list) -> Any:
    for c in classes:
        if c == value or str(c) == str(value):
            return c
    raise AutoMLInputError(f"pos_label: {value!r} is not among the classes {classes}")


def _imputers(
    df: pd.DataFrame, features: dict[str, list[str]], user: Mapping[str, Any] | None
) -> dict[str, dict]:
    from automl.tabular.preprocessing import DEFAULT_IMPUTERS

    kind_of = {c: kind for kind, cols in features.items() for c in cols}
    plan: dict[str, dict] = {}
    for column, kind in kind_of.items():
        plan[column] = dict(DEFAULT_IMPUTERS[kind])
    for column, spec in (user or {}).items():
        if column not in kind_of:
            raise AutoMLInputError(
                f"imputers: column {column!r} is not a feature (it is dropped, excluded or the target)"
            )
        spec = normalise_imputer(column, spec)
        kind = kind_of[column]
        if spec["strategy"] == "constant":
            value = spec["fill_value"]
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind in ("numeric", "datetime", "boolean") and not numeric:
                raise AutoMLInputError(
                    f"imputers[{column!r}]: fill_value must be a number for a {kind} column, "
                    f"got {value!r}"
                )
            if kind == "text" and not isinstance(value, str):
                raise AutoMLInputError(f"imputers[{column!r}]: fill_value must be text")
        if kind == "text" and spec["strategy"] != "constant":
            raise AutoMLInputError(
                f"imputers[{column!r}]: free-text columns take only "
                "{'strategy': 'constant', 'fill_value': '...'}"
            )
        plan[column] = spec
    return plan


def choose_cross_validation(n_rows: int, n_features: int, time_budget_s: float | None) -> str:
    """Why the search cross-validates (empty: it uses a holdout): always under SMALL_DATA_ROWS
    rows (a 20 % holdout of fewer rows selects noisily: ames_housing's 469 validation rows chose
    an ensemble that lost on the test), and above that when rows x features is small for the
    time given (FLAML's rule)."""
    if n_rows < SMALL_DATA_ROWS:
        return f"small dataset ({n_rows} rows < {SMALL_DATA_ROWS})"
    if time_budget_s is None:
        return ""
    cells = n_rows * max(1, n_features)
    allowed = CV_CELLS_PER_HOUR * time_budget_s / 3600.0
    if n_rows < CV_MAX_ROWS and cells < allowed:
        return (
            f"{n_rows} rows x {n_features} features is small for a {time_budget_s:g} s budget "
            f"({cells:,} < {allowed:,.0f} cells)"
        )
    return ""


def make_plan(
    df: pd.DataFrame,
    task: str,
    target_col: str,
    *,
    primary_metric: str | None = None,
    exclude_cols: str | Iterable[str] | None = None,
    imputers: Mapping[str, Any] | None = None,
    pos_label: Any = None,
    time_col: str | None = None,
    split_col: str | None = None,
    sample_weight_col: str | None = None,
    seed: int = 0,
    exclude_frameworks: list[str] | None = None,
    time_budget_s: float | None = None,
) -> tuple[DataPlan, list[dict], pd.DataFrame]:
    """Decide types, imputers, classes, weights and validation; assign the split.

    Returns ``(plan, alerts, prepared)`` where ``prepared`` holds the target, the feature
    columns, the sample weights and the ``_automl_split`` / ``_automl_fold`` columns.
    """
    from automl.tabular.split import assign_split

    primary_metric = primary_metric or DEFAULT_METRIC.get(task, "f1")
    validate_inputs(
        df,
        task=task,
        target_col=target_col,
        primary_metric=primary_metric,
        exclude_cols=exclude_cols,
        imputers=imputers,
        pos_label=pos_label,
        time_col=time_col,
        split_col=split_col,
        sample_weight_col=sample_weight_col,
        exclude_frameworks=exclude_frameworks,
    )
    df, alerts = drop_missing_target(df, target_col)
    df, mixed_alerts = unify_mixed_columns(df, target_col)
    alerts.extend(mixed_alerts)
    excluded = [exclude_cols] if isinstance(exclude_cols, str) else list(exclude_cols or [])
    reserved = [c for c in (split_col, sample_weight_col) if c is not None]
    features, dropped, conversions, type_alerts = detect_semantic_types(
        df, target_col, excluded, reserved
    )
    alerts.extend(type_alerts)
    if not any(features.values()):
        because = f" (dropped: {dropped})" if dropped else ""
        if excluded:
            raise AutoMLInputError(
                f"exclude_cols: excluding {excluded} leaves no usable feature column besides "
                f"the target {target_col!r}{because}; exclude fewer columns"
            )
        raise AutoMLInputError(
            f"dataset: no usable feature columns besides the target {target_col!r}{because}; "
            "give at least one column to learn from"
        )

    classes = None
    class_weight = None
    average = None
    target = df[target_col]
    if task == "classification":
        classes = _sorted_classes(target.unique())
        if len(classes) == 2:
            if pos_label is not None:
                pos_label = _match_label(pos_label, classes)
            elif primary_metric in LABEL_METRICS:
                pos_label = infer_pos_label(classes, target_col)
            else:
                pos_label = _guess_pos_label(classes, target_col, primary_metric, alerts)
        else:
            average = "macro"
            alerts.append(
                alert(
                    "metric",
                    f"multiclass target ({len(classes)} classes): f1, precision, recall and "
                    "roc_auc are macro-averaged",
                    target_col,
                )
            )
        counts = target.map(plain_label).value_counts()
        ratio = float(counts.min() / counts.max())
        if ratio < IMBALANCE_RATIO:
            class_weight = "balanced"
            alerts.append(
                alert(
                    "imbalance",
                    f"classes are imbalanced (smallest/largest = {ratio:.3f} < {IMBALANCE_RATIO}); "
                    "training uses balanced class weights",
                    target_col,
                )
            )
    else:
        pos_label = None
        if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
            df = df.copy()
            df[target_col] = pd.to_numeric(target.astype("object")).astype("float64")

    validation, n_folds = "holdout", 1
    n_features = sum(len(cols) for cols in features.values())
    reason = choose_cross_validation(len(df), n_features, time_budget_s)
    if reason and time_col is None and split_col is None:
        validation, n_folds = "cv", CV_FOLDS
        alerts.append(
            alert(
                "validation",
                f"{reason}: models are selected by {CV_FOLDS}-fold cross-validation on "
                "train+validation; test stays held out",
            )
        )

    plan = DataPlan(
        task=task,
        target_col=target_col,
        feature_columns=features,
        dropped_columns=dropped,
        semantic_type_conversions=conversions,
        imputers=_imputers(df, features, imputers),
        primary_metric=primary_metric,
        classes=classes,
        pos_label=plain_label(pos_label),
        multiclass_average=average,
        class_weight=class_weight,
        sample_weight_col=sample_weight_col,
        validation=validation,
        n_folds=n_folds,
        seed=int(seed),
        time_col=time_col,
        split_col=split_col,
        n_rows=len(df),
    )
    plan = DataPlan.from_dict(plan.to_dict())
    prepared = assign_split(df, plan, time_col=time_col, split_col=split_col)
    if not (prepared["_automl_split"] == "test").any():
        alerts.append(
            alert(
                "split",
                f"split_col {split_col!r} has no test rows: trials report no test_ metrics"
                if split_col is not None
                else f"only {len(df)} rows: none is left for the test part, so trials report "
                "no test_ metrics; give more rows for a test score",
                split_col,
            )
        )
    keep = [*plan.feature_names, target_col]
    if sample_weight_col is not None:
        keep.append(sample_weight_col)
    keep += [c for c in ("_automl_split", "_automl_fold") if c in prepared.columns]
    prepared = prepared[keep].reset_index(drop=True)
    if sample_weight_col is not None:
        prepared[sample_weight_col] = pd.to_numeric(
            prepared[sample_weight_col].astype("object")
        ).astype("float64")
    return plan, alerts, prepared
