"""``automl ui``: a web app over the tracking store and the registry.

Pages: experiments, an experiment's leaderboard, a run, a comparison of runs and the registry.
It reads through ``tracking`` and ``registry`` only. ``create_app(UIConfig(uri))`` gives the
ASGI app; ``ui_hint(experiment_name, tracking_uri)`` the line telling a user how to open an
experiment (what ``classify``/``regress``/``forecast`` print at the end with ``verbose=True``).
"""

from __future__ import annotations

import shlex
from typing import Any
from urllib.parse import quote

import tracking
from automl.ui.app import UIConfig, create_app
from automl.ui.constants import DEFAULT_HOST, DEFAULT_PORT


def ui_hint(experiment_name: str, tracking_uri: str) -> str:
    """One line saying how to open experiment ``experiment_name`` of ``tracking_uri`` in the UI.

    The link goes to the experiment's leaderboard when the store knows the name, else to the
    experiments page searching for it."""
    base = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    try:
        found = tracking.TrackingClient(tracking_uri).get_experiment_by_name(experiment_name)
    except tracking.TrackingError:
        found = None
    url = (
        f"{base}/experiments/{found.experiment_id}"
        if found
        else f"{base}/?q={quote(experiment_name)}"
    )
    command = f"automl ui --tracking-uri {shlex.quote(tracking_uri)}"
    return f"open it in the browser: {command}  -> {url}"


def announce(summary: Any) -> None:
    """Print how to review a finished search in the browser (``verbose=True`` searches end so)."""
    print(ui_hint(summary.experiment.name, tracking.get_tracking_uri()))


__all__ = ["UIConfig", "announce", "create_app", "ui_hint"]
