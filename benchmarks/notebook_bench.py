"""Trial notebook rendering and execution times.

    python benchmarks/notebook_bench.py [--rows 1000] [--repeat 50] [--execute all|one|none]

For every model family and task: the first render in the process (templates compile, modules
import), the median warm render (what each trial pays; target well under 50 ms), validating +
writing the .ipynb, and the exploration notebook's render. With ``--execute`` it also runs
notebooks top to bottom in a fresh Jupyter kernel (nbclient + ipykernel) and splits the time into
kernel start + imports, fitting (with CV when the plan uses it), SHAP and the rest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

import tracking
from automl.notebooks.documents import (
    render_exploration_notebook,
    render_trial_notebook,
    write_notebook,
)
from automl.notebooks.source_run import NotebookRun
from automl.tabular.families import FAMILIES, available_families
from automl.tabular.fit import fit_and_score
from automl.tabular.plan import make_plan
from benchmarks.timing import median_seconds


def make_frame(n: int, task: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    cat = rng.choice(["red", "green", "blue", "grey"], n)
    df = pd.DataFrame(
        {
            "x1": np.where(rng.random(n) < 0.05, np.nan, x1),
            "x2": x2,
            "colour": cat,
            "flag": rng.choice(["yes", "no"], n),
            "day": (pd.Timestamp("2021-01-01") + pd.to_timedelta(np.arange(n), "D")).astype(str),
            **{f"noise_{i}": rng.normal(size=n) for i in range(10)},
        }
    )
    signal = x1 + 0.5 * x2 + (cat == "red") + 0.3 * rng.normal(size=n)
    df["target"] = np.where(signal > 0.3, "yes", "no") if task == "classification" else signal
    return df


def _cell_seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def execute(nb, cwd: Path) -> dict[str, float]:
    """Run ``nb`` in a fresh kernel; wall time and its split over the notebook's sections."""
    from nbclient import NotebookClient

    start = time.perf_counter()
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    wall = time.perf_counter() - start
    parts = {"imports": 0.0, "fit": 0.0, "shap": 0.0}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        seconds = _cell_seconds(cell)
        if cell.source.startswith("import "):
            parts["imports"] += seconds
        elif "fold_scores = []" in cell.source or cell.source.startswith("pipeline.fit("):
            parts["fit"] += seconds
        elif "shap" in cell.source:
            parts["shap"] += seconds
    cells = sum(_cell_seconds(c) for c in nb.cells if c.cell_type == "code")
    parts["kernel_start"] = wall - cells
    parts["other"] = cells - parts["imports"] - parts["fit"] - parts["shap"]
    parts["wall"] = wall
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--execute",
        choices=("all", "one", "none"),
        default="one",
        help="execute every notebook, one per task (default), or none",
    )
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="notebook-bench-"))
    tracking.set_tracking_uri(f"sqlite:///{tmp / 'store.db'}")
    experiment_id = tracking.set_experiment("notebook-bench").experiment_id

    first_render = None
    rows = []
    executions = []
    for task in ("classification", "regression"):
        plan, alerts, prepared = make_plan(make_frame(args.rows, task), task, "target")
        snapshot = tmp / f"{task}.parquet"
        prepared.to_parquet(snapshot, index=False)
        exploration = partial(
            render_exploration_notebook,
            plan,
            snapshot_path=snapshot,
            alerts=alerts,
            experiment_name="bench",
        )
        exploration()
        rows.append((task, "(exploration)", None, median_seconds(exploration, args.repeat), None))
        for i, family in enumerate(available_families(plan)):
            config = {"family": family, "params": FAMILIES[family].portfolio(plan)[0]}
            _pipeline, metrics, config = fit_and_score(plan, config, prepared)
            with tracking.start_run(experiment_id=experiment_id) as run:
                tracking.log_model(_pipeline, "model", task=task)
            source = NotebookRun(
                run.info.run_id, "notebook-bench", i, snapshot, tracking.get_tracking_uri(), metrics
            )
            kwargs = dict(experiment_id=experiment_id)
            start = time.perf_counter()
            nb = render_trial_notebook(plan, config, source, **kwargs)
            cold = time.perf_counter() - start
            if first_render is None:
                first_render = cold
            warm = median_seconds(
                partial(render_trial_notebook, plan, config, source, **kwargs), args.repeat
            )
            path = tmp / f"{task}_{family}.ipynb"
            write = median_seconds(partial(write_notebook, nb, path), max(1, args.repeat // 5))
            rows.append((task, family, cold, warm, write))
            if args.execute == "all" or (args.execute == "one" and i == 0):
                executions.append((task, family, plan.validation, execute(nb, tmp)))

    print(
        f"\nRendering ({args.rows} rows; median of {args.repeat} warm renders; first render "
        f"in the process {first_render * 1000:.0f} ms incl. template compilation)"
    )
    print(f"{'task':<15}{'family':<22}{'first ms':>10}{'warm ms':>10}{'write ms':>10}")
    for task, family, cold, warm, write in rows:
        fmt = lambda v: f"{v * 1000:>10.1f}" if v is not None else f"{'':>10}"  # noqa: E731
        print(f"{task:<15}{family:<22}{fmt(cold)}{fmt(warm)}{fmt(write)}")
    if executions:
        print("\nExecution in a fresh kernel (seconds)")
        cols = ("wall", "kernel_start", "imports", "fit", "shap", "other")
        print(f"{'task':<15}{'family':<22}{'validation':<11}" + "".join(f"{c:>13}" for c in cols))
        for task, family, validation, parts in executions:
            print(
                f"{task:<15}{family:<22}{validation:<11}"
                + "".join(f"{parts[c]:>13.2f}" for c in cols)
            )
    try:
        load = " / ".join(f"{x:.1f}" for x in __import__("os").getloadavg())
        print(f"\nmachine load average (1/5/15 min): {load}; python {sys.version.split()[0]}")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
