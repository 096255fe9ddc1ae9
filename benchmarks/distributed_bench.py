"""How far the coordinator of a cluster search scales, and what Dask costs per trial.

``--compare``: ``automl.classify`` on one small dataset at a fixed budget, with local worker
processes (n_jobs=1 and 2) and on a Dask cluster of 1 and 2 ``dask worker`` processes (each
with one thread, started here on 127.0.0.1), all against PostgreSQL: trials per minute, best
validation score, mean trial duration as the search saw it; the Dask overhead per trial is the
1-worker Dask mean less the n_jobs=1 mean.

Otherwise: N simulated workers (50-200) each finish a no-fit trial the moment
the coordinator hands it out. The coordinator does what the search loop does per trial against
PostgreSQL: Optuna ask (RDB storage, TPE), create the trial's run, write its metrics, Optuna
tell, end the run. It reports the trials/s sustained and the seconds per phase, so the phase
that saturates first is visible.

Needs AUTOML_TEST_POSTGRES_URL (``source /work/pg.env``). Usage:
    python benchmarks/distributed_bench.py [--seconds 20] [--workers 50 100 200]
    python benchmarks/distributed_bench.py --compare [--budget 60]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import optuna

import tracking

N_METRICS = 8  # a trial writes its score and a few secondary metrics and timings
BENCH_SCHEMA = "distributed_bench"


def coordinator(pg_url: str, n_workers: int, seconds: float) -> tuple[float, dict[str, float]]:
    """Trials/s and seconds per phase with ``n_workers`` always-busy simulated workers."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(pg_url)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
    client = tracking.TrackingClient(pg_url)
    exp = client.create_experiment(name)
    phase: dict[str, float] = defaultdict(float)

    def hand_out() -> None:
        t0 = time.perf_counter()
        trial = study.ask()
        x = trial.suggest_float("x", -5, 5)
        trial.suggest_int("depth", 2, 12)
        t1 = time.perf_counter()
        run = client.create_run(exp, run_name=f"trial-{trial.number}")
        phase["optuna_ask"] += t1 - t0
        phase["run_creation"] += time.perf_counter() - t1
        in_flight.append((trial, run, x))

    in_flight: list = []
    for _ in range(n_workers):  # every simulated worker busy before timing starts
        hand_out()
    phase.clear()
    done = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        trial, run, x = in_flight.pop(random.randrange(len(in_flight)))  # "finished at once"
        t0 = time.perf_counter()
        client.log_batch(run.info.run_id, metrics={f"m{i}": -x * x + i for i in range(N_METRICS)})
        t1 = time.perf_counter()
        study.tell(trial, -x * x)
        t2 = time.perf_counter()
        client.set_terminated(run.info.run_id, "FINISHED")
        phase["metric_writes"] += t1 - t0
        phase["optuna_tell"] += t2 - t1
        phase["run_end"] += time.perf_counter() - t2
        done += 1
        hand_out()  # the worker that finished gets the next trial
    seconds = time.monotonic() - started
    return done / seconds, dict(phase)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(n_workers: int):
    """A ``dask scheduler`` and ``n_workers`` one-thread ``dask worker`` processes; the address."""
    import distributed

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                          "--dashboard-address", ":0"], **quiet)
    ]  # fmt: skip
    procs += [
        subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny",
                          "--host", "127.0.0.1", "--dashboard-address", ":0"], **quiet)
        for _ in range(n_workers)
    ]  # fmt: skip
    try:
        end = time.monotonic() + 120
        while True:
            try:
                with distributed.Client(address, timeout=5) as client:
                    client.wait_for_workers(n_workers, timeout=120)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def search(frame: Any, budget_s: float, **where: Any) -> dict[str, float]:
    """One classify search; its trials per minute, best score and mean trial duration."""
    import automl

    started = time.monotonic()
    summary = automl.classify(
        frame,
        target_col="target",
        timeout_minutes=budget_s / 60,
        experiment_name=f"dist-bench-{uuid.uuid4().hex[:8]}",
        verbose=False,
        **where,
    )
    wall = time.monotonic() - started
    trials = [t for t in summary.all_trials if t.params.get("model_family") != "ensemble"]
    done = [t for t in trials if t.state == "COMPLETE"]
    return {
        "trials": len(trials),
        "complete": len(done),
        "per_min": len(done) / wall * 60,
        "best": summary.trials[0].evaluation_metric_score if summary.trials else float("nan"),
        "mean_s": sum(t.duration for t in done) / max(1, len(done)),
        "wall": wall,
    }


