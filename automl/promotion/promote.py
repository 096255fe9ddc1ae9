"""``promote(name, version, to, checks)``: run every gate, record the report on the version, and
move the target (or request the move, when it is protected) only if every check passed."""

from __future__ import annotations

from collections.abc import Sequence

from automl.promotion.checks import Gate
from automl.promotion.constants import DEFAULT_TARGET
from automl.promotion.context import PromotionContext
from registry import RegistryClient, validation
from registry.gate_store import (
    PromotionResult,
    get_target_version,
    record_promotion,
    target_name,
)
from registry.gates import GateFailedError, GateReport
from tracking.exceptions import InvalidInputError


def promote(
    name: str,
    version: int | str,
    to: str = DEFAULT_TARGET,
    checks: Sequence[Gate] = (),
    *,
    user: str | None = None,
    comment: str | None = None,
    tracking_uri: str | None = None,
) -> PromotionResult:
    """Promote ``version`` of ``name`` to alias or stage ``to`` if every check passes.

    The checks run against the version ``to`` points to now (the baseline; none if unset). The
    report is stored on the version and a ``gates_passed`` / ``gates_failed`` event added to its
    history either way. Passing: ``to`` moves in the same transaction, or, when ``to`` is
    protected, a transition request is opened for another user to approve (``result.request``).
    Failing: nothing moves and :class:`registry.gates.GateFailedError` lists each failed check
    with its measured value and limit (``err.report`` holds them all). If ``to`` moved while the
    checks ran, nothing is stored and ``StaleRequestError`` asks to run promote again.
    """
    name = validation.model_name(name)
    number = validation.version_number(version)
    target = target_name(to)
    gates = list(checks)
    if not gates:
        raise InvalidInputError(
            "checks: give at least one gate (MetricGate, DriftGate, LatencyGate, SchemaGate); "
            "to move without checks use set_registered_model_alias or request_transition"
        )
    for gate in gates:
        if not callable(getattr(gate, "run", None)):
            raise InvalidInputError(
                f"checks: {gate!r} is not a gate; use MetricGate, DriftGate, LatencyGate or "
                "SchemaGate"
            )
    client = RegistryClient(tracking_uri)
    candidate = client.get_model_version(name, number)
    baseline_number = get_target_version(name, target, tracking_uri=client.tracking_uri)
    baseline = None if baseline_number is None else client.get_model_version(name, baseline_number)
    ctx = PromotionContext(client, name, target, candidate, baseline)
    results = [result for gate in gates for result in gate.run(ctx)]
    report = GateReport(name, number, target, baseline_number, tuple(results))
    outcome = record_promotion(report, user=user, comment=comment, tracking_uri=client.tracking_uri)
    if not outcome.report.passed:
        raise GateFailedError(outcome.report)
    return outcome
