"""automl ui, page by page as issue 14 lists them, through an ASGI test client on real stores.

A classify search on a frame whose column names are hostile strings (its header, notebooks and
alerts show them), a forecast search (its trial's forecast plot), and an experiment of trials in
every state written through ``tracking`` (state filter, paging, sorting by params and tags, the
differences compare marks). Also: strict query parameters, the registry's stage and
description forms, the access token, and the ``automl ui`` command's defaults.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime

import markupsafe
import numpy as np
import pandas as pd
import pytest
from search_fixtures import tracking_uri
from starlette.testclient import TestClient
from ui_fixtures import ui_process

import automl
import registry
import tracking
from automl.core.records import TrialState
from automl.ui import UIConfig, create_app

pytestmark = pytest.mark.xdist_group("ui")

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% raw %}"]
RAW = ("<script>alert", "<img src=x")  # what must never reach a page unescaped
STATES = (
    [TrialState.COMPLETE.value] * 24
    + [TrialState.PRUNED.value] * 3
    + [TrialState.KILLED.value] * 2
    + [TrialState.FAIL.value]  # what a failed trial is tagged with
)


def _hostile_frame(rows: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            HOSTILE[0]: rng.normal(size=rows),
            HOSTILE[1]: rng.normal(size=rows),
            HOSTILE[2]: 1.0,  # constant: dropped, with an alert naming the column
            HOSTILE[3]: rng.choice(["a", "b"], rows),
        }
    )
    frame["target"] = (frame[HOSTILE[0]] + 0.3 * rng.normal(size=rows) > 0).astype(int)
    return frame


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store with a classify search over hostile column names, a forecast search, and an
    experiment of 30 trials in every state (val_f1 = i / 100, model_family a/b, same = x)."""
    root = str(tmp_path_factory.mktemp("ui-pages"))
    with tracking_uri(root):
        summary = automl.classify(
            _hostile_frame(), target_col="target", max_trials=2, n_jobs=1, verbose=False
        )
        dates = pd.date_range("2020-01-01", periods=40, freq="D")
        series = pd.DataFrame({"date": dates, "sales": np.arange(40.0) % 7 + 1})
        forecast = automl.forecast(
            series, target_col="sales", time_col="date", max_trials=1, verbose=False
        )
    client = tracking.TrackingClient(root)
    eid = client.create_experiment("states")
    parent = client.create_run(eid, run_name="search")
    client.log_batch(
        parent.info.run_id,
        tags={
            "automl.role": "parent",
            "automl.task": "classification",
            "automl.primary_metric": "f1",
        },
        metrics={"val_f1": 0.29},
    )
    client.set_terminated(parent.info.run_id)
    trials: dict[str, str] = {}
    for i, state in enumerate(STATES):
        run = client.create_run(eid, run_name=f"t{i:02d}")
        client.log_batch(
            run.info.run_id,
            metrics={"val_f1": i / 100},
            params={"model_family": "ab"[i % 2], "same": "x"},
            tags={"automl.role": "trial", "automl.trial_state": state},
        )
        client.set_terminated(run.info.run_id)
        trials[run.info.run_id] = state
    return root, summary, forecast, eid, trials


@pytest.fixture()
def http(store):
    return TestClient(create_app(UIConfig(store[0])))


def _row_ids(text: str) -> list[str]:
    return re.findall(r'<tr data-run="(\w+)"', text)


def _unescaped(text: str) -> list[str]:
    return [r for r in RAW if r in text]


def test_experiments_page_searches_by_name_and_shows_each_summary(http, store):
    root, summary = store[:2]
    name = summary.experiment.name
    everything = http.get("/").text
    assert name in everything and ">states</a>" in everything
    found = http.get("/", params={"q": name[-12:]}).text
    assert name in found and ">states</a>" not in found
    row = re.search(rf">{re.escape(name)}</a></td>(.*?)</tr>", found, re.S).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    parent = tracking.TrackingClient(root).get_run(summary.parent_run_id)
    experiment = tracking.TrackingClient(root).get_experiment(summary.experiment.experiment_id)
    when = datetime.fromtimestamp(experiment.last_update_time / 1000, UTC)
    assert cells[1:] == [
        "classification",
        "f1",
        f"{parent.data.metrics['val_f1_score']:.5g}",
        when.strftime("%Y-%m-%d %H:%M:%S UTC"),
    ]
    assert int(cells[0]) == len(
        tracking.TrackingClient(root).search_runs([experiment.experiment_id])
    )
    for query in ("'", HOSTILE[1], "%"):  # a quote, markup, a LIKE wildcard: no 500
        page = http.get("/", params={"q": query})
        assert page.status_code == 200 and not _unescaped(page.text)
    assert ">states</a>" not in http.get("/", params={"q": "'"}).text


