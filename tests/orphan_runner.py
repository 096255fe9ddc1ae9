"""A trial runner for the orphaned-worker tests: it writes its pid beside the test, then sleeps
``params["sleep"]`` seconds (far longer than any test waits), as a long fit would."""

from __future__ import annotations

import os
import time
from typing import Any

from automl.core.records import TrialState, WorkerReply, WorkerTask


def context_from_setup(setup: dict[str, Any]) -> dict[str, Any]:
    return setup


def run_trial(context: dict[str, Any], task: WorkerTask) -> WorkerReply:
    marker = os.path.join(context["marker_dir"], f"{task.number}.pid")
    with open(marker + ".tmp", "w") as handle:
        handle.write(str(os.getpid()))
    os.replace(marker + ".tmp", marker)
    time.sleep(float(task.config.params["sleep"]))
    return WorkerReply(state=TrialState.COMPLETE, config=task.config, value=1.0)
