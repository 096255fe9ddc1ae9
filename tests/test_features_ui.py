"""Feature lineage on the automl ui run page: the tables, versions and label rows a run's
training set was built from, read from what the run records (ASGI client and real Chromium)."""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from search_fixtures import small_search, tracking_uri
from starlette.testclient import TestClient

import automl
import tracking
from automl import features
from automl.core import tags
from automl.features import FeatureLookup, FeatureStore
from automl.ui import UIConfig, create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """An AutoML search on a training set of user_stats v2 and user_region v1, user_stats then
    written again (v3, after the search), a plain run, and a run whose spec artifact is gone."""
    root = str(tmp_path_factory.mktemp("features-ui"))
    store = FeatureStore(root)
    rng = np.random.default_rng(0)
    users = np.arange(30)
    stats = pd.DataFrame(
        {
            "user": np.repeat(users, 2),
            "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.tile([0, 10], 30), "D"),
            "spend": rng.normal(size=60),
        }
    )
    store.create_table("user_stats", "user", stats, timestamp_keys="ts")
    store.write_table("user_stats", stats.assign(spend=stats["spend"] * 2))  # v2
    store.create_table("user_region", "user", pd.DataFrame({"user": users, "score": users / 30}))
    labels = pd.DataFrame(
        {
            "user": rng.choice(np.arange(34), 120),
            "t": pd.Timestamp("2024-01-05") + pd.to_timedelta(rng.integers(0, 20, 120), "D"),
        }
    )
    labels["y"] = (rng.random(120) > 0.5).astype(int)
    training = features.create_training_set(
        labels,
        [
            FeatureLookup("user_stats", "user", "t", rename_outputs={"spend": "user_spend"}),
            FeatureLookup("user_region", "user", default_values={"score": -1.0}),
        ],
        label="y",
        exclude_columns=["t"],
        store=store,
    )
    with tracking_uri(root), pytest.warns(UserWarning):  # users 30-33 have no region
        summary = small_search(automl.classify, training, "y", "features-ui", max_trials=2)
    store.write_table("user_stats", stats)  # v3: the page must show the recorded v2
    client = tracking.TrackingClient(root)
    eid = summary.experiment.experiment_id
    plain = client.create_run(eid, run_name="plain")
    broken = client.create_run(eid, run_name="broken", tags={tags.FEATURE_SPEC: "gone@v1"})
    return root, summary, plain.info.run_id, broken.info.run_id


def lineage_rows(page: str) -> list[list[str]]:
    """Cells of the feature-lineage table's body rows, as text."""
    body = re.search(r'<table id="feature-lineage">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body is not None, "no feature-lineage table on the page"
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell))
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


def test_search_and_trial_pages_show_the_recorded_tables_versions_and_label_rows(searched):
    root, summary, _, _ = searched
    http = TestClient(create_app(UIConfig(root)))
    expected = [
        ["user_stats", "v2", "user", "t", "spend → user_spend", ""],
        ["user_region", "v1", "user", "", "score", "score = -1.0"],
    ]
    parent = http.get(f"/runs/{summary.parent_run_id}")
    assert parent.status_code == 200
    assert lineage_rows(parent.text) == expected
    note = re.search(r'<p id="feature-lineage-note">(.*?)</p>', parent.text, re.S).group(1)
    assert "Label column <code>y</code>" in note and "(120 rows)" in note
    assert "excluded columns t" in note and "parent run" not in note
    labels = re.search(r'href="(/runs/[^"]+/artifacts/feature_spec_labels\.parquet)"', note)
    download = http.get(labels.group(1))
    assert download.status_code == 200 and download.content[:4] == b"PAR1"
    # a trial's page shows its search's spec, with a link to the run that records it
    trial = http.get(f"/runs/{summary.best_trial.run_id}")
    assert lineage_rows(trial.text) == expected
    assert f'parent run <a href="/runs/{summary.parent_run_id}">' in trial.text


def test_runs_without_a_training_set_or_with_a_lost_spec(searched):
    root, _, plain, broken = searched
    http = TestClient(create_app(UIConfig(root)))
    page = http.get(f"/runs/{plain}")
    assert page.status_code == 200 and "Feature lineage" not in page.text
    page = http.get(f"/runs/{broken}")  # tag set, spec artifact missing: a note, not a 500
    assert page.status_code == 200
    assert 'id="feature-lineage-error"' in page.text and "feature_spec.json" in page.text


def test_a_plain_store_page_creates_no_feature_tables(tmp_path):
    root = str(tmp_path / "plain")
    client = tracking.TrackingClient(root)
    run = client.create_run(client.create_experiment("plain"), run_name="r")
    page = TestClient(create_app(UIConfig(root))).get(f"/runs/{run.info.run_id}")
    assert page.status_code == 200 and "Feature lineage" not in page.text
    names = sa.inspect(client.engine).get_table_names()
    assert not [n for n in names if n.startswith("features_")]


@contextlib.contextmanager
def ui_process(root: str) -> Iterator[str]:
    """An ``automl ui`` process on a free loopback port; its base URL once it accepts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "automl.cli", "ui", "--tracking-uri", root]
    server = subprocess.Popen([*command, "--port", str(port)])
    try:
        for _ in range(200):  # ~60 s
            assert server.poll() is None, f"automl ui exited with {server.returncode}"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.3)
        else:
            raise AssertionError("automl ui did not accept connections within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_chromium_shows_the_lineage_table_on_a_trial_page(searched):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    root, summary, _, _ = searched
    with ui_process(root) as base, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{base}/runs/{summary.best_trial.run_id}")
        table = page.locator("#feature-lineage")
        assert table.is_visible()
        cells = table.locator("tbody tr").all_inner_texts()
        browser.close()
    assert [c.split("\t")[:2] for c in cells] == [["user_stats", "v2"], ["user_region", "v1"]]
