"""Transition requests: a move of an alias or stage asked for by one user, approved by another.

Requests live in their own table (``registry.schema.transition_requests``, schema component
``registry_approvals``) next to the registry's. Approving locks the model row, checks that the
request is still pending and that its target still points where it did when requested, then
carries out the move (``MoveStore``'s, without its protection check) and records it in the
version's history in the same transaction: of two requests for one alias approved at once,
exactly one wins and the other fails with ``StaleRequestError``.

This records intent on a trusted store; it is not an authentication system.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from registry import schema, validation
from registry.client import RegistryClient
from registry.entities import ALL_STAGES
from registry.schema import transition_requests as requests_table
from registry.store_moves import MoveStore
from tracking.exceptions import InvalidInputError, ResourceNotFoundError
from tracking.store import now_ms

EVENT_REQUESTED = "transition_requested"
EVENT_APPROVED = "transition_approved"
EVENT_REJECTED = "transition_rejected"
EVENT_CANCELLED = "transition_cancelled"
# A registered model tagged ``registry.allow_self_approval=true`` lets requesters approve their
# own requests (e.g. a one-person project).
ALLOW_SELF_APPROVAL_TAG = "registry.allow_self_approval"


class RequestStatus(enum.StrEnum):
    """Life of a transition request."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


_DECISION_EVENTS = {
    RequestStatus.APPROVED: EVENT_APPROVED,
    RequestStatus.REJECTED: EVENT_REJECTED,
    RequestStatus.CANCELLED: EVENT_CANCELLED,
}


class StaleRequestError(InvalidInputError):
    """The request's target moved (or the request was decided) since it was made."""


@dataclass(frozen=True)
class TransitionRequest:
    """One request to move ``target`` (a stage name or an alias) to ``version``."""

    id: int
    name: str
    version: int
    target: str
    from_value: str | None
    status: RequestStatus
    requested_by: str
    request_comment: str | None
    requested_time: int
    decided_by: str | None
    decision_comment: str | None
    decided_time: int | None


def _record(row: Any) -> TransitionRequest:
    return schema.from_row(TransitionRequest, row, status=RequestStatus(row.status))


class ApprovalStore(MoveStore):
    """Transition requests on the registry's engine, with its model-row lock and history."""

    def __init__(self, client: RegistryClient) -> None:
        super().__init__(client.engine)
        schema.APPROVALS.ensure(self.engine)

    def _current(self, conn: Connection, name: str, target: str) -> str | None:
        """The version alias ``target`` points to, as requests record it (None for a stage)."""
        held = None if target in ALL_STAGES else self._alias_version(conn, name, target)
        return None if held is None else str(held)

    def request(self, name: str, version: int, target: str, user: str, comment: str | None) -> int:
        def work(conn: Connection) -> int:
            self._lock_model(conn, name)
            return self.insert_request(conn, name, version, target, user, comment)

        return self._write(work)

    def insert_request(
        self,
        conn: Connection,
        name: str,
        version: int,
        target: str,
        user: str,
        comment: str | None,
    ) -> int:
        """Add a pending request (and its history event) inside the caller's transaction,
        which holds the model-row lock."""
        row = self._version_row(conn, name, version)
        frm = row.current_stage if target in ALL_STAGES else self._current(conn, name, target)
        stamp = now_ms()  # the request's time and its history event's are one
        new_id = conn.execute(
            insert(requests_table).values(
                name=name,
                version=version,
                target=target,
                from_value=frm,
                status=RequestStatus.PENDING.value,
                requested_by=user,
                request_comment=comment,
                requested_time=stamp,
            )
        ).inserted_primary_key[0]
        self._event(
            conn,
            name,
            version,
            EVENT_REQUESTED,
            user,
            alias=target,
            from_value=frm,
            to_value=target,
            comment=comment,
            timestamp=stamp,
        )
        return int(new_id)

    def get(self, request_id: int) -> TransitionRequest:
        def work(conn: Connection) -> TransitionRequest:
            row = conn.execute(
                select(requests_table).where(requests_table.c.id == request_id)
            ).first()
            if row is None:
                raise ResourceNotFoundError(f"request_id: no transition request {request_id}")
            return _record(row)

        return self._read(work)

    def list(self, name: str, status: RequestStatus | None) -> list[TransitionRequest]:
        t = requests_table
        query = select(t).where(t.c.name == name).order_by(t.c.id)
        if status is not None:
            query = query.where(t.c.status == RequestStatus(status).value)
        return self._read(lambda conn: [_record(r) for r in conn.execute(query)])

    def decide(
        self,
        request_id: int,
        status: RequestStatus,
        user: str,
        comment: str | None,
    ) -> TransitionRequest:
        first = self.get(request_id)

        def work(conn: Connection) -> None:
            self._lock_model(conn, first.name)
            req = _record(
                conn.execute(select(requests_table).where(requests_table.c.id == request_id)).one()
            )
            if req.status is not RequestStatus.PENDING:
                raise StaleRequestError(
                    f"request_id: request {request_id} is already {req.status.value}"
                )
            if status is RequestStatus.CANCELLED and user != req.requested_by:
                raise InvalidInputError(
                    f"request_id: only {req.requested_by!r} can cancel request {request_id}; "
                    "reject it instead"
                )
            if status is RequestStatus.APPROVED:
                own = user == req.requested_by
                if own and not self._allows_self_approval(conn, req.name):
                    raise InvalidInputError(
                        f"user: {user!r} requested {request_id} and cannot approve it; ask "
                        f"another user (or tag the model {ALLOW_SELF_APPROVAL_TAG}=true to "
                        "allow self-approval on it)"
                    )
                self._move(conn, req, user)
            stamp = now_ms()
            conn.execute(
                update(requests_table)
                .where(requests_table.c.id == request_id)
                .values(
                    status=status.value,
                    decided_by=user,
                    decision_comment=comment,
                    decided_time=stamp,
                )
            )
            self._event(
                conn,
                req.name,
                req.version,
                _DECISION_EVENTS[status],
                user,
                alias=req.target,
                from_value=req.requested_by,
                to_value=req.target,
                comment=comment,
                timestamp=stamp,
            )

        self._write(work)
        return self.get(request_id)

    def _allows_self_approval(self, conn: Connection, name: str) -> bool:
        t = schema.model_tags
        value = conn.execute(
            select(t.c.value).where(t.c.name == name, t.c.key == ALLOW_SELF_APPROVAL_TAG)
        ).scalar()
        return value is not None and value.strip().lower() == "true"

    def _move(self, conn: Connection, req: TransitionRequest, user: str) -> None:
        self.move_target(
            conn,
            req.name,
            req.version,
            req.target,
            req.from_value,
            user,
            f"approved request {req.id}",
            f"request {req.id} was made",
            "request_id",
        )

    def move_target(
        self,
        conn: Connection,
        name: str,
        version: int,
        target: str,
        expected: str | None,
        user: str,
        comment: str,
        since: str,
        argument: str,
    ) -> None:
        """Move ``target`` to ``version`` if it still stands at ``expected`` (the version's stage
        for a stage target, the alias's version for an alias), recorded; else
        ``StaleRequestError`` naming ``argument`` and what moved ``since`` (e.g. "request 3 was
        made").

        Runs in the caller's transaction, which holds the model-row lock; protections are not
        checked here (callers are the approval and gate paths)."""
        row = self._version_row(conn, name, version)
        if target in ALL_STAGES:
            if row.current_stage != expected:
                raise StaleRequestError(
                    f"{argument}: version {version} moved to {row.current_stage} since {since}; "
                    "make a new request"
                )
            if row.current_stage != target:
                self._move_stage(conn, name, version, row.current_stage, target, user, comment)
            return
        held = self._alias_version(conn, name, target)
        current = None if held is None else str(held)
        if current != expected:
            raise StaleRequestError(
                f"{argument}: alias {target!r} moved to version {current} since {since} (from "
                f"{expected}); make a new request"
            )
        if held != version:
            self._move_alias(conn, name, target, version, held, user, comment)


