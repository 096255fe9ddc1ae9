"""What a Dask task runs on a worker: one trial in a child process that can be killed.

Dask cannot cancel a running task, so the fitting never happens in the Dask worker itself. Each
Dask worker keeps a pool of warm trial processes (started when a search connects, one per worker
thread, :func:`warm_children`) and hands a task to one over a pipe. While it waits, it checks two stop
signals twice a second: the caller's per-task ``distributed.Event`` (set by ``kill_running``
or ``shutdown``) and the hard deadline carried by the task itself, which holds even when the
caller or the scheduler is gone. Either kills the child, the reply says KILLED, and the next
task starts a fresh child. So does this Dask worker closing (it closes when it loses the
scheduler): the search has then written the trial off, so it must not go on. A killed trial's
run is marked KILLED in the shared store from here, with the reason.

The child (:mod:`automl.distributed.child`) exits by itself when this worker process dies, and
logs its files into a staging folder that is shipped back with the reply
(:mod:`automl.distributed.relay`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

from automl.core import tags
from automl.core.records import TrialState, WorkerReply, WorkerTask
from automl.distributed import relay
from automl.distributed.versions import compare_versions, library_versions

POLL_SECONDS = 0.5  # how often a waiting task looks at its stop signals
HOST_TAG = tags.HOST  # run tag: the machine and Dask worker that ran the trial
# Dask worker states in which a trial must stop: the worker is going away (scheduler lost).
_CLOSING = frozenset({"closing", "closing_gracefully", "closed", "failed", "stopping", "stopped"})
DEADLINE_REASON = "stopped at the search's deadline"
STOPPED_REASON = "stopped by the search (time budget)"
CLOSING_REASON = "the Dask worker shut down mid-trial (it lost the scheduler, or was retired)"


@dataclass(frozen=True)
class ClusterSetup:
    """What every trial of one search shares, scattered to the workers once per search."""

    runner: str
    setup: Any
    threads: int
    expected_versions: dict[str, str]
    snapshot: bytes | None = None  # the prepared data file's bytes, when setup names one
    snapshot_digest: str = ""


@dataclass(frozen=True)
class ClusterTask:
    """One trial for a Dask worker: the task, its stop event's name and the hard deadline."""

    task: WorkerTask
    stop_event: str
    deadline: float  # wall-clock (time.time()) seconds; the child is killed past it
    attempt_key: str  # scheduler metadata key marking that some worker started this task


@dataclass
class ClusterReply:
    """A worker's answer: the trial's reply, where it ran, and the files it logged."""

    reply: WorkerReply
    host: str
    worker: str
    seconds: float
    artifacts: tuple[relay.ArtifactBundle, ...] = ()


@dataclass
class _Child:
    process: subprocess.Popen
    conn: Connection
    digest: str
    stage_dir: str
    ready: bool = False


_idle: list[_Child] = []  # warm trial processes of this Dask worker not running a trial now
_lock = threading.Lock()
_SNAPSHOT_DIR = os.path.join(tempfile.gettempdir(), "automl-dask-data")


def _local_setup(cluster_setup: ClusterSetup) -> Any:
    """The setup with the prepared data written once to a file on this machine."""
    setup = cluster_setup.setup
    if cluster_setup.snapshot is None or not isinstance(setup, dict):
        return setup
    os.makedirs(_SNAPSHOT_DIR, exist_ok=True)
    name = os.path.basename(str(setup.get("snapshot_path", "data")))
    path = os.path.join(_SNAPSHOT_DIR, f"{cluster_setup.snapshot_digest[:16]}-{name}")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(cluster_setup.snapshot)
        os.replace(tmp, path)
    return dict(setup, snapshot_path=path)


def _spawn(threads: int, preload: str) -> _Child:
    """A trial process that imports ``preload`` (the task's runner) and waits for its setup."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    parent_end, child_end = Pipe(duplex=True)
    fd = child_end.fileno()
    process = subprocess.Popen(
        [sys.executable, "-m", "automl.distributed.child", str(fd), relay.__name__,
         str(os.getpid()), preload],
        env=env,
        stdin=subprocess.DEVNULL,
        pass_fds=(fd,),
    )  # fmt: skip
    child_end.close()
    return _Child(process=process, conn=parent_end, digest="", stage_dir=relay.new_stage_dir())


def _configure(child: _Child, cluster_setup: ClusterSetup) -> _Child:
    """Send ``child`` this search's setup (it reads it once its imports are done)."""
    setup = cluster_setup.setup
    relay_setup = relay.RelaySetup(
        runner=cluster_setup.runner,
        setup=relay.local_setup(_local_setup(cluster_setup), child.stage_dir),
        stage_dir=child.stage_dir,
        snapshot_path=setup.get("snapshot_path") if isinstance(setup, dict) else None,
    )
    # a large setup fills the pipe until the child reads it: not waited for here
    threading.Thread(target=child.conn.send, args=(("setup", relay_setup),), daemon=True).start()
    child.digest = cluster_setup.snapshot_digest
    return child


