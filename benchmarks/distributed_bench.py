"""How far the coordinator of a cluster search scales.

N simulated workers (50-200) each finish a no-fit trial the moment
the coordinator hands it out. The coordinator does what the search loop does per trial against
PostgreSQL: Optuna ask (RDB storage, TPE), create the trial's run, write its metrics, Optuna
tell, end the run. It reports the trials/s sustained and the seconds per phase, so the phase
that saturates first is visible.

Not measured here yet: issue 16's local n_jobs=2 vs Dask 1 vs 2 workers comparison, which
needs cluster= wired into automl.classify.

Needs AUTOML_TEST_POSTGRES_URL (``source /work/pg.env``). Usage:
    python benchmarks/distributed_bench.py [--seconds 20] [--workers 50 100 200]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import optuna

import tracking

N_METRICS = 8  # a trial writes its score and a few secondary metrics and timings


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[50, 100, 200])
    args = parser.parse_args()
    pg_url = os.environ.get("AUTOML_TEST_POSTGRES_URL")
    if not pg_url:
        sys.exit("AUTOML_TEST_POSTGRES_URL is not set: source /work/pg.env (or .ci/postgres.sh)")
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