def request_transition(
    name: str,
    version: int,
    to: str,
    comment: str | None = None,
    *,
    user: str | None = None,
    tracking_uri: str | None = None,
) -> TransitionRequest:
    """Ask for ``to`` (a stage or an alias) to move to ``version``; returns the pending request."""
    store = ApprovalStore(RegistryClient(tracking_uri))
    new_id = store.request(
        validation.model_name(name), int(version), to, validation.current_user(user), comment
    )
    return store.get(new_id)


def _decide(
    request_id: int,
    status: RequestStatus,
    comment: str | None,
    user: str | None,
    tracking_uri: str | None,
) -> TransitionRequest:
    store = ApprovalStore(RegistryClient(tracking_uri))
    return store.decide(int(request_id), status, validation.current_user(user), comment)


def approve_transition_request(
    request_id: int,
    comment: str | None = None,
    *,
    user: str | None = None,
    tracking_uri: str | None = None,
) -> TransitionRequest:
    """Approve a pending request and carry out its move (one transaction, recorded).

    The requester may approve their own request only when the model allows it: tagged
    ``registry.allow_self_approval=true``."""
    return _decide(request_id, RequestStatus.APPROVED, comment, user, tracking_uri)


def reject_transition_request(
    request_id: int,
    comment: str | None = None,
    *,
    user: str | None = None,
    tracking_uri: str | None = None,
) -> TransitionRequest:
    """Reject a pending request (recorded in the version's history); nothing moves."""
    return _decide(request_id, RequestStatus.REJECTED, comment, user, tracking_uri)


def cancel_transition_request(
    request_id: int, *, user: str | None = None, tracking_uri: str | None = None
) -> TransitionRequest:
    """Withdraw one's own pending request."""
    return _decide(request_id, RequestStatus.CANCELLED, None, user, tracking_uri)


def list_transition_requests(
    name: str, status: RequestStatus | str | None = None, *, tracking_uri: str | None = None
) -> list[TransitionRequest]:
    """Requests of a model, oldest first, optionally only those with ``status``."""
    store = ApprovalStore(RegistryClient(tracking_uri))
    return store.list(
        validation.model_name(name), None if status is None else RequestStatus(status)
    )
