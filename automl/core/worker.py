"""Entry point of a local worker process (``python -m automl.core.worker <fd> <runner>``).

``runner`` names a module with ``context_from_setup(setup)`` and
``run_trial(context, task: WorkerTask) -> WorkerReply`` (each task strategy names its own). The
worker imports it at once, then the parent sends one ``("setup", setup)`` message and
``("task", WorkerTask)`` messages; the worker answers ``("ready", pid)`` once set up and
``("done", WorkerReply)`` or ``("error", traceback)`` per task.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from multiprocessing.connection import Connection


def main(fd: int, runner_name: str) -> None:
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
    main(int(sys.argv[1]), sys.argv[2])
