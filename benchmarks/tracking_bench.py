"""Tracking store vs MLflow's SQLite store, side by side in one run.

    python benchmarks/tracking_bench.py [--scale 0.1]

Rows (issue 2): 10,000 metric values through ``log_batch``; 2,000 single ``log_metric`` calls;
1,000 runs created with 10 params and 10 metrics each; ``search_runs`` over 10,000 runs with a
metric filter, ordered by a metric, first page of 100; plus opening a fresh store. Both stores
are SQLite files in a temporary folder. Prints a table with the speed-up per row (target >= 10x).
Needs the ``bench`` extra (MLflow).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import tempfile
import time
import uuid
import warnings
from typing import Any

import tracking
from benchmarks.timing import median_seconds
from tracking import schema as t

BATCH = 1000  # MLflow's per-call limit for metrics in log_batch


def _search_rows(n: int, rng: random.Random, experiment_id: int, extra: dict) -> tuple:
    """Rows of ``n`` finished runs with 3 metrics and 3 params each, for a store's tables
    (``extra``: columns only that store's run table has)."""
    now = int(time.time() * 1000)
    runs, latest, history, params = [], [], [], []
    for i in range(n):
        run_id = uuid.uuid4().hex
        runs.append(
            {
                "run_uuid": run_id,
                "name": f"run-{i}",
                "experiment_id": experiment_id,
                "status": "FINISHED",
                "start_time": now + i,
                "end_time": now + i + 1,
                "artifact_uri": f"/tmp/{run_id}",
                "lifecycle_stage": "active",
                **extra,
            }
        )
        for key in ("score", "loss", "other"):
            row = {"run_uuid": run_id, "key": key, "value": rng.random(), "is_nan": False}
            row.update(timestamp=now, step=0)
            latest.append(row)
            history.append(dict(row))
        params += [{"run_uuid": run_id, "key": f"p{k}", "value": str(k)} for k in range(3)]
    return runs, latest, history, params


class _Store:
    """What both stores are driven through the same way (their clients share these calls)."""

    client: Any
    exp: str
    search_exp: str

    def new_run(self) -> str:
        return self.client.create_run(self.exp).info.run_id

    def log_metric(self, run_id: str, n: int) -> None:
        for i in range(n):
            self.client.log_metric(run_id, "loss", i * 0.001, step=i)

    def search(self) -> int:
        page = self.client.search_runs(
            [self.search_exp],
            "metrics.score > 0.5",
            order_by=["metrics.score DESC"],
            max_results=100,
        )
        return len(page)


class Ours(_Store):
    name = "automl-tracked"

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def open(self) -> None:
        self.client = tracking.TrackingClient(os.path.join(self.folder, "ours"))
        self.exp = self.client.create_experiment("bench")

    def log_batch(self, run_id: str, n: int) -> None:
        now = int(time.time() * 1000)
        for start in range(0, n, BATCH):
            metrics = [
                tracking.Metric("loss", i * 0.001, now, i) for i in range(start, start + BATCH)
            ]
            self.client.log_batch(run_id, metrics=metrics)

    def runs(self, n: int) -> None:
        for i in range(n):
            run_id = self.client.create_run(self.exp).info.run_id
            self.client.log_batch(
                run_id,
                metrics={f"m{k}": i * k * 0.01 for k in range(10)},
                params={f"p{k}": f"v{i % 7}" for k in range(10)},
            )

    def populate(self, n: int, rng: random.Random) -> None:
        exp = int(self.client.create_experiment("search"))
        self.search_exp = str(exp)
        runs, latest, history, params = _search_rows(n, rng, exp, {})
        with self.client.engine.begin() as conn:
            conn.execute(t.runs.insert(), runs)
            conn.execute(t.latest_metrics.insert(), latest)
            conn.execute(t.metrics.insert(), history)
            conn.execute(t.params.insert(), params)


class Mlflow(_Store):
    name = "MLflow"

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def open(self) -> None:
        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)  # mlflow resets it on import
        uri = "sqlite:///" + os.path.join(self.folder, "mlflow.db")
        self.client = MlflowClient(tracking_uri=uri)
        self.exp = self.client.create_experiment(
            "bench", artifact_location=os.path.join(self.folder, "mlartifacts")
        )

    def log_batch(self, run_id: str, n: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        for start in range(0, n, BATCH):
            metrics = [Metric("loss", i * 0.001, now, i) for i in range(start, start + BATCH)]
            self.client.log_batch(run_id, metrics=metrics)

    def runs(self, n: int) -> None:
        from mlflow.entities import Metric, Param

        now = int(time.time() * 1000)
        for i in range(n):
            run_id = self.client.create_run(self.exp).info.run_id
            self.client.log_batch(
                run_id,
                metrics=[Metric(f"m{k}", i * k * 0.01, now, 0) for k in range(10)],
                params=[Param(f"p{k}", f"v{i % 7}") for k in range(10)],
            )

    def populate(self, n: int, rng: random.Random) -> None:
        from mlflow.store.tracking.dbmodels.models import (
            SqlLatestMetric,
            SqlMetric,
            SqlParam,
            SqlRun,
        )

        self.search_exp = self.client.create_experiment("search")
        mlflow_columns = {
            "source_type": "LOCAL",
            "source_name": "",
            "entry_point_name": "",
            "user_id": "bench",
            "source_version": "",
        }
        runs, latest, history, params = _search_rows(n, rng, int(self.search_exp), mlflow_columns)
        engine = self.client._tracking_client.store.engine
        with engine.begin() as conn:
            conn.execute(SqlRun.__table__.insert(), runs)
            conn.execute(SqlLatestMetric.__table__.insert(), latest)
            conn.execute(SqlMetric.__table__.insert(), history)
            conn.execute(SqlParam.__table__.insert(), params)


def bench(store: Ours | Mlflow, scale: float) -> dict[str, float]:
    """Time every row for one store (fresh store in a new folder)."""
    n_batch, n_single = int(10_000 * scale), int(2_000 * scale)
    n_runs, n_search = int(1_000 * scale), int(10_000 * scale)
    results = {"open a fresh store": median_seconds(store.open)}
    run_id = store.new_run()
    results[f"{n_batch:,} metrics via log_batch"] = median_seconds(
        lambda: store.log_batch(run_id, n_batch)
    )
    run_id = store.new_run()
    results[f"{n_single:,} single log_metric calls"] = median_seconds(
        lambda: store.log_metric(run_id, n_single)
    )
    results[f"{n_runs:,} runs x (10 params + 10 metrics)"] = median_seconds(
        lambda: store.runs(n_runs)
    )
    store.populate(n_search, random.Random(0))
    assert store.search() == 100
    results[f"search_runs over {n_search:,} runs (filter+order, 100)"] = median_seconds(
        store.search, 3
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every row's size")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        ours = bench(Ours(folder), args.scale)
        theirs = bench(Mlflow(folder), args.scale)
    import mlflow

    width = max(len(row) for row in ours)
    print(
        f"\nautoml-tracked vs MLflow {mlflow.__version__} (SQLite, seconds; median of 3 for search)"
    )
    header = f"| {'operation'.ljust(width)} | automl-tracked |   MLflow | speed-up |"
    print(header)
    print("|" + "-" * (width + 2) + "|---------------:|---------:|---------:|")
    for row, ours_s in ours.items():
        their_s = theirs[row]
        print(
            f"| {row.ljust(width)} | {ours_s:14.3f} | {their_s:8.3f} | {their_s / ours_s:7.1f}x |"
        )


if __name__ == "__main__":
    main()
