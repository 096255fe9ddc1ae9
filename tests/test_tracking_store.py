"""Store behaviour through the public client API, on SQLite and PostgreSQL."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

import tracking
from tracking import Metric, RunStatus, ViewType
from tracking import schema as tracking_schema

pytest_plugins = ["tracking_fixtures"]


def test_default_experiment_and_unique_names(client):
    assert client.get_experiment("0").name == "Default"
    exp_id = client.create_experiment("exp", tags={"team": "ml"})
    exp = client.get_experiment(exp_id)
    assert exp.name == "exp" and exp.tags == {"team": "ml"} and exp.lifecycle_stage == "active"
    assert client.get_experiment_by_name("exp").experiment_id == exp_id
    assert client.get_experiment_by_name("nope") is None
    with pytest.raises(tracking.ResourceAlreadyExistsError, match="'exp' already exists"):
        client.create_experiment("exp")
    with pytest.raises(tracking.ResourceNotFoundError, match="experiment_id '999'"):
        client.get_experiment("999")


def test_run_roundtrip_params_metrics_tags(client):
    exp_id = client.create_experiment("e")
    run = client.create_run(exp_id, run_name="first", tags={"stage": "dev"})
    run_id = run.info.run_id
    assert len(run_id) == 32 and run.info.status == RunStatus.RUNNING
    client.log_param(run_id, "lr", 0.1)
    client.log_metric(run_id, "loss", 1.0, step=0)
    client.log_metric(run_id, "loss", 0.5, step=1)
    client.log_metric(run_id, "loss", 0.7, step=0)  # an older step does not replace the latest
    client.log_batch(
        run_id,
        metrics=[Metric("acc", float("nan"), 1, 0), Metric("inf", float("inf"), 1, 0)],
        params={"depth": 3},
        tags={"stage": "prod"},
    )
    client.set_terminated(run_id, "FINISHED")
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED" and got.info.end_time >= got.info.start_time
    assert got.info.run_name == "first"
    assert got.data.params == {"lr": "0.1", "depth": "3"}
    assert got.data.metrics["loss"] == 0.5
    assert math.isnan(got.data.metrics["acc"]) and got.data.metrics["inf"] == math.inf
    assert got.data.tags == {"stage": "prod"}
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (0, 0.7), (1, 0.5)]


def test_params_are_immutable_and_bad_batch_stores_nothing(client):
    run_id = client.create_run("0").info.run_id
    client.log_param(run_id, "a", "1")
    client.log_param(run_id, "a", "1")  # same value again is fine
    with pytest.raises(tracking.InvalidInputError, match="param 'a'.*immutable"):
        client.log_batch(run_id, metrics={"m": 1.0}, params={"a": "2", "b": "x"})
    with pytest.raises(tracking.InvalidInputError, match="metric 'bad'.*not a number"):
        client.log_batch(run_id, metrics={"ok": 1.0, "bad": "0.5"}, params={"c": 1})
    data = client.get_run(run_id).data
    assert data.params == {"a": "1"} and data.metrics == {}


def test_tables_do_not_collide_with_optuna(client):
    names = set(sa.inspect(client.engine).get_table_names())
    optuna_like = {"studies", "trials", "version_info", "alembic_version"}
    assert "tracking_schema_version" in names
    assert not names & optuna_like
    # every tracking table is prefixed (other packages may share the database, e.g. registry_*)
    ours = set(tracking_schema.metadata.tables) | set(tracking_schema.version_metadata.tables)
    assert ours <= names
    assert all(name.startswith("tracking_") for name in ours)


def test_search_runs_filter_and_order(client):
    exp_id = client.create_experiment("s")
    for i in range(5):
        run_id = client.create_run(exp_id, run_name=f"r{i}").info.run_id
        client.log_batch(
            run_id,
            metrics={"score": i / 10},
            params={"model": "lgbm" if i % 2 else "rf"},
            tags={"team": "ml-core"},
        )
    page = client.search_runs(
        [exp_id],
        "metrics.score >= 0.1 and params.model = 'lgbm' and tags.team LIKE 'ml%'",
        order_by=["metrics.score DESC"],
    )
    assert [r.info.run_name for r in page] == ["r3", "r1"]
    assert page.token is None
    assert client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY) == []


def test_experiments_search_tags_delete_restore(client):
    ids = {name: client.create_experiment(name) for name in ("alpha", "beta", "gamma")}
    client.set_experiment_tag(ids["beta"], "owner", "ana")
    client.set_experiment_tag(ids["beta"], "owner", "bo")  # tags are mutable
    assert client.get_experiment(ids["beta"]).tags == {"owner": "bo"}
    found = client.search_experiments(filter_string="name LIKE '%a' and tags.owner = 'bo'")
    assert [e.name for e in found] == ["beta"]
    ordered = client.search_experiments(order_by=["name DESC"], max_results=2)
    assert [e.name for e in ordered] == ["gamma", "beta"] and ordered.token is not None
    run_id = client.create_run(ids["alpha"]).info.run_id
    client.delete_run(run_id)
    kept = client.create_run(ids["alpha"]).info.run_id
    client.delete_experiment(ids["alpha"])
    assert "alpha" not in [e.name for e in client.search_experiments()]
    assert [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)] == ["alpha"]
    with pytest.raises(tracking.InvalidInputError, match="deleted"):
        client.create_run(ids["alpha"])
    with pytest.raises(tracking.ResourceAlreadyExistsError, match="deleted"):
        client.create_experiment("alpha")
    client.restore_experiment(ids["alpha"])
    assert client.get_run(kept).info.lifecycle_stage == "active"
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"  # deleted before: stays


def test_restore_keeps_a_run_deleted_in_the_same_millisecond_deleted(client, monkeypatch):
    # On a fast machine a run's own deletion and its experiment's can share a timestamp.
    from tracking import store as store_module

    monkeypatch.setattr(store_module, "now_ms", lambda: 1_700_000_000_000)
    exp_id = client.create_experiment("same-ms")
    deleted = client.create_run(exp_id).info.run_id
    kept = client.create_run(exp_id).info.run_id
    client.delete_run(deleted)
    client.delete_experiment(exp_id)
    client.restore_experiment(exp_id)
    assert client.get_run(kept).info.lifecycle_stage == "active"
    assert client.get_run(deleted).info.lifecycle_stage == "deleted"


def test_tags_delete_and_run_status(client):
    run_id = client.create_run("0", tags={"a": "1", "b": "2"}).info.run_id
    client.delete_tag(run_id, "a")
    assert client.get_run(run_id).data.tags == {"b": "2"}
    with pytest.raises(tracking.ResourceNotFoundError, match="no tag 'a'"):
        client.delete_tag(run_id, "a")
    client.set_terminated(run_id, "KILLED", end_time=123)
    info = client.get_run(run_id).info
    assert (info.status, info.end_time) == ("KILLED", 123)
