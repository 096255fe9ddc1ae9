"""``automl serve`` vs ``mlflow models serve --env-manager local`` on the same sklearn pipeline.

    python -m benchmarks.serving_bench [--clients 4] [--requests 1000]

A StandardScaler + LogisticRegression pipeline is trained on scikit-learn's breast-cancer data,
logged and registered with ``tracking``/``registry`` (served as ``models:/bc@production``) and
saved in MLflow's format with ``mlflow.sklearn``. Each server runs alone on 127.0.0.1 with one
worker and gets the same bounded closed-loop load: ``--clients`` threads on keep-alive
connections send ``--requests`` requests in total, with 1-row and 100-row ``dataframe_split``
payloads. Prints requests/s and p50/p99 latency side by side, then moves the alias from version
1 to 2 under the same load and reports failed requests (target: 0). Needs the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import registry
import tracking
from benchmarks.servers import free_port, wait_ready

ROW_COUNTS = (1, 100)


@dataclass(frozen=True)
class LoadResult:
    """One closed-loop run: throughput, latency percentiles and failures."""

    requests: int
    failures: int
    seconds: float
    p50_ms: float
    p99_ms: float
    versions: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def closed_loop(port: int, body: bytes, clients: int, total: int) -> LoadResult:
    """``clients`` threads, each sending its share of ``total`` requests back to back."""
    latencies: list[float] = []
    failures = [0]
    versions: dict[str, int] = {}
    lock = threading.Lock()
    headers = {"Content-Type": "application/json"}

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, bad, seen = [], 0, {}
        for _ in range(n):
            start = time.perf_counter()
            try:
                conn.request("POST", "/invocations", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                version = response.getheader("X-Model-Version") or "-"
            except (OSError, http.client.HTTPException):
                ok, version = False, "-"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append(time.perf_counter() - start)
            bad += not ok
            seen[version] = seen.get(version, 0) + 1
        with lock:
            latencies.extend(mine)
            failures[0] += bad
            for k, v in seen.items():
                versions[k] = versions.get(k, 0) + v

    shares = [total // clients + (i < total % clients) for i in range(clients)]
    threads = [threading.Thread(target=client, args=(n,)) for n in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    p50, p99 = np.percentile(np.array(latencies) * 1000, [50, 99])
    return LoadResult(total, failures[0], elapsed, float(p50), float(p99), versions)


def payload(X, rows: int) -> bytes:
    split = json.loads(X.head(rows).to_json(orient="split"))
    return json.dumps(
        {"dataframe_split": {"columns": split["columns"], "data": split["data"]}}
    ).encode()


def start(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_ready(port, process, "/ping")
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    import mlflow.sklearn

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    folder = tempfile.mkdtemp(prefix="serving-bench-")
    store = os.path.join(folder, "store")
    tracking.set_tracking_uri(store)
    tracking.set_experiment("serving-bench")
    for c in (1.0, 0.1):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000)).fit(X, y)
        with tracking.start_run():
            info = tracking.log_model(model, "model", input_example=X.head())
        version = registry.register_model(info.model_uri, "bc")
    registry.set_registered_model_alias("bc", "production", 1)
    mlflow_path = os.path.join(folder, "mlflow-model")
    first = tracking.load_model("models:/bc/1").unwrap()
    mlflow.sklearn.save_model(first, mlflow_path, input_example=X.head())
    env = dict(os.environ)
    bodies = {rows: payload(X, rows) for rows in ROW_COUNTS}

    results: dict[tuple[str, int], LoadResult] = {}
    servers = {
        "automl serve": lambda port: [
            sys.executable,
            "-m",
            "automl.serving",
            "--tracking-uri",
            store,
            "models:/bc@production",
            "--port",
            str(port),
        ],
        "mlflow models serve": lambda port: [
            "mlflow",
            "models",
            "serve",
            "-m",
            mlflow_path,
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            "1",
        ],
    }
    for name, command in servers.items():
        port = free_port()
        process = start(command(port), port, env)
        try:
            for rows, body in bodies.items():
                closed_loop(port, body, args.clients, min(100, args.requests))  # warm-up
                results[name, rows] = closed_loop(port, body, args.clients, args.requests)
        finally:
            stop(process)

    print(f"\nclosed loop: {args.clients} clients, {args.requests} requests per row, loopback\n")
    header = f"{'rows':>5} | {'server':<20} | {'req/s':>8} | {'p50 ms':>8} | {'p99 ms':>8} | failed"
    print(header)
    print("-" * len(header))
    for rows in ROW_COUNTS:
        for name in servers:
            r = results[name, rows]
            print(
                f"{rows:>5} | {name:<20} | {r.rps:>8.1f} | {r.p50_ms:>8.2f} | {r.p99_ms:>8.2f}"
                f" | {r.failures}"
            )

    # The alias moves from version 1 to 2 while the same load runs.
    port = free_port()
    process = start(servers["automl serve"](port) + ["--poll-interval", "0.5"], port, env)
    try:
        mover = threading.Timer(
            1.0, registry.set_registered_model_alias, args=("bc", "production", version.version)
        )
        mover.start()
        moved = closed_loop(port, bodies[1], args.clients, max(args.requests, 3000))
        mover.join()
    finally:
        stop(process)
    print(
        f"\nalias moved 1 -> 2 under load: {moved.requests} requests, {moved.failures} failed, "
        f"answered by version {moved.versions}"
    )


if __name__ == "__main__":
    main()
