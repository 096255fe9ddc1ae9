"""``automl runs list | show | search`` print readable tables."""

from __future__ import annotations

import pytest

import tracking
from automl.cli import main


@pytest.fixture
def store(tmp_path):
    uri = str(tmp_path / "store")
    client = tracking.TrackingClient(uri)
    exp_id = client.create_experiment("cli-exp")
    ids = {}
    for name, score, family in [
        ("alpha", 0.7, "rf"),
        ("beta", 0.9, "lgbm"),
        ("gamma", 0.8, "lgbm"),
    ]:
        run_id = client.create_run(exp_id, run_name=name).info.run_id
        client.log_batch(run_id, metrics={"val_f1": score}, params={"family": family})
        client.set_terminated(run_id)
        ids[name] = run_id
    client.log_text(ids["beta"], "hi", "notes/readme.txt")
    yield uri, ids
    tracking.set_tracking_uri(None)


def test_runs_list(store, capsys):
    uri, ids = store
    assert main(["--tracking-uri", uri, "runs", "list", "-c", "metrics.val_f1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "run_id", "run_name", "experiment", "status", "started", "duration", "metrics.val_f1"
    ]  # fmt: skip
    body = {line.split()[1]: line.split() for line in lines[2:]}
    assert set(body) == {"alpha", "beta", "gamma"}
    assert body["beta"][0] == ids["beta"] and body["beta"][3] == "FINISHED"
    assert body["beta"][-1] == "0.9"


def test_runs_search_orders_and_shows_referenced_columns(store, capsys):
    uri, _ = store
    code = main(
        ["--tracking-uri", uri, "runs", "search", "params.family = 'lgbm'", "-o", "metrics.val_f1"]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-2:] == ["params.family", "metrics.val_f1"]
    assert [line.split()[1] for line in lines[2:]] == ["gamma", "beta"]


def test_runs_show(store, capsys):
    uri, ids = store
    assert main(["--tracking-uri", uri, "runs", "show", ids["beta"]]) == 0
    out = capsys.readouterr().out
    assert f"run_id           {ids['beta']}" in out
    assert "cli-exp" in out and "family  lgbm" in out and "val_f1  0.9" in out
    assert "notes/" in out


def test_bad_filter_and_unknown_run_give_clear_errors(store, capsys):
    uri, _ = store
    assert main(["--tracking-uri", uri, "runs", "search", "metrics.val_f1 >> 1"]) == 2
    err = capsys.readouterr().err
    assert "expected a value" in err and "^" in err
    assert main(["--tracking-uri", uri, "runs", "show", "f" * 32]) == 2
    assert "does not exist" in capsys.readouterr().err
