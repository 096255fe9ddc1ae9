"""Metric, latency and schema gates: each measures figures of the candidate (and the baseline)
and returns one :class:`registry.gates.CheckResult` per figure.

A gate is any object with ``run(ctx) -> list[CheckResult]``; bad arguments raise before anything
is measured or stored.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from automl.promotion import constants
from automl.promotion.context import PromotionContext
from automl.tabular.metrics import METRICS, classification_scores, metric_spec, regression_scores
from registry.gates import (
    AT_MOST,
    CheckResult,
    GateKind,
    MetricThreshold,
    metric_checks,
)
from tracking.exceptions import InvalidInputError


class Gate(Protocol):
    """A promotion check: measures and compares, never writes."""

    def run(self, ctx: PromotionContext) -> list[CheckResult]:
        """One result per measured figure."""
        ...


def require_frame(value: object, argument: str) -> pd.DataFrame:
    """``value`` as a non-empty DataFrame, or an error naming ``argument``."""
    if not isinstance(value, pd.DataFrame):
        raise InvalidInputError(
            f"{argument}: expected a pandas DataFrame, got {type(value).__name__}"
        )
    if value.empty:
        raise InvalidInputError(f"{argument}: the DataFrame has no rows")
    return value


@dataclass(frozen=True)
class MetricGate:
    """The candidate's ``metric`` on ``data`` against ``thresholds``; the baseline (the target's
    current version) is scored on the same rows in the same call.

    ``metric`` is one of automl's names (``accuracy``, ``f1``, ``roc_auc``, ``log_loss``,
    ``precision``, ``recall``, ``r2``, ``rmse``, ``mse``, ``mae``); its direction fills
    ``thresholds.greater_is_better`` when that is None. Binary f1/precision/recall use
    ``pos_label`` (default: the last of the model's classes).
    """

    data: pd.DataFrame
    target_col: str
    metric: str
    thresholds: MetricThreshold
    pos_label: Any = None

    def __post_init__(self) -> None:
        require_frame(self.data, "data")
        if self.target_col not in self.data.columns:
            raise InvalidInputError(
                f"target_col: column {self.target_col!r} is not in data; columns: "
                f"{list(self.data.columns)}"
            )
        if self.metric not in METRICS:
            raise InvalidInputError(
                f"metric: unknown metric {self.metric!r}; use one of {sorted(METRICS)}"
            )
        if not isinstance(self.thresholds, MetricThreshold):
            raise InvalidInputError(
                "thresholds: expected registry.gates.MetricThreshold(threshold=..., margin=...), "
                f"got {type(self.thresholds).__name__}"
            )
        spec = metric_spec(self.metric)
        given = self.thresholds.greater_is_better
        if given is not None and given != spec.greater_is_better:
            raise InvalidInputError(
                f"thresholds: greater_is_better={given} contradicts metric {self.metric!r} "
                f"(greater_is_better={spec.greater_is_better}); leave it None"
            )

    def run(self, ctx: PromotionContext) -> list[CheckResult]:
        spec = metric_spec(self.metric)
        limits = dataclasses.replace(self.thresholds, greater_is_better=spec.greater_is_better)
        X = self.data.drop(columns=[self.target_col])
        y = self.data[self.target_col]
        candidate = self._score(ctx.model(ctx.candidate), X, y)
        baseline = None if ctx.baseline is None else self._score(ctx.model(ctx.baseline), X, y)
        checks = metric_checks(self.metric, candidate, baseline, limits, ctx.baseline_label)
        rows = f"on {len(self.data)} rows"
        return [
            dataclasses.replace(c, detail=f"{c.detail}; {rows}" if c.detail else rows)
            for c in checks
        ]

    def _score(self, model: Any, X: pd.DataFrame, y: pd.Series) -> float:
        spec = metric_spec(self.metric)
        if spec.task == "classification":
            classes = model.classes_
            if classes is None:
                raise InvalidInputError(
                    f"metric: {self.metric!r} needs a classifier; {model!r} records no classes"
                )
            plan = SimpleNamespace(
                classes=list(classes),
                pos_label=classes[-1] if self.pos_label is None else self.pos_label,
                multiclass_average="macro",
            )
            return float(classification_scores(plan, y, model.predict_proba(X))[spec.key])
        pred = np.asarray(model.predict(X), dtype="float64")
        return float(regression_scores(y, pred)[spec.key])


@dataclass(frozen=True)
class LatencyGate:
    """p99 predict time of the candidate's loaded model, over ``n_calls`` calls each of one row
    and of ``batch_rows`` rows of ``data``, under ``max_p99_single_row_ms`` /
    ``max_p99_batch_ms`` (each optional, at least one)."""

    data: pd.DataFrame
    max_p99_single_row_ms: float | None = None
    max_p99_batch_ms: float | None = None
    n_calls: int = constants.LATENCY_CALLS
    batch_rows: int = constants.LATENCY_BATCH_ROWS

    def __post_init__(self) -> None:
        require_frame(self.data, "data")
        if self.max_p99_single_row_ms is None and self.max_p99_batch_ms is None:
            raise InvalidInputError(
                "LatencyGate: give max_p99_single_row_ms and/or max_p99_batch_ms"
            )
        for name in ("max_p99_single_row_ms", "max_p99_batch_ms"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise InvalidInputError(f"{name}: must be a number of milliseconds > 0")
        for name in ("n_calls", "batch_rows"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name}: must be a positive integer, got {value!r}")

    def run(self, ctx: PromotionContext) -> list[CheckResult]:
        model = ctx.model(ctx.candidate)
        out = []
        n = len(self.data)
        if self.max_p99_single_row_ms is not None:
            rows = [self.data.iloc[[i % n]] for i in range(self.n_calls)]
            out.append(
                self._check(model, rows, "p99 single-row predict (ms)", self.max_p99_single_row_ms)
            )
        if self.max_p99_batch_ms is not None:
            batch = self.data.iloc[[i % n for i in range(self.batch_rows)]]
            out.append(
                self._check(
                    model,
                    [batch] * self.n_calls,
                    f"p99 batch predict of {self.batch_rows} rows (ms)",
                    self.max_p99_batch_ms,
                )
            )
        return out

    def _check(
        self, model: Any, inputs: list[pd.DataFrame], check: str, limit: float
    ) -> CheckResult:
        model.predict(inputs[0])  # warm-up: first-call costs are not the serving latency
        times = np.empty(len(inputs))
        for i, frame in enumerate(inputs):
            started = time.perf_counter()
            model.predict(frame)
            times[i] = (time.perf_counter() - started) * 1000.0
        p99 = float(np.percentile(times, constants.LATENCY_PERCENTILE))
        detail = f"{len(inputs)} calls, median {np.median(times):.3g} ms"
        return CheckResult.compare(GateKind.LATENCY, check, p99, limit, AT_MOST, detail)


@dataclass(frozen=True)
class SchemaGate:
    """The candidate's input schema against the baseline's: no column the baseline did not
    require is added (unless ``allow_new_columns``) and no column changes dtype (unless
    ``allow_dtype_changes``). Columns the candidate no longer needs are reported, and pass."""

    allow_new_columns: bool = False
    allow_dtype_changes: bool = False

    def run(self, ctx: PromotionContext) -> list[CheckResult]:
        mine = ctx.input_schema(ctx.candidate)
        if mine is None:
            return [
                CheckResult.compare(
                    GateKind.SCHEMA,
                    "input schema recorded",
                    None,
                    1,
                    ">=",
                    "the candidate was logged without input_example or feature names",
                ),
            ]
        if ctx.baseline is None:
            return [
                CheckResult.note(
                    GateKind.SCHEMA,
                    "required columns added",
                    None,
                    f"no {ctx.target} version to compare with",
                )
            ]
        theirs = ctx.input_schema(ctx.baseline) or []
        old = {c["name"]: c["dtype"] for c in theirs}
        new = {c["name"]: c["dtype"] for c in mine}
        added = [c for c in new if c not in old]
        dropped = [c for c in old if c not in new]
        changed = [
            f"{c}: {old[c]} -> {new[c]}"
            for c in new
            if c in old and "unknown" not in (old[c], new[c]) and old[c] != new[c]
        ]
        label = ctx.baseline_label
        out = [
            self._count(
                "required columns added", added, self.allow_new_columns, label, "allow_new_columns"
            ),
            self._count(
                "column dtypes changed",
                changed,
                self.allow_dtype_changes,
                label,
                "allow_dtype_changes",
            ),
            CheckResult.note(
                GateKind.SCHEMA,
                "columns no longer required",
                float(len(dropped)),
                ", ".join(dropped) or "none",
            ),
        ]
        return out

    @staticmethod
    def _count(check: str, names: list[str], allowed: bool, label: str, flag: str) -> CheckResult:
        listed = ", ".join(names) or "none"
        if allowed:
            return CheckResult.note(GateKind.SCHEMA, check, float(len(names)), f"{listed} ({flag})")
        detail = f"vs {label}: {listed}" + (f"; pass {flag}=True to accept" if names else "")
        return CheckResult.compare(GateKind.SCHEMA, check, float(len(names)), 0, AT_MOST, detail)
