"""Entry point of the trial process under a Dask worker: the core worker plus a watchdog.

``python -m automl.distributed.child <fd> <runner> <parent pid> [<preload>]`` runs :func:`automl.core.worker.main` (the
same loop as local worker processes) with a daemon thread that ends this process as soon as its
parent, the Dask worker, is gone. A Dask worker killed with ``kill -9``, or one that closed
itself because it lost the scheduler, must not leave behind a trial that goes on fitting and
later writes a result nobody waits for into the shared store: the search has already recorded
that trial as FAILED or KILLED. ``preload`` (the task's runner module) is imported before the
setup is read, so a process started ahead of its search has its libraries loaded.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time

from automl.core import worker

WATCH_SECONDS = 0.2  # how often the watchdog checks that the parent is still there
ORPHAN_EXIT_CODE = 70


def _watch(parent: int) -> None:
    while os.getppid() == parent:  # a dead parent's children are adopted by another process
        time.sleep(WATCH_SECONDS)
    os._exit(ORPHAN_EXIT_CODE)


def main(fd: int, runner_name: str, parent: int, preload: str | None = None) -> None:
    """Watch the parent (``parent`` is its pid), then serve trials over the inherited ``fd``."""
    threading.Thread(target=_watch, args=(parent,), name="automl-parent-watch", daemon=True).start()
    if preload:
        importlib.import_module(preload)
    worker.main(fd, runner_name)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
