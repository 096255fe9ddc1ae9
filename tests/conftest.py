"""Shared fixtures: every test runs in its own folder with its own tracking store."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def isolated_store(tmp_path, monkeypatch):
    """Run each test in a fresh directory so the default ``./automl-runs`` store is its own."""
    import tracking

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOML_TRACKING_URI", raising=False)
    monkeypatch.delenv("AUTOML_ARTIFACT_ROOT", raising=False)
    tracking.set_tracking_uri(None)
    yield tmp_path
    tracking.set_tracking_uri(None)
