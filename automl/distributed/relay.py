"""Artifacts of cluster trials travel back to the caller, which stores them.

A trial on a Dask worker writes its rows (params, metrics, tags, run status, the model's digest)
straight into the shared PostgreSQL store, but its files (model, SHAP table, plots, notebook)
into a staging folder on the worker's machine. The worker ships that folder back with the reply
(:class:`ArtifactBundle`) and the calling process writes it into the run's artifact folder of
its own store. So workers need no shared filesystem or object-store credentials, artifacts land
exactly where a local search puts them (``automl.load_model``, the UI and notebooks work the
same), and a trial's files are stored before the search counts the trial as done.

A trial ending its run FINISHED is deferred the same way: the caller ends the run once its
files are stored. A run is never FINISHED without its model, and a trial whose reply is lost
(the scheduler died in between) is still RUNNING for the caller to record KILLED, so the
search's summary and the store agree.

This module is also the runner a cluster trial process imports (``context_from_setup`` and
``run_trial``): it wraps the task's own runner, swapping in the staging client.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tracking
from automl.core.records import WorkerReply, WorkerTask
from tracking.artifacts import LocalArtifactRepository
from tracking.validation import check_run_id

NOTEBOOKS_DIRNAME = "notebooks"  # under the staging folder: where the trial renders notebooks
# under the staging folder: one file per run the trial ended FINISHED, holding its end time (ms)
FINISHED_DIRNAME = ".finished"


@dataclass(frozen=True)
class RelaySetup:
    """What a cluster trial process is set up with: the task's runner and its local setup."""

    runner: str
    setup: Any  # the runner's setup, its paths local to this machine
    stage_dir: str
    snapshot_path: str | None  # the caller's path of the prepared data, what notebooks name


@dataclass(frozen=True)
class ArtifactBundle:
    """One run's files, staged on a worker: ``(path relative to the run's root, bytes)``."""

    run_id: str
    files: tuple[tuple[str, bytes], ...]
    finished_at: int | None = None  # when the trial ended the run FINISHED (ms), or None

    @property
    def n_bytes(self) -> int:
        return sum(len(data) for _, data in self.files)


class StagingClient(tracking.TrackingClient):
    """Rows go to the shared store; each run's artifacts to ``stage_dir/<run_id>`` here."""

    def __init__(self, tracking_uri: str, stage_dir: str) -> None:
        super().__init__(tracking_uri)
        self.stage_dir = stage_dir

    def _repo(self, run_id: str, for_write: bool = False) -> LocalArtifactRepository:
        if for_write:  # the store's checks (the run exists and is not deleted) still apply
            super()._repo(run_id, for_write=True)
        return LocalArtifactRepository(os.path.join(self.stage_dir, check_run_id(run_id)))

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> None:
        """FAILED and KILLED end the run now; FINISHED is staged for the caller to apply once
        the run's files are stored (the module's docstring says why)."""
        if str(status).upper() != "FINISHED":
            super().set_terminated(run_id, status, end_time)
            return
        folder = Path(self.stage_dir, FINISHED_DIRNAME)
        folder.mkdir(exist_ok=True)
        ended = int(time.time() * 1000) if end_time is None else int(end_time)
        (folder / check_run_id(run_id)).write_text(str(ended))


@dataclass
class _Relayed:
    runner: Any
    context: Any


def context_from_setup(relay: RelaySetup) -> _Relayed:
    """Build the task runner's context, logging its artifacts through a :class:`StagingClient`."""
    runner = importlib.import_module(relay.runner)
    context = runner.context_from_setup(relay.setup)
    if hasattr(context, "_client") and getattr(context, "tracking_uri", None):
        context._client = StagingClient(context.tracking_uri, relay.stage_dir)
    if relay.snapshot_path and hasattr(context, "snapshot_path"):
        context.snapshot_path = relay.snapshot_path  # notebooks load the caller's copy
    return _Relayed(runner, context)


def run_trial(relayed: _Relayed, task: WorkerTask) -> WorkerReply:
    """The task runner's ``run_trial`` on the relayed context."""
    return relayed.runner.run_trial(relayed.context, task)


def local_setup(setup: Any, stage_dir: str) -> Any:
    """``setup`` with notebooks rendered under the staging folder instead of the caller's."""
    if isinstance(setup, dict) and "notebook_dir" in setup:
        notebooks = os.path.join(stage_dir, NOTEBOOKS_DIRNAME)
        os.makedirs(notebooks, exist_ok=True)
        return dict(setup, notebook_dir=notebooks)
    return setup


def new_stage_dir() -> str:
    """A fresh staging folder for one trial process."""
    return tempfile.mkdtemp(prefix="automl-stage-")


def collect(stage_dir: str) -> tuple[ArtifactBundle, ...]:
    """Every run's staged files and FINISHED end, removed from the staging folder once read."""
    root = Path(stage_dir)
    if not root.is_dir():
        return ()
    finished_dir = root / FINISHED_DIRNAME
    finished = {p.name: int(p.read_text()) for p in sorted(finished_dir.glob("*"))}
    shutil.rmtree(finished_dir, ignore_errors=True)
    run_dirs = {
        p.name: p
        for p in root.iterdir()
        if p.is_dir() and p.name not in (NOTEBOOKS_DIRNAME, FINISHED_DIRNAME)
    }
    bundles = []
    for run_id in sorted(run_dirs.keys() | finished.keys()):
        run_dir = run_dirs.get(run_id)
        files = () if run_dir is None else tuple(
            (path.relative_to(run_dir).as_posix(), path.read_bytes())
            for path in sorted(run_dir.rglob("*"))
            if path.is_file() and not path.name.startswith(".tmp-")
        )  # fmt: skip
        bundles.append(ArtifactBundle(run_id, files, finished.get(run_id)))
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
    discard_notebooks(stage_dir)
    return tuple(bundles)


def discard(stage_dir: str) -> None:
    """Drop what a killed trial staged (its run is KILLED; half-written files are not kept)."""
    shutil.rmtree(stage_dir, ignore_errors=True)
    os.makedirs(stage_dir, exist_ok=True)


def discard_notebooks(stage_dir: str) -> None:
    folder = Path(stage_dir) / NOTEBOOKS_DIRNAME
    for path in folder.glob("*") if folder.is_dir() else ():
        path.unlink(missing_ok=True)


def store(
    client: tracking.TrackingClient,
    bundles: tuple[ArtifactBundle, ...],
    reply: WorkerReply,
    notebook_dir: str | None,
) -> None:
    """Write shipped bundles into their runs in ``client``'s store, then end FINISHED the runs
    the trial finished; point the reply's notebook at the caller's copy (also placed in
    ``notebook_dir``, beside the experiment's others)."""
    for bundle in bundles:
        if bundle.files:
            with tempfile.TemporaryDirectory(prefix="automl-relay-") as tmp:
                for relative, data in bundle.files:
                    target = Path(tmp, relative)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                client.log_artifacts(bundle.run_id, tmp)
    for bundle in bundles:
        if bundle.finished_at is not None:
            client.set_terminated(bundle.run_id, "FINISHED", end_time=bundle.finished_at)
    if reply.notebook_path and notebook_dir:
        name = os.path.basename(reply.notebook_path)
        for bundle in bundles:
            data = dict(bundle.files).get(f"{NOTEBOOKS_DIRNAME}/{name}")
            if data is not None:
                os.makedirs(notebook_dir, exist_ok=True)
                path = os.path.join(notebook_dir, name)
                Path(path).write_bytes(data)
                reply.notebook_path = path
                break
        else:
            reply.notebook_path = None  # it was rendered but not logged: nothing to point at
