"""Stopping a cluster's trials and closing its client off the search's critical path.

Telling the workers to stop their trials is one scheduler call per trial, and closing a Dask
client waits for the scheduler to acknowledge; on a loaded cluster either can take seconds. The
search must not spend them: it stops at its deadline, and the call returns within the promise
(budget + max(2 %, 5 s)). So these calls run, in order, on one daemon thread per executor, each
bounded by a timeout. The hard deadline each task carries stops a trial on its worker even if a
stop signal never arrives, and a client left open at exit only drops its connection.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

SIGNAL_TIMEOUT_S = 5.0  # one stop signal gives up then (the task's deadline still holds)
CLOSE_TIMEOUT_S = 10.0  # closing the client gives up then (the connection is dropped at exit)


class Teardown:
    """One daemon thread running the jobs it is given, in order; jobs' errors are logged."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._done = threading.Condition()

    def put(self, job: Callable[[], None]) -> None:
        """Run ``job`` after the jobs given before; returns at once."""
        with self._done:
            self._pending += 1
        self._jobs.put(job)
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
            self._thread.start()

    def wait(self, timeout: float) -> bool:
        """Whether every job given so far has run within ``timeout`` seconds."""
        with self._done:
            return self._done.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - a slow or gone scheduler: logged only
                logger.debug("Dask teardown step failed: %s: %s", type(exc).__name__, exc)
            with self._done:
                self._pending -= 1
                self._done.notify_all()


def signal_stop(client: Any, event_names: Iterable[str], futures: Iterable[Any]) -> None:
    """Set each trial's stop event (its worker kills the trial process), then drop the futures."""
    for name in event_names:
        try:
            client.sync(client.scheduler.event_set, name=name, callback_timeout=SIGNAL_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - the task's own deadline still holds
            logger.debug("stop signal %s not delivered: %s", name, exc)
    for future in futures:
        future.release()


def close_client(client: Any) -> None:
    """Close a client this executor opened, giving up after :data:`CLOSE_TIMEOUT_S`."""
    client.close(timeout=CLOSE_TIMEOUT_S)
