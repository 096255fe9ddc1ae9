"""``automl ui`` pages vs MLflow's tracking server REST API, on the same data.

    python -m benchmarks.ui_bench [--runs 10000] [--history 100000] [--repeat 5]

Builds an experiment of ``--runs`` runs (10 params, 10 metrics each) and one run with a
``--history``-point metric history in both stores (SQLite files, bulk-inserted), starts
``automl ui`` and ``mlflow server`` on 127.0.0.1 as subprocesses, and times the same requests
from the client side (median of ``--repeat``):

* leaderboard first page (50 runs ordered by a metric) vs ``runs/search``;
* a sorted and filtered page vs ``runs/search`` with the same filter and order;
* the run page of the long-history run vs ``runs/get`` + ``metrics/get-history`` of each metric;
* compare of 20 runs vs ``runs/search`` for those ids + ``metrics/get-history`` per run and metric.

Prints a table with the speed-up per row (target >= 10x). Needs the ``bench`` extra (MLflow).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import httpx

import tracking
from benchmarks.servers import free_port, wait_ready
from benchmarks.timing import median_seconds
from tracking import schema as t

PAGE = 50
N_PARAMS = N_METRICS = 10
FILTER = "metrics.m1 > 0.5 and params.p0 = 'v3'"


def _rows(n: int, history: int, rng: random.Random, experiment_id: int) -> dict[str, list]:
    now = int(time.time() * 1000)
    out: dict[str, list] = {"runs": [], "latest": [], "metrics": [], "params": []}
    for i in range(n):
        run_id = uuid.uuid4().hex
        out["runs"].append((run_id, f"run-{i}", now + i, experiment_id))
        for k in range(N_METRICS):
            value = rng.random()
            out["latest"].append((run_id, f"m{k}", value, now, 0))
        out["params"] += [(run_id, f"p{k}", f"v{rng.randrange(7)}") for k in range(N_PARAMS)]
    long_run = out["runs"][0][0]
    out["metrics"] = [r for r in out["latest"]]
    out["metrics"] += [(long_run, "curve", rng.random(), now + s, s) for s in range(history)]
    out["latest"].append((long_run, "curve", 0.5, now + history, history - 1))
    return out


def _insert_values(conn, data: dict[str, list], latest, metrics, params) -> None:
    """Bulk-insert ``data``'s latest metrics, metric history and params into these tables of a
    store (ours and MLflow's name these columns alike)."""

    def metric_rows(part: str) -> list[dict]:
        return [
            dict(run_uuid=r, key=k, value=v, timestamp=ts, step=st, is_nan=False)
            for r, k, v, ts, st in data[part]
        ]

    conn.execute(latest.insert(), metric_rows("latest"))
    conn.execute(metrics.insert(), metric_rows("metrics"))
    conn.execute(params.insert(), [dict(run_uuid=r, key=k, value=v) for r, k, v in data["params"]])


def build_ours(folder: str, data_fn) -> tuple[str, str, list[str]]:
    client = tracking.TrackingClient(folder)
    eid = int(client.create_experiment("ui-bench"))
    data = data_fn(eid)
    with client.engine.begin() as conn:
        conn.execute(
            t.runs.insert(),
            [
                dict(
                    run_uuid=r,
                    name=nm,
                    experiment_id=e,
                    status="FINISHED",
                    start_time=s,
                    end_time=s + 1,
                    artifact_uri=os.path.join(folder, "artifacts", r),
                    lifecycle_stage="active",
                )
                for r, nm, s, e in data["runs"]
            ],
        )
        _insert_values(conn, data, t.latest_metrics, t.metrics, t.params)
    return str(eid), data["runs"][0][0], [r[0] for r in data["runs"][:20]]


def build_mlflow(folder: str, data_fn) -> tuple[str, str, str, list[str]]:
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun
    from mlflow.tracking import MlflowClient

    uri = "sqlite:///" + os.path.join(folder, "mlflow.db")
    client = MlflowClient(tracking_uri=uri)
    eid = client.create_experiment("ui-bench", artifact_location=os.path.join(folder, "mlart"))
    data = data_fn(int(eid))
    engine = client._tracking_client.store.engine
    with engine.begin() as conn:
        conn.execute(
            SqlRun.__table__.insert(),
            [
                dict(
                    run_uuid=r,
                    name=nm,
                    source_type="LOCAL",
                    source_name="",
                    entry_point_name="",
                    user_id="bench",
                    status="FINISHED",
                    start_time=s,
                    end_time=s + 1,
                    source_version="",
                    lifecycle_stage="active",
                    artifact_uri=f"/tmp/{r}",
                    experiment_id=e,
                )
                for r, nm, s, e in data["runs"]
            ],
        )
        tables = SqlLatestMetric.__table__, SqlMetric.__table__, SqlParam.__table__
        _insert_values(conn, data, *tables)
    return uri, eid, data["runs"][0][0], [r[0] for r in data["runs"][:20]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="ui-bench-")
    seed_rows = {}

    def data_fn(eid: int) -> dict:
        if "rows" not in seed_rows:
            seed_rows["rows"] = _rows(args.runs, args.history, random.Random(0), eid)
        rows = seed_rows["rows"]
        rows["runs"] = [(r, nm, s, eid) for r, nm, s, _ in rows["runs"]]
        return rows

    ours_dir = os.path.join(folder, "ours")
    eid, long_run, twenty = build_ours(ours_dir, data_fn)
    ml_uri, ml_eid, _, _ = build_mlflow(folder, data_fn)
    ui_port, ml_port = free_port(), free_port()
    ui = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "automl.cli",
            "ui",
            "--tracking-uri",
            ours_dir,
            "--port",
            str(ui_port),
            "--read-only",
        ],
        stdout=subprocess.DEVNULL,
    )
    ml = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            ml_uri,
            "--host",
            "127.0.0.1",
            "--port",
            str(ml_port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its workers and job runners are stopped with it
    )
    try:
        ui_base, ml_base = f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{ml_port}"
        wait_ready(ui_port, ui, "/static/style.css")
        wait_ready(ml_port, ml, "/health")
        http = httpx.Client(timeout=300)
        api = ml_base + "/api/2.0/mlflow"

        def ml_search(flt: str = "", order: str = "metrics.m0 DESC", n: int = PAGE) -> dict:
            body = {
                "experiment_ids": [ml_eid],
                "filter": flt,
                "max_results": n,
                "order_by": [order],
            }
            response = http.post(api + "/runs/search", json=body)
            response.raise_for_status()
            return response.json()

        def ml_history(run_id: str, key: str) -> None:
            http.get(
                api + "/metrics/get-history", params={"run_id": run_id, "metric_key": key}
            ).raise_for_status()

        def ml_run() -> None:
            run = http.get(api + "/runs/get", params={"run_id": long_run}).json()["run"]
            for metric in run["data"]["metrics"]:
                ml_history(long_run, metric["key"])

        def ml_compare() -> None:
            ids = ", ".join(f"'{r}'" for r in twenty)
            found = ml_search(f"attributes.run_id IN ({ids})", n=20)["runs"]
            for run in found:  # the UI overlays one metric's history (m0, the first) per run
                ml_history(run["info"]["run_id"], "m0")

        def ui_get(path: str, **params) -> None:
            http.get(ui_base + path, params=params).raise_for_status()

        rows = [
            (
                "leaderboard, first page",
                lambda: ui_get(f"/experiments/{eid}", sort="metrics.m0"),
                lambda: ml_search(),
            ),
            (
                "sorted + filtered page",
                lambda: ui_get(f"/experiments/{eid}", sort="metrics.m2", dir="asc", filter=FILTER),
                lambda: ml_search(FILTER, "metrics.m2 ASC"),
            ),
            (
                f"run page ({args.history:,}-point history)",
                lambda: ui_get(f"/runs/{long_run}"),
                ml_run,
            ),
            (
                "compare 20 runs",
                lambda: http.get(  # the same metric's history as MLflow is asked for
                    ui_base + "/compare", params=[("run", r) for r in twenty] + [("history", "m0")]
                ).raise_for_status(),
                ml_compare,
            ),
        ]
        load_before = os.getloadavg()[0]
        table = []
        for name, ours, theirs in rows:
            a = median_seconds(ours, args.repeat, warm_up=True)
            b = median_seconds(theirs, args.repeat, warm_up=True)
            table.append(f"| {name} | {a * 1000:.1f} | {b * 1000:.1f} | {b / a:.1f}x |")
        print(
            f"{args.runs:,} runs x {N_PARAMS} params x {N_METRICS} metrics; median of "
            f"{args.repeat}; 1-minute load {load_before:.1f} -> {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores; CPU affinity {sorted(os.sched_getaffinity(0))}"
        )
        print("| page | automl ui ms | MLflow API ms | speed-up |\n|---|---:|---:|---:|")
        print("\n".join(table))
    finally:
        ui.terminate()
        os.killpg(ml.pid, signal.SIGTERM)
        for proc in (ui, ml):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