def test_leaderboard_header_summarises_the_search(http, store):
    root, summary = store[:2]
    page = http.get(f"/experiments/{summary.experiment.experiment_id}").text
    header = re.search(r'<section class="header".*?</section>', page, re.S).group(0)
    assert "<dd>classification</dd>" in header and "f1 (val_f1_score, higher is better)" in header
    budget = re.search(r'id="budget">([^<]*)<', header).group(1)
    assert re.fullmatch(r"\d+\.\d s wall, \d+ trials scored", budget), budget
    assert f"{summary.time_breakdown['wall']:.1f} s wall" == budget.split(",")[0]
    assert re.search(r'id="validation">cv, 5 folds; small dataset \(120 rows', header)
    # the alert about the dropped constant column names it, escaped
    assert "column &#39;{{ 7*7 }}&#39; dropped: constant" in header
    assert f'href="/runs/{summary.best_trial.run_id}"' in header
    version = summary.registered_model_version
    registered = re.search(r'id="registered">(.*?)</dd>', header, re.S).group(1)
    assert f'href="/registry#{version.name}">{version.name} v{version.version}</a>' in registered
    best = re.search(r'id="best-notebook" href="([^"]+)"', header).group(1)
    best_page = http.get(best.split("#")[0])
    assert best_page.status_code == 200 and 'id="notebook"' in best_page.text
    exploration = re.search(r'id="exploration-notebook" href="([^"]+)"', header).group(1)
    explored = http.get(exploration.replace("&amp;", "&").split("#")[0])
    assert explored.status_code == 200
    assert "<code>notebooks/data_exploration.ipynb</code>" in explored.text
    downloads = re.findall(r'href="(/runs/\w+/artifacts/notebooks/[^"]+)" download', header)
    assert len(downloads) == 2
    for link in downloads:
        assert "cells" in json.loads(http.get(link).content)


def test_hostile_column_names_are_escaped_on_every_page(http, store):
    summary = store[1]
    best = summary.best_trial.run_id
    parent = summary.parent_run_id
    pages = {
        "leaderboard": f"/experiments/{summary.experiment.experiment_id}",
        "run": f"/runs/{best}",
        "exploration": f"/runs/{parent}?notebook=notebooks/data_exploration.ipynb",
        "compare": f"/compare?run={best}&run={summary.all_trials[0].run_id}",
        "registry": "/registry",
    }
    for name, path in pages.items():
        page = http.get(path)
        assert page.status_code == 200, name
        assert not _unescaped(page.text), name
    notebook = http.get(pages["run"]).text
    for column in HOSTILE:  # the trial notebook's code names the columns: escaped, literal
        assert str(markupsafe.escape(column)) in notebook, column


def test_hostile_model_names_are_escaped_on_the_registry_page(http, store):
    name = HOSTILE[1] + HOSTILE[2] + HOSTILE[3]  # registry names may not contain '/'
    registry.RegistryClient(store[0]).create_registered_model(name, description=HOSTILE[0])
    page = http.get("/registry").text
    assert not _unescaped(page)
    assert "{{ 7*7 }}{% raw %}" in page and "&lt;script&gt;" in page


def test_state_filter_shows_the_trials_in_that_state(http, store):
    eid, trials = store[3], store[4]
    labels = {TrialState.FAIL.value: "FAILED"}
    for state in ("COMPLETE", "PRUNED", "KILLED", "FAILED"):
        page = http.get(f"/experiments/{eid}", params={"state": state, "page_size": 50}).text
        expected = {i for i, s in trials.items() if labels.get(s, s) == state}
        assert set(_row_ids(page)) == expected, state
        states = re.findall(r'<tr data-run="\w+">.*?</td>\s*<td>.*?</td><td>(\w+)</td>', page, re.S)
        assert set(states) == {state}


