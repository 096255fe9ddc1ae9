"""The executor interface: where the search sends its trials.

The search loop talks to an :class:`Executor` only. One implementation runs trials in local
worker processes (:class:`automl.core.local_executor.LocalProcessExecutor`); another backend
(a Dask cluster, say) implements the same methods. The contract:

* ``start()`` launches the workers without waiting for them; ``send_setup(setup)`` gives every
  worker, present and future, what all trials share (a picklable object the runner module's
  ``context_from_setup`` turns into its context).
* ``submit(key, task)`` hands a :class:`~automl.core.records.WorkerTask` to an idle worker
  (``idle_count() > 0`` first; otherwise it raises ``RuntimeError``).
* ``poll(timeout)`` waits up to ``timeout`` seconds and yields a :class:`TaskResult` per reply
  that has arrived, tagged with the key given to ``submit``.
* ``kill_running(on_killed)`` stops the tasks in flight now (``on_killed(key, seconds)`` for each)
  and keeps idle workers for a refit; ``shutdown(on_killed)`` stops everything.
* ``busy_seconds`` and ``capacity_seconds()`` feed the summary's time breakdown;
  ``workers_used`` and ``hosts`` tell the summary where the trials ran.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Set
from dataclasses import dataclass
from typing import Any

from automl.core.records import WorkerReply, WorkerTask

OnKilled = Callable[[Any, float], None]


@dataclass
class TaskResult:
    """What came back for one task: the worker's reply, or why there is none."""

    key: Any
    ok: bool
    value: WorkerReply | None = None
    error: str | None = None
    seconds: float = 0.0


class Executor(ABC):
    """Runs :class:`WorkerTask` s on workers and can stop them at once."""

    n_workers: int
    busy_seconds: float
    # The workers that ran a task (empty: all ``n_workers`` count) and the machines they ran
    # on (empty for processes on this machine).
    workers_used: Set[str] = frozenset()
    hosts: Set[str] = frozenset()

    @abstractmethod
    def start(self) -> None:
        """Launch the workers without waiting for them to be ready."""

    @abstractmethod
    def send_setup(self, setup: Any) -> None:
        """Give every worker (and every worker started later) what all trials share."""

    @abstractmethod
    def submit(self, key: Any, task: WorkerTask) -> None:
        """Give ``task`` to an idle worker; its reply comes back from :meth:`poll` with ``key``."""

    @abstractmethod
    def poll(self, timeout: float) -> Iterator[TaskResult]:
        """Wait up to ``timeout`` seconds and yield the replies that have arrived."""

    @abstractmethod
    def idle_count(self) -> int:
        """Workers ready for a task now."""

    @abstractmethod
    def booting_count(self) -> int:
        """Workers still starting (importing their libraries), not ready for a task yet."""

    @property
    def failure(self) -> str | None:
        """Why no task can run any more (e.g. the cluster's scheduler is gone), or None."""
        return None

    @property
    @abstractmethod
    def started(self) -> bool:
        """Whether :meth:`start` was called."""

    @abstractmethod
    def kill_running(self, on_killed: OnKilled | None = None) -> None:
        """Stop the tasks in flight (``on_killed(key, seconds)`` each); idle workers stay."""

    @abstractmethod
    def shutdown(self, on_killed: OnKilled | None = None) -> None:
        """Stop every worker now, calling ``on_killed(key, seconds)`` for each task in flight."""

    @abstractmethod
    def capacity_seconds(self) -> float:
        """Worker-seconds available since :meth:`start` (workers x their lifetime)."""

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
