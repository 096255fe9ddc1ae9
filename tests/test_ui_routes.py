"""automl ui routes through an ASGI test client, on a real store holding a real classify run."""

from __future__ import annotations

import html
import json
import os
import re

import pytest
from sklearn.datasets import load_breast_cancer
from starlette.testclient import TestClient
from ui_fixtures import add_trial, classify_store, start_live_search

import automl
import registry
import tracking
from automl.ui import UIConfig, create_app, ui_hint
from automl.ui.cli import check_bind
from registry import approvals

pytestmark = pytest.mark.xdist_group("ui")
pytest_plugins = ["tracking_fixtures"]

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% raw %}"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store with a small classify experiment and a run full of hostile names."""
    root = str(tmp_path_factory.mktemp("ui-store"))
    summary = classify_store(root)
    client = tracking.TrackingClient(root)
    hostile_exp = client.create_experiment(HOSTILE[0] + HOSTILE[2])
    run = client.create_run(hostile_exp, run_name=HOSTILE[1])
    client.log_batch(
        run.info.run_id,
        params={h.replace("/", "|"): h for h in HOSTILE},
        tags={"t" + str(i): h for i, h in enumerate(HOSTILE)},
        metrics={"loss": 1.0},
    )
    client.log_batch(
        run.info.run_id,
        metrics=[tracking.Metric("curve", float(s % 97), 0, s) for s in range(5000)],
    )
    client.log_text(run.info.run_id, "inside", "notes/a.txt")
    os.symlink("/etc/passwd", os.path.join(run.info.artifact_uri, "notes", "link"))
    client.set_terminated(run.info.run_id)
    return root, summary, run.info.run_id


@pytest.fixture()
def http(store):
    return TestClient(create_app(UIConfig(store[0])))


def test_experiments_and_leaderboard_show_the_classify_run(http, store):
    _, summary, _ = store
    home = http.get("/")
    assert home.status_code == 200 and summary.experiment.name in home.text
    eid = summary.experiment.experiment_id
    runs = tracking.TrackingClient(store[0]).search_runs([eid], max_results=1000)
    shown = re.search(rf'href="/experiments/{eid}">[^<]*</a></td><td class="num">(\d+)<', home.text)
    assert int(shown.group(1)) == len(runs)  # counted in SQL, parent and extra runs included
    page = http.get(f"/experiments/{summary.experiment.experiment_id}")
    assert page.status_code == 200
    assert summary.best_trial.run_id in page.text
    assert "classification" in page.text and "val_f1_score" in page.text
    version = summary.registered_model_version
    registered = re.search(r'id="registered">(.*?)</dd>', page.text, re.S).group(1)
    assert f">{version.name} v{version.version}</a>" in registered


def test_sort_orders_rows_by_the_metric(http, store):
    _, summary, _ = store
    eid = summary.experiment.experiment_id
    for direction in ("asc", "desc"):
        page = http.get(f"/experiments/{eid}?sort=metrics.val_log_loss&dir={direction}")
        ids = re.findall(r'<tr data-run="(\w+)"', page.text)
        client = tracking.TrackingClient(store[0])
        metrics = [client.get_run(i).data.metrics for i in ids]
        # runs without the metric (a trial killed at the deadline) have nothing to sort by
        losses = [m["val_log_loss"] for m in metrics if "val_log_loss" in m]
        assert len(losses) >= 4
        assert losses == sorted(losses, reverse=direction == "desc")


def test_filter_uses_the_search_grammar_and_shows_caret_errors(http, store):
    _, summary, _ = store
    eid = summary.experiment.experiment_id
    best = summary.best_trial
    family = best.params.get("model_family") or next(iter(best.params.values()))
    page = http.get(f"/experiments/{eid}", params={"filter": f"params.model_family = '{family}'"})
    ids = set(re.findall(r'<tr data-run="(\w+)"', page.text))
    assert best.run_id in ids
    assert all(
        tracking.TrackingClient(store[0]).get_run(i).data.params["model_family"] == family
        for i in ids
    )
    bad = http.get(f"/experiments/{eid}", params={"filter": "metrics.val_f1_score >"})
    assert bad.status_code == 200
    assert 'id="filter-error"' in bad.text and "^" in bad.text