def compare(pg_url: str, budget_s: float) -> None:
    """The local vs Dask table (see the module docstring)."""
    import sqlalchemy as sa
    from sklearn.datasets import load_breast_cancer

    admin = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:  # a schema of its own: the team's tests share the server
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{BENCH_SCHEMA}"'))
    url = sa.engine.make_url(pg_url).update_query_dict({"options": f"-csearch_path={BENCH_SCHEMA}"})
    os.environ["AUTOML_TRACKING_URI"] = url.render_as_string(hide_password=False)
    os.environ.setdefault("AUTOML_ARTIFACT_ROOT", tempfile.mkdtemp(prefix="dist-bench-"))
    frame = load_breast_cancer(as_frame=True).frame
    rows: list[tuple[str, dict[str, float], str]] = []
    for n_jobs in (1, 2):
        rows.append((f"local n_jobs={n_jobs}", search(frame, budget_s, n_jobs=n_jobs), _load()))
    for n in (1, 2):
        with dask_cluster(n) as address:
            rows.append((f"Dask {n} worker(s)", search(frame, budget_s, cluster=address), _load()))
    print(f"classify, breast_cancer ({len(frame)} rows), {budget_s:g} s budget, PostgreSQL store")
    print(f"{'set-up':<20} {'trials':>6} {'done':>5} {'done/min':>9} {'best roc_auc':>12} "
          f"{'mean trial s':>12} {'wall s':>7}  load after")  # fmt: skip
    for name, r, load in rows:
        print(f"{name:<20} {r['trials']:>6} {r['complete']:>5} {r['per_min']:>9.1f} "
              f"{r['best']:>12.4f} {r['mean_s']:>12.2f} {r['wall']:>7.1f}  {load}")  # fmt: skip
    local1, dask1 = rows[0][1], rows[2][1]
    print(f"Dask overhead per trial (Dask 1 worker mean - local n_jobs=1 mean): "
          f"{dask1['mean_s'] - local1['mean_s']:+.2f} s")  # fmt: skip


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--compare", action="store_true", help="local vs Dask classify searches")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per compared search")
    args = parser.parse_args()
    pg_url = os.environ.get("AUTOML_TEST_POSTGRES_URL")
    if not pg_url:
        sys.exit("AUTOML_TEST_POSTGRES_URL is not set: source /work/pg.env (or .ci/postgres.sh)")
    if args.compare:
        compare(pg_url, args.budget)
        return
    print("Coordinator limit (no-fit trials, PostgreSQL store and Optuna RDB storage)")
    print(f"{'workers':>8} {'trials/s':>9}  seconds per trial by phase (share)")
    for n in args.workers:
        rate, phase = coordinator(pg_url, n, args.seconds)
        total = sum(phase.values()) or 1.0
        count = max(rate * args.seconds, 1.0)
        parts = "  ".join(
            f"{k} {v / count * 1000:.1f} ms ({v / total:.0%})"
            for k, v in sorted(phase.items(), key=lambda kv: -kv[1])
        )
        print(f"{n:>8} {rate:>9.1f}  {parts}")
    print(f"(run from {Path(__file__).name}; {N_METRICS} metrics per trial)")


if __name__ == "__main__":
    main()
