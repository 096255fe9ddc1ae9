"""The tabular engine's worker pool, with workers that run forecasting trials."""

from __future__ import annotations

import os
import subprocess
import sys
from multiprocessing import Pipe

from automl.executor import TrialExecutor, _Worker


class ForecastExecutor(TrialExecutor):
    """The tabular engine's worker pool, with workers that run forecasting trials."""

    def _spawn(self) -> None:
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"
        parent_end, child_end = Pipe(duplex=True)
        fd = child_end.fileno()
        process = subprocess.Popen(
            [sys.executable, "-m", "automl.forecast.worker", str(fd)],
            env=env,
            stdin=subprocess.DEVNULL,
            pass_fds=(fd,),
        )
        child_end.close()
        parent_end.send(("setup", self.setup))
        self._workers.append(_Worker(process=process, conn=parent_end))
