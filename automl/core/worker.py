"""Entry point of a trial worker process (``python -m automl.worker <fd> <runner>``).

``runner`` is a module with ``context_from_setup(setup)`` and ``run_trial(context, task)``:
``automl.trial`` for tables, ``automl.forecast.trial`` for time series. The worker imports it
at once, then the parent sends one ``("setup", dict)`` message and ``("task", dict)`` messages;
the worker answers ``("ready", pid)`` once set up and ``("done", result)`` or
``("error", traceback)`` per task.
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
