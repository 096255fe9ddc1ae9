"""Stored gate reports, and the one transaction that records a report and acts on it.

Reports live in their own table (``registry.schema.gate_reports``, component ``registry_gates``).
Recording one locks the model row, checks that the target still points at the baseline the
checks compared against, stores the report with a ``gates_passed`` / ``gates_failed`` event in
the version's history and, if every check passed, moves the target (or, for a protected target,
opens a transition request that another user approves). A failed report moves nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, func, insert, select

from registry import protection, schema, validation
from registry.approvals import ApprovalStore, StaleRequestError, TransitionRequest
from registry.client import RegistryClient
from registry.entities import ALL_STAGES, STATUS_READY
from registry.gates import GateReport
from registry.schema import gate_reports as reports_table
from registry.store_core import StoreCore
from tracking.store import now_ms

EVENT_GATES_PASSED = "gates_passed"
EVENT_GATES_FAILED = "gates_failed"


class PromotionOutcome(enum.StrEnum):
    """What a promotion attempt did."""

    MOVED = "moved"
    REQUESTED = "requested"
    REFUSED = "refused"


@dataclass(frozen=True)
class PromotionResult:
    """The stored report and what followed: the move, a pending request, or nothing."""

    report: GateReport
    outcome: PromotionOutcome
    request: TransitionRequest | None = None


def _report(r: Any) -> GateReport:
    checks = GateReport.checks_from_json(r.checks_json)
    return schema.from_row(GateReport, r, checks=checks, user=r.user_id)


class GateStore(StoreCore):
    """Gate reports on the registry's engine; moves and requests through ``ApprovalStore``."""

    def __init__(self, client: RegistryClient) -> None:
        super().__init__(client.engine)
        schema.GATES.ensure(self.engine)
        self.approvals = ApprovalStore(client)

    def holder(self, name: str, target: str) -> int | None:
        """The version ``target`` points to now: the alias's version, or for a stage the newest
        live version in it; None when unset. Raises if the model does not exist."""

        def work(conn: Connection) -> int | None:
            self._require_model(conn, name)
            return self._holder(conn, name, target)

        return self._read(work)

    def _holder(self, conn: Connection, name: str, target: str) -> int | None:
        if target in ALL_STAGES:
            v = schema.versions
            value = conn.execute(
                select(func.max(v.c.version)).where(
                    v.c.name == name, v.c.current_stage == target, v.c.status == STATUS_READY
                )
            ).scalar()
            return None if value is None else int(value)
        return self._alias_version(conn, name, target)

    def record(self, report: GateReport, user: str, comment: str | None) -> PromotionResult:
        """Store ``report`` and, if it passed, move its target (or request the move when the
        target is protected), all in one transaction; see the module docstring."""
        name, version, target = report.name, report.version, report.target

        def work(conn: Connection) -> tuple[GateReport, PromotionOutcome, int | None]:
            self._lock_model(conn, name)
            row = self._version_row(conn, name, version)
            current = self._holder(conn, name, target)
            if current != report.baseline_version:
                raise StaleRequestError(
                    f"to: {target!r} moved from version {report.baseline_version} to {current} "
                    "while the checks ran; run promote again"
                )
            stamp = now_ms()
            new_id = conn.execute(
                insert(reports_table).values(
                    name=name,
                    version=version,
                    target=target,
                    baseline_version=report.baseline_version,
                    passed=report.passed,
                    checks_json=report.checks_json(),
                    user_id=user,
                    comment=comment,
                    created_time=stamp,
                )
            ).inserted_primary_key[0]
            stored = replace(report, id=int(new_id), user=user, created_time=stamp, comment=comment)
            self._event(
                conn,
                name,
                version,
                EVENT_GATES_PASSED if stored.passed else EVENT_GATES_FAILED,
                user,
                alias=target,
                from_value=None if current is None else str(current),
                to_value=target,
                comment=stored.summary(),
                timestamp=stamp,
            )
            if not stored.passed:
                return stored, PromotionOutcome.REFUSED, None
            why = comment or f"gates passed (report {stored.id})"
            leaves = target in ALL_STAGES and row.current_stage != target
            if protection.is_protected(conn, name, target) or (
                leaves and protection.is_protected(conn, name, row.current_stage)
            ):
                request_id = self.approvals.insert_request(conn, name, version, target, user, why)
                return stored, PromotionOutcome.REQUESTED, request_id
            if target in ALL_STAGES:
                expected = row.current_stage
            else:
                expected = None if current is None else str(current)
            self.approvals.move_target(
                conn, name, version, target, expected, user, why, "the checks ran", "to"
            )
            return stored, PromotionOutcome.MOVED, None

        stored, outcome, request_id = self._write(work)
        request = None if request_id is None else self.approvals.get(request_id)
        return PromotionResult(stored, outcome, request)

    def reports(self, name: str, version: int | None = None) -> list[GateReport]:
        """Stored reports of a model (or one version), oldest first."""
        t = reports_table
        query = select(t).where(t.c.name == name).order_by(t.c.id)
        if version is not None:
            query = query.where(t.c.version == version)
        return self._read(lambda conn: [_report(r) for r in conn.execute(query)])


def record_promotion(
    report: GateReport,
    *,
    user: str | None = None,
    comment: str | None = None,
    tracking_uri: str | None = None,
) -> PromotionResult:
    """Store a gate report on its version and act on it (move, request, or nothing)."""
    store = GateStore(RegistryClient(tracking_uri))
    return store.record(report, validation.current_user(user), comment)


def get_gate_reports(
    name: str, version: int | str | None = None, *, tracking_uri: str | None = None
) -> list[GateReport]:
    """Gate reports stored for a model, or for one of its versions, oldest first."""
    store = GateStore(RegistryClient(tracking_uri))
    number = None if version is None else validation.version_number(version)
    return store.reports(validation.model_name(name), number)


def get_target_version(name: str, to: str, *, tracking_uri: str | None = None) -> int | None:
    """The version alias or stage ``to`` of model ``name`` points to now (None: unset); the
    baseline a promotion to ``to`` is compared with."""
    store = GateStore(RegistryClient(tracking_uri))
    return store.holder(validation.model_name(name), target_name(to))


def target_name(to: object) -> str:
    """A promotion target: an exact stage name (``Production``) or a valid alias."""
    if isinstance(to, str) and to in ALL_STAGES:
        return to
    return validation.alias_name(to)
