"""Promotion gates: the records of checks run before a version moves, and their pure logic.

A gate (metric, drift, latency, schema) measures figures and compares each with a limit; the
outcome of one comparison is a :class:`CheckResult`, the outcomes of one promotion attempt a
:class:`GateReport`. Metric limits use MLflow's :class:`MetricThreshold` names (``threshold``,
``min_absolute_change``, ``min_relative_change``, ``greater_is_better``) plus ``margin``, the
largest worsening against the baseline that is still accepted.

Measuring (loading and scoring models, reading data) is done above the registry, in
``automl.promotion``; here are the records, the comparisons and the report table, so the
registry stores and shows them without depending on ``automl``.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import asdict, dataclass, field

from tracking.exceptions import InvalidInputError

AT_MOST = "<="
AT_LEAST = ">="
OPERATORS = (AT_MOST, AT_LEAST)


class GateKind(enum.StrEnum):
    """Which gate a check belongs to."""

    METRIC = "metric"
    DRIFT = "drift"
    LATENCY = "latency"
    SCHEMA = "schema"


@dataclass(frozen=True)
class CheckResult:
    """One measured figure against its limit: passes when ``value <operator> threshold``.

    ``threshold`` is None for informational rows that always pass (e.g. no baseline to compare
    with); ``detail`` says what was measured (column names, p-values, the baseline's figure).
    """

    gate: GateKind
    check: str
    value: float | None
    threshold: float | None
    operator: str
    passed: bool
    detail: str = ""

    @classmethod
    def compare(
        cls,
        gate: GateKind,
        check: str,
        value: float | None,
        threshold: float,
        operator: str,
        detail: str = "",
    ) -> CheckResult:
        """The result of ``value <operator> threshold``; a missing or NaN value fails."""
        if operator not in OPERATORS:
            raise InvalidInputError(f"operator: expected one of {OPERATORS}, got {operator!r}")
        measured = value is not None and not math.isnan(value)
        if not measured:
            passed = False
        elif operator == AT_MOST:
            passed = value <= threshold  # type: ignore[operator]
        else:
            passed = value >= threshold  # type: ignore[operator]
        return cls(GateKind(gate), check, value, float(threshold), operator, bool(passed), detail)

    @classmethod
    def note(cls, gate: GateKind, check: str, value: float | None, detail: str) -> CheckResult:
        """An informational row that passes (nothing to compare with)."""
        return cls(GateKind(gate), check, value, None, "", True, detail)

    def limit(self) -> str:
        """The limit as shown in the table, e.g. ``<= 0.2``."""
        return "-" if self.threshold is None else f"{self.operator} {_figure(self.threshold)}"


@dataclass(frozen=True)
class MetricThreshold:
    """Limits for one metric of the candidate (MLflow's ``MetricThreshold`` names).

    - ``threshold``: the candidate's value must be >= it (<= if lower is better);
    - ``min_absolute_change`` / ``min_relative_change``: the candidate must beat the baseline by
      at least this much (absolute, or a fraction of the baseline's value);
    - ``margin``: the candidate may be worse than the baseline by at most this much.

    ``greater_is_better`` None means True here; ``automl.promotion.MetricGate`` fills it from
    the metric. Comparisons with the baseline are skipped (an informational row) when the target
    has no version yet.
    """

    threshold: float | None = None
    min_absolute_change: float | None = None
    min_relative_change: float | None = None
    margin: float | None = None
    greater_is_better: bool | None = None

    def __post_init__(self) -> None:
        given = [self.threshold, self.min_absolute_change, self.min_relative_change, self.margin]
        if all(v is None for v in given):
            raise InvalidInputError(
                "MetricThreshold: give at least one of threshold, min_absolute_change, "
                "min_relative_change or margin"
            )
        for name in ("min_absolute_change", "margin"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise InvalidInputError(f"{name}: must be a number >= 0, got {value!r}")
        rel = self.min_relative_change
        if rel is not None and not 0 <= rel <= 1:
            raise InvalidInputError(f"min_relative_change: must be in [0, 1], got {rel!r}")


def metric_checks(
    metric: str,
    candidate: float,
    baseline: float | None,
    limits: MetricThreshold,
    baseline_label: str = "baseline",
) -> list[CheckResult]:
    """Compare the candidate's ``metric`` with ``limits`` and with the baseline's value."""
    up = limits.greater_is_better is not False
    op = AT_LEAST if up else AT_MOST
    sign = 1.0 if up else -1.0
    out: list[CheckResult] = []
    if limits.threshold is not None:
        out.append(CheckResult.compare(GateKind.METRIC, metric, candidate, limits.threshold, op))
    comparisons = [
        ("margin", limits.margin, lambda b, m: b - sign * m),
        ("min_absolute_change", limits.min_absolute_change, lambda b, m: b + sign * m),
        ("min_relative_change", limits.min_relative_change, lambda b, m: b + sign * m * abs(b)),
    ]
    for name, amount, bound in comparisons:
        if amount is None:
            continue
        check = f"{metric} vs {baseline_label} ({name} {_figure(amount)})"
        if baseline is None or math.isnan(baseline):
            out.append(
                CheckResult.note(
                    GateKind.METRIC, check, candidate, f"no {baseline_label} version to compare"
                )
            )
            continue
        detail = f"{baseline_label} scored {_figure(baseline)}"
        out.append(
            CheckResult.compare(
                GateKind.METRIC, check, candidate, bound(baseline, amount), op, detail
            )
        )
    return out


@dataclass(frozen=True)
class GateReport:
    """Every check of one promotion attempt of ``name`` version ``version`` to ``target``.

    ``baseline_version`` is the version ``target`` pointed to when the checks ran (None: unset).
    ``id``, ``user`` and ``created_time`` are filled in once the report is stored.
    """

    name: str
    version: int
    target: str
    baseline_version: int | None
    checks: tuple[CheckResult, ...]
    id: int | None = None
    user: str | None = None
    created_time: int | None = None
    comment: str | None = field(default=None, compare=False)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        """One line for the history, e.g. ``5/5 checks passed (report 3)``, then the failures."""
        ok = sum(c.passed for c in self.checks)
        where = "" if self.id is None else f" (report {self.id})"
        failed = "" if self.passed else "; failed: " + "; ".join(_one_line(c) for c in self.failed)
        return f"{ok}/{len(self.checks)} checks passed{where}{failed}"

    def table(self) -> str:
        """Every check, its figure, its limit and pass/fail, as aligned text."""
        return render_table(self.checks)

    def checks_json(self) -> str:
        """The checks as JSON, for storage."""
        return json.dumps([asdict(c) for c in self.checks])

    @staticmethod
    def checks_from_json(text: str) -> tuple[CheckResult, ...]:
        """Inverse of :meth:`checks_json`."""
        return tuple(CheckResult(**{**c, "gate": GateKind(c["gate"])}) for c in json.loads(text))


class GateFailedError(InvalidInputError):
    """A promotion was refused because at least one check failed; ``report`` has them all.

    The report is recorded on the version (and in its history); nothing moved.
    """

    def __init__(self, report: GateReport) -> None:
        self.report = report
        failed = "\n".join(f"  - {_one_line(c)}" for c in report.failed)
        super().__init__(
            f"promotion of {report.name!r} version {report.version} to {report.target!r} "
            f"refused: {len(report.failed)} of {len(report.checks)} checks failed\n{failed}"
        )


def render_table(checks: tuple[CheckResult, ...] | list[CheckResult]) -> str:
    """``GATE  CHECK  VALUE  LIMIT  RESULT  DETAIL`` rows, aligned."""
    headers = ["GATE", "CHECK", "VALUE", "LIMIT", "RESULT", "DETAIL"]
    rows = [
        [
            c.gate.value,
            c.check,
            _figure(c.value),
            c.limit(),
            "pass" if c.passed else "FAIL",
            c.detail,
        ]
        for c in checks
    ]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _one_line(c: CheckResult) -> str:
    detail = f" ({c.detail})" if c.detail else ""
    return f"{c.gate.value} {c.check}: measured {_figure(c.value)}, limit {c.limit()}{detail}"


def _figure(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}"
