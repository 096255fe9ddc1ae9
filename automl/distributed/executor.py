"""The Dask implementation of :class:`~automl.core.executor.Executor`.

The search loop, the Optuna study, the budget and registration stay in the calling process; this
executor only sends each :class:`~automl.core.records.WorkerTask` to a Dask worker, where
:func:`automl.distributed.trial_process.run_cluster_task` runs it in a killable child process.
What all trials share (and the prepared data file's bytes) is scattered to the workers once per
search. Every worker is checked before any trial: same package and model-library versions.

Faults: a worker that dies mid-trial fails that trial only (Dask runs the task again elsewhere,
which answers FAILED instead of fitting twice). A lost scheduler ends the cluster's part of the
search: every trial in flight comes back as its run in the store has it (KILLED with the reason
unless its worker ended it FAILED or KILLED first), no trial is submitted again, and
:attr:`DaskExecutor.lost_scheduler` says what happened, for the search to stop and alert. Each
finished trial's files come back with its reply and are stored here
(:mod:`automl.distributed.relay`), and only then is its run ended FINISHED and the trial
reported. Stop signals and the client's close run in the background (:mod:`.teardown`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from automl.core import tags
from automl.core.executor import Executor, OnKilled, TaskResult
from automl.core.records import TrialState, WorkerReply, WorkerTask
from automl.distributed import relay, teardown
from automl.distributed.trial_process import (
    ClusterReply,
    ClusterSetup,
    ClusterTask,
    run_cluster_task,
    setup_digest,
    warm_children,
)
from automl.distributed.versions import compare_versions, library_versions

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
SLOTS_REFRESH_S = 1.0  # how often the worker count is asked of the scheduler
# What a client's futures are cancelled with when its scheduler connection drops.
_CONNECTION_LOST = "scheduler-connection-lost"


class ClusterError(RuntimeError):
    """The cluster cannot run this search (unreachable, refused workers, wrong store)."""


def refuse_sqlite(tracking_uri: str) -> None:
    """Refuse a SQLite (or bare file) tracking store for a cluster search, saying why."""
    uri = str(tracking_uri)
    if "://" not in uri or uri.startswith(("sqlite:", "file:")):
        raise ClusterError(
            f"cluster= needs a shared PostgreSQL tracking store, not {uri!r}: the workers on "
            "other machines log their trials' runs into the store, and a SQLite file is "
            "neither reachable from them nor safe for writers on a network filesystem. Set "
            "AUTOML_TRACKING_URI=postgresql://user:pass@host/db (pip install "
            "'automl-tracked[dask]')."
        )


def _connect(cluster: Any):
    from distributed import Client

    if isinstance(cluster, Client):
        return cluster, False
    if not isinstance(cluster, str) or not cluster.startswith(("tcp://", "tls://", "inproc://")):
        raise ClusterError(
            f"cluster must be a scheduler address such as 'tcp://host:8786' or a "
            f"distributed.Client, not {cluster!r}"
        )
    try:
        return Client(cluster, timeout=CONNECT_TIMEOUT_S, set_as_default=False), True
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {cluster}: {exc}") from exc


def check_workers(client: Any) -> dict[str, str]:
    """Every worker's tracked library versions must equal the caller's; returns the caller's."""
    expected = library_versions()
    try:
        found = client.run(library_versions)
    except Exception as exc:  # noqa: BLE001 - e.g. automl not importable on a worker
        raise ClusterError(
            f"the Dask workers cannot run automl ({type(exc).__name__}: {exc}); install the "
            "package on every worker: pip install 'automl-tracked[dask]'"
        ) from exc
    if not found:
        raise ClusterError("the Dask cluster has no workers")
    refused = {w: compare_versions(expected, v) for w, v in found.items()}
    refused = {w: why for w, why in refused.items() if why}
    if refused:
        lines = "\n".join(f"  {w}: {why}" for w, why in sorted(refused.items()))
        raise ClusterError(
            "Dask workers refused before any trial, their libraries differ from this "
            f"process's (trials would not be comparable or loadable here):\n{lines}"
        )
    return expected


