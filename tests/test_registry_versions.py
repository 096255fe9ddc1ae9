"""register_model: version numbering (also across processes), what a version records, bad input."""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import time
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


def _race(target, arg_tuples: list[tuple]) -> list:
    """Run ``target(*args, start, out)`` in forked processes released at once; their results.

    Forked (not spawned) so the race starts in milliseconds; each child opens its own database
    connections. A child that dies fails the test at once instead of after a queue timeout.
    """
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=target, args=(*args, start, out)) for args in arg_tuples]
    for w in workers:
        w.start()
    start.set()
    results: list = []
    deadline = time.monotonic() + 120
    while len(results) < len(workers):
        try:
            results.append(out.get(timeout=0.5))
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            assert not dead, f"a worker process failed (exit codes {dead})"
            assert time.monotonic() < deadline, "workers did not finish in 120 s"
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    return results


def _register_many(uri: str, model_uri: str, count: int, start, out) -> None:
    tracking.set_tracking_uri(uri)
    start.wait(60)
    numbers = [registry.register_model(model_uri, "shared").version for _ in range(count)]
    out.put((os.getpid(), numbers))


@pytest.mark.parametrize("processes", [4])
def test_concurrent_registration_from_processes(store, logged_model, processes):
    model_uri = logged_model()
    registry.get_client()  # tables exist before the race on the versions themselves
    per_process = 5
    results = _race(_register_many, [(store, model_uri, per_process)] * processes)
    got = sorted(n for _, numbers in results for n in numbers)
    assert got == list(range(1, processes * per_process + 1))
    for _, numbers in results:
        assert numbers == sorted(numbers)  # each process sees its own numbers grow
    found = registry.search_model_versions("name = 'shared'", max_results=100)
    assert sorted(v.version for v in found) == got


def _promote(uri: str, version: int, start, out) -> None:
    tracking.set_tracking_uri(uri)
    start.wait(60)
    registry.transition_model_version_stage(
        "shared", version, "Production", archive_existing_versions=True, user=f"p{version}"
    )
    out.put(version)


def test_concurrent_promotions_leave_one_production_version(store, logged_model):
    model_uri = logged_model()
    for _ in range(4):
        registry.register_model(model_uri, "shared")
    assert sorted(_race(_promote, [(store, v) for v in range(1, 5)])) == [1, 2, 3, 4]
    stages = {v.version: v.current_stage for v in registry.search_model_versions("name='shared'")}
    assert sorted(stages.values()) == ["Archived", "Archived", "Archived", "Production"]
    winner = next(v for v, stage in stages.items() if stage == "Production")
    for version in range(1, 5):
        moves = [
            (e.from_value, e.to_value)
            for e in registry.get_model_version_history("shared", version)
            if e.event == "stage_transition"
        ]
        # every version was promoted once; all but the last promoted were archived afterwards
        assert moves[0] == ("None", "Production")
        assert moves[1:] == ([] if version == winner else [("Production", "Archived")])


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
    with pytest.raises(tracking.InvalidInputError, match="escapes the run's artifact folder"):
        registry.register_model(f"runs:/{run_id}/../other/model", "churn")
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