def test_bad_query_params_get_400_naming_them_and_unknown_ids_404(http, store):
    eid = store[1].experiment.experiment_id
    bad = http.get(f"/experiments/{eid}?state=DONE&page_size=7&bogus=1")
    assert bad.status_code == 400
    for name in ("state", "page_size", "bogus"):
        assert name in bad.text
    assert http.get("/experiments/424242").status_code == 404
    assert http.get("/runs/0123456789abcdef0123456789abcdef").status_code == 404
    assert http.get("/compare?run=" + store[1].best_trial.run_id).status_code == 400


def test_run_page_shows_shap_plots_notebook_and_snippet(http, store):
    best = store[1].best_trial
    page = http.get(f"/runs/{best.run_id}")
    assert page.status_code == 200
    assert 'id="shap-chart"' in page.text and 'id="notebook"' in page.text
    assert f"runs:/{best.run_id}/model" in page.text
    image = re.search(r'id="shap-chart"[^>]* src="([^"]+)"', page.text).group(1)
    assert http.get(image).content.startswith(b"\x89PNG")


def test_hostile_names_are_escaped_everywhere(http, store):
    run_id = store[2]
    texts = [http.get("/").text, http.get(f"/runs/{run_id}").text]
    eid = tracking.TrackingClient(store[0]).get_run(run_id).info.experiment_id
    texts.append(http.get(f"/experiments/{eid}").text)
    for text in texts:  # experiments (its name), run (params, tags, name), leaderboard (columns)
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;" in text and "{{ 7*7 }}" in text  # shown, escaped, not evaluated
    assert "{% raw %}" in texts[1] and "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in texts[1]


def test_long_history_is_downsampled_and_says_so(http, store):
    page = http.get(f"/runs/{store[2]}")
    assert "5000 points, downsampled to" in page.text
    charts = re.findall(r"data-series='([^']+)'", page.text)
    curve = next(json.loads(c) for c in map(html.unescape, charts) if '"curve"' in c)
    assert 2 < len(curve["y"]) < 5000  # drawn from fewer points, spanning the whole history
    assert min(curve["y"]) == 0.0 and max(curve["y"]) == 96.0  # every bucket's extremes kept
    assert curve["x"][0] == 0 and curve["x"][-1] == 4999


def test_artifact_downloads_stay_inside_the_run_folder(http, store):
    run_id = store[2]
    assert http.get(f"/runs/{run_id}/artifacts/notes/a.txt").text == "inside"
    for path in (
        "..%2F..%2Fsecret",
        "%2e%2e/%2e%2e/x",
        "%252e%252e/x",
        "notes/link",
        "/etc/passwd",
    ):
        response = http.get(f"/runs/{run_id}/artifacts/{path}")
        assert response.status_code == 400, path  # refused, not merely not found
        assert "path:" in response.text and "root:" not in response.text


def test_compare_marks_differences(http, store):
    ids = [store[1].best_trial.run_id, store[2]]
    page = http.get("/compare", params=[("run", i) for i in ids])
    assert page.status_code == 200
    assert 'class="differs"' in page.text and 'id="parcoords"' in page.text


