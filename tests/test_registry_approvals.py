"""Transition requests through the public API on SQLite and PostgreSQL, including two real
processes approving requests for the same alias at once (exactly one wins)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from registry_fixtures import log_model_run, race

import registry
from registry.approvals import (
    RequestStatus,
    StaleRequestError,
    approve_transition_request,
    cancel_transition_request,
    list_transition_requests,
    reject_transition_request,
    request_transition,
    requests_table,
)
from registry.protection import ProtectedMoveError, protected
from tracking.exceptions import InvalidInputError

pytest_plugins = ["registry_fixtures"]


@pytest.fixture
def model(store: str) -> str:
    """A model with two versions; the approvals table emptied (PostgreSQL reuses schemas)."""
    client = registry.get_client()
    for seed in (0, 1):
        registry.register_model(log_model_run(seed=seed), "m")
    list_transition_requests("m")  # creates the tables
    registry.list_protected("m")
    with client.store.engine.begin() as conn:
        conn.execute(sa.delete(requests_table))
        conn.execute(sa.delete(protected))
    return store


def test_request_approve_moves_alias_and_records_who(model: str) -> None:
    req = request_transition("m", 2, "production", "better auc", user="alice")
    assert req.status is RequestStatus.PENDING
    assert [r.id for r in list_transition_requests("m", "pending")] == [req.id]
    with pytest.raises(InvalidInputError, match="cannot approve"):
        approve_transition_request(req.id, user="alice")
    done = approve_transition_request(req.id, "ok", user="bob")
    assert done.status is RequestStatus.APPROVED and done.decided_by == "bob"
    assert done.requested_by == "alice" and done.decision_comment == "ok"
    assert done.requested_time <= done.decided_time
    assert registry.get_model_version_by_alias("m", "production").version == 2
    history = registry.get_model_version_history("m", 2)
    events = [(e.event, e.user, e.comment) for e in history]
    assert events[-3:] == [
        ("transition_requested", "alice", "better auc"),
        ("alias_set", "bob", f"approved request {req.id}"),
        ("transition_approved", "bob", "ok"),
    ]
    stamps = {e.event: e.timestamp for e in history}
    assert stamps["transition_requested"] == req.requested_time
    assert stamps["transition_approved"] == done.decided_time
    approved = history[-1]
    assert (approved.alias, approved.from_value) == ("production", "alice")  # who asked


def test_stage_target_approved_by_another_user(model: str) -> None:
    req = request_transition("m", 1, "Staging", user="alice")
    with pytest.raises(TypeError):  # no per-call bypass: only the model can allow it
        approve_transition_request(req.id, user="alice", allow_self_approval=True)  # type: ignore[call-arg]
    approve_transition_request(req.id, user="bob")
    assert registry.get_client().get_model_version("m", 1).current_stage == "Staging"
    stage = [e for e in registry.get_model_version_history("m", 1) if e.event == "stage_transition"]
    assert [(e.from_value, e.to_value, e.user) for e in stage] == [("None", "Staging", "bob")]


def test_protected_targets_cannot_be_left_deleted_or_dropped_directly(model: str) -> None:
    """Moving a version out of a protected stage, deleting a protected alias, and deleting (or
    restoring) a version that holds one all move the protected target: refused like a set."""
    registry.set_registered_model_alias("m", "production", 1)
    registry.transition_model_version_stage("m", 1, "Production")
    registry.transition_model_version_stage("m", 2, "Staging")
    registry.protect("m", ["production", "Production"])
    with pytest.raises(ProtectedMoveError, match="deleting the alias"):
        registry.delete_registered_model_alias("m", "production")
    with pytest.raises(ProtectedMoveError, match="moving version 1 to Archived"):
        registry.transition_model_version_stage("m", 1, "Archived")
    with pytest.raises(ProtectedMoveError, match="deleting version 1"):
        registry.delete_model_version("m", 1)
    one = registry.get_model_version("m", 1)
    assert (one.current_stage, one.aliases) == ("Production", ["production"])
    registry.transition_model_version_stage("m", 2, "Archived")  # Staging is not protected
    # leaving Production through an approved request works, and is recorded
    req = request_transition("m", 1, "Archived", "retire v1", user="alice")
    approve_transition_request(req.id, user="bob")
    assert registry.get_model_version("m", 1).current_stage == "Archived"
    registry.unprotect("m", ["Production"])
    with pytest.raises(ProtectedMoveError, match="deleting version 1"):  # still holds the alias
        registry.delete_model_version("m", 1)
    registry.unprotect("m", ["production"])
    registry.delete_model_version("m", 1)
    registry.transition_model_version_stage("m", 2, "Production")
    registry.delete_model_version("m", 2)  # unprotected: deleted from Production as today
    registry.protect("m", ["Production"])
    with pytest.raises(ProtectedMoveError, match="restoring version 2"):
        registry.restore_model_version("m", 2)  # would bring it back into Production


def test_reject_and_cancel_move_nothing(model: str) -> None:
    a = request_transition("m", 1, "production", user="alice")
    b = request_transition("m", 2, "production", user="alice")
    assert reject_transition_request(a.id, "no", user="bob").status is RequestStatus.REJECTED
    with pytest.raises(InvalidInputError, match="only 'alice' can cancel"):
        cancel_transition_request(b.id, user="bob")
    assert cancel_transition_request(b.id, user="alice").status is RequestStatus.CANCELLED
    with pytest.raises(StaleRequestError, match="already rejected"):
        approve_transition_request(a.id, user="bob")
    with pytest.raises(Exception, match="alias"):
        registry.get_model_version_by_alias("m", "production")


def _approve(request_id: int, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    approve_transition_request(request_id, user="bob")


def test_concurrent_approvals_leave_one_winner(model: str) -> None:
    reqs = [request_transition("m", v, "production", user="alice").id for v in (1, 2)]
    results = race(_approve, reqs)
    winners = [r for r, text in results.items() if text == "won"]
    assert len(winners) == 1, results
    loser = next(r for r in reqs if r not in winners)
    assert "moved to version" in results[loser]
    winner_version = 1 if winners[0] == reqs[0] else 2
    assert registry.get_model_version_by_alias("m", "production").version == winner_version
    statuses = {r.id: r.status for r in list_transition_requests("m")}
    assert statuses == {winners[0]: RequestStatus.APPROVED, loser: RequestStatus.PENDING}
    sets = [
        e
        for v in (1, 2)
        for e in registry.get_model_version_history("m", v)
        if e.event == "alias_set"
    ]
    assert len(sets) == 1


def test_protected_alias_moves_only_through_an_approval(model: str) -> None:
    from registry.protection import ProtectedMoveError, protect, protected

    with registry.get_client().store.engine.begin() as conn:
        if sa.inspect(conn).has_table(protected.name):
            conn.execute(sa.delete(protected))
    registry.set_registered_model_alias("m", "staging", 1)  # unprotected: as today
    protect("m", ["production"])
    with pytest.raises(ProtectedMoveError, match="protected"):
        registry.set_registered_model_alias("m", "production", 2)
    req = request_transition("m", 2, "production", user="alice")
    approve_transition_request(req.id, user="bob")
    assert registry.get_model_version_by_alias("m", "production").version == 2


def test_cli_request_approve_reject_requests(model: str, capsys: pytest.CaptureFixture) -> None:
    from automl.cli import main

    def run(*argv: str) -> tuple[int, str]:
        code = main(["--tracking-uri", model, "models", *argv])
        return code, capsys.readouterr().out

    code, out = run("request", "m", "2", "--to", "production", "--as", "alice")
    assert code == 0 and "pending" in out
    first = int(out.split()[1].rstrip(":"))
    run("request", "m", "1", "--to", "champion", "--as", "alice")
    code, out = run("requests", "m", "--status", "pending")
    assert code == 0 and len(out.strip().splitlines()) == 3  # a header and two requests
    code, out = run("approve", str(first), "--as", "bob", "--comment", "ok")
    assert code == 0 and "approved by bob" in out
    assert registry.get_model_version_by_alias("m", "production").version == 2
    code, out = run("reject", str(first + 1), "--as", "bob")
    assert code == 0 and "rejected" in out
    statuses = [r.status for r in list_transition_requests("m")]
    assert statuses == [RequestStatus.APPROVED, RequestStatus.REJECTED]
    code, out = run("requests", "m")
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert rows[0][:5] == ["ID", "VERSION", "TO", "STATUS", "REQUESTED_BY"]
    assert rows[1] == [str(first), "2", "production", "approved", "alice", "-", "bob", "ok"]


def test_cancel_is_recorded_in_history(model: str) -> None:
    req = registry.request_transition("m", 2, "production", "try it", user="alice")
    done = registry.cancel_transition_request(req.id, user="alice")
    assert done.status is registry.RequestStatus.CANCELLED and done.decided_by == "alice"
    events = [(e.event, e.user) for e in registry.get_model_version_history("m", 2)]
    assert events[-2:] == [("transition_requested", "alice"), ("transition_cancelled", "alice")]
    assert registry.list_transition_requests("m", "pending") == []


def test_unprotect_lifts_the_model_and_registry_wide_protections(model: str) -> None:
    registry.protect("m", ["production"])
    registry.protect("*", ["Production"])
    assert registry.list_protected("m") == ["Production", "production"]
    with pytest.raises(ProtectedMoveError):
        registry.set_registered_model_alias("m", "production", 1)
    registry.unprotect("m", ["production", "Production"])  # the '*' row stays
    registry.set_registered_model_alias("m", "production", 1)
    assert registry.get_model_version_by_alias("m", "production").version == 1
    with pytest.raises(ProtectedMoveError):
        registry.transition_model_version_stage("m", 1, "Production")
    registry.unprotect("*", ["Production"])
    assert registry.list_protected("m") == []
    registry.transition_model_version_stage("m", 1, "Production")
    assert registry.get_model_version("m", 1).current_stage == "Production"


def test_cli_cancel_protect_unprotect(model: str, capsys: pytest.CaptureFixture) -> None:
    from automl.cli import main

    def run(*argv: str) -> tuple[int, str]:
        code = main(["--tracking-uri", model, "models", *argv])
        return code, capsys.readouterr().out

    code, out = run("protect", "m", "production", "Production")
    assert code == 0 and registry.list_protected("m") == ["Production", "production"]
    code = main(["--tracking-uri", model, "models", "alias", "m", "production", "1"])
    assert code == 2  # ProtectedMoveError is an InvalidInputError: "error: ..." and exit 2
    assert "is protected" in capsys.readouterr().err
    code, out = run("request", "m", "2", "--to", "production", "--as", "alice")
    request_id = out.split()[1].rstrip(":")
    code, out = run("cancel", request_id, "--as", "alice")
    assert code == 0 and "cancelled by alice" in out
    code, out = run("unprotect", "m", "production")
    assert code == 0 and "still protected: ['Production']" in out
    code, _ = run("alias", "m", "production", "1", "--user", "alice")
    assert code == 0 and registry.get_model_version_by_alias("m", "production").version == 1


def test_model_tag_allows_self_approval(model: str) -> None:
    req = registry.request_transition("m", 2, "production", user="alice")
    with pytest.raises(InvalidInputError, match="registry.allow_self_approval"):
        registry.approve_transition_request(req.id, user="alice")
    registry.set_registered_model_tag("m", "registry.allow_self_approval", "true")
    registry.approve_transition_request(req.id, user="alice")
    assert registry.get_model_version_by_alias("m", "production").version == 2
