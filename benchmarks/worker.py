"""One framework on one dataset, in its own process: load, split, fit under the budget, score.

Run by ``benchmarks.run`` as ``python -m benchmarks.worker <job.json> <result.json>``; a crash or
a kill here cannot take the harness down, and the parent's wall-clock guard bounds an overrun.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
import traceback
from pathlib import Path

import pandas as pd

from benchmarks.datasets import load_dataset
from benchmarks.frameworks import FitJob, get_adapter
from benchmarks.protocol import METRIC_BY_TASK, label_key, outer_split, score


def _pin_cores(cores: int) -> None:
    """Restrict this process (and its children) to ``cores`` CPUs so every framework gets the same."""
    if hasattr(os, "sched_setaffinity"):
        available = sorted(os.sched_getaffinity(0))
        if cores < len(available):
            os.sched_setaffinity(0, available[:cores])


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def run_job(job: dict, result: dict) -> None:
    """Execute ``job`` (dataset, framework, budget_s, cores, seed), filling ``result`` as it goes."""
    _pin_cores(int(job["cores"]))
    t0 = time.monotonic()
    df, target, task = load_dataset(job["dataset"])
    labels = sorted(pd.unique(df[target]), key=label_key) if task != "regression" else None
    train, test = outer_split(df, target, task, seed=int(job["seed"]))
    result.update(
        task=task,
        metric=METRIC_BY_TASK[task],
        n_train=len(train),
        n_test=len(test),
        n_features=df.shape[1] - 1,
        load_seconds=time.monotonic() - t0,
    )
    adapter = get_adapter(job["framework"])
    with tempfile.TemporaryDirectory(prefix=f"bench-{job['dataset']}-") as tmp:
        workdir = Path(tmp)
        start = time.monotonic()
        budget, cores, seed = float(job["budget_s"]), int(job["cores"]), int(job["seed"])
        adapter.fit(FitJob(train, target, task, budget, cores, seed, workdir))
        result["fit_seconds"] = time.monotonic() - start
        start = time.monotonic()
        predictions, classes = adapter.predict(test.drop(columns=[target]))
        result["predict_seconds"] = time.monotonic() - start
        os.chdir(Path(__file__).resolve().parent.parent)
    result.update(
        status="ok",
        score=score(task, test[target], predictions, classes, labels),
        n_trials=adapter.n_trials,
        best_model=adapter.best_model,
        time_breakdown=adapter.time_breakdown,
        details=getattr(adapter, "details", None),
        peak_rss_mb=_peak_rss_mb(),
    )


def main(argv: list[str] | None = None) -> int:
    """Read the job file, run it, write the result file (also on failure, with the traceback)."""
    job_path, result_path = (argv if argv is not None else sys.argv[1:])[:2]
    job = json.loads(Path(job_path).read_text())
    result: dict = {"status": "failed"}
    try:
        run_job(job, result)
    except BaseException as exc:  # the record must say why, whatever happened
        result.update(
            status="failed",
            error=f"{type(exc).__name__}: {exc}"[:500],
            traceback=traceback.format_exc()[-4000:],
        )
    Path(result_path).write_text(json.dumps(result, default=str))
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