def _kill(child: _Child) -> None:
    if child.process.poll() is None:
        child.process.kill()
    child.process.wait()
    child.conn.close()
    shutil.rmtree(child.stage_dir, ignore_errors=True)


def setup_digest(runner: str, setup: Any, snapshot: bytes | None) -> str:
    """A digest naming one search's setup, so a warm child of another search is not reused."""
    h = hashlib.sha256(runner.encode())
    h.update(repr(setup).encode())
    if snapshot is not None:
        h.update(snapshot)
    return h.hexdigest()


def _stop_requested(event_name: str, client: Any) -> bool:
    try:
        from distributed import Event

        return Event(event_name, client=client).is_set()
    except Exception:  # noqa: BLE001 - scheduler unreachable: the deadline still holds
        return False


def _claim(attempt_key: str, host: str, worker: str) -> str | None:
    """Mark this task started; return the earlier worker's address if it was started before."""
    try:
        from distributed import get_client

        client = get_client()
        before = client.get_metadata(attempt_key, None)
        client.set_metadata(attempt_key, f"{host} ({worker})")
        return before
    except Exception:  # noqa: BLE001 - no metadata: the trial simply runs
        return None


def run_cluster_task(cluster_setup: ClusterSetup, ctask: ClusterTask) -> ClusterReply:
    """Run one trial in this worker's child process; the Dask task body."""
    from distributed import get_worker

    started = time.monotonic()
    host = socket.gethostname()
    dask_worker = get_worker()
    worker = dask_worker.address
    setup, run_id = cluster_setup.setup, ctask.task.run_id
    earlier = _claim(ctask.attempt_key, host, worker)
    if earlier is not None:
        # Dask re-ran the task after the worker running it died: the trial is FAILED, not redone.
        error = f"the Dask worker running this trial ({earlier}) died mid-trial"
        _mark_run(setup, run_id, TrialState.FAIL, error)
        return ClusterReply(WorkerReply(state=TrialState.FAIL, error=error), host, worker, 0.0)
    mismatch = compare_versions(cluster_setup.expected_versions, library_versions())
    if mismatch:
        error = f"worker {worker} refused: {mismatch}"
        _mark_run(setup, run_id, TrialState.FAIL, error)
        return ClusterReply(WorkerReply(state=TrialState.FAIL, error=error), host, worker, 0.0)
    _tag_host(setup, run_id, f"{host} ({worker})")
    reply, artifacts = _run_in_child(cluster_setup, ctask, dask_worker)
    return ClusterReply(reply, host, worker, time.monotonic() - started, artifacts)


def _client_for(setup: Any) -> Any:
    uri = setup.get("tracking_uri") if isinstance(setup, dict) else None
    if not uri:
        return None
    import tracking

    return tracking.TrackingClient(uri)


def _tag_host(setup: Any, run_id: str, where: str) -> None:
    """Record on the trial's run which host ran it (the store is shared: tag it from here)."""
    client = _client_for(setup)
    if client is not None and run_id:
        client.set_tag(run_id, HOST_TAG, where)


def _mark_run(setup: Any, run_id: str, state: TrialState, reason: str) -> None:
    """End a run the trial process could not end itself (it was killed or never started)."""
    client = _client_for(setup)
    if client is None or not run_id:
        return
    try:
        if client.get_run(run_id).info.status != "RUNNING":  # ended already: its end stands
            return
        client.log_batch(run_id, tags={tags.TRIAL_STATE: state.value, tags.ERROR: reason})
        client.set_terminated(run_id, "KILLED" if state is TrialState.KILLED else "FAILED")
    except Exception:  # noqa: BLE001 - store unreachable: the caller records the trial too
        pass


