# ruff: noqa: F811, E402 - cluster fixtures come from dask_fixtures, after the importorskip
"""classify, regress and forecast with ``cluster=`` end to end: a ``dask scheduler`` and 2
``dask worker`` processes on 127.0.0.1 and the shared PostgreSQL store (skipped without
``AUTOML_TEST_POSTGRES_URL``). Tiny data, budgets of seconds."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

distributed = pytest.importorskip("distributed")

from dask_fixtures import pg_uri, process_cluster  # noqa: F401 - fixtures

import automl
import registry
import tracking
from automl.core import tags
from automl.core.records import TrialState
from automl.distributed import HOST_TAG, ClusterError

pytestmark = pytest.mark.postgres

TIMEOUT_MINUTES = 1.5
# The scheduler-lost search's budget: long, so that a search idling to its deadline after the
# loss cannot pass for one that ended on it (the kill comes after its first cluster trial).
LOST_TIMEOUT_MINUTES = 5.0


def _promise(timeout_s: float) -> float:
    """The budget promise: the call returns within budget + max(2 %, 5 s)."""
    return timeout_s + max(0.02 * timeout_s, 5.0)


@pytest.fixture
def pg_store(pg_uri, monkeypatch) -> str:
    monkeypatch.setenv("AUTOML_TRACKING_URI", pg_uri)
    return pg_uri


def _search(
    search, frame: pd.DataFrame, cluster, experiment: str, minutes: float = TIMEOUT_MINUTES,
    **task_args,
) -> tuple[automl.AutoMLSummary, float]:  # fmt: skip
    """``search`` (automl.classify, regress or forecast) on ``cluster``: its summary and the
    seconds the call took."""
    started = time.monotonic()
    summary = search(frame, cluster=cluster, timeout_minutes=minutes, experiment_name=experiment,
                     verbose=False, **task_args)  # fmt: skip
    return summary, time.monotonic() - started


def _check_search(summary: automl.AutoMLSummary, store: str, seconds: float) -> None:
    """Every trial a run in PostgreSQL; finished ones with a loadable model and a notebook;
    cluster trials tagged with their host; the winner registered; the budget held."""
    assert seconds <= _promise(TIMEOUT_MINUTES * 60), seconds
    client = tracking.TrackingClient(store)
    runs = client.search_runs(
        [summary.experiment.experiment_id], filter_string=f"tags.`{tags.ROLE}` = 'trial'"
    )
    by_id = {run.info.run_id: run for run in runs}
    trial_ids = {t.run_id for t in summary.all_trials if t.params.get("model_family") != "ensemble"}
    assert trial_ids <= set(by_id)
    on_cluster = 0
    for trial in summary.all_trials:
        run = by_id.get(trial.run_id)
        if run is None:
            continue
        assert run.info.status != "RUNNING", trial
        if trial.state == TrialState.COMPLETE:
            assert run.info.status == "FINISHED"
            model = automl.load_model(trial.run_id)
            assert model is not None
            names = {a.path for a in client.list_artifacts(trial.run_id, "notebooks")}
            assert any(n.endswith(".ipynb") for n in names), names
        if trial.state == TrialState.KILLED:
            assert run.data.tags[tags.ERROR]
        if HOST_TAG in run.data.tags:
            on_cluster += 1
    assert on_cluster >= 1  # the cluster ran trials (the baseline may run in this process)
    version = summary.registered_model_version
    assert version is not None
    assert registry.RegistryClient(store).get_model_version(version.name, version.version)
    assert automl.load_model(summary.registered_model_uri) is not None


def test_classify_on_a_cluster_with_the_postgres_store(process_cluster, pg_store):
    frame = load_breast_cancer(as_frame=True).frame.sample(200, random_state=0)
    summary, seconds = _search(
        automl.classify, frame, process_cluster.address, "dask-classify", target_col="target"
    )
    _check_search(summary, pg_store, seconds)


def test_regress_on_a_cluster_with_the_postgres_store(process_cluster, pg_store):
    frame = load_diabetes(as_frame=True, scaled=False).frame.sample(200, random_state=0)
    with distributed.Client(process_cluster.address, timeout=30) as client:  # a Client works too
        summary, seconds = _search(
            automl.regress, frame, client, "dask-regress", target_col="target"
        )
        assert client.status == "running"  # the caller's own Client is left open
    _check_search(summary, pg_store, seconds)


def test_forecast_on_a_cluster_with_the_postgres_store(process_cluster, pg_store):
    t = np.arange(36)
    frame = pd.concat(
        pd.DataFrame(
            {
                "shop": f"shop{k}",
                "date": pd.date_range("2020-01-31", periods=36, freq="ME"),
                "sales": 50 + 10 * k + t + 5 * np.sin(2 * np.pi * t / 12),
            }
        )
        for k in range(2)
    )
    columns = {"target_col": "sales", "time_col": "date", "identity_col": "shop"}
    summary, seconds = _search(
        automl.forecast, frame, process_cluster.address, "dask-forecast", horizon=3, **columns
    )
    _check_search(summary, pg_store, seconds)


def _kill_scheduler_after_a_trial(cluster, store: str, experiment: str) -> threading.Thread:
    """In the background: once a trial of ``experiment`` finished, kill the scheduler (-9)."""

    def watch() -> None:
        client = tracking.TrackingClient(store)
        end = time.monotonic() + 300
        while time.monotonic() < end:
            found = client.get_experiment_by_name(experiment)
            if found is not None and len(
                client.search_runs(
                    [found.experiment_id],
                    filter_string=f"tags.`{HOST_TAG}` != '' and attributes.status = 'FINISHED'",
                )
            ):
                cluster.scheduler.kill()
                return
            time.sleep(0.2)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


# A trial's state in the summary and its run's status in the store, which must agree.
_RUN_STATUS = {
    TrialState.COMPLETE: "FINISHED",
    TrialState.PRUNED: "FINISHED",
    TrialState.FAIL: "FAILED",
    TrialState.KILLED: "KILLED",
}


def test_scheduler_lost_mid_search_ends_it_early_with_an_alert_and_the_winner_so_far(
    process_cluster, pg_store
):
    frame = load_breast_cancer(as_frame=True).frame.sample(200, random_state=0)
    watcher = _kill_scheduler_after_a_trial(process_cluster, pg_store, "dask-lost")
    summary, seconds = _search(
        automl.classify, frame, process_cluster.address, "dask-lost",
        minutes=LOST_TIMEOUT_MINUTES, target_col="target",
    )  # fmt: skip
    watcher.join(timeout=1)
    assert process_cluster.scheduler.poll() is not None  # it was killed mid-search
    # the search ended on the loss, saying so, instead of idling to its deadline
    (cluster_alert,) = [a for a in summary.alerts if a["kind"] == "cluster"]
    assert process_cluster.address in cluster_alert["message"]
    assert "lost" in cluster_alert["message"]
    assert seconds < LOST_TIMEOUT_MINUTES * 60 / 2, seconds
    client = tracking.TrackingClient(pg_store)
    cluster_trials = [
        t for t in summary.all_trials if HOST_TAG in client.get_run(t.run_id).data.tags
    ]
    assert any(t.state == TrialState.COMPLETE for t in cluster_trials)
    for trial in summary.all_trials:  # the summary and the store agree on every trial
        run = client.get_run(trial.run_id)
        assert run.info.status == _RUN_STATUS[trial.state], (trial, run.data.tags)
        if trial.state in (TrialState.KILLED, TrialState.FAIL):
            assert run.data.tags[tags.ERROR]
        if trial.state == TrialState.COMPLETE:  # nothing recorded finished lacks its model
            assert automl.load_model(trial.run_id) is not None
    assert summary.registered_model_version is not None
    assert automl.load_model(summary.registered_model_uri) is not None


def test_a_sqlite_store_is_refused_with_a_cluster_before_anything_is_stored(tmp_path):
    store = tmp_path / "store"
    tracking.set_tracking_uri(str(store))
    try:
        with pytest.raises(ClusterError, match="AUTOML_TRACKING_URI"):
            automl.classify(
                load_breast_cancer(as_frame=True).frame.head(50),
                target_col="target",
                cluster="tcp://127.0.0.1:8786",
                timeout_minutes=0.1,
                verbose=False,
            )
    finally:
        tracking.set_tracking_uri(None)
    # refused before anything was stored: no experiment beyond the store's Default, no run
    experiments = tracking.TrackingClient(str(store)).search_experiments()
    assert [e.name for e in experiments] == ["Default"]
    runs = tracking.TrackingClient(str(store)).search_runs([e.experiment_id for e in experiments])
    assert len(runs) == 0