def test_registry_alias_move_needs_csrf_and_records_history(http, store):
    version = store[1].registered_model_version
    page = http.get("/registry")
    assert version.name in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"name": version.name, "version": str(version.version), "alias": "staging-ui"}
    refused = http.post("/registry/alias", data=form, follow_redirects=False)
    assert refused.status_code == 403
    done = http.post("/registry/alias", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    models = registry.RegistryClient(store[0])
    assert models.get_model_version_by_alias(version.name, "staging-ui").version == version.version
    history = models.get_model_version_history(version.name, version.version)
    assert any(e.alias == "staging-ui" for e in history)
    assert "staging-ui" in http.get("/registry").text


def test_read_only_hides_forms_and_refuses_posts(store):
    http = TestClient(create_app(UIConfig(store[0], read_only=True)))
    assert '<form method="post"' not in http.get("/registry").text
    assert http.post("/registry/alias", data={"name": "x"}).status_code == 403


def test_token_is_required_on_every_request(store):
    http = TestClient(create_app(UIConfig(store[0], token="s3cret")))
    assert http.get("/").status_code == 401
    assert http.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert http.get("/?token=s3cret").status_code == 200  # sets the cookie, then redirects
    with pytest.raises(ValueError, match="--token"):
        check_bind("0.0.0.0", None)
    check_bind("127.0.0.1", None)


def test_ui_hint_names_the_store_and_links_the_experiment(store):
    root, summary, _ = store
    hint = ui_hint(summary.experiment.name, root)
    assert f"automl ui --tracking-uri {root}" in hint
    assert hint.endswith(f"/experiments/{summary.experiment.experiment_id}")
    assert ui_hint("not there", root).endswith("/?q=not%20there")


def _header_cols(text: str) -> list[str]:
    return re.findall(r'<th data-col="([^"]+)"', text)


def test_column_chooser_shows_the_chosen_columns_only(http, store):
    eid = store[1].experiment.experiment_id
    default = http.get(f"/experiments/{eid}").text
    assert "metrics.val_log_loss" in _header_cols(default)
    assert not any(c.startswith("tags.") for c in _header_cols(default))
    assert 'value="tags.automl.role"' in default  # offered in the chooser
    chosen = http.get(
        f"/experiments/{eid}", params={"columns": "metrics.val_log_loss,tags.automl.role"}
    )
    assert _header_cols(chosen.text) == ["metrics.val_log_loss", "tags.automl.role"]
    assert ">trial</td>" in chosen.text  # the tag's values are shown
    sort_links = re.findall(r'class="sort" href="([^"]+)"', chosen.text)
    assert all("columns=metrics.val_log_loss%2Ctags.automl.role" in h for h in sort_links)
    bad = http.get(f"/experiments/{eid}", params={"columns": "metrics.x,val_log_loss"})
    assert bad.status_code == 400 and "columns" in bad.text and "val_log_loss" in bad.text


def test_table_refreshes_while_the_search_runs_and_stops_after(store):
    root = store[0]
    client = tracking.TrackingClient(root)
    eid, parent = start_live_search(client, "live-routes")
    add_trial(client, eid, "trial-0", 0.6)
    http = TestClient(create_app(UIConfig(root, refresh_seconds=2)))
    page = http.get(f"/experiments/{eid}")
    assert 'hx-trigger="every 2s"' in page.text and "search running" in page.text
    poll = re.search(r'hx-get="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    new = add_trial(client, eid, "trial-1", 0.8)
    table = http.get(poll)
    assert f'data-run="{new}"' in table.text and 'hx-trigger="every' in table.text
    best = json.loads(re.search(r'id="best-data">(.*?)</script>', table.text).group(1))
    assert best["y"] == [0.6, 0.8] and best["trials"] == 2
    client.set_terminated(parent)
    done = http.get(poll)
    assert "hx-trigger" not in done.text and "search finished" in done.text


def _request(store, target: str, user: str = "alice") -> int:
    version = store[1].registered_model_version
    return approvals.request_transition(
        version.name, version.version, target, "please", user=user, tracking_uri=store[0]
    ).id


def _csrf(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def test_pending_requests_are_approved_or_rejected_from_the_registry_page(http, store):
    version = store[1].registered_model_version
    approve_id, reject_id = _request(store, "champion-req"), _request(store, "Production")
    page = http.get("/registry")
    for request_id in (approve_id, reject_id):
        assert f'data-request="{request_id}"' in page.text
    assert 'action="/registry/approve"' in page.text and 'action="/registry/reject"' in page.text
    form = {"name": version.name, "request_id": str(approve_id), "user": "bob"}
    assert http.post("/registry/approve", data=form).status_code == 403  # no CSRF token
    self_approval = http.post(
        "/registry/approve", data={**form, "user": "alice", "csrf_token": _csrf(page.text)}
    )
    assert self_approval.status_code == 400 and "cannot approve" in self_approval.text
    done = http.post(
        "/registry/approve",
        data={**form, "comment": "ok", "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    models = registry.RegistryClient(store[0])
    assert models.get_model_version_by_alias(version.name, "champion-req").version == (
        version.version
    )
    stage_before = models.get_model_version(version.name, version.version).current_stage
    rejected = http.post(
        "/registry/reject",
        data={**form, "request_id": str(reject_id), "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert rejected.status_code == 303
    assert models.get_model_version(version.name, version.version).current_stage == stage_before
    statuses = {
        r.id: r.status
        for r in approvals.list_transition_requests(version.name, tracking_uri=store[0])
    }
    assert statuses[approve_id] == "approved" and statuses[reject_id] == "rejected"
    after = http.get("/registry").text
    assert f'data-request="{approve_id}"' not in after
    assert f'data-request="{reject_id}"' not in after
    history = models.get_model_version_history(version.name, version.version)
    assert any(e.event == approvals.EVENT_APPROVED and e.user == "bob" for e in history)


def test_read_only_shows_requests_but_refuses_decisions(store):
    request_id = _request(store, "ro-req")
    http = TestClient(create_app(UIConfig(store[0], read_only=True)))
    page = http.get("/registry").text
    assert f'data-request="{request_id}"' in page and "/registry/approve" not in page
    refused = http.post("/registry/approve", data={"request_id": str(request_id), "user": "bob"})
    assert refused.status_code == 403
    assert approvals.ApprovalStore(registry.RegistryClient(store[0])).get(request_id).status == (
        "pending"
    )


def test_every_page_works_on_each_backend(store_uri):
    """The same pages on SQLite and PostgreSQL (skipped without AUTOML_TEST_POSTGRES_URL)."""
    tracking.set_tracking_uri(store_uri)
    try:
        frame = load_breast_cancer(as_frame=True).frame.head(150)
        summary = automl.classify(
            frame, target_col="target", timeout_minutes=0.1, max_trials=2, n_jobs=1
        )
    finally:
        tracking.set_tracking_uri(None)
    http = TestClient(create_app(UIConfig(store_uri)))
    eid = summary.experiment.experiment_id
    client = tracking.TrackingClient(store_uri)
    for loss in (0.7, 0.2):  # rows to sort and compare beyond what the tiny budget finishes
        extra = client.create_run(eid, run_name=f"extra-{loss}")
        client.log_batch(extra.info.run_id, metrics={"val_log_loss": loss})
        client.set_terminated(extra.info.run_id)
    assert summary.experiment.name in http.get("/").text
    page = http.get(f"/experiments/{eid}", params={"sort": "metrics.val_log_loss", "dir": "asc"})
    ids = re.findall(r'<tr data-run="(\w+)"', page.text)
    losses = [client.get_run(i).data.metrics["val_log_loss"] for i in ids]
    assert summary.best_trial.run_id in ids and losses == sorted(losses)
    bad = http.get(f"/experiments/{eid}", params={"filter": "metrics.val_log_loss <"})
    assert 'id="filter-error"' in bad.text
    run = http.get(f"/runs/{summary.best_trial.run_id}")
    assert run.status_code == 200 and 'id="notebook"' in run.text
    compare = http.get("/compare", params=[("run", i) for i in ids[:2]])
    assert compare.status_code == 200 and 'id="parcoords"' in compare.text
    version = summary.registered_model_version
    request_id = approvals.request_transition(
        version.name, version.version, "pg-req", user="alice", tracking_uri=store_uri
    ).id
    registry_page = http.get("/registry")
    assert f'data-request="{request_id}"' in registry_page.text
    done = http.post(
        "/registry/approve",
        data={
            "request_id": str(request_id),
            "user": "bob",
            "csrf_token": _csrf(registry_page.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    moved = registry.RegistryClient(store_uri).get_model_version_by_alias(version.name, "pg-req")
    assert moved.version == version.version
