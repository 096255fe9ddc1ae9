"""Worker processes die with their search (issue 17, item 7): after ``kill -9`` of the process
that started them, no worker goes on fitting its trial. Real processes, each mid-trial in a
runner that would otherwise sleep for ten minutes.

The first test goes through the executor the search uses; the other two take each of the
worker's two mechanisms alone (the lifeline pipe, Linux's parent-death signal), so that one
cannot hide that the other broke.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from multiprocessing import Pipe
from pathlib import Path

import pytest

from automl.core import worker
from automl.core.records import TaskKind, TrialConfig, WorkerTask

TESTS = Path(__file__).parent
RUNNER = "orphan_runner"
SLEEP = 600.0  # a trial far longer than the test: a surviving worker is still in it
WAIT = 60.0  # generous: the machine is shared; the workers normally go in well under a second


def _task(number: int) -> WorkerTask:
    return WorkerTask(
        kind=TaskKind.TRIAL, run_id="", config=TrialConfig("sleep", {"sleep": SLEEP}), number=number
    )


def _env() -> dict[str, str]:
    paths = [str(TESTS), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its new parent to reap it has exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def _wait_for_markers(folder: Path, count: int, owner: subprocess.Popen) -> list[int]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        pids = [int(p.read_text()) for p in folder.glob("*.pid")]
        if len(pids) == count:
            return pids
        assert owner.poll() is None, f"the parent exited early: {owner.communicate()}"
        time.sleep(0.2)
    raise AssertionError(f"the workers did not start their trials: {list(folder.iterdir())}")


def _gone(pids: list[int]) -> list[int]:
    """Wait up to WAIT seconds for the ``pids`` to exit; return those still running."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    alive = [p for p in pids if _alive(p)]
    for pid in alive:  # leave nothing behind for the next test
        os.kill(pid, signal.SIGKILL)
    return alive


SEARCH = """
import sys, time
from automl.core.local_executor import LocalProcessExecutor
from test_worker_orphans import _task

executor = LocalProcessExecutor(n_workers=2, threads_per_worker=1, runner="orphan_runner")
executor.start()
executor.send_setup({"marker_dir": sys.argv[1]})
submitted = 0
while submitted < 2:
    for _ in executor.poll(0.2):
        pass
    while executor.idle_count():
        executor.submit(submitted, _task(submitted))
        submitted += 1
time.sleep(600)
"""


def _kill_9_once_workers_run(process: subprocess.Popen, folder: Path, workers: int) -> None:
    """SIGKILL ``process`` once ``workers`` trials have left their markers in ``folder``; none
    of those worker processes may survive it."""
    try:
        pids = _wait_for_markers(folder, workers, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert _gone(pids) == []
    finally:
        process.kill()


def test_kill_9_of_the_search_ends_its_workers_mid_trial(tmp_path):
    search = subprocess.Popen(
        [sys.executable, "-c", SEARCH, str(tmp_path)], env=_env(), cwd=str(TESTS)
    )
    _kill_9_once_workers_run(search, tmp_path, 2)


def _start_worker(parent_args: str, marker_dir: Path, pass_fds: tuple[int, ...], fd: int):
    code = f"from automl.core import worker; worker.main({fd}, {RUNNER!r}, {parent_args})"
    return subprocess.Popen([sys.executable, "-c", code], env=_env(), pass_fds=pass_fds)


def test_closing_the_lifeline_ends_a_worker_mid_trial(tmp_path):
    parent_end, child_end = Pipe(duplex=True)
    lifeline_read, lifeline_write = os.pipe()
    fd = child_end.fileno()
    proc = _start_worker(f"None, {lifeline_read}", tmp_path, (fd, lifeline_read), fd)
    child_end.close()
    os.close(lifeline_read)
    try:
        parent_end.send(("setup", {"marker_dir": str(tmp_path)}))
        assert parent_end.recv()[0] == "ready"
        parent_end.send(("task", _task(0)))
        _wait_for_markers(tmp_path, 1, proc)
        os.close(lifeline_write)  # what the kernel does when the parent dies
        assert proc.wait(timeout=WAIT) == worker.ORPHAN_EXIT_CODE
    finally:
        proc.kill()
        parent_end.close()


PARENT = """
import os, subprocess, sys, time
from multiprocessing import Pipe
parent_end, child_end = Pipe(duplex=True)
fd = child_end.fileno()
code = f"from automl.core import worker; worker.main({fd}, 'orphan_runner', {os.getpid()})"
subprocess.Popen([sys.executable, "-c", code], pass_fds=(fd,))
parent_end.send(("setup", {"marker_dir": sys.argv[1]}))
parent_end.recv()
from test_worker_orphans import _task
parent_end.send(("task", _task(0)))
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_parent_death_signal_ends_a_worker_mid_trial(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PARENT), str(tmp_path)], env=_env(), cwd=str(TESTS)
    )
    _kill_9_once_workers_run(parent, tmp_path, 1)


CLASSIFY = """
import sys
import numpy as np, pandas as pd
import automl, tracking
tracking.set_tracking_uri(sys.argv[1])
rng = np.random.default_rng(0)
X = rng.normal(size=(60_000, 20))
frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)]).assign(y=(X[:, 0] > 0).astype(int))
automl.classify(frame, target_col="y", timeout_minutes=10, n_jobs=2, experiment_name="orphans",
                verbose=False)
"""


def _workers_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"automl.core.worker" in cmdline:
            found.append(int(entry.name))
    return found


def _trial_running(store: str) -> bool:
    import tracking

    client = tracking.TrackingClient(store)
    experiment = client.get_experiment_by_name("orphans")
    if experiment is None:
        return False
    runs = client.search_runs([experiment.experiment_id], "tags.`automl.role` = 'trial'")
    return any(r.info.status == "RUNNING" and "automl.ran_in" not in r.data.tags for r in runs)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the workers through /proc")
def test_kill_9_of_automl_classify_ends_its_workers(tmp_path):
    store = str(tmp_path / "store")
    search = subprocess.Popen([sys.executable, "-c", CLASSIFY, store], env=_env())
    try:
        deadline = time.monotonic() + 600
        workers: list[int] = []
        while time.monotonic() < deadline and not (workers and _trial_running(store)):
            assert search.poll() is None, "the search ended before a worker ran a trial"
            workers = _workers_of(search.pid)
            time.sleep(0.5)
        assert workers, "no worker process started"
        search.send_signal(signal.SIGKILL)
        search.wait()
        assert _gone(workers) == []
    finally:
        search.kill()
