"""register_model: version numbering (also across processes), what a version records, bad input."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

import registry
import tracking

pytest_plugins = ["registry_fixtures"]


def test_register_creates_model_and_numbers_versions(store, logged_model):
    first_uri = logged_model(metrics={"val_f1": 0.8, "val_roc_auc": 0.9})
    mv1 = registry.register_model(
        first_uri, "churn", tags={"owner": "ana", "n": 3}, description="baseline", user="ana"
    )
    mv2 = registry.register_model(logged_model(metrics={"val_f1": 0.85}, seed=1), "churn")
    other = registry.register_model(first_uri, "fraud")

    assert (mv1.version, mv2.version, other.version) == (1, 2, 1)
    run_id = first_uri.split("/")[1]
    assert mv1.run_id == run_id and mv1.source == f"runs:/{run_id}/model"
    assert mv1.metrics == {"val_f1": 0.8, "val_roc_auc": 0.9}
    assert mv1.tags == {"owner": "ana", "n": "3"} and mv1.description == "baseline"
    assert mv1.current_stage == "None" and mv1.status == "READY" and mv1.aliases == []
    assert mv1.user_id == "ana"
    meta = json.loads(Path(tracking.download_artifacts(first_uri), "MLmodel.json").read_text())
    assert mv1.sha256 == meta["sha256"] and len(mv1.sha256) == 64
    model = registry.get_registered_model("churn")
    assert {v.version for v in model.latest_versions} == {2}
    assert registry.get_model_version("churn", "2") == mv2


def test_metrics_are_a_snapshot_at_registration(store, logged_model):
    uri = logged_model(metrics={"val_f1": 0.5})
    registry.register_model(uri, "churn")
    run_id = uri.split("/")[1]
    tracking.TrackingClient().log_metric(run_id, "val_f1", 0.99)
    assert registry.get_model_version("churn", 1).metrics == {"val_f1": 0.5}


def test_version_numbers_are_not_reused_after_delete(store, logged_model):
    uri = logged_model()
    for _ in range(2):
        registry.register_model(uri, "churn")
    registry.delete_model_version("churn", 2)
    assert registry.register_model(uri, "churn").version == 3


def _register_many(uri: str, model_uri: str, count: int, start, out) -> None:
    tracking.set_tracking_uri(uri)
    start.wait(60)
    numbers = [registry.register_model(model_uri, "shared").version for _ in range(count)]
    out.put((os.getpid(), numbers))


@pytest.mark.parametrize("processes", [4])
def test_concurrent_registration_from_processes(store, logged_model, processes):
    model_uri = logged_model()
    registry.get_client()  # tables exist before the race on the versions themselves
    ctx = multiprocessing.get_context("fork")  # real processes, own connections
    start, out = ctx.Event(), ctx.Queue()
    per_process = 5
    workers = [
        ctx.Process(target=_register_many, args=(store, model_uri, per_process, start, out))
        for _ in range(processes)
    ]
    for w in workers:
        w.start()
    start.set()
    results = [out.get(timeout=180) for _ in workers]
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    got = sorted(n for _, numbers in results for n in numbers)
    assert got == list(range(1, processes * per_process + 1))
    for _, numbers in results:
        assert numbers == sorted(numbers)  # each process sees its own numbers grow
    found = registry.search_model_versions("name = 'shared'", max_results=100)
    assert sorted(v.version for v in found) == got


def _table_counts(store: str) -> dict[str, int]:
    engine = registry.get_client().store.engine
    with engine.connect() as conn:
        return {
            name: conn.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
            for name in ("registry_models", "registry_versions", "registry_events")
        }


def test_bad_registrations_change_nothing(store, logged_model, tmp_path):
    uri = logged_model()
    registry.register_model(uri, "churn")
    before = _table_counts(store)
    run_id = uri.split("/")[1]
    with pytest.raises(tracking.InvalidInputError, match="holds no model"):
        registry.register_model(f"runs:/{run_id}/nothing_here", "churn")
    with tracking.start_run() as empty:
        tracking.log_text("hello", "model/readme.txt")
    with pytest.raises(tracking.InvalidInputError, match="holds no model"):
        registry.register_model(f"runs:/{empty.info.run_id}/model", "churn")
    with pytest.raises(tracking.ResourceNotFoundError):
        registry.register_model(f"runs:/{'0' * 32}/model", "churn")
    with pytest.raises(tracking.InvalidInputError, match="model_uri: expected 'runs:/"):
        registry.register_model(str(tmp_path), "churn")
    with pytest.raises(tracking.InvalidInputError, match="lacks the run id or the model's"):
        registry.register_model(f"runs:/{run_id}", "churn")
    with pytest.raises(tracking.InvalidInputError, match="name: .*'/' or '@'"):
        registry.register_model(uri, "team/churn")
    with pytest.raises(tracking.InvalidInputError, match="name: a registered model name"):
        registry.register_model(uri, "  ")
    with pytest.raises(tracking.InvalidInputError, match="tags: expected a dict"):
        registry.register_model(uri, "churn", tags=["a"])
    assert _table_counts(store) == before
    assert registry.get_registered_model("churn").latest_versions[0].version == 1


def test_create_registered_model_and_duplicates(store):
    model = registry.create_registered_model("empty", tags={"team": "ml"}, description="d")
    assert (model.name, model.tags, model.description, model.latest_versions) == (
        "empty",
        {"team": "ml"},
        "d",
        [],
    )
    with pytest.raises(tracking.InvalidInputError, match="already exists"):
        registry.create_registered_model("empty")
    with pytest.raises(tracking.ResourceNotFoundError, match="has no live versions"):
        registry.load_model("models:/empty/latest")


def test_nested_artifact_path_is_the_source(store, logged_model):
    path = "candidates/gradient_boosting/fold_averaged/refit_on_train_and_validation"
    uri = logged_model(artifact_path=path)
    mv = registry.register_model(uri, "churn", user="x" * 200)
    assert mv.source == uri and uri.endswith(path) and mv.user_id == "x" * 200
    assert registry.get_model_version_history("churn", 1)[0].to_value == uri
    assert registry.load_model("models:/churn/1").metadata["sha256"] == mv.sha256
    with pytest.raises(tracking.InvalidInputError, match="user: longer than 256"):
        registry.register_model(uri, "churn", user="x" * 300)
