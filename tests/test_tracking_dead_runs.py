"""A run whose owning process died (kill -9) reads as KILLED everywhere at once: get_run,
search_runs (results and status filters) and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import signal

import tracking
from automl.cli import main

pytest_plugins = ["tracking_fixtures"]


def _owner(uri: str, queue) -> None:
    client = tracking.TrackingClient(uri)
    experiment = client.get_or_create_experiment("doomed")
    run_id = client.create_run(experiment.experiment_id, run_name="doomed").info.run_id
    client.log_metric(run_id, "m", 1.0)
    queue.put(run_id)
    signal.pause()


def _run_of_killed_process(store_uri: str) -> str:
    """Run id of a RUNNING run whose owner process was then killed with SIGKILL."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_owner, args=(store_uri, queue))
    proc.start()
    run_id = queue.get(timeout=120)
    status = tracking.TrackingClient(store_uri).get_run(run_id).info.status
    assert status == "RUNNING"  # while its owner is alive
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    return run_id


def test_dead_owner_reads_as_killed_everywhere(store_uri, capsys):
    run_id = _run_of_killed_process(store_uri)
    client = tracking.TrackingClient(store_uri)

    assert client.get_run(run_id).info.status == "KILLED"
    exp_id = client.get_experiment_by_name("doomed").experiment_id
    assert [r.info.status for r in client.search_runs([exp_id])] == ["KILLED"]
    assert client.search_runs([exp_id], "attributes.status = 'RUNNING'") == []
    assert [r.info.run_id for r in client.search_runs([exp_id], "status = 'KILLED'")] == [run_id]
    assert client.get_run(run_id).info.end_time is not None  # recorded by the search

    assert main(["--tracking-uri", store_uri, "runs", "show", run_id]) == 0
    assert "KILLED" in capsys.readouterr().out


def test_get_run_alone_shows_killed(store_uri, capsys):
    run_id = _run_of_killed_process(store_uri)
    assert main(["--tracking-uri", store_uri, "runs", "show", run_id]) == 0
    out = capsys.readouterr().out
    assert "KILLED" in out and "RUNNING" not in out
    assert tracking.TrackingClient(store_uri).get_run(run_id).info.status == "KILLED"