@dataclass
class _InFlight:
    future: Any
    stop_event: str
    started_at: float
    run_id: str


@dataclass
class DaskExecutor(Executor):
    """Trials on a Dask cluster, one per worker thread, each in a killable child process."""

    cluster: Any
    runner: str
    threads_per_worker: int = 1
    deadline: float | None = None  # wall-clock seconds past which workers kill their trial
    n_workers: int = field(default=0, init=False)
    busy_seconds: float = field(default=0.0, init=False)
    hosts: set[str] = field(default_factory=set, init=False)
    workers_used: set[str] = field(default_factory=set, init=False)
    # caller-side seconds per task beyond the worker's own: scheduling, transfer, replies
    overhead_seconds: float = field(default=0.0, init=False)
    lost_scheduler: str | None = field(default=None, init=False)
    _client: Any = field(default=None, init=False, repr=False)
    _owns_client: bool = field(default=False, init=False, repr=False)
    _setup_future: Any = field(default=None, init=False, repr=False)
    _cluster_setup: ClusterSetup | None = field(default=None, init=False, repr=False)
    _expected: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _running: dict[Any, _InFlight] = field(default_factory=dict, init=False, repr=False)
    _search_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12], init=False)
    _started_at: float = field(default=0.0, init=False)
    _capacity: float = field(default=0.0, init=False)
    _capacity_at: float = field(default=0.0, init=False)
    _tracking: Any = field(default=None, init=False, repr=False)
    _known_slots: int = field(default=0, init=False, repr=False)
    _worker_threads: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _closing: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _teardown: teardown.Teardown = field(
        default_factory=lambda: teardown.Teardown("automl-dask-teardown"), init=False, repr=False
    )

    def start(self) -> None:
        """Connect and check every worker's environment (before any trial starts)."""
        self._client, self._owns_client = _connect(self.cluster)
        self._expected = check_workers(self._client)
        self._started_at = self._capacity_at = time.monotonic()
        self.n_workers = self._known_slots = self._slots()
        self._warm()
        threading.Thread(target=self._watch_slots, name="automl-dask-slots", daemon=True).start()

    @property
    def failure(self) -> str | None:
        return self.lost_scheduler

    @property
    def started(self) -> bool:
        return self._started_at > 0.0

    def send_setup(self, setup: Any) -> None:
        """Scatter the shared setup, with the prepared data file's bytes, to all workers once."""
        snapshot = None
        path = setup.get("snapshot_path") if isinstance(setup, dict) else None
        if path and os.path.isfile(path):
            with open(path, "rb") as f:
                snapshot = f.read()
        cluster_setup = ClusterSetup(
            runner=self.runner,
            setup=setup,
            threads=self.threads_per_worker,
            expected_versions=self._expected,
            snapshot=snapshot,
            snapshot_digest=setup_digest(self.runner, setup, snapshot),
        )
        self._cluster_setup = cluster_setup
        self._scatter()

    def _scatter(self) -> None:
        self._setup_future = self._client.scatter(self._cluster_setup, broadcast=True, hash=False)

    def _warm(self) -> None:
        """Have every worker start its trial processes now (one per thread): they import their
        libraries while the search sets up, instead of inside its first trials."""
        from distributed import fire_and_forget

        for address, nthreads in dict(self._worker_threads).items():
            fire_and_forget(
                self._client.submit(
                    warm_children, self.threads_per_worker, self.runner, nthreads,
                    workers=[address], allow_other_workers=False, pure=False,
                )
            )  # fmt: skip

    def _slots(self) -> int:
        """Worker threads on the cluster now (a worker that joins adds its threads)."""
        if self._check_lost():
            return 0
        try:
            workers = self._client.scheduler_info(n_workers=-1)["workers"]
        except TypeError:  # older distributed without n_workers=
            workers = self._client.scheduler_info()["workers"]
        except Exception as exc:  # noqa: BLE001 - the scheduler went away
            self._scheduler_lost(exc)
            return 0
        self._worker_threads = {a: int(w.get("nthreads", 1)) for a, w in workers.items()}
        return sum(self._worker_threads.values())

    def _watch_slots(self) -> None:
        """Refresh the worker count in the background: a scheduler call can take seconds on a
        busy cluster, and the search loop asks for idle workers many times a second."""
        while not self._closing.wait(SLOTS_REFRESH_S):
            if self._client is None or self.lost_scheduler is not None:
                return
            with contextlib.suppress(Exception):  # a closing client: the loop has ended
                self._known_slots = self._slots()

    def _account_capacity(self) -> None:
        now = time.monotonic()
        self._capacity += self.n_workers * (now - self._capacity_at)
        self._capacity_at = now

    def idle_count(self) -> int:
        if self.lost_scheduler is not None or self._setup_future is None:
            return 0
        self._account_capacity()
        self.n_workers = self._known_slots if self.lost_scheduler is None else 0
        return max(0, self.n_workers - len(self._running))

    def booting_count(self) -> int:
        return 0  # Dask workers are up before they are listed; their child warms on first task

    def submit(self, key: Any, task: WorkerTask) -> None:
        # the worker count is refreshed in the background: a task sent on a stale count waits
        # in the scheduler's queue for a thread, which is harmless; a lost cluster is not
        if self._setup_future is None:
            raise RuntimeError("send_setup() first: no setup to run with")
        name = f"automl-{self._search_id}-{uuid.uuid4().hex[:8]}"
        future = None
        if self._check_lost():  # lost between idle_count() and now: written off at the next poll
            self._running[key] = _InFlight(None, name, time.monotonic(), task.run_id)
            return
        try:
            if self._setup_future.status != "finished":  # its workers died: send it again
                self._scatter()
            deadline = self.deadline if self.deadline is not None else time.time() + 7 * 24 * 3600
            ctask = ClusterTask(task, stop_event=name, deadline=deadline, attempt_key=name)
            future = self._client.submit(
                run_cluster_task, self._setup_future, ctask, key=name, pure=False, retries=0
            )
        except Exception as exc:  # noqa: BLE001 - the scheduler went away as the task was sent
            self._scheduler_lost(exc)  # the next poll gives this trial back KILLED, with the others
        self._running[key] = _InFlight(future, name, time.monotonic(), task.run_id)

    def poll(self, timeout: float) -> Iterator[TaskResult]:
        """Wait up to ``timeout`` s for the first task to finish; yield every finished one."""
        if not self._running:
            time.sleep(max(timeout, 0.0))
            return
        if self._check_lost():
            yield from self._written_off()
            return
        from distributed import wait

        futures = [r.future for r in self._running.values()]
        # a future cancelled by the scheduler (its worker died) makes wait() raise: it is read
        # below from its status like every other finished one
        with contextlib.suppress(FuturesTimeout, TimeoutError, Exception):
            wait(futures, timeout=max(timeout, 0.01), return_when="FIRST_COMPLETED")
        for key, inflight in list(self._running.items()):
            if inflight.future.status in ("pending",):
                continue
            if self._cancelled_by_disconnect(inflight.future):
                self._scheduler_lost(ConnectionError("the connection to it dropped"))
                yield from self._written_off()
                return
            del self._running[key]
            seconds = time.monotonic() - inflight.started_at
            self.busy_seconds += seconds
            yield self._result(key, inflight, seconds)

    def _result(self, key: Any, inflight: _InFlight, seconds: float) -> TaskResult:
        future = inflight.future
        if future.status == "finished":
            reply: ClusterReply = future.result()
            self.hosts.add(reply.host)
            self.workers_used.add(reply.worker)
            self.overhead_seconds += max(0.0, seconds - reply.seconds)
            try:
                self._store_artifacts(reply)
            except Exception as exc:  # noqa: BLE001 - the trial fails rather than lose its files
                error = (
                    f"the trial's artifacts could not be stored here: {type(exc).__name__}: {exc}"
                )
                return TaskResult(key=key, ok=False, error=error, seconds=seconds)
            return TaskResult(key=key, ok=True, value=reply.reply, seconds=seconds)
        if future.status == "cancelled":
            return TaskResult(
                key=key,
                ok=False,
                error="the Dask worker running this trial died mid-trial (task cancelled)",
                seconds=seconds,
            )
        try:
            error = repr(future.exception(timeout=1))
        except Exception as exc:  # noqa: BLE001 - cancelled or scheduler gone
            error = f"{type(exc).__name__}: {exc}"
        if "KilledWorker" in error:
            error = f"the Dask worker running this trial died mid-trial ({error})"
        return TaskResult(key=key, ok=False, error=error, seconds=seconds)

    def _store_artifacts(self, reply: ClusterReply) -> None:
        if not reply.artifacts and not reply.reply.notebook_path:
            return
        setup = self._cluster_setup.setup if self._cluster_setup is not None else None
        notebook_dir = setup.get("notebook_dir") if isinstance(setup, dict) else None
        relay.store(self._tracking_client(), reply.artifacts, reply.reply, notebook_dir)

    def _tracking_client(self) -> Any:
        if self._tracking is None:
            import tracking

            setup = self._cluster_setup.setup if self._cluster_setup is not None else None
            uri = setup.get("tracking_uri") if isinstance(setup, dict) else None
            self._tracking = tracking.TrackingClient(uri)
        return self._tracking

    def _check_lost(self) -> bool:
        """Whether the scheduler is gone (the client stopped running); records why once."""
        if self.lost_scheduler is None and self._client is not None:
            status = getattr(self._client, "status", "running")
            if status not in ("running", "newly-created"):
                self._scheduler_lost(ConnectionError(f"the client is {status}"))
        return self.lost_scheduler is not None

    def _cancelled_by_disconnect(self, future: Any) -> bool:
        """Whether ``future`` was cancelled because the scheduler connection dropped."""
        if future.status != "cancelled":
            return False
        if self._check_lost():
            return True
        try:
            future.result(timeout=1)
        except Exception as exc:  # noqa: BLE001 - FutureCancelledError carries the reason
            return getattr(exc, "reason", None) == _CONNECTION_LOST
        return False

    def _scheduler_lost(self, exc: BaseException) -> None:
        if self.lost_scheduler is None:
            self.lost_scheduler = (
                f"the Dask scheduler {self._address()} was lost mid-search ({exc}): the trials "
                "running on the cluster were stopped (recorded KILLED unless their worker ended "
                "them first), the finished ones stay recorded and no further trial was started "
                "on the cluster"
            )
            logger.warning(self.lost_scheduler)

    def _address(self) -> str:
        if isinstance(self.cluster, str):
            return self.cluster
        return str(getattr(getattr(self.cluster, "scheduler", None), "address", "")) or "?"

    def _written_off(self) -> Iterator[TaskResult]:
        """Every trial in flight, as the store has it: the lost scheduler took its reply."""
        now = time.monotonic()
        reason = self.lost_scheduler or "the Dask scheduler was lost"
        for key, inflight in list(self._running.items()):
            del self._running[key]
            seconds = now - inflight.started_at
            self.busy_seconds += seconds
            yield TaskResult(
                key=key, ok=True, value=self._reconcile(inflight.run_id, reason), seconds=seconds
            )

    def _reconcile(self, run_id: str, reason: str) -> WorkerReply:
        """The outcome of a trial whose reply is lost, agreeing with its run in the store.

        A worker ends a failed or killed trial's run itself: that end stands (FAILED or
        KILLED, with its reason). A finished trial's run is ended FINISHED only here, once its
        files came back with the reply (:class:`automl.distributed.relay.StagingClient`), so
        a run still RUNNING (or FINISHED without its files) lost its result: it is marked
        KILLED with ``reason``. Nothing recorded FINISHED ever lacks its model.
        """
        status, error = self._store_outcome(run_id)
        if status == "FAILED":
            return WorkerReply(state=TrialState.FAIL, error=error or reason)
        if status == "KILLED":
            return WorkerReply(state=TrialState.KILLED, error=error or reason)
        if status is not None:
            self._mark_killed(run_id, reason)
        return WorkerReply(state=TrialState.KILLED, error=reason)

    def _store_outcome(self, run_id: str) -> tuple[str | None, str | None]:
        """The run's status and error tag in the store; (None, None) when it cannot be read."""
        if not run_id or self._cluster_setup is None:
            return None, None
        try:
            run = self._tracking_client().get_run(run_id)
        except Exception as exc:  # noqa: BLE001 - the search still reports the trial KILLED
            logger.warning("could not read run %s: %s", run_id, exc)
            return None, None
        return run.info.status, run.data.tags.get(tags.ERROR)

    def _mark_killed(self, run_id: str, reason: str) -> None:
        """Record a trial written off here as KILLED, with the reason."""
        try:
            client = self._tracking_client()
            client.log_batch(
                run_id, tags={tags.TRIAL_STATE: TrialState.KILLED.value, tags.ERROR: reason}
            )
            client.set_terminated(run_id, "KILLED")
        except Exception as exc:  # noqa: BLE001 - the search still reports the trial KILLED
            logger.warning("could not mark run %s KILLED: %s", run_id, exc)

    def _stop(self, on_killed: OnKilled | None) -> None:
        """Write off the tasks in flight now; their stop signals go out in the background."""
        now = time.monotonic()
        stopping = [r for r in self._running.values() if r.future is not None]
        for key, inflight in list(self._running.items()):
            seconds = now - inflight.started_at
            self.busy_seconds += seconds
            if on_killed is not None:
                on_killed(key, seconds)
        self._running.clear()
        if stopping and not self._check_lost():  # a lost scheduler's workers stop their trials
            names = [r.stop_event for r in stopping]
            futures = [r.future for r in stopping]
            self._teardown.put(partial(teardown.signal_stop, self._client, names, futures))

    def kill_running(self, on_killed: OnKilled | None = None) -> None:
        """Tell the workers to kill the trials in flight; idle workers stay for a refit.

        Returns at once: the signals are sent in the background (:mod:`.teardown`).
        """
        self._stop(on_killed)

    def shutdown(self, on_killed: OnKilled | None = None) -> None:
        """Stop the trials in flight and disconnect (a caller's own Client stays open).

        Returns at once, so that the search ends within its promise however slow the
        scheduler is: the stop signals and the close run in the background, each bounded by a
        timeout (:meth:`wait_teardown` waits for them).
        """
        if self._client is None:
            return
        self._closing.set()
        self._stop(on_killed)
        self._account_capacity()
        if self._owns_client:
            self._teardown.put(partial(teardown.close_client, self._client))
        self._client = None

    def wait_teardown(self, timeout: float) -> bool:
        """Whether the stop signals and the client's close sent so far are done, within
        ``timeout`` seconds."""
        return self._teardown.wait(timeout)

    def capacity_seconds(self) -> float:
        if self._client is not None:
            self._account_capacity()
        return self._capacity


def cluster_executor(
    cluster: Any, tracking_uri: str, runner: str, *, threads: int = 1, deadline: float | None = None
) -> DaskExecutor:
    """The executor a search uses for ``cluster=``: refuses a SQLite store, then connects lazily.

    ``deadline`` is the search's hard stop in wall-clock seconds (``time.time()``): workers kill
    a trial still running then even if this process or the scheduler is gone.
    """
    refuse_sqlite(tracking_uri)
    return DaskExecutor(cluster, runner=runner, threads_per_worker=threads, deadline=deadline)
