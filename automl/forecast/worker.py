"""Entry point of a forecasting trial worker (``python -m automl.forecast.worker <fd>``).

Same protocol as ``automl.worker``: one ``("setup", dict)`` message, then ``("task", dict)``
messages answered by ``("done", result)`` or ``("error", traceback)``; ``("ready", pid)`` first.
"""

from __future__ import annotations

import os
import sys
import traceback
from multiprocessing.connection import Connection


def main(fd: int) -> None:
    conn = Connection(fd)
    _, setup = conn.recv()
    from automl.forecast.trial import ForecastContext, run_forecast_trial

    context = ForecastContext.from_setup(setup)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            _, task = conn.recv()
        except EOFError:
            return
        try:
            result = run_forecast_trial(context, task)
        except BaseException:  # noqa: BLE001 - every failure is reported back, not lost
            conn.send(("error", traceback.format_exc(limit=20)))
        else:
            conn.send(("done", result))


if __name__ == "__main__":
    main(int(sys.argv[1]))
