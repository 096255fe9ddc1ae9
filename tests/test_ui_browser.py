"""automl ui in a real Chromium (Debian's, driven by Playwright) against a real server process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from sklearn.datasets import load_breast_cancer

import automl
import tracking

pytestmark = pytest.mark.xdist_group("ui")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("AUTOML_UI_SCREENSHOTS")  # folder to save README pictures into


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One small classify experiment and one `automl ui` process serving it."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    root = str(tmp_path_factory.mktemp("ui-browser"))
    tracking.set_tracking_uri(root)
    try:
        frame = load_breast_cancer(as_frame=True).frame.head(200)
        summary = automl.classify(
            frame, target_col="target", timeout_minutes=0.15, max_trials=3, n_jobs=1
        )
        client = tracking.TrackingClient(root)
        for loss in (0.9, 0.1, 0.5):  # rows to sort beyond what a tiny budget finishes
            run = client.create_run(summary.experiment.experiment_id, run_name=f"extra-{loss}")
            client.log_batch(run.info.run_id, metrics={"val_log_loss": loss})
            client.set_terminated(run.info.run_id)
    finally:
        tracking.set_tracking_uri(None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "automl.cli", "ui", "--tracking-uri", root, "--port", str(port)]
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=2)
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.3)
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield base, summary, browser
        browser.close()
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture()
def page(server):
    _, _, browser = server
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    page.close()
    assert errors == [], f"JavaScript console errors: {errors}"


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=False)


def test_leaderboard_sort_and_filter(server, page):
    base, summary, _ = server
    page.goto(f"{base}/experiments/{summary.experiment.experiment_id}")
    assert page.locator("#runs tbody tr").count() >= 4
    page.wait_for_selector("#best-chart .main-svg")
    _shot(page, "leaderboard")
    page.click('th[data-col="metrics.val_log_loss"] a.sort')
    page.wait_for_load_state()
    column = page.locator("th[data-col]").evaluate_all(
        "(hs) => hs.map(h => h.dataset.col).indexOf('metrics.val_log_loss')"
    )
    cells = page.locator(f"#runs tbody tr td:nth-child({column + 4})").all_inner_texts()
    values = [float(c) for c in cells if c.strip()]
    assert values == sorted(values, reverse=True) and len(values) >= 4
    page.fill('input[name="filter"]', "metrics.val_log_loss < 0.6")
    page.click("#filters button")
    page.wait_for_load_state()
    assert "extra-0.9" not in page.locator("#runs").inner_text()
    assert "extra-0.1" in page.locator("#runs").inner_text()
    page.fill('input[name="filter"]', "metrics.val_log_loss <")
    page.click("#filters button")
    assert "^" in page.locator("#filter-error").inner_text()


def test_run_page_renders_shap_and_notebook(server, page):
    base, summary, _ = server
    page.goto(f"{base}/runs/{summary.best_trial.run_id}")
    shap_width = page.locator("#shap-chart").evaluate("img => img.naturalWidth")
    assert shap_width > 0
    assert page.locator("#notebook .nb-code").count() > 0
    _shot(page, "run")


def test_compare_two_runs_draws_parallel_coordinates(server, page):
    base, summary, _ = server
    page.goto(f"{base}/experiments/{summary.experiment.experiment_id}")
    boxes = page.locator('#runs input[name="run"]')
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#compare-form button")
    page.wait_for_selector("#parcoords .parcoords")
    assert page.locator("#compare tr").count() > 2
    page.locator("#parcoords").scroll_into_view_if_needed()
    _shot(page, "compare")


def test_move_an_alias_and_see_its_history(server, page):
    base, summary, _ = server
    version = summary.registered_model_version
    page.goto(f"{base}/registry")
    page.on("dialog", lambda d: d.accept())
    form = page.locator('form[action="/registry/alias"]').first
    form.locator('input[name="alias"]').fill("champion")
    form.locator("button").click()
    page.wait_for_url(f"{base}/registry")
    row = page.locator(f'tr[data-version="{version.version}"]').first
    assert "champion" in row.locator(".aliases").inner_text()
    assert "alias 'champion' set on version" in row.locator(".history").inner_text()
