"""Benchmark harness: every framework on the same split, budget and cores; tables, chart, RESULTS.md.

    python -m benchmarks.run --suite tabular --budget 60 --frameworks automl,flaml

Each (dataset, framework) runs in its own process group under a wall-clock guard (by default
twice the budget plus a minute for loading and predicting): a framework that overruns is
measured, one that hangs is killed and recorded as "killed", and neither stops the harness.
Records are appended to ``<out>/results.jsonl``; ``--reuse`` takes earlier records instead of
re-running, ``--write-results`` copies the report to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.datasets import ALL_TABULAR, suite_names
from benchmarks.frameworks import FRAMEWORKS, framework_python
from benchmarks.report import git_commit, write_report

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out"


def run_guarded(cmd: Sequence[str], timeout_s: float, log_path: Path) -> tuple[int | None, float]:
    """Run ``cmd`` in a new process group; kill the whole group after ``timeout_s`` seconds.

    Returns ``(returncode, wall_seconds)``; returncode is None when the guard killed it.
    """
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            list(cmd), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=HERE.parent
        )
        try:
            code: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            code = None
            _kill_group(proc)
    return code, time.monotonic() - start


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_one(
    dataset: str,
    framework: str,
    budget_s: float,
    cores: int,
    seed: int,
    out_dir: Path,
    guard_s: float | None = None,
) -> dict:
    """Run one framework on one dataset in a guarded subprocess and return its record."""
    guard_s = guard_s if guard_s is not None else 2 * budget_s + 60
    job = {
        "dataset": dataset,
        "framework": framework,
        "budget_s": budget_s,
        "cores": cores,
        "seed": seed,
    }
    logs = out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    record = {
        **job,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_1m": os.getloadavg()[0],
        "git_commit": git_commit(),
        "guard_s": guard_s,
    }
    with tempfile.TemporaryDirectory(prefix="bench-job-") as tmp:
        job_file, result_file = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_file.write_text(json.dumps(job))
        cmd = [
            framework_python(framework),
            "-m",
            "benchmarks.worker",
            str(job_file),
            str(result_file),
        ]
        code, wall = run_guarded(cmd, guard_s, logs / f"{dataset}-{framework}.log")
        result = json.loads(result_file.read_text()) if result_file.exists() else {}
    record.update(result)
    record["process_seconds"] = wall
    if code is None:
        record["status"] = "killed"
        record["error"] = f"killed by the wall-clock guard after {guard_s:.0f} s"
        record["overrun_pct"] = 100.0 * max(0.0, wall - budget_s) / budget_s
    elif not result:
        record["status"] = "failed"
        record["error"] = f"worker exited with code {code} without a result (see logs/)"
    if record.get("fit_seconds") is not None:
        record["overrun_pct"] = 100.0 * max(0.0, record["fit_seconds"] - budget_s) / budget_s
    return record


def _stored(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_benchmark(
    datasets: Sequence[str],
    frameworks: Sequence[str],
    budget_s: float,
    cores: int,
    seed: int = 0,
    out_dir: Path = DEFAULT_OUT,
    guard_s: float | None = None,
    reuse: Sequence[str] = (),
    echo: bool = True,
) -> list[dict]:
    """Run every framework on every dataset (interleaved, so both see the same machine load).

    Frameworks named in ``reuse`` take their latest successful stored record with the same
    dataset, budget, cores and seed when there is one.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    store = out_dir / "results.jsonl"
    previous = {
        (r["dataset"], r["framework"], r["budget_s"], r["cores"], r["seed"]): r
        for r in _stored(store)
        if r.get("status") == "ok"
    }
    records = []
    for ds in datasets:
        for fw in frameworks:
            key = (ds, fw, budget_s, cores, seed)
            if fw in reuse and key in previous:
                record = previous[key]
                if echo:
                    print(f"{ds:>16} {fw:>12}  reused record from {record['started']}", flush=True)
            else:
                record = run_one(ds, fw, budget_s, cores, seed, out_dir, guard_s)
                with store.open("a") as fh:
                    fh.write(json.dumps(record, default=str) + "\n")
                if echo:
                    print(_progress_line(record), flush=True)
            records.append(record)
    return records


def _progress_line(r: dict) -> str:
    outcome = (
        f"{r.get('metric')}={r.get('score'):.5g}"
        if r.get("status") == "ok"
        else f"{r.get('status')}: {r.get('error', '')[:120]}"
    )
    return (
        f"{r['dataset']:>16} {r['framework']:>12}  {outcome}  fit {r.get('fit_seconds') or 0:.1f}s "
        f"trials {r.get('n_trials')}  overrun {r.get('overrun_pct') or 0:.1f}%  "
        f"load {r['loadavg_1m']:.1f}"
    )


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.run``."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--suite", default="tabular", help="tabular (16 datasets) or smoke (3 small)")
    p.add_argument("--datasets", type=_csv, help="comma-separated subset of the suite")
    p.add_argument("--budget", type=float, default=60.0, help="wall seconds per framework/dataset")
    p.add_argument(
        "--frameworks", type=_csv, default=["automl", "flaml"], help=", ".join(FRAMEWORKS)
    )
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="cores per framework")
    p.add_argument("--seed", type=int, default=0, help="seed of the outer 80/20 split and searches")
    p.add_argument(
        "--seeds",
        type=lambda v: [int(x) for x in _csv(v)],
        help="several outer seeds (e.g. 0,1,2): each dataset is scored by its mean over them",
    )
    p.add_argument("--guard", type=float, help="kill a run after this many seconds (2*budget+60)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    p.add_argument(
        "--reuse", type=_csv, default=[], help="frameworks whose stored records to reuse"
    )
    p.add_argument("--note", default="", help="free text put at the top of the report")
    p.add_argument(
        "--write-results",
        nargs="?",
        type=Path,
        const=HERE / "RESULTS.md",
        help="also write the report to this file (default benchmarks/RESULTS.md), keeping its notes",
    )
    return p


def _without_note(argv: Sequence[str]) -> list[str]:
    """The command line as shown in the report: ``--note`` is printed separately."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--note":
            skip = True
        elif not arg.startswith("--note="):
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark, write the report; exit 1 when a run failed."""
    args = build_parser().parse_args(argv)
    names = suite_names(args.suite)
    if args.datasets:
        unknown = [d for d in args.datasets if d not in ALL_TABULAR]
        if unknown:
            raise SystemExit(f"--datasets: unknown {unknown}; choose from {sorted(ALL_TABULAR)}")
        names = args.datasets
    unknown = [f for f in args.frameworks if f not in FRAMEWORKS]
    if unknown:
        raise SystemExit(f"--frameworks: unknown {unknown}; choose from {', '.join(FRAMEWORKS)}")
    if args.budget <= 0:
        raise SystemExit("--budget must be a positive number of seconds")
    seeds = args.seeds or [args.seed]
    records = [
        record
        for seed in seeds
        for record in run_benchmark(
            names,
            args.frameworks,
            args.budget,
            args.cores,
            seed,
            args.out,
            args.guard,
            args.reuse,
        )
    ]
    command = "python -m benchmarks.run " + " ".join(
        shlex.quote(a) for a in _without_note(argv if argv is not None else sys.argv[1:])
    )
    paths = write_report(
        records,
        args.frameworks,
        args.out,
        budget_s=args.budget,
        cores=args.cores,
        seed=seeds,
        command=command,
        note=args.note,
        results_md=args.write_results,
    )
    print((args.out / "results.md").read_text())
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0 if all(r.get("status") == "ok" for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
