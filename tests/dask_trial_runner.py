"""A trial runner for the Dask executor tests: no fitting, it reads the scattered data file,
waits ``params["sleep"]`` seconds and answers. It writes its pid so tests can check it was killed.
"""

from __future__ import annotations

import os
import time
from typing import Any

from automl.core.records import TrialState, WorkerReply, WorkerTask


def context_from_setup(setup: dict[str, Any]) -> dict[str, Any]:
    return setup


def run_trial(context: dict[str, Any], task: WorkerTask) -> WorkerReply:
    with open(context["snapshot_path"], "rb") as f:
        n_bytes = len(f.read())
    marker = os.path.join(context["marker_dir"], f"{task.number}.pid")
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(float(task.config.params.get("sleep", 0.0)))
    return WorkerReply(state=TrialState.COMPLETE, config=task.config, value=float(n_bytes))
