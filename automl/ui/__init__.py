"""``automl ui``: a web app over the tracking store and the registry.

Pages: experiments, an experiment's leaderboard, a run, a comparison of runs and the registry.
It reads through ``tracking`` and ``registry`` only. ``create_app(UIConfig(uri))`` gives the
ASGI app; ``ui_hint(uri, experiment_id)`` the line telling a user how to open an experiment.
"""

from __future__ import annotations

import shlex

from automl.ui.app import UIConfig, create_app
from automl.ui.constants import DEFAULT_HOST, DEFAULT_PORT


def ui_hint(tracking_uri: str, experiment_id: str) -> str:
    """One line saying how to open ``experiment_id`` of ``tracking_uri`` in the UI."""
    url = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}/experiments/{experiment_id}"
    return f"open it in the browser: automl ui --tracking-uri {shlex.quote(tracking_uri)}  -> {url}"


__all__ = ["UIConfig", "create_app", "ui_hint"]
