"""automl ui in a real Chromium (Debian's, driven by Playwright) against a real server process."""

from __future__ import annotations

import os

import pytest
from ui_fixtures import (
    add_trial,
    chromium,
    classify_store,
    require_chromium,
    start_live_search,
    ui_process,
)

import registry
import tracking
from registry import approvals

pytestmark = pytest.mark.xdist_group("ui")
SCREENSHOTS = os.environ.get("AUTOML_UI_SCREENSHOTS")  # folder to save README pictures into
REFRESH = 1  # seconds between the runs table's refreshes while a search runs


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One small classify experiment and one `automl ui` process serving it."""
    require_chromium()  # skips before the search when there is none
    root = str(tmp_path_factory.mktemp("ui-browser"))
    summary = classify_store(root)
    with ui_process(root, "--refresh-seconds", str(REFRESH)) as base, chromium() as browser:
        yield base, summary, browser, root


@pytest.fixture()
def page(server):
    """A Chromium tab; the test fails on any JavaScript console error and on any request that
    leaves the server (nothing may come from a CDN or the internet)."""
    base, browser = server[0], server[2]
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith((base + "/", "data:")) else elsewhere.append(r.url),
    )
    yield page
    page.close()
    assert errors == [], f"JavaScript console errors: {errors}"
    assert elsewhere == [], f"requests outside the server: {elsewhere}"


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=False)


def test_leaderboard_sort_and_filter(server, page):
    base, summary = server[:2]
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
    base, summary = server[:2]
    page.goto(f"{base}/runs/{summary.best_trial.run_id}")
    shap_width = page.locator("#shap-chart").evaluate("img => img.naturalWidth")
    assert shap_width > 0
    assert page.locator("#notebook .nb-code").count() > 0
    _shot(page, "run")
    page.click("#copy-snippet")  # copied, or selected for Ctrl+C where the clipboard is closed
    page.wait_for_function("() => document.getElementById('copy-snippet').textContent !== 'Copy'")
    selected = page.evaluate("() => window.getSelection().toString()")
    assert f'automl.load_model("runs:/{summary.best_trial.run_id}/model")' in selected


def test_compare_two_runs_draws_parallel_coordinates(server, page):
    base, summary = server[:2]
    page.goto(f"{base}/experiments/{summary.experiment.experiment_id}")
    boxes = page.locator('#runs input[name="run"]')
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#compare-form button")
    page.wait_for_selector("#parcoords .parcoords")
    assert page.locator("#compare tr").count() > 2
    page.locator("#parcoords").scroll_into_view_if_needed()
    _shot(page, "compare")
    assert page.locator("#scatter .main-svg").count() > 0


def test_compare_overlays_histories_and_scatters_the_chosen_metric(server, page):
    base, summary, _, root = server
    client = tracking.TrackingClient(root)
    ids = []
    for slope in (1.0, 2.0):  # two runs with 20-point histories of the metric compared
        run = client.create_run(summary.experiment.experiment_id, run_name=f"curve-{slope}")
        points = [tracking.Metric("val_curve", slope * s, 0, s) for s in range(20)]
        points.append(tracking.Metric("val_other", -slope, 0, 0))
        client.log_batch(run.info.run_id, metrics=points, params={"lr": str(slope)})
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    page.goto(f"{base}/compare?run={ids[0]}&run={ids[1]}&history=val_curve")
    page.wait_for_selector("#overlay .main-svg")
    assert page.locator("#overlay .scatterlayer .trace").count() == 2
    page.wait_for_selector("#scatter .main-svg")
    assert page.locator("#scatter .xtitle").text_content() == "lr"
    assert page.locator("#scatter .ytitle").text_content() == "val_curve"
    page.select_option("#scatter-y", "val_other")  # the chosen metric is drawn
    page.wait_for_function(
        "() => document.querySelector('#scatter .ytitle')?.textContent === 'val_other'"
    )


def test_move_an_alias_and_see_its_history(server, page):
    base, summary, root = server[0], server[1], server[3]
    version = summary.registered_model_version
    page.goto(f"{base}/registry")
    asked: list[str] = []
    answer = {"accept": False}

    def confirm(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if answer["accept"] else dialog.dismiss()

    page.on("dialog", confirm)
    form = page.locator('form[action="/registry/alias"]').first
    form.locator('input[name="alias"]').fill("champion")
    form.locator("button").click()  # declined: nothing is sent
    page.wait_for_timeout(500)
    models = registry.RegistryClient(root)
    assert asked and "champion" not in models.get_registered_model(version.name).aliases
    answer["accept"] = True
    form.locator("button").click()
    page.wait_for_url(f"{base}/registry")
    assert len(asked) == 2 and asked[1].startswith("Move this alias to version")
    row = page.locator(f'tr[data-version="{version.version}"]').first
    assert "champion" in row.locator(".aliases").inner_text()
    assert "alias 'champion' set on version" in row.locator(".history").inner_text()


def _cols(page) -> list[str]:
    return page.locator("#runs th[data-col]").evaluate_all("(hs) => hs.map(h => h.dataset.col)")


def test_column_chooser_is_applied_and_remembered(server, page):
    base, summary = server[:2]
    board = f"{base}/experiments/{summary.experiment.experiment_id}"
    page.goto(board)
    assert "metrics.val_log_loss" in _cols(page) and "tags.automl.role" not in _cols(page)
    page.click("#column-chooser summary")
    page.uncheck('#column-chooser input[value="metrics.val_log_loss"]')
    page.check('#column-chooser input[value="tags.automl.role"]')
    page.click("#apply-columns")
    page.wait_for_url("**columns=**")
    chosen = _cols(page)
    assert "metrics.val_log_loss" not in chosen and "tags.automl.role" in chosen
    assert "trial" in page.locator("#runs tbody").inner_text()
    page.goto(board)  # no columns in the URL: localStorage brings them back
    page.wait_for_url("**columns=**")
    assert _cols(page) == chosen
    page.click("#column-chooser summary")
    page.click("#reset-columns")
    page.wait_for_function("() => !location.search.includes('columns=')")
    assert "metrics.val_log_loss" in _cols(page) and "tags.automl.role" not in _cols(page)


def test_running_search_refreshes_itself_until_it_finishes(server, page):
    base, root = server[0], server[3]
    client = tracking.TrackingClient(root)
    eid, parent = start_live_search(client, "live-browser")
    add_trial(client, eid, "trial-0", 0.5)
    page.goto(f"{base}/experiments/{eid}")
    page.wait_for_selector("#best-chart .main-svg")
    assert "search running" in page.locator("#live-status").inner_text()
    page.evaluate("() => { window.notReloaded = true; }")
    page.locator('#runs input[name="run"]').first.check()
    new = add_trial(client, eid, "trial-1", 0.9)
    page.wait_for_selector(f'#runs tr[data-run="{new}"]', timeout=30_000)
    assert page.evaluate("() => window.notReloaded") is True  # swapped in, not reloaded
    assert page.locator('#runs input[name="run"]:checked').count() == 1  # ticks survive
    page.wait_for_function(
        "() => JSON.parse(document.getElementById('best-data').textContent).trials === 2"
    )
    assert page.locator("#best-chart .main-svg").count() > 0
    client.set_terminated(parent)
    page.wait_for_function(
        "() => document.getElementById('live-status').textContent.includes('finished')",
        timeout=30_000,
    )
    assert page.locator("#runs-table").get_attribute("hx-trigger") is None
    late = add_trial(client, eid, "trial-late", 0.95)
    page.wait_for_timeout(4 * REFRESH * 1000)  # several refresh periods: nothing polls any more
    assert page.locator(f'#runs tr[data-run="{late}"]').count() == 0
    assert page.evaluate("() => window.notReloaded") is True


def test_approve_a_pending_request_in_the_registry(server, page):
    base, summary, root = server[0], server[1], server[3]
    version = summary.registered_model_version
    request = approvals.request_transition(
        version.name, version.version, "approved-alias", "ready", user="alice", tracking_uri=root
    )
    page.goto(f"{base}/registry")
    row = page.locator(f'tr[data-request="{request.id}"]')
    assert "approved-alias" in row.inner_text() and "alice" in row.inner_text()
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
    form = row.locator("form.approve")
    form.locator('input[name="user"]').fill("bob")
    form.locator('input[name="comment"]').fill("looks good")
    form.locator("button").click()
    page.wait_for_url(f"{base}/registry")
    assert asked == [
        f"Approve request #{request.id} and move approved-alias to version {version.version}?"
    ]
    assert page.locator(f'tr[data-request="{request.id}"]').count() == 0
    version_row = page.locator(f'tr[data-version="{version.version}"]').first
    assert "approved-alias" in version_row.locator(".aliases").inner_text()
    history = version_row.locator(".history").inner_text()
    assert "bob: transition_approved: looks good" in history
