"""The local implementation of :class:`~automl.core.executor.Executor`: worker processes.

Each worker is a fresh ``python -m automl.core.worker`` process that talks to the parent over a
socket pair it inherits. Starting workers as their own interpreter (rather than by
``fork`` or ``spawn`` from the caller) means a user's unguarded script is never re-imported and
no OpenMP or database state is inherited. A trial that is still running when the budget ends is
stopped by killing its worker: nothing waits for it. Each worker also gets this process's pid and
the read end of a "lifeline" pipe whose write end only this process holds, so it dies with the
search even after ``kill -9`` (see :mod:`automl.core.worker`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from typing import Any

from automl.core.executor import Executor, OnKilled, TaskResult
from automl.core.records import WorkerTask

logger = logging.getLogger(__name__)


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: Connection | None = None
    task_key: Any = None
    started_at: float = 0.0
    ready: bool = False
    lifeline: int | None = None  # write end of the pipe whose closing ends the worker

    def close(self) -> None:
        """Close the parent's ends of the worker's pipes (after the process is gone)."""
        if self.conn is not None:
            self.conn.close()
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None


@dataclass
class LocalProcessExecutor(Executor):
    """A small pool of trial worker processes on this machine, with per-task kill.

    Workers can be started before the experiment is set up: they import the ``runner`` module
    (whose ``context_from_setup`` and ``run_trial`` they call; forecasting has its own) and wait.
    ``send_setup`` then hands every worker what all trials share (where the prepared data is,
    the plan, the tracking URI); ``submit`` gives one task to an idle worker; ``results`` yields
    replies as they arrive.
    """

    n_workers: int
    threads_per_worker: int
    runner: str
    setup: Any = None
    _workers: list[_Worker] = field(default_factory=list, init=False, repr=False)
    busy_seconds: float = field(default=0.0, init=False)
    started_at: float = field(default=0.0, init=False)

    def start(self) -> None:
        """Launch the worker processes without waiting for them to be ready."""
        self.started_at = time.monotonic()
        for _ in range(self.n_workers):
            self._spawn()

    def send_setup(self, setup: Any) -> None:
        """Give every worker (and every worker started later) what all trials share."""
        self.setup = setup
        for worker in self._workers:
            if worker.conn is not None:
                worker.conn.send(("setup", setup))

    def _spawn(self) -> None:
        env = dict(os.environ)
        threads = str(self.threads_per_worker)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = threads
        parent_end, child_end = Pipe(duplex=True)
        fd = child_end.fileno()
        lifeline_read, lifeline_write = os.pipe()  # not inheritable: only this worker gets it
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "automl.core.worker",
                    str(fd),
                    self.runner,
                    str(os.getpid()),
                    str(lifeline_read),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                pass_fds=(fd, lifeline_read),
            )
        except BaseException:
            os.close(lifeline_write)
            raise
        finally:
            child_end.close()
            os.close(lifeline_read)
        if self.setup is not None:
            parent_end.send(("setup", self.setup))
        self._workers.append(_Worker(process=process, conn=parent_end, lifeline=lifeline_write))

    @property
    def running(self) -> dict[Any, float]:
        """Keys of tasks in flight, with their start times."""
        return {w.task_key: w.started_at for w in self._workers if w.task_key is not None}

    @property
    def started(self) -> bool:
        return self.started_at > 0.0

    def capacity_seconds(self) -> float:
        return self.n_workers * (time.monotonic() - self.started_at) if self.started_at else 0.0

    def idle_count(self) -> int:
        return sum(1 for w in self._workers if w.ready and w.task_key is None)

    def booting_count(self) -> int:
        """Workers still starting (importing their libraries), not yet ready for a task."""
        return sum(1 for w in self._workers if not w.ready and w.process.poll() is None)

    def submit(self, key: Any, task: WorkerTask) -> None:
        """Give ``task`` to an idle worker; the reply comes back tagged with ``key``."""
        for worker in self._workers:
            if worker.ready and worker.task_key is None and worker.conn is not None:
                worker.conn.send(("task", task))
                worker.task_key = key
                worker.started_at = time.monotonic()
                return
        raise RuntimeError("no idle worker")

    def poll(self, timeout: float) -> Iterator[TaskResult]:
        """Wait up to ``timeout`` seconds and yield whatever replies have arrived."""
        conns = {w.conn: w for w in self._workers if w.conn is not None}
        if not conns:
            time.sleep(max(timeout, 0.0))
            return
        for conn in wait(list(conns), timeout=max(timeout, 0.0)):
            worker = conns[conn]
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                yield from self._worker_died(worker)
                continue
            if kind == "ready":
                worker.ready = True
                continue
            key, worker.task_key = worker.task_key, None
            seconds = time.monotonic() - worker.started_at
            self.busy_seconds += seconds
            if kind == "done":
                yield TaskResult(key=key, ok=True, value=payload, seconds=seconds)
            else:
                yield TaskResult(key=key, ok=False, error=str(payload), seconds=seconds)

    def _worker_died(self, worker: _Worker) -> Iterator[TaskResult]:
        worker.process.wait()
        code = worker.process.returncode
        worker.close()
        self._workers.remove(worker)
        if not worker.ready:
            raise RuntimeError(
                f"a trial worker failed to start (exit code {code}); its error is printed above"
            )
        logger.warning(
            "trial worker %s exited with code %s; starting another", worker.process.pid, code
        )
        self._spawn()
        if worker.task_key is not None:
            seconds = time.monotonic() - worker.started_at
            self.busy_seconds += seconds
            yield TaskResult(
                key=worker.task_key,
                ok=False,
                error=f"worker process died (exit code {code}), e.g. out of memory",
                seconds=seconds,
            )

    def kill_running(self, on_killed: OnKilled | None = None) -> None:
        """Kill the workers that are running a task (not replaced); idle workers stay."""
        now = time.monotonic()
        for worker in [w for w in self._workers if w.task_key is not None]:
            worker.process.kill()
            worker.process.wait()
            worker.close()
            self._workers.remove(worker)
            self.busy_seconds += now - worker.started_at
            if on_killed is not None:
                on_killed(worker.task_key, now - worker.started_at)

    def shutdown(self, on_killed: OnKilled | None = None) -> None:
        """Stop every worker now; ``on_killed(key, seconds)`` is called for each task in flight."""
        now = time.monotonic()
        for worker in self._workers:
            if worker.process.poll() is None:
                worker.process.kill()
            if worker.task_key is not None:
                self.busy_seconds += now - worker.started_at
                if on_killed is not None:
                    on_killed(worker.task_key, now - worker.started_at)
                worker.task_key = None
        for worker in self._workers:
            worker.process.wait()
            worker.close()
        self._workers.clear()
