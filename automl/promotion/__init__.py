"""Promotion gates: ``promote(name, version, to, checks=[...])`` moves a registered version only
when every check passes, and records the figures on the version either way.

    from automl.promotion import DriftGate, LatencyGate, MetricGate, SchemaGate, promote
    from registry.gates import MetricThreshold

    promote("churn", 4, to="production", checks=[
        MetricGate(recent, "churned", "roc_auc", MetricThreshold(margin=0.01)),
        DriftGate(recent.drop(columns="churned")),
        LatencyGate(recent, max_p99_single_row_ms=50),
        SchemaGate(),
    ])

Records, limits and the stored reports are the registry's (``registry.gates``,
``registry.get_gate_reports``); this package measures what needs a loaded model or data.
"""

from automl.promotion.checks import Gate, LatencyGate, MetricGate, SchemaGate
from automl.promotion.context import PromotionContext
from automl.promotion.drift import (
    DriftGate,
    ks_statistic,
    log_training_snapshot,
    population_stability_index,
    training_snapshot,
)
from automl.promotion.promote import promote
from registry.gate_store import PromotionOutcome, PromotionResult
from registry.gates import CheckResult, GateFailedError, GateKind, GateReport, MetricThreshold

__all__ = [
    "CheckResult",
    "DriftGate",
    "Gate",
    "GateFailedError",
    "GateKind",
    "GateReport",
    "LatencyGate",
    "MetricGate",
    "MetricThreshold",
    "PromotionContext",
    "PromotionOutcome",
    "PromotionResult",
    "SchemaGate",
    "ks_statistic",
    "log_training_snapshot",
    "population_stability_index",
    "promote",
    "training_snapshot",
]
