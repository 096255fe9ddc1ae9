"""Filter strings: depth and clause limits (clear errors, not RecursionError or a raw database
error) and MLflow's backticked entity names, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

import tracking
from automl.cli import main

pytest_plugins = ["tracking_fixtures"]

DEEP = "(" * 5000 + "metrics.x > 1" + ")" * 5000
WIDE = " AND ".join(["metrics.x > 0"] * 3000)


@pytest.fixture
def runs(client):
    exp_id = client.create_experiment("limits")
    ids = []
    for score, source in [(0.05, "a"), (0.5, "x")]:
        run_id = client.create_run(exp_id).info.run_id
        client.log_batch(run_id, metrics={"a": score, "x": 2.0}, tags={"source_name": source})
        ids.append(run_id)
    return client, exp_id, ids


@pytest.mark.parametrize(
    ("text", "limit"), [(DEEP, "limit of 32"), (WIDE, "limit of 200")], ids=["deep", "wide"]
)
def test_oversized_filters_raise_with_the_limit(runs, text, limit):
    client, exp_id, _ = runs
    with pytest.raises(tracking.FilterSyntaxError, match=limit):
        client.search_runs([exp_id], text)
    with pytest.raises(tracking.FilterSyntaxError, match=limit):
        client.search_experiments(filter_string=text)


def test_filters_at_the_limits_run_on_the_database(runs):
    client, exp_id, ids = runs
    nested = "(" * 31 + "metrics.x > 1" + ")" * 31
    assert len(client.search_runs([exp_id], nested)) == 2
    wide = " OR ".join([f"metrics.a = {i}" for i in range(199)] + ["metrics.a = 0.5"])
    assert [r.info.run_id for r in client.search_runs([exp_id], wide)] == [ids[1]]
    chain = " AND ".join(["metrics.x > 1"] * 100 + ["params.p IS NULL"] * 100)
    assert len(client.search_runs([exp_id], chain)) == 2


def test_backticked_entity_names(runs):
    client, exp_id, ids = runs
    found = client.search_runs([exp_id], "`metric`.a >= 0.1")
    assert [r.info.run_id for r in found] == [ids[1]]
    found = client.search_runs([exp_id], "`tags`.source_name = 'x'")
    assert [r.info.run_id for r in found] == [ids[1]]
    found = client.search_runs([exp_id], "`tags`.`source_name` = 'a'", order_by=["`metric`.a"])
    assert [r.info.run_id for r in found] == [ids[0]]
    with pytest.raises(tracking.FilterSyntaxError, match="unknown entity type 'metricz'"):
        client.search_runs([exp_id], "`metricz`.a > 0")


@pytest.mark.parametrize(("text", "limit"), [(DEEP, "32"), (WIDE, "200")], ids=["deep", "wide"])
def test_cli_prints_the_limit_without_traceback(runs, store_uri, capsys, text, limit):
    assert main(["--tracking-uri", store_uri, "runs", "search", text]) == 2
    err = capsys.readouterr().err
    assert f"limit of {limit}" in err and "Traceback" not in err
