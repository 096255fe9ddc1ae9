"""Entry point of a local worker process.

``python -m automl.core.worker <fd> <runner> [<parent pid> <lifeline fd>]``

``runner`` names a module with ``context_from_setup(setup)`` and
``run_trial(context, task: WorkerTask) -> WorkerReply`` (each task strategy names its own). The
worker imports it at once, then the parent sends one ``("setup", setup)`` message and
``("task", WorkerTask)`` messages; the worker answers ``("ready", pid)`` once set up and
``("done", WorkerReply)`` or ``("error", traceback)`` per task.

A worker must not outlive its search: once the search is gone (``kill -9`` included) nobody waits
for the trial, which would go on fitting and later write a result into the store. Given the
parent's pid and a lifeline fd, the worker dies with its parent two ways, neither polling:

* on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills it when the parent dies;
* everywhere, a daemon thread blocks reading the lifeline pipe, whose write end only the parent
  holds; the read returns end-of-file the moment the parent's descriptors close.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import os
import signal
import sys
import threading
import traceback
from multiprocessing.connection import Connection

ORPHAN_EXIT_CODE = 70  # the worker's exit code when its parent is gone (as the Dask child's)
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when ``parent`` dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # it died before the signal was armed: we were re-parented
        os._exit(ORPHAN_EXIT_CODE)


def watch_lifeline(fd: int) -> threading.Thread:
    """Exit this process as soon as the pipe ``fd`` reaches end-of-file (its writer is gone)."""

    def _wait() -> None:
        try:
            while os.read(fd, 1):  # the parent never writes; any byte is ignored
                pass
        finally:
            os._exit(ORPHAN_EXIT_CODE)

    thread = threading.Thread(target=_wait, name="automl-lifeline", daemon=True)
    thread.start()
    return thread


def main(fd: int, runner_name: str, parent: int | None = None, lifeline: int | None = None) -> None:
    """Serve trials over the inherited ``fd``; with ``parent``/``lifeline``, die with the parent."""
    if parent is not None:
        die_with_parent(parent)
    if lifeline is not None:
        watch_lifeline(lifeline)
    conn = Connection(fd)
    runner = importlib.import_module(runner_name)
    try:
        _, setup = conn.recv()
    except EOFError:  # the search ended (or failed) before it needed this worker
        return
    context = runner.context_from_setup(setup)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            _, task = conn.recv()
        except EOFError:
            return
        try:
            result = runner.run_trial(context, task)
        except BaseException:  # noqa: BLE001 - every failure is reported back, not lost
            conn.send(("error", traceback.format_exc(limit=20)))
        else:
            conn.send(("done", result))


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[3:5]]
    main(int(sys.argv[1]), sys.argv[2], *args)