def _watch_event(
    event_name: str, client: Any, stop: threading.Event, done: threading.Event
) -> None:
    """Set ``stop`` once the caller sets its event: a scheduler call, so not in the wait loop,
    where a slow answer from a busy scheduler would hold up the deadline check."""
    while not done.wait(POLL_SECONDS):
        if _stop_requested(event_name, client):
            stop.set()
            return


def _stop_reason(ctask: ClusterTask, dask_worker: Any, stop: threading.Event) -> str | None:
    """Why the trial must stop now, or None: deadline, worker closing, the caller's event."""
    if time.time() >= ctask.deadline:
        return DEADLINE_REASON
    if getattr(dask_worker.status, "name", "running") in _CLOSING:
        return CLOSING_REASON
    if stop.is_set():
        return STOPPED_REASON
    return None


def _child_for(cluster_setup: ClusterSetup) -> _Child:
    """A warm trial process for this search from the pool: one set up for it already, else a
    fresh one from :func:`warm_children` given its setup now, else a new one."""
    digest = cluster_setup.snapshot_digest
    with _lock:
        for child in [c for c in _idle if c.process.poll() is not None]:
            _idle.remove(child)
            _kill(child)
        for wanted in (digest, ""):
            for child in _idle:
                if child.digest == wanted:
                    _idle.remove(child)
                    return child if wanted else _configure(child, cluster_setup)
        for child in list(_idle):  # set up for another search: not reusable
            _idle.remove(child)
            _kill(child)
    return _configure(_spawn(cluster_setup.threads, cluster_setup.runner), cluster_setup)


def _release(child: _Child) -> None:
    with _lock:
        _idle.append(child)


def warm_children(threads: int, runner: str, n: int) -> int:
    """Start trial processes until ``n`` are idle here; returns how many it started.

    Sent to each worker when a search connects, so that the seconds a trial process spends
    importing its libraries pass while the search sets up, not inside its first trials.
    """
    with _lock:
        missing = n - sum(1 for c in _idle if c.process.poll() is None)
    for _ in range(max(0, missing)):
        _release(_spawn(threads, runner))
    return max(0, missing)


def _run_in_child(
    cluster_setup: ClusterSetup, ctask: ClusterTask, dask_worker: Any
) -> tuple[WorkerReply, tuple[relay.ArtifactBundle, ...]]:
    """The child's reply and the files it staged; KILLED (run marked) when told to stop."""
    from distributed import get_client

    stop, done = threading.Event(), threading.Event()
    try:
        client = get_client()  # this worker's client; the watcher thread cannot look it up
    except Exception:  # noqa: BLE001 - no scheduler: the deadline still holds
        client = None
    watcher = threading.Thread(
        target=_watch_event, args=(ctask.stop_event, client, stop, done), daemon=True
    )
    watcher.start()
    try:
        return _wait_for_child(cluster_setup, ctask, dask_worker, stop)
    finally:
        done.set()


def _wait_for_child(
    cluster_setup: ClusterSetup, ctask: ClusterTask, dask_worker: Any, stop: threading.Event
) -> tuple[WorkerReply, tuple[relay.ArtifactBundle, ...]]:
    child = _child_for(cluster_setup)
    run_id = ctask.task.run_id
    sent = child.ready
    if sent:
        child.conn.send(("task", ctask.task))
    while True:
        reason = _stop_reason(ctask, dask_worker, stop)
        if reason is not None:
            _kill(child)
            _mark_run(cluster_setup.setup, run_id, TrialState.KILLED, reason)
            return WorkerReply(state=TrialState.KILLED, error=reason), ()
        try:
            if not child.conn.poll(POLL_SECONDS):
                continue
            kind, payload = child.conn.recv()
        except (EOFError, OSError):
            code = child.process.poll()
            _kill(child)
            error = f"trial process died (exit code {code}), e.g. out of memory"
            _mark_run(cluster_setup.setup, run_id, TrialState.FAIL, error)
            return WorkerReply(state=TrialState.FAIL, error=error), ()
        if kind == "ready":
            child.ready = True
        elif kind == "done":
            artifacts = relay.collect(child.stage_dir)
            _release(child)
            return payload, artifacts
        elif kind == "error":
            error = str(payload)
            _mark_run(cluster_setup.setup, run_id, TrialState.FAIL, error[-5000:])
            artifacts = relay.collect(child.stage_dir)
            _release(child)
            return WorkerReply(state=TrialState.FAIL, error=error), artifacts
        if child.ready and not sent:
            child.conn.send(("task", ctask.task))
            sent = True
