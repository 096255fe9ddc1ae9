# ruff: noqa: F811, E402 - cluster fixtures come from dask_fixtures, after the importorskip
"""Faults and files of cluster trials, on real Dask processes and the PostgreSQL store: the
scheduler lost mid-search (also just after a trial finished on its worker, its reply lost), and
a trial's files travelling back to the caller's store. The trial runner does no fitting
(tests/dask_trial_runner.py)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from dask_fixtures import (  # noqa: F401 - fixtures
    RUNNER,
    collect,
    local_cluster,
    make_setup,
    pg_uri,
    process_cluster,
    task,
    wait_gone,
    wait_marker,
)
from dask_trial_runner import ARTIFACT_FILE, DONE_SUFFIX

import tracking
from automl.core import tags
from automl.core.records import TrialState
from automl.distributed import HOST_TAG, DaskExecutor

pytestmark = pytest.mark.postgres


def _runs(uri: str, n: int) -> tuple[tracking.TrackingClient, list[str]]:
    client = tracking.TrackingClient(uri)
    experiment_id = client.create_experiment("dask-faults")
    return client, [client.create_run(experiment_id).info.run_id for _ in range(n)]


def test_scheduler_lost_mid_search_kills_the_trials_in_flight_and_says_so(
    process_cluster, pg_uri, tmp_path
):
    client, (done_id, a_id, b_id) = _runs(pg_uri, 3)
    notebooks = tmp_path / "notebooks"
    setup = make_setup(tmp_path, tracking_uri=pg_uri, notebook_dir=str(notebooks))
    executor = DaskExecutor(process_cluster.address, runner=RUNNER)
    executor.start()
    executor.send_setup(setup)
    executor.submit("done", task(0, 0.0, done_id))
    assert collect(executor, 1)["done"].value.state == TrialState.COMPLETE
    executor.submit("a", task(1, 600.0, a_id))
    executor.submit("b", task(2, 600.0, b_id))
    pids = [wait_marker(setup, 1), wait_marker(setup, 2)]

    process_cluster.scheduler.kill()
    results = collect(executor, 2)

    assert sorted(results) == ["a", "b"]
    for result in results.values():
        assert result.ok and result.value.state == TrialState.KILLED
        assert "scheduler" in result.value.error and "lost" in result.value.error
    assert process_cluster.address in executor.lost_scheduler
    assert executor.idle_count() == 0  # the search gets no worker from a lost cluster
    executor.submit("c", task(3, 0.0))  # sent after the loss: written off too, not raised
    late = collect(executor, 1)["c"]
    assert late.value.state == TrialState.KILLED and "scheduler" in late.value.error
    for run_id in (a_id, b_id):
        run = client.get_run(run_id)
        assert run.info.status == "KILLED"
        assert "scheduler" in run.data.tags[tags.ERROR]
    finished = client.get_run(done_id)  # the trial finished before stays recorded, with its files
    assert finished.info.status == "FINISHED"
    assert client.download_artifacts(done_id, ARTIFACT_FILE)
    assert wait_gone(pids)  # the trials do not go on fitting on the orphaned workers
    executor.shutdown()


def _wait_done(setup: dict, number: int, timeout: float = 120.0) -> None:
    """Until the runner says trial ``number`` finished on its worker."""
    path = Path(setup["marker_dir"]) / f"{number}{DONE_SUFFIX}"
    end = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < end, f"trial {number} never finished"
        time.sleep(0.1)


def test_a_trial_finished_on_its_worker_whose_reply_is_lost_is_killed_in_summary_and_store(
    process_cluster, pg_uri, tmp_path
):
    client, (run_id,) = _runs(pg_uri, 1)
    setup = make_setup(tmp_path, tracking_uri=pg_uri, notebook_dir=str(tmp_path / "notebooks"))
    executor = DaskExecutor(process_cluster.address, runner=RUNNER)
    executor.start()
    executor.send_setup(setup)
    executor.submit("lost", task(0, 3.0, run_id))
    wait_marker(setup, 0)
    # a frozen scheduler passes no reply on: the trial finishes on its worker, its reply
    # waits there, and the scheduler then dies with it
    process_cluster.scheduler.send_signal(signal.SIGSTOP)
    try:
        _wait_done(setup, 0)
        time.sleep(1.0)  # the worker's task returns the reply it cannot pass on
    finally:
        process_cluster.scheduler.kill()

    result = collect(executor, 1)["lost"]

    assert result.ok and result.value.state == TrialState.KILLED
    assert "scheduler" in result.value.error and "lost" in result.value.error
    run = client.get_run(run_id)  # the store agrees: not FINISHED without its files
    assert run.info.status == "KILLED"
    assert run.data.tags[tags.TRIAL_STATE] == TrialState.KILLED.value
    assert "scheduler" in run.data.tags[tags.ERROR]
    assert not client.list_artifacts(run_id)
    executor.shutdown()


def test_a_trials_files_come_back_to_the_callers_store(local_cluster, pg_uri, tmp_path):
    client, run_ids = _runs(pg_uri, 2)
    notebooks = tmp_path / "notebooks"
    setup = make_setup(tmp_path, tracking_uri=pg_uri, notebook_dir=str(notebooks))
    executor = DaskExecutor(local_cluster, runner=RUNNER)
    executor.start()
    executor.send_setup(setup)
    for number, run_id in enumerate(run_ids):
        executor.submit(number, task(number, 0.0, run_id))
    results = collect(executor, 2)
    for number, run_id in enumerate(run_ids):
        reply = results[number].value
        assert reply.state == TrialState.COMPLETE
        text = Path(client.download_artifacts(run_id, ARTIFACT_FILE)).read_text()
        assert text == f"trial {number}"
        # the notebook is in the run and beside the experiment's others, in this process's folder
        assert Path(reply.notebook_path).parent == notebooks
        logged = client.download_artifacts(run_id, f"notebooks/{Path(reply.notebook_path).name}")
        assert Path(logged).read_text() == Path(reply.notebook_path).read_text()
        # it names the caller's copy of the data, not the worker's
        assert json.loads(Path(reply.notebook_path).read_text())["snapshot"] == str(
            setup["snapshot_path"]
        )
        assert client.get_run(run_id).data.tags[HOST_TAG]
    executor.shutdown()
