"""Disk a search writes, per trial, and what retention gives back (issue 17, item 12).

    python -m benchmarks.retention_bench [--rows 100000] [--features 20] [--seconds 60]
        [--keep-top 3] [--n-jobs 2] [--max-trials N]

Runs ``automl.classify`` on a synthetic table (the issue's case: 100k x 20, 60 s), then prints
one row per state: every model as an uncompressed pickle (how models were written before
``tracking.models.COMPRESS``, measured by dumping each logged model again without compression),
as logged now (compressed, every trial kept: the default), and after
``automl.retention.prune_models(keep_top=k)``. Columns: trial models kept, the median and
largest model folder, model bytes in total, and the whole store (database, notebooks, charts,
SHAP, snapshot and models).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import joblib
import pandas as pd
from sklearn.datasets import make_classification

import automl
import tracking
from automl.retention import prune_models


def _bytes(folder: str) -> int:
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, files in os.walk(folder)
        for name in files
    )


def _model_folders(client: tracking.TrackingClient, experiment_id: str) -> dict[str, str]:
    runs = client.search_runs([experiment_id], "tags.`automl.role` = 'trial'")
    folders = {}
    for run in runs:
        if any(e.is_dir and e.path == "model" for e in client.list_artifacts(run.info.run_id)):
            folders[run.info.run_id] = client.download_artifacts(run.info.run_id, "model")
    return folders


def _uncompressed(folder: str, scratch: str) -> int:
    """The folder's size with its model written as a plain pickle (compress=0)."""
    model_file = os.path.join(folder, "model.joblib")
    path = os.path.join(scratch, "plain.joblib")
    joblib.dump(joblib.load(model_file), path, compress=0)
    return _bytes(folder) - os.path.getsize(model_file) + os.path.getsize(path)


def _row(label: str, sizes: list[int], store_bytes: int) -> str:
    median = statistics.median(sizes) / 1e6 if sizes else 0.0
    largest = max(sizes) / 1e6 if sizes else 0.0
    return (
        f"| {label:<34} | {len(sizes):>6} | {median:>9.2f} | {largest:>9.1f} | "
        f"{sum(sizes) / 1e6:>9.1f} | {store_bytes / 1e6:>9.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--keep-top", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--max-trials", type=int, help="also stop after this many trials (on a loaded machine)"
    )
    args = parser.parse_args()
    X, y = make_classification(
        n_samples=args.rows, n_features=args.features, n_informative=10, random_state=0
    )
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(args.features)]).assign(y=y)
    with tempfile.TemporaryDirectory() as folder:
        store = os.path.join(folder, "store")
        tracking.set_tracking_uri(store)
        os.environ["AUTOML_ARTIFACT_ROOT"] = os.path.join(store, "artifacts")
        started = time.perf_counter()
        summary = automl.classify(
            frame,
            target_col="y",
            timeout_minutes=args.seconds / 60,
            n_jobs=args.n_jobs,
            max_trials=args.max_trials,
            experiment_name="retention-bench",
            verbose=False,
        )
        elapsed = time.perf_counter() - started
        client = tracking.TrackingClient(store)
        experiment = client.get_experiment_by_name("retention-bench")
        folders = _model_folders(client, experiment.experiment_id)
        logged = [_bytes(f) for f in folders.values()]
        plain = [_uncompressed(f, folder) for f in folders.values()]
        store_now = _bytes(store)
        store_plain = store_now - sum(logged) + sum(plain)
        report = prune_models("retention-bench", keep_top=args.keep_top, tracking_uri=store)
        after = [_bytes(f) for f in _model_folders(client, experiment.experiment_id).values()]
        store_after = _bytes(store)
        n_trials = len(summary.trials)
        print(
            f"automl.classify {args.rows:,} x {args.features}, {args.seconds:.0f} s budget "
            f"(took {elapsed:.0f} s), n_jobs={args.n_jobs}, max_trials={args.max_trials}: "
            f"{n_trials} trials, "
            f"{len(folders)} trial models; 1-min load {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores"
        )
        print(
            "| state                              | models | median MB | max MB    | models MB "
            "| store MB  |"
        )
        print("|" + "|".join(["-" * 36, "-" * 8] + ["-" * 11] * 4) + "|")
        print(_row("uncompressed pickles (before)", plain, store_plain))
        print(_row("compressed, all kept (default)", logged, store_now))
        print(_row(f"after prune_models(keep_top={args.keep_top})", after, store_after))
        per_trial = [(store_plain, "before"), (store_now, "default"), (store_after, "pruned")]
        print(
            "store MB per trial: "
            + ", ".join(f"{label} {b / 1e6 / max(n_trials, 1):.2f}" for b, label in per_trial)
        )
        print(report)


if __name__ == "__main__":
    main()
