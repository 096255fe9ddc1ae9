"""Several processes writing one store at once; a process killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa

import tracking

pytest_plugins = ["tracking_fixtures"]

N_PROCESSES = 4
N_SINGLE = 40
N_BATCHES = 5
BATCH_SIZE = 30

WORKER = textwrap.dedent(
    """
    import os, sys, time
    import tracking
    from tracking import Metric
    uri, go_file, worker = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n_single, n_batches, batch_size = map(int, sys.argv[4:7])
    while not os.path.exists(go_file):
        time.sleep(0.005)
    tracking.set_tracking_uri(uri)
    tracking.set_experiment("shared")  # all workers race to create it
    client = tracking.TrackingClient()
    with tracking.start_run(run_name=f"worker-{worker}") as run:
        for i in range(n_single):
            tracking.log_metric("single", i, step=i)
            if i % 10 == 0:
                tracking.set_tag(f"tag{i}", worker)
        for b in range(n_batches):
            metrics = [Metric(f"m{k}", b * k, 0, b) for k in range(batch_size)]
            client.log_batch(run.info.run_id, metrics=metrics, params={f"p{b}": b})
    print(run.info.run_id)
    """
)

KILLED_WORKER = textwrap.dedent(
    """
    import sys
    import tracking
    from tracking import Metric
    tracking.set_tracking_uri(sys.argv[1])
    client = tracking.TrackingClient()
    run = tracking.start_run(run_name="doomed")
    step = 0
    while True:
        metrics = [Metric(f"k{i}", step + i, 0, step) for i in range(20)]
        client.log_batch(run.info.run_id, metrics=metrics)
        if step == 0:
            print(run.info.run_id, flush=True)
        step += 1
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    return env


def test_processes_log_concurrently_nothing_lost(store_uri, tmp_path):
    go_file = tmp_path / "go"
    sizes = [str(N_SINGLE), str(N_BATCHES), str(BATCH_SIZE)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, store_uri, str(go_file), str(n), *sizes],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for n in range(N_PROCESSES)
    ]
    time.sleep(0.5)
    go_file.touch()
    outputs = [proc.communicate(timeout=180) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    client = tracking.TrackingClient(store_uri)
    experiments = [e for e in client.search_experiments() if e.name == "shared"]
    assert len(experiments) == 1
    runs = client.search_runs([experiments[0].experiment_id])
    assert sorted(r.info.run_name for r in runs) == [f"worker-{n}" for n in range(N_PROCESSES)]
    for run in runs:
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "single")
        assert [m.value for m in history] == list(range(N_SINGLE))
        assert run.data.metrics["single"] == N_SINGLE - 1
        assert len(run.data.params) == N_BATCHES and len(run.data.tags) == N_SINGLE // 10
        assert len(run.data.metrics) == 1 + BATCH_SIZE
        assert run.data.metrics[f"m{BATCH_SIZE - 1}"] == (N_BATCHES - 1) * (BATCH_SIZE - 1)
        for k in (0, BATCH_SIZE - 1):
            assert len(client.get_metric_history(run.info.run_id, f"m{k}")) == N_BATCHES


def test_killed_process_leaves_store_consistent(tmp_path):
    uri = str(tmp_path / "store")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, uri],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    run_id = proc.stdout.readline().strip()
    assert len(run_id) == 32, proc.stderr.read()
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()

    client = tracking.TrackingClient(uri)
    with client.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    run = client.get_run(run_id)
    assert run.info.status == "RUNNING"
    counts = {len(client.get_metric_history(run_id, f"k{i}")) for i in range(20)}
    assert len(counts) == 1 and counts.pop() >= 1  # every batch landed whole or not at all
    last_step = client.get_metric_history(run_id, "k0")[-1].step
    assert run.data.metrics["k19"] == last_step + 19

    alive = client.create_run("0", run_name="still-alive").info.run_id
    remote = client.create_run("0", run_name="other-host").info.run_id
    with client.engine.begin() as conn:  # a run owned by a process on another machine
        conn.execute(
            sa.text(
                "UPDATE tracking_runs SET host = 'elsewhere', pid = 999999999 WHERE run_uuid = :r"
            ),
            {"r": remote},
        )
    assert client.mark_dead_runs() == [run_id]
    assert client.get_run(remote).info.status == "RUNNING"
    killed = client.get_run(run_id)
    assert killed.info.status == "KILLED" and killed.info.end_time is not None
    assert client.get_run(alive).info.status == "RUNNING"
    assert client.mark_dead_runs() == []
    client.log_metric(alive, "after", 1.0)  # the store keeps working
    assert client.get_run(alive).data.metrics == {"after": 1.0}


@pytest.mark.parametrize("status", ["FINISHED", "FAILED"])
def test_ended_runs_are_never_marked_killed(tmp_path, status):
    client = tracking.TrackingClient(str(tmp_path / "store"))
    run_id = client.create_run("0").info.run_id
    client.set_terminated(run_id, status)
    with client.engine.begin() as conn:  # pretend the owner was a process that is gone
        conn.execute(sa.text("UPDATE tracking_runs SET pid = 999999999"))
    assert client.mark_dead_runs() == []
    assert client.get_run(run_id).info.status == status
