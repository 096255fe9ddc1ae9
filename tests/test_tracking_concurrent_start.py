"""Four processes open a store that does not exist yet and get-or-create one experiment at the
same moment (what four ``classify(experiment_name=...)`` calls do first): none fails, one
experiment exists, every run and model lands in it. Real processes, SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import time

import pytest

import registry
import tracking

pytest_plugins = ["tracking_fixtures"]

PROCESSES = 4


def _start(uri: str, index: int, start_at: float, queue) -> None:
    try:
        time.sleep(max(0.0, start_at - time.time()))
        tracking.set_tracking_uri(uri)
        if index % 2:  # the client path (what the search uses) and the fluent one
            experiment = tracking.TrackingClient(uri).get_or_create_experiment("shared-exp")
            tracking.set_experiment(experiment_id=experiment.experiment_id)
        else:
            experiment = tracking.set_experiment("shared-exp")
        with tracking.start_run() as run:
            tracking.log_metric("m", 1.0)
            info = tracking.log_model({"weights": [1, 2]}, task="regression")
        registry.register_model(info.model_uri, "shared-model")
        queue.put(("ok", experiment.experiment_id, run.info.run_id))
    except BaseException as exc:  # reported to the test, which shows it
        queue.put(("error", type(exc).__name__, str(exc)))


def test_four_processes_create_store_and_experiment_at_once(fresh_store_uri):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.time() + 4.0  # every process has imported everything by then
    procs = [
        ctx.Process(target=_start, args=(fresh_store_uri, i, start_at, queue))
        for i in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=180) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    errors = [r for r in results if r[0] != "ok"]
    assert errors == []
    assert len({r[1] for r in results}) == 1
    client = tracking.TrackingClient(fresh_store_uri)
    experiment = client.get_experiment_by_name("shared-exp")
    assert experiment.experiment_id == results[0][1]
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_id for r in runs) == sorted(r[2] for r in results)
    versions = registry.RegistryClient(fresh_store_uri).search_model_versions(
        "name = 'shared-model'"
    )
    assert sorted(v.version for v in versions) == [1, 2, 3, 4]


def test_get_or_create_returns_the_existing_experiment(fresh_store_uri):
    client = tracking.TrackingClient(fresh_store_uri)
    first = client.get_or_create_experiment("again")
    assert client.get_or_create_experiment("again").experiment_id == first.experiment_id
    with pytest.raises(tracking.InvalidInputError, match="experiment name"):
        client.get_or_create_experiment("")
