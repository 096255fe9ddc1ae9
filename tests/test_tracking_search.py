"""search_runs: MLflow filter grammar, ordering, pagination and DataFrame output."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

import tracking
from tracking import Metric, ViewType

pytest_plugins = ["tracking_fixtures"]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def populated(request, tmp_path_factory, store_factory):
    """12 runs: score = i/10 (run 0 has none, run 1 NaN), model lgbm/rf, team tags (read-only)."""
    folder = tmp_path_factory.mktemp("search")
    with store_factory(request.param, folder) as uri:
        client = tracking.TrackingClient(uri, artifact_root=str(folder / "artifacts"))
        yield _populate(client)


@pytest.fixture
def mutable(client):
    """Same data as ``populated`` in a store of its own, for tests that change it."""
    return _populate(client)


def _populate(client):
    exp_id = client.create_experiment("search")
    ids = []
    for i in range(12):
        run_id = client.create_run(exp_id, run_name=f"run-{i:02d}", start_time=1000 + i).info.run_id
        metrics = [] if i == 0 else [Metric("score", math.nan if i == 1 else i / 10, 5, 0)]
        client.log_batch(
            run_id,
            metrics=metrics,
            params={"model": "lgbm" if i % 2 else "rf", "depth": str(i % 3)},
            tags={"team": "ML-core" if i < 6 else "ml-edge"},
        )
        if i % 4 == 0:
            client.set_terminated(run_id, "FINISHED")
        ids.append(run_id)
    return client, exp_id, ids


def names(runs):
    return [r.info.run_name for r in runs]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.score > 0.85", ["run-11", "run-10", "run-09"]),
        ("metrics.score >= 0.9 and params.model = 'lgbm'", ["run-11", "run-09"]),
        ("params.model != 'lgbm' and metrics.score < 0.5", ["run-04", "run-02"]),
        ("tags.team LIKE 'ML%' and metrics.score <= 0.3", ["run-03", "run-02"]),
        ("tags.team LIKE 'ml%' and metrics.score > 1.05", ["run-11"]),
        ("tags.team ILIKE 'ml-c%' and params.depth = '0'", ["run-03", "run-00"]),
        ("attributes.status = 'FINISHED'", ["run-08", "run-04", "run-00"]),
        ("metrics.score IS NULL", ["run-00"]),
        (
            "metrics.score IS NOT NULL and metrics.score != 0.5",
            [f"run-{i:02d}" for i in (11, 10, 9, 8, 7, 6, 4, 3, 2)],
        ),
        ("params.depth IN ('1', '2') and metrics.score > 0.95", ["run-11", "run-10"]),
        ("(metrics.score < 0.25 or metrics.score > 1.05) and params.model = 'rf'", ["run-02"]),
        ("attributes.run_name LIKE 'run-1%'", ["run-11", "run-10"]),
        ("attributes.start_time >= 1010", ["run-11", "run-10"]),
        ("metrics.`score` = 0.5", ["run-05"]),
        ("params.model = 'x'' OR 1=1 --'", []),
    ],
)
def test_filters(populated, filter_string, expected):
    client, exp_id, _ = populated
    assert names(client.search_runs([exp_id], filter_string)) == expected


def test_order_by_metric_param_attribute(populated):
    client, exp_id, _ = populated
    ascending = names(client.search_runs([exp_id], order_by=["metrics.score ASC"]))
    assert ascending[:3] == ["run-02", "run-03", "run-04"]
    assert set(ascending[-2:]) == {"run-00", "run-01"}  # missing and NaN go last
    descending = names(client.search_runs([exp_id], order_by=["metrics.score DESC"]))
    assert descending[0] == "run-11" and set(descending[-2:]) == {"run-00", "run-01"}
    by_param = client.search_runs([exp_id], order_by=["params.depth DESC", "attributes.run_name"])
    assert [r.data.params["depth"] for r in by_param][:4] == ["2", "2", "2", "2"]
    assert names(by_param)[:2] == ["run-02", "run-05"]
    assert names(client.search_runs([exp_id], order_by=["run_name ASC"]))[0] == "run-00"


def test_pagination(populated):
    client, exp_id, ids = populated
    seen, token, pages = [], None, 0
    while True:
        page = client.search_runs(
            [exp_id], max_results=5, page_token=token, order_by=["start_time"]
        )
        seen += [r.info.run_id for r in page]
        pages += 1
        token = page.token
        if token is None:
            break
    assert pages == 3 and seen == ids
    with pytest.raises(tracking.InvalidInputError, match="page_token"):
        client.search_runs([exp_id], page_token="garbage!")


def test_view_types_delete_restore(mutable):
    client, exp_id, ids = mutable
    client.delete_run(ids[3])
    assert ids[3] not in [r.info.run_id for r in client.search_runs([exp_id])]
    deleted = client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [ids[3]]
    assert len(client.search_runs([exp_id], run_view_type="ALL")) == 12
    with pytest.raises(tracking.InvalidInputError, match="deleted"):
        client.log_metric(ids[3], "m", 1.0)
    client.restore_run(ids[3])
    assert len(client.search_runs([exp_id])) == 12
    client.delete_experiment(exp_id)
    assert client.search_runs([exp_id]) == []
    client.restore_experiment(exp_id)
    assert len(client.search_runs([exp_id])) == 12


@pytest.mark.parametrize(
    ("filter_string", "token", "message"),
    [
        ("metrics.score >> 1", ">", "expected a value"),
        ("params.model > 'a'", ">", "comparator '>' is not valid for params.model"),
        ("metrics.score = 'high'", "'high'", "is numeric"),
        ("bogus.key = 'a'", "bogus.key", "unknown entity type 'bogus'"),
        ("metrics.score > 1 params.model = 'a'", "params.model", "expected AND/OR"),
        ("attributes.colour = 'red'", "attributes.colour", "unknown attribute 'colour'"),
        ("(metrics.score > 1", "", "expected ')'"),
        ("metrics.score ; 1", ";", "unexpected character"),
    ],
)
def test_bad_filters_point_at_token(populated, filter_string, token, message):
    client, exp_id, _ = populated
    with pytest.raises(tracking.FilterSyntaxError, match=re.escape(message)) as info:
        client.search_runs([exp_id], filter_string)
    error = info.value
    assert error.token == token
    assert filter_string[error.position :].startswith(token)
    assert "^" in str(error)


def test_unknown_experiment_and_bad_order_by(client):
    with pytest.raises(tracking.ResourceNotFoundError, match="'42'"):
        client.search_runs(["42"])
    with pytest.raises(tracking.FilterSyntaxError, match="ASC or DESC"):
        client.search_runs(["0"], order_by=["metrics.x upward"])


def test_fluent_search_runs_dataframe(fluent):
    tracking.set_experiment("frame")
    for i in range(3):
        with tracking.start_run(run_name=f"r{i}"):
            tracking.log_metric("score", i / 2)
            tracking.log_param("family", "lgbm" if i else "rf")
    frame = tracking.search_runs(filter_string="metrics.score > 0", order_by=["metrics.score DESC"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["run_name"]) == ["r2", "r1"]
    assert {"run_id", "status", "start_time", "end_time", "metrics.score", "params.family"} <= set(
        frame.columns
    )
    assert frame["metrics.score"].tolist() == [1.0, 0.5]
    assert str(frame["start_time"].dtype).startswith("datetime64") and frame["start_time"].dt.tz
    with tracking.start_run(run_name="bare"):
        tracking.log_metric("score", 0.1)
    low = tracking.search_runs(filter_string="metrics.score < 0.6", order_by=["run_name"])
    assert low["params.family"].tolist() == [None, "rf", "lgbm"]  # 'bare' has no param
    empty = tracking.search_runs(filter_string="metrics.score > 99")
    assert len(empty) == 0 and list(empty.columns)[:4] == [
        "run_id",
        "experiment_id",
        "run_name",
        "status",
    ]
    assert empty["run_id"].dtype == object
    runs = tracking.search_runs(output_format="list", max_results=2, order_by=["run_name"])
    assert [r.info.run_name for r in runs] == ["bare", "r0"]
