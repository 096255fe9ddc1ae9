"""A trial runner for the Dask executor tests: no fitting, it reads the scattered data file,
waits ``params["sleep"]`` seconds and answers. It writes its pid so tests can check it was killed.
With a tracking store in its setup it also logs a text artifact and a notebook into the trial's
run, as real trials do, so that tests can follow the files back to the caller.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tracking
from automl.core.records import TrialState, WorkerReply, WorkerTask

ARTIFACT_FILE = "files/hello.txt"


@dataclass
class Context:
    snapshot_path: str
    marker_dir: str
    tracking_uri: str | None = None
    notebook_dir: str | None = None
    _client: tracking.TrackingClient | None = field(default=None, repr=False)

    @property
    def client(self) -> tracking.TrackingClient:
        if self._client is None:
            self._client = tracking.TrackingClient(self.tracking_uri)
        return self._client


def context_from_setup(setup: dict[str, Any]) -> Context:
    return Context(**setup)


def run_trial(context: Context, task: WorkerTask) -> WorkerReply:
    with open(context.snapshot_path, "rb") as f:
        n_bytes = len(f.read())
    marker = os.path.join(context.marker_dir, f"{task.number}.pid")
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(float(task.config.params.get("sleep", 0.0)))
    notebook = None
    if context.tracking_uri and task.run_id:
        context.client.log_text(task.run_id, f"trial {task.number}", ARTIFACT_FILE)
        notebook = Path(context.notebook_dir) / f"trial_{task.number:03d}.ipynb"
        notebook.write_text(f'{{"snapshot": "{context.snapshot_path}"}}')
        context.client.log_artifact(task.run_id, str(notebook), "notebooks")
        context.client.set_terminated(task.run_id, "FINISHED")
    return WorkerReply(
        state=TrialState.COMPLETE,
        config=task.config,
        value=float(n_bytes),
        notebook_path=str(notebook) if notebook else None,
    )
