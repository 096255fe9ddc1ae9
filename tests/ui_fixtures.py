"""Helpers for the automl ui tests: a store with a finished classify run, a search that is still
running (written through tracking), an ``automl ui`` process and a real Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from search_fixtures import tracking_uri
from serving_fixtures import free_port
from sklearn.datasets import load_breast_cancer

import automl
import tracking

ROLE, PARENT, TRIAL = "automl.role", "parent", "trial"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def start_live_search(client: tracking.TrackingClient, name: str) -> tuple[str, str]:
    """An experiment whose AutoML parent run is RUNNING; returns (experiment_id, parent_id)."""
    eid = client.create_experiment(name)
    parent = client.create_run(eid, run_name="search")
    client.log_batch(
        parent.info.run_id,
        tags={ROLE: PARENT, "automl.task": "classification", "automl.primary_metric": "f1"},
    )
    return eid, parent.info.run_id


def add_trial(client: tracking.TrackingClient, eid: str, name: str, f1: float) -> str:
    """One finished trial run of the live search, as the search loop logs it."""
    run = client.create_run(eid, run_name=name)
    client.log_batch(
        run.info.run_id,
        metrics={"val_f1": f1},
        params={"model_family": "logistic"},
        tags={ROLE: TRIAL, "automl.trial_state": "COMPLETE"},
    )
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def classify_store(root: str) -> automl.AutoMLSummary:
    """A store at ``root`` with a small classify experiment (200 rows, a few seconds) and three
    more finished runs in it (``val_log_loss`` 0.9, 0.1, 0.5): more rows to sort than the tiny
    budget's trials."""
    with tracking_uri(root):
        frame = load_breast_cancer(as_frame=True).frame.head(200)
        summary = automl.classify(
            frame, target_col="target", timeout_minutes=0.15, max_trials=3, n_jobs=1
        )
    client = tracking.TrackingClient(root)
    for loss in (0.9, 0.1, 0.5):
        run = client.create_run(summary.experiment.experiment_id, run_name=f"extra-{loss}")
        client.log_batch(run.info.run_id, metrics={"val_log_loss": loss})
        client.set_terminated(run.info.run_id)
    return summary


def require_chromium() -> Any:
    """Playwright's sync API, once Debian's Chromium is known to be there (else skip the test,
    saying how to install it)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return pytest.importorskip("playwright.sync_api")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, closed after the block."""
    with require_chromium().sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def ui_process(root: str | None, *options: str, cwd: str | None = None) -> Iterator[str]:
    """An ``automl ui`` process serving the store at ``root`` (None: no ``--tracking-uri``, the
    default store of ``cwd``) on a free loopback port; yields its base URL once it answers, and
    stops the process after the block."""
    port = free_port()
    command = [sys.executable, "-m", "automl.cli", "ui"]
    if root is not None:
        command += ["--tracking-uri", root]
    process = subprocess.Popen([*command, "--port", str(port), *options], cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