def test_paging_is_done_on_the_server(http, store):
    eid, trials = store[3], store[4]
    first = http.get(f"/experiments/{eid}", params={"page_size": 25}).text
    ids = _row_ids(first)
    assert len(ids) == 25
    following = re.search(r'id="next-page" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = http.get(following).text
    rest = _row_ids(second)
    assert len(rest) == 5 and 'id="next-page"' not in second
    assert set(ids) | set(rest) == set(trials) and not set(ids) & set(rest)  # no parent run
    client = tracking.TrackingClient(store[0])
    scores = [client.get_run(i).data.metrics["val_f1"] for i in ids + rest]
    assert scores == sorted(scores, reverse=True)  # the primary metric's order across pages
    garbage = http.get(f"/experiments/{eid}", params={"page_token": "garbage"})
    assert garbage.status_code == 400 and "page_token: &#39;garbage&#39;" in garbage.text


def test_sort_by_a_param_and_by_a_tag(http, store):
    eid = store[3]
    client = tracking.TrackingClient(store[0])
    for column, read in (
        ("params.model_family", lambda r: r.data.params["model_family"]),
        ("tags.automl.trial_state", lambda r: r.data.tags["automl.trial_state"]),
    ):
        for direction in ("asc", "desc"):
            page = http.get(
                f"/experiments/{eid}",
                params={"sort": column, "dir": direction, "page_size": 50},
            ).text
            values = [read(client.get_run(i)) for i in _row_ids(page)]
            assert len(values) == 30
            assert values == sorted(values, reverse=direction == "desc"), (column, direction)


def test_compare_marks_only_the_rows_that_differ(http, store):
    trials = list(store[4])
    page = http.get("/compare", params=[("run", trials[0]), ("run", trials[2])]).text
    marks = {label: css for css, label in re.findall(r'<tr class="(\w*)"><th>([^<]+)</th>', page)}
    assert marks == {"params.model_family": "", "params.same": "", "metrics.val_f1": "differs"}
    data = json.loads(re.search(r'id="compare-data">(.*?)</script>', page).group(1))
    assert data["params"] == ["model_family", "same"] and data["metrics"] == ["val_f1"]
    assert 'id="scatter-x"' in page and 'id="parcoords"' in page


def test_compare_refuses_bad_picks_naming_them(http, store):
    trials = list(store[4])
    too_many = http.get("/compare", params=[("run", trials[0])] * 51)
    assert too_many.status_code == 400 and "run: pick 2 to 50 runs (got 51)" in too_many.text
    unknown = "f" * 32
    missing = http.get("/compare", params=[("run", trials[0]), ("run", unknown)])
    assert missing.status_code == 404 and unknown in missing.text
    bad_key = http.get(
        "/compare", params=[("run", trials[0]), ("run", trials[1]), ("history", "nope")]
    )
    assert bad_key.status_code == 400 and "history" in bad_key.text and "nope" in bad_key.text
    bogus = http.get("/compare", params=[("run", trials[0]), ("run", trials[1]), ("bogus", "1")])
    assert bogus.status_code == 400 and "bogus: unknown query parameter" in bogus.text


def test_forecasting_trials_show_their_forecast_plot(http, store):
    forecast = store[2]
    page = http.get(f"/runs/{forecast.best_trial.run_id}").text
    plot = re.search(r'<img class="plot" alt="plots/test_forecast.png" src="([^"]+)"', page)
    assert plot, "no forecast plot on a forecasting trial's page"
    assert http.get(plot.group(1)).content.startswith(b"\x89PNG")
    board = http.get(f"/experiments/{forecast.experiment.experiment_id}").text
    assert re.search(r'id="validation">rolling-origin backtest, horizon 1<', board)


def test_artifact_browser_lists_folders_and_downloads_files(http, store):
    best = store[1].best_trial.run_id
    top = http.get(f"/runs/{best}").text
    assert f'href="/runs/{best}?path=plots">plots/</a>' in top
    folder = http.get(f"/runs/{best}", params={"path": "plots"}).text
    files = re.findall(rf'href="(/runs/{best}/artifacts/plots/[^"]+\.png)" download', folder)
    assert files
    for link in files:
        assert http.get(link).content.startswith(b"\x89PNG")
    download = re.search(r'id="notebook-download" href="([^"]+)"', top).group(1)
    assert download.endswith(".ipynb") and "cells" in json.loads(http.get(download).content)
    snippet = re.search(r'<pre class="snippet" id="snippet">(.*?)</pre>', top, re.S).group(1)
    assert 'id="copy-snippet"' in top
    namespace: dict = {}
    with tracking_uri(store[0]):
        exec(
            snippet.replace("&#34;", '"').replace("&quot;", '"'), namespace
        )  # the snippet loads it
    assert hasattr(namespace["model"], "predict")


def test_unknown_query_params_and_paths_get_400_naming_them(http, store):
    best = store[1].best_trial.run_id
    for path, name in (
        ("/?bogus=1", "bogus"),
        (f"/runs/{best}?bogus=1", "bogus"),
        ("/registry?bogus=1", "bogus"),
        (f"/runs/{best}?notebook=../../x.ipynb", "notebook"),
        (f"/runs/{best}?path=../..", "path"),
        (f"/experiments/{store[3]}?sort=nothing", "sort"),
        (f"/experiments/{store[3]}?dir=up", "dir"),
        (f"/experiments/{store[3]}/table?page_size=x", "page_size"),
    ):
        page = http.get(path)
        assert page.status_code == 400, path
        assert f"{name}:" in page.text, path
    for path in ("/experiments/nope", "/runs/nope", f"/runs/{best}/artifacts/none.txt"):
        assert http.get(path).status_code == 404, path


def test_stage_and_description_forms_need_csrf_and_record_history(http, store):
    version = store[1].registered_model_version
    page = http.get("/registry").text
    row = re.search(
        rf'<tr data-version="{version.version}">.*?</tr>',
        page.split(f'id="{version.name}"')[1],
        re.S,
    ).group(0)
    assert f'<a href="/runs/{version.run_id}">' in row  # the source run
    assert f"<td>{version.tags['trained_on']}</td>" in row and "<td>None</td>" in row  # stage
    assert all(f"{k}={v:.5g}" in row for k, v in version.metrics.items())
    forms = re.findall(r'<form method="post"[^>]*>', page)
    assert forms and all("return confirm(" in f for f in forms)  # each form asks first
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    base = {"name": version.name, "version": str(version.version)}
    stage = {**base, "stage": "Staging", "comment": "from the ui"}
    models = registry.RegistryClient(store[0])
    before = models.get_model_version(version.name, version.version).current_stage
    for token in (None, "wrong"):
        data = stage if token is None else {**stage, "csrf_token": token}
        assert http.post("/registry/stage", data=data).status_code == 403
    assert models.get_model_version(version.name, version.version).current_stage == before
    done = http.post("/registry/stage", data={**stage, "csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert models.get_model_version(version.name, version.version).current_stage == "Staging"
    history = models.get_model_version_history(version.name, version.version)
    assert any(
        e.to_value == "Staging" and e.user == "ui" and e.comment == "from the ui" for e in history
    )
    text = HOSTILE[0] + " reviewed"
    described = http.post(
        "/registry/description", data={**base, "description": text, "csrf_token": csrf}
    )
    assert described.status_code == 200  # redirected back to the registry page
    assert models.get_model_version(version.name, version.version).description == text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; reviewed" in described.text
    wrong = http.post("/registry/stage", data={**base, "stage": "Nowhere", "csrf_token": csrf})
    assert wrong.status_code == 400 and "Nowhere" in wrong.text


def test_the_token_guards_every_route(store):
    http = TestClient(create_app(UIConfig(store[0], token="s3cret")))
    for method, path in (("get", "/"), ("get", "/static/app.js"), ("post", "/registry/alias")):
        assert getattr(http, method)(path).status_code == 401, path
        wrong = {"Authorization": "Bearer nope"}
        assert getattr(http, method)(path, headers=wrong).status_code == 401, path
    assert http.get("/static/app.js", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_binding_off_loopback_without_a_token_is_refused():
    done = subprocess.run(
        [sys.executable, "-m", "automl.cli", "ui", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "--token" in done.stderr


def test_automl_ui_shows_the_store_classify_writes_to_by_default(tmp_path):
    """The conftest runs each test in its own folder: classify with no URI writes to its
    ./automl-runs, and ``automl ui`` started there with no --tracking-uri shows that search."""
    summary = automl.classify(
        _hostile_frame(60), target_col="target", max_trials=1, n_jobs=1, verbose=False
    )
    with ui_process(None, cwd=str(tmp_path)) as base:
        home = urllib.request.urlopen(base + "/").read().decode()
        eid = summary.experiment.experiment_id
        board = urllib.request.urlopen(f"{base}/experiments/{eid}").read().decode()
    assert summary.experiment.name in home
    assert summary.best_trial.run_id in board
