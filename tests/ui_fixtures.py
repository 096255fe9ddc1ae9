"""Helpers for the automl ui tests: a search that is still running, written through tracking."""

from __future__ import annotations

import tracking

ROLE, PARENT, TRIAL = "automl.role", "parent", "trial"


def start_live_search(client: tracking.TrackingClient, name: str) -> tuple[str, str]:
    """An experiment whose AutoML parent run is RUNNING; returns (experiment_id, parent_id)."""
    eid = client.create_experiment(name)
    parent = client.create_run(eid, run_name="search")
    client.log_batch(
        parent.info.run_id,
        tags={ROLE: PARENT, "automl.task": "classification", "automl.primary_metric": "f1"},
    )
    return eid, parent.info.run_id


def add_trial(client: tracking.TrackingClient, eid: str, name: str, f1: float) -> str:
    """One finished trial run of the live search, as the search loop logs it."""
    run = client.create_run(eid, run_name=name)
    client.log_batch(
        run.info.run_id,
        metrics={"val_f1": f1},
        params={"model_family": "logistic"},
        tags={ROLE: TRIAL, "automl.trial_state": "COMPLETE"},
    )
    client.set_terminated(run.info.run_id)
    return run.info.run_id
