"""Retention (issue 17, item 12): ``automl.retention.prune_models`` and ``automl prune-models``
delete the model folders of all but the best trials of a real search, keep every run's metrics
and notebook, and never delete a model something depends on (each search's best trial, a
registered version, the refit model). By default nothing is deleted."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import automl
import registry
import tracking
from automl.cli import main
from automl.retention import MODEL_PRUNED_TAG, prune_models

EXPERIMENT = "retained"


def _search(folder) -> tuple[str, object]:
    """A real search with several finished trials, each with its model, in its own store."""
    store = str(folder / "store")
    tracking.set_tracking_uri(store)
    os.environ["AUTOML_ARTIFACT_ROOT"] = os.path.join(store, "artifacts")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["y"] = (frame.a + rng.normal(scale=0.5, size=200) > 0).astype(int)
    summary = automl.classify(
        frame, target_col="y", max_trials=5, n_jobs=1, experiment_name=EXPERIMENT, verbose=False
    )
    return store, summary


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One search for the tests that must not change it."""
    saved = os.environ.get("AUTOML_ARTIFACT_ROOT")
    yield _search(tmp_path_factory.mktemp("shared"))
    tracking.set_tracking_uri(None)
    if saved is None:
        os.environ.pop("AUTOML_ARTIFACT_ROOT", None)
    else:
        os.environ["AUTOML_ARTIFACT_ROOT"] = saved


@pytest.fixture
def untouched(shared, monkeypatch):
    monkeypatch.setenv("AUTOML_ARTIFACT_ROOT", os.path.join(shared[0], "artifacts"))
    tracking.set_tracking_uri(shared[0])
    yield shared
    tracking.set_tracking_uri(None)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A search of its own, for a test that prunes."""
    monkeypatch.setenv("AUTOML_ARTIFACT_ROOT", "unused")
    yield _search(tmp_path)
    tracking.set_tracking_uri(None)


def _with_model(client: tracking.TrackingClient, summary) -> set[str]:
    ids = {t.run_id for t in summary.trials}
    return {r for r in ids if any(e.path == "model" for e in client.list_artifacts(r))}


def _ranked(summary) -> list[str]:
    done = [t for t in summary.trials if t.evaluation_metric_score is not None]
    done.sort(key=lambda t: t.evaluation_metric_score, reverse=summary.greater_is_better)
    return [t.run_id for t in done]


def test_the_default_keeps_every_trial_model(untouched):
    uri, summary = untouched
    client = tracking.TrackingClient(uri)
    assert len(summary.trials) >= 3
    assert _with_model(client, summary) == {t.run_id for t in summary.trials}


def test_keep_top_deletes_only_the_other_models(store):
    uri, summary = store
    client = tracking.TrackingClient(uri)
    ranked = _ranked(summary)
    before = {r: client.get_run(r).data for r in ranked}
    report = prune_models(EXPERIMENT, keep_top=2)
    assert report.kept[:2] == ranked[:2]
    assert [t.run_id for t in report.pruned] == ranked[2:]
    assert report.bytes_freed > 0
    assert _with_model(client, summary) == set(ranked[:2])
    for run_id in ranked[2:]:
        data = client.get_run(run_id).data
        assert data.metrics == before[run_id].metrics and data.params == before[run_id].params
        assert "keep_top=2" in data.tags[MODEL_PRUNED_TAG]
        assert any(e.path == "notebooks" for e in client.list_artifacts(run_id))
        with pytest.raises(tracking.ResourceNotFoundError):
            tracking.load_model(f"runs:/{run_id}/model")
    # the search's refit model and its registered version still load
    assert automl.load_model(summary.parent_run_id) is not None
    again = prune_models(EXPERIMENT, keep_top=2)  # idempotent: nothing left to delete
    assert again.pruned == []


def test_protected_models_survive_keep_top_zero(store):
    uri, summary = store
    client = tracking.TrackingClient(uri)
    ranked = _ranked(summary)
    registry.register_model(f"runs:/{ranked[-1]}/model", "kept-by-registry")
    best = client.get_run(summary.parent_run_id).data.tags["automl.best_run_id"]
    report = prune_models(EXPERIMENT, keep_top=0)
    assert set(report.kept) == {best, ranked[-1]}
    assert _with_model(client, summary) == {best, ranked[-1]}
    assert registry.load_model("models:/kept-by-registry/1") is not None


def test_dry_run_deletes_nothing_and_the_cli_prints_the_plan(store, capsys):
    uri, summary = store
    client = tracking.TrackingClient(uri)
    report = prune_models(EXPERIMENT, keep_top=1, dry_run=True)
    assert report.pruned and _with_model(client, summary) == {t.run_id for t in summary.trials}
    assert main(["--tracking-uri", uri, "prune-models", EXPERIMENT, "--keep-top", "1"]) == 0
    out = capsys.readouterr().out
    assert f"deleted {len(report.pruned)}" in out
    assert len(_with_model(client, summary)) == len(summary.trials) - len(report.pruned)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keep_top": -1}, "keep_top: expected an integer >= 0"),
        ({"keep_top": True}, "keep_top: expected an integer >= 0"),
        ({"keep_top": "2"}, "keep_top: expected an integer >= 0"),
        ({"keep_top": 1, "experiment_name": "nope"}, "no experiment named 'nope'.*automl runs"),
        ({"keep_top": 1, "experiment_name": " "}, "experiment_name: expected a non-empty name"),
        ({"keep_top": 1, "experiment_name": "Default"}, "has no search; prune an experiment"),
    ],
)
def test_bad_arguments_are_refused_and_nothing_is_deleted(untouched, kwargs, message):
    uri, summary = untouched
    client = tracking.TrackingClient(uri)
    kwargs = {"experiment_name": EXPERIMENT, **kwargs}
    with pytest.raises(automl.AutoMLInputError, match=message):
        prune_models(**kwargs)
    assert _with_model(client, summary) == {t.run_id for t in summary.trials}


def test_a_running_search_is_not_pruned(store, capsys):
    uri, summary = store
    client = tracking.TrackingClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    run = client.create_run(experiment.experiment_id, tags={"automl.role": "parent"})
    with pytest.raises(automl.AutoMLInputError, match=f"search running .*{run.info.run_id}"):
        prune_models(EXPERIMENT, keep_top=0)
    assert main(["prune-models", EXPERIMENT, "--keep-top", "0"]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert _with_model(client, summary) == {t.run_id for t in summary.trials}
