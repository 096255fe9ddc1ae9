"""A trial runner for the Dask executor tests: no fitting, it reads the scattered data file,
waits ``params["sleep"]`` seconds and answers. It writes its pid so tests can check it was killed,
and a ``.done`` marker once the trial has finished. With a tracking store in its setup it also
logs a text artifact and a notebook into the trial's run and ends it FINISHED, as real trials
do, so that tests can follow the files back to the caller.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import tracking
from automl.core.records import TrialState, WorkerReply, WorkerTask

ARTIFACT_FILE = "files/hello.txt"
DONE_SUFFIX = ".done"


class Context:
    """The test's setup, and the store client made on first use (``_client``, the attribute
    the Dask relay swaps its staging client into, as in the real runners' contexts)."""

    def __init__(self, setup: dict[str, Any]) -> None:
        self.snapshot_path: str = setup["snapshot_path"]
        self.marker_dir: str = setup["marker_dir"]
        self.tracking_uri: str | None = setup.get("tracking_uri")
        self.notebook_dir: str | None = setup.get("notebook_dir")
        self._client: tracking.TrackingClient | None = None

    @property
    def client(self) -> tracking.TrackingClient:
        if self._client is None:
            self._client = tracking.TrackingClient(self.tracking_uri)
        return self._client


def context_from_setup(setup: dict[str, Any]) -> Context:
    return Context(setup)


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
    Path(context.marker_dir, f"{task.number}{DONE_SUFFIX}").touch()
    return WorkerReply(
        state=TrialState.COMPLETE,
        config=task.config,
        value=float(n_bytes),
        notebook_path=str(notebook) if notebook else None,
    )
