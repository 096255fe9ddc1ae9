"""What a Dask task runs on a worker: one trial in a child process that can be killed.

Dask cannot cancel a running task, so the fitting never happens in the Dask worker itself. Each
Dask worker thread keeps one warm ``python -m automl.core.worker`` child (the same entry point
as local processes) and hands it the task over a pipe. While it waits, it checks two stop
signals twice a second: the caller's per-task ``distributed.Event`` (set by ``kill_running``
or ``shutdown``) and the hard deadline carried by the task itself, which holds even when the
caller or the scheduler is gone. Either kills the child, the reply says KILLED, and the next
task starts a fresh child.
"""

from __future__ import annotations

import hashlib
import os
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

from automl.core.records import TrialState, WorkerReply, WorkerTask
from automl.distributed.versions import compare_versions, library_versions

POLL_SECONDS = 0.5  # how often a waiting task looks at its stop signals
HOST_TAG = "automl.host"  # run tag: the machine and Dask worker that ran the trial


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
    """A worker's answer: the trial's reply plus where it ran."""

    reply: WorkerReply
    host: str
    worker: str
    seconds: float


@dataclass
class _Child:
    process: subprocess.Popen
    conn: Connection
    digest: str
    ready: bool = False


_children: dict[int, _Child] = {}  # one warm trial process per Dask worker thread
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


def _spawn(cluster_setup: ClusterSetup) -> _Child:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(cluster_setup.threads)
    parent_end, child_end = Pipe(duplex=True)
    fd = child_end.fileno()
    process = subprocess.Popen(
        [sys.executable, "-m", "automl.core.worker", str(fd), cluster_setup.runner],
        env=env,
        stdin=subprocess.DEVNULL,
        pass_fds=(fd,),
    )
    child_end.close()
    parent_end.send(("setup", _local_setup(cluster_setup)))
    return _Child(process=process, conn=parent_end, digest=cluster_setup.snapshot_digest)


def _kill(child: _Child) -> None:
    if child.process.poll() is None:
        child.process.kill()
    child.process.wait()
    child.conn.close()


def setup_digest(runner: str, setup: Any, snapshot: bytes | None) -> str:
    """A digest naming one search's setup, so a warm child of another search is not reused."""
    h = hashlib.sha256(runner.encode())
    h.update(repr(setup).encode())
    if snapshot is not None:
        h.update(snapshot)
    return h.hexdigest()


def _stop_requested(event_name: str) -> bool:
    try:
        from distributed import Event

        return Event(event_name).is_set()
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
    worker = get_worker().address
    earlier = _claim(ctask.attempt_key, host, worker)
    if earlier is not None:
        # Dask re-ran the task after the worker running it died: the trial is FAILED, not redone.
        reply = WorkerReply(
            state=TrialState.FAIL,
            error=f"the Dask worker running this trial ({earlier}) died mid-trial",
        )
        return ClusterReply(reply, host, worker, 0.0)
    mismatch = compare_versions(cluster_setup.expected_versions, library_versions())
    if mismatch:
        reply = WorkerReply(state=TrialState.FAIL, error=f"worker {worker} refused: {mismatch}")
        return ClusterReply(reply, host, worker, 0.0)
    _tag_host(cluster_setup.setup, ctask.task.run_id, f"{host} ({worker})")
    reply = _run_in_child(cluster_setup, ctask)
    return ClusterReply(reply, host, worker, time.monotonic() - started)


def _tag_host(setup: Any, run_id: str, where: str) -> None:
    """Record on the trial's run which host ran it (the store is shared: tag it from here)."""
    uri = setup.get("tracking_uri") if isinstance(setup, dict) else None
    if not uri or not run_id:
        return
    import tracking

    tracking.TrackingClient(uri).set_tag(run_id, HOST_TAG, where)


def _run_in_child(cluster_setup: ClusterSetup, ctask: ClusterTask) -> WorkerReply:
    ident = threading.get_ident()
    with _lock:
        child = _children.get(ident)
        if child is not None and (
            child.digest != cluster_setup.snapshot_digest or child.process.poll() is not None
        ):
            _kill(child)
            child = None
        if child is None:
            child = _children[ident] = _spawn(cluster_setup)
    sent = child.ready
    if sent:
        child.conn.send(("task", ctask.task))
    while True:
        if time.time() >= ctask.deadline or _stop_requested(ctask.stop_event):
            _children.pop(ident, None)
            _kill(child)
            return WorkerReply(state=TrialState.KILLED, error="stopped at the search's deadline")
        try:
            if not child.conn.poll(POLL_SECONDS):
                continue
            kind, payload = child.conn.recv()
        except (EOFError, OSError):
            _children.pop(ident, None)
            code = child.process.wait()
            child.conn.close()
            return WorkerReply(
                state=TrialState.FAIL,
                error=f"trial process died (exit code {code}), e.g. out of memory",
            )
        if kind == "ready":
            child.ready = True
        elif kind == "done":
            return payload
        elif kind == "error":
            return WorkerReply(state=TrialState.FAIL, error=str(payload))
        if child.ready and not sent:
            child.conn.send(("task", ctask.task))
            sent = True
