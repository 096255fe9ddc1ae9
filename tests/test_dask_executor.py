# ruff: noqa: F811, E402 - cluster fixtures come from dask_fixtures, after the importorskip
"""The Dask executor on real clusters: a LocalCluster of 2 worker processes and separate
``dask scheduler`` / ``dask worker`` processes on 127.0.0.1. The trial runner does no fitting
(tests/dask_trial_runner.py) so that these tests check the executor: data scattered once,
replies, the hard deadline, kill_running, a worker killed with -9, a worker joining, refusals."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from dask_fixtures import (  # noqa: F401 - fixtures
    RUNNER,
    alive,
    collect,
    local_cluster,
    make_setup,
    process_cluster,
    task,
    wait_gone,
    wait_marker,
)

from automl.core.records import TrialState
from automl.distributed import ClusterError, DaskExecutor, refuse_sqlite


def test_local_cluster_runs_trials_on_both_workers_with_the_data(local_cluster, tmp_path):
    executor = DaskExecutor(local_cluster, runner=RUNNER)
    executor.start()
    setup = make_setup(tmp_path)
    executor.send_setup(setup)
    # the worker count is refreshed in the background: a worker the previous test restarted may
    # join the listing a moment later
    deadline = time.monotonic() + 30
    while executor.idle_count() < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert executor.idle_count() == 2
    submitted = 0
    results: dict = {}
    while len(results) < 6:
        while submitted < 6 and executor.idle_count():
            executor.submit(submitted, task(submitted, 0.5))
            submitted += 1
        for r in executor.poll(timeout=0.5):
            results[r.key] = r
    assert sorted(results) == list(range(6))
    for r in results.values():
        assert r.ok and r.value.state == TrialState.COMPLETE
        assert r.value.value == 1234.0  # the scattered data file reached the worker
    assert len(executor.workers_used) == 2
    executor.shutdown()
    assert local_cluster.status != "closed"  # a caller's own Client stays open


def test_deadline_kills_the_trial_process_and_replies_killed(local_cluster, tmp_path):
    executor = DaskExecutor(local_cluster, runner=RUNNER, deadline=time.time() + 3.0)
    executor.start()
    setup = make_setup(tmp_path)
    executor.send_setup(setup)
    executor.submit("long", task(0, 600.0))
    result = collect(executor, 1)["long"]
    assert result.ok and result.value.state == TrialState.KILLED
    marker = Path(setup["marker_dir"]) / "0.pid"
    # on a loaded machine the trial process may be killed before the trial even began
    if marker.exists() and marker.read_text():
        assert not alive(int(marker.read_text()))
    executor.shutdown()


def test_kill_running_stops_the_trials_in_flight(local_cluster, tmp_path):
    executor = DaskExecutor(local_cluster, runner=RUNNER)
    executor.start()
    setup = make_setup(tmp_path)
    executor.send_setup(setup)
    executor.submit("a", task(0, 600.0))
    executor.submit("b", task(1, 600.0))
    pids = [wait_marker(setup, 0), wait_marker(setup, 1)]
    killed: list = []
    executor.kill_running(on_killed=lambda key, seconds: killed.append(key))
    assert sorted(killed) == ["a", "b"]
    end = time.monotonic() + 20
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids)
    # the workers are free again: a short trial runs
    executor.submit("c", task(2, 0.0))
    assert collect(executor, 1)["c"].value.state == TrialState.COMPLETE
    executor.shutdown()


def test_shutdown_stops_the_trials_and_closes_its_client_in_the_background(
    process_cluster, tmp_path
):
    observer = distributed.Client(process_cluster.address, timeout=30)

    def clients() -> set[str]:
        """The scheduler's clients but the workers' own (a task's get_client opens one)."""
        names = observer.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.clients))
        return {n for n in names if not n.startswith("Client-worker-")}

    before = clients()
    executor = DaskExecutor(process_cluster.address, runner=RUNNER)  # it opens its own client
    executor.start()
    setup = make_setup(tmp_path)
    executor.send_setup(setup)
    executor.submit("long", task(0, 600.0))
    pid = wait_marker(setup, 0)
    opened = clients() - before
    assert len(opened) == 1
    killed: list = []
    executor.shutdown(on_killed=lambda key, seconds: killed.append(key))
    assert killed == ["long"]  # written off at once, before the scheduler has answered
    assert executor.wait_teardown(timeout=60)
    assert wait_gone([pid])  # the stop signal reached the worker
    assert not opened & clients()  # and the executor's client was closed
    observer.close()


def test_worker_killed_mid_trial_fails_that_trial_and_others_go_on(process_cluster, tmp_path):
    executor = DaskExecutor(process_cluster.address, runner=RUNNER)
    executor.start()
    setup = make_setup(tmp_path)
    executor.send_setup(setup)
    client = distributed.Client(process_cluster.address, timeout=10)
    pids = client.run(os.getpid)
    executor.submit("victim", task(0, 600.0))
    trial_pid = wait_marker(setup, 0)
    processing = client.processing()  # worker -> keys it is running
    (worker_addr,) = [w for w, keys in processing.items() if keys]
    os.kill(pids[worker_addr], signal.SIGKILL)
    result = collect(executor, 1)["victim"]
    failed = (not result.ok) or result.value.state == TrialState.FAIL
    assert failed
    reason = result.error if not result.ok else result.value.error
    assert "died mid-trial" in reason
    # the dead worker's trial process does not go on fitting (and later write a result)
    assert wait_gone([trial_pid])
    # a worker that joins mid-search gets trials
    process_cluster.add_worker()
    client.wait_for_workers(2, timeout=60)
    for i in range(1, 3):
        while not executor.idle_count():
            time.sleep(0.2)
        executor.submit(i, task(i, 0.2))
    results = collect(executor, 2)
    assert all(r.value.state == TrialState.COMPLETE for r in results.values())
    client.close()
    executor.shutdown()


def test_unreachable_scheduler_and_bad_address_are_refused():
    with pytest.raises(ClusterError, match="scheduler address"):
        DaskExecutor("localhost:8786", runner=RUNNER).start()


@pytest.mark.parametrize("uri", ["sqlite:///tmp/runs.db", "/tmp/mlruns.db", "file:///tmp/x"])
def test_sqlite_store_is_refused_for_a_cluster(uri):
    with pytest.raises(ClusterError, match="PostgreSQL") as info:
        refuse_sqlite(uri)
    assert "other machines" in str(info.value)
    refuse_sqlite("postgresql://u:p@127.0.0.1/db")  # accepted
