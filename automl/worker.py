"""Entry point of a trial worker process (``python -m automl.worker <fd>``).

The parent sends one ``("setup", dict)`` message, then ``("task", dict)`` messages; the worker
answers ``("ready", pid)`` once set up and ``("done", result)`` or ``("error", traceback)`` per task.
"""

from __future__ import annotations

import os
import sys
import traceback
from multiprocessing.connection import Connection


def main(fd: int) -> None:
    conn = Connection(fd)
    _, setup = conn.recv()
    from automl.trial import TrialContext, run_trial

    context = TrialContext.from_setup(setup)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            _, task = conn.recv()
        except EOFError:
            return
        try:
            result = run_trial(context, task)
        except BaseException:  # noqa: BLE001 - every failure is reported back, not lost
            conn.send(("error", traceback.format_exc(limit=20)))
        else:
            conn.send(("done", result))


if __name__ == "__main__":
    main(int(sys.argv[1]))
