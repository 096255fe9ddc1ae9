"""Tables (Markdown + CSV), the normalised-score chart and RESULTS.md from the run records."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd

from benchmarks.protocol import HIGHER_IS_BETTER, TIE_TOLERANCE, normalised, verdict

PHASES = ("data_prep", "fitting", "shap", "logging", "notebooks", "registration", "idle")
_PHASE_ALIASES = {"idle_workers": "idle"}
NOTES_MARKER = "<!-- notes below this line are kept when the harness rewrites this file -->"
# Share of datasets won or tied that the engine aims at, per peer (issue 13).
WIN_TARGET = {"flaml": 0.8, "autogluon": 0.5}
WIN_TARGET_DEFAULT = 0.8
_PACKAGES = ("automl-tracked", "flaml", "lightgbm", "xgboost", "scikit-learn", "optuna", "pandas")


def _fmt(value: object, spec: str = ".1f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        if spec == "score":
            return f"{value:.5g}" if abs(value) < 1e4 else f"{value:,.0f}"
        return format(value, spec)
    return str(value)


def _score_cell(rec: dict | None) -> str:
    if rec is None:
        return "not run"
    if rec.get("status") == "ok":
        return _fmt(rec.get("score"), "score")
    return rec.get("status", "failed")


def mean_over_seeds(records: Sequence[dict]) -> list[dict]:
    """One record per (dataset, framework): scores, trials and times averaged over outer seeds.

    A framework that failed on any seed keeps that failure (a mean over fewer seeds would not
    compare like with like); the overrun is the worst seed's, since the promise is per run.
    """
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["dataset"], r["framework"]), []).append(r)
    merged = []
    for recs in groups.values():
        if len(recs) == 1:
            merged.append(recs[0])
            continue
        failed = next((r for r in recs if r.get("status") != "ok"), None)
        if failed is not None:
            merged.append(failed)
            continue
        out = dict(recs[-1])
        out["seeds"] = [r.get("seed") for r in recs]
        out["score_by_seed"] = [r["score"] for r in recs]
        for key in ("score", "fit_seconds", "n_trials"):
            values = [float(r[key]) for r in recs if r.get(key) is not None]
            out[key] = sum(values) / len(values) if values else None
        overruns = [float(r.get("overrun_pct") or 0.0) for r in recs]
        out["overrun_pct"] = max(overruns)
        breakdowns = [r["time_breakdown"] for r in recs if r.get("time_breakdown")]
        if breakdowns:
            phases = dict.fromkeys(k for tb in breakdowns for k in tb)
            out["time_breakdown"] = {
                k: sum(float(tb.get(k, 0.0)) for tb in breakdowns) / len(breakdowns) for k in phases
            }
        merged.append(out)
    return merged


def results_frame(records: Sequence[dict], frameworks: Sequence[str]) -> pd.DataFrame:
    """One row per dataset: score, trials, fit wall time and overrun per framework, and winner.

    Records of several outer seeds are averaged first (:func:`mean_over_seeds`).
    """
    records = mean_over_seeds(records)
    by_key = {(r["dataset"], r["framework"]): r for r in records}
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    rows = []
    for ds in datasets:
        recs = {fw: by_key.get((ds, fw)) for fw in frameworks}
        any_rec = next(r for r in recs.values() if r is not None)
        metric = any_rec.get("metric") or next(
            (r.get("metric") for r in recs.values() if r and r.get("metric")), None
        )
        scores = {
            fw: (r.get("score") if r and r.get("status") == "ok" else float("nan"))
            for fw, r in recs.items()
        }
        verdicts = verdict(metric, scores) if metric else dict.fromkeys(frameworks, "loss")
        winners = [fw for fw, v in verdicts.items() if v in ("win", "tie")]
        row = {
            "dataset": ds,
            "task": any_rec.get("task"),
            "metric": metric,
            "n_train": any_rec.get("n_train"),
        }
        for fw, r in recs.items():
            r = r or {}
            row[f"score_{fw}"] = scores[fw]
            row[f"status_{fw}"] = r.get("status", "not run")
            row[f"trials_{fw}"] = r.get("n_trials")
            row[f"fit_seconds_{fw}"] = r.get("fit_seconds", r.get("process_seconds"))
            row[f"overrun_pct_{fw}"] = r.get("overrun_pct")
            row[f"best_model_{fw}"] = r.get("best_model")
        row["winner"] = (
            "none"
            if not winners
            else winners[0]
            if len(winners) == 1
            else "tie (" + ", ".join(winners) + ")"
        )
        rows.append(row)
    return pd.DataFrame(rows)


def head_to_head(frame: pd.DataFrame, subject: str, other: str) -> dict[str, list[str]]:
    """Datasets where ``subject`` wins, ties (within 0.5 %) or loses against ``other``."""
    out: dict[str, list[str]] = {"win": [], "tie": [], "loss": []}
    for _, row in frame.iterrows():
        v = verdict(row["metric"], {subject: row[f"score_{subject}"], other: row[f"score_{other}"]})
        out[v[subject]].append(row["dataset"])
    return out


def markdown_results(frame: pd.DataFrame, frameworks: Sequence[str]) -> str:
    """The first table: scores, winner, trials, wall time and overrun per framework."""
    fw = " / ".join(frameworks)
    header = (
        ["dataset", "metric"]
        + list(frameworks)
        + ["winner", f"trials ({fw})", f"wall s ({fw})", f"overrun % ({fw})"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in frame.iterrows():
        recs = [
            {"status": row[f"status_{f}"], "score": row[f"score_{f}"]}
            if row[f"status_{f}"] != "not run"
            else None
            for f in frameworks
        ]
        arrow = "↑" if HIGHER_IS_BETTER.get(row["metric"], True) else "↓"
        cells = [row["dataset"], f"{row['metric']} {arrow}"]
        cells += [_score_cell(r) for r in recs]
        cells.append(row["winner"])
        cells.append(" / ".join(_fmt(_int_or_none(row[f"trials_{f}"])) for f in frameworks))
        cells.append(" / ".join(_fmt(row[f"fit_seconds_{f}"]) for f in frameworks))
        cells.append(" / ".join(_fmt(row[f"overrun_pct_{f}"]) for f in frameworks))
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def _int_or_none(value: object) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def markdown_details(records: Sequence[dict], frameworks: Sequence[str]) -> str:
    """Per dataset and framework: trial states, validation scheme and the model that won."""
    lines = [
        "| dataset | framework | trials by state | validation | best model |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        if r["framework"] not in frameworks:
            continue
        d = r.get("details") or {}
        states = ", ".join(f"{k.lower()} {v}" for k, v in (d.get("states") or {}).items())
        best = str(r.get("best_model") or r.get("error") or "")
        best = best if len(best) <= 70 else best[:67] + "..."
        lines.append(
            f"| {r['dataset']} | {r['framework']} | {states or _fmt(r.get('n_trials'))} "
            f"| {d.get('validation') or '–'} | {best.replace('|', '/')} |"
        )
    return "\n".join(lines)


def time_frame(records: Sequence[dict], framework: str) -> pd.DataFrame:
    """Per dataset: each engine phase as a share (%) of all the time the engine accounts for.

    The engine reports core-seconds per phase (trial phases summed over its parallel workers,
    ``idle`` = worker capacity that ran no finished trial); ``wall``/``total`` are not phases.
    Shares are of ``max(accounted, cores x wall)``: core-seconds the engine does not account
    for (e.g. work of trials killed at the deadline) show up as ``unaccounted``.
    """
    rows = []
    for r in mean_over_seeds(records):
        if r["framework"] != framework or not r.get("time_breakdown"):
            continue
        tb = {
            _PHASE_ALIASES.get(k, k): float(v)
            for k, v in r["time_breakdown"].items()
            if k not in ("wall", "total")
        }
        accounted = sum(tb.values())
        capacity = float(r.get("cores") or 1) * float(r.get("fit_seconds") or 0.0)
        total = max(accounted, capacity) or 1.0
        row = {
            "dataset": r["dataset"],
            "wall_seconds": r.get("fit_seconds"),
            "accounted": accounted,
        }
        names = [p for p in PHASES if p in tb or p in ("fitting", "idle")]
        names += sorted(k for k in tb if k not in PHASES)
        for phase in names:
            row[f"{phase}_pct"] = 100.0 * tb.get(phase, 0.0) / total
        row["unaccounted_pct"] = 100.0 * (total - accounted) / total
        row["not_fitting_pct"] = 100.0 - row["fitting_pct"]
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_time(frame: pd.DataFrame) -> str:
    """The second table: where this engine's wall time goes."""
    if frame.empty:
        return "_No run of this engine reported a time breakdown._"
    cols = [c for c in frame.columns if c.endswith("_pct")]
    frame = frame.fillna(0.0)
    header = ["dataset", "wall s", "core-s accounted"]
    header += [c.removesuffix("_pct").replace("_", " ") + " %" for c in cols]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in frame.iterrows():
        cells = [row["dataset"], _fmt(row["wall_seconds"]), _fmt(row["accounted"])]
        cells += [f"{row[c]:.1f}" for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    mean = ["**mean**", _fmt(frame["wall_seconds"].mean()), _fmt(frame["accounted"].mean())]
    mean += [f"{frame[c].mean():.1f}" for c in cols]
    lines.append("| " + " | ".join(mean) + " |")
    return "\n".join(lines)


def plot_scores(frame: pd.DataFrame, frameworks: Sequence[str], path: Path, title: str) -> Path:
    """Horizontal grouped bars of each framework's score divided by the dataset's best score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(frame)
    fig, ax = plt.subplots(figsize=(8, 0.45 * n * max(1, len(frameworks) / 2) + 1.5))
    height = 0.8 / max(1, len(frameworks))
    for i, fw in enumerate(frameworks):
        values = []
        for _, row in frame.iterrows():
            scores = [row[f"score_{f}"] for f in frameworks]
            valid = [s for s in scores if not (s is None or math.isnan(s))]
            if not valid:
                values.append(float("nan"))
                continue
            best = (max if HIGHER_IS_BETTER[row["metric"]] else min)(valid)
            values.append(normalised(row["metric"], row[f"score_{fw}"], best))
        ys = [j + i * height for j in range(n)]
        ax.barh(ys, [0 if math.isnan(v) else v for v in values], height=height, label=fw)
    ax.set_yticks([j + 0.4 - height / 2 for j in range(n)])
    ax.set_yticklabels(
        [f"{d} ({m})" for d, m in zip(frame["dataset"], frame["metric"], strict=True)]
    )
    ax.invert_yaxis()
    ax.set_xlim(max(0.0, min(0.8, ax.get_xlim()[0])), 1.005)
    ax.axvline(1 - TIE_TOLERANCE, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("score relative to the best on the dataset (1 = best; ≥ dotted line = tie)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def machine_description() -> dict[str, str]:
    """Cores, memory, CPU model, OS and library versions of the machine the run used."""
    info = {"cpu_count": str(os.cpu_count())}
    if hasattr(os, "sched_getaffinity"):
        info["usable_cores"] = str(len(os.sched_getaffinity(0)))
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
        info["memory_gb"] = f"{kb / 1024**2:.1f}"
    except (OSError, StopIteration, ValueError):
        info["memory_gb"] = "unknown"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        info["cpu"] = next(line for line in cpuinfo if line.startswith("model name")).split(":")[1]
        info["cpu"] = info["cpu"].strip()
    except (OSError, StopIteration, IndexError):
        info["cpu"] = platform.processor() or "unknown"
    info["os"] = platform.platform()
    info["python"] = platform.python_version()
    for pkg in _PACKAGES:
        try:
            info[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            info[pkg] = "not installed"
    info["git_commit"] = git_commit()
    return info


def git_commit() -> str:
    """Short commit of the working tree, ``-dirty`` when it has uncommitted changes."""
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _targets(frame: pd.DataFrame, times: pd.DataFrame, subject: str, others: Sequence[str]) -> str:
    lines = []
    for other in others:
        target = WIN_TARGET.get(other, WIN_TARGET_DEFAULT)
        h2h = head_to_head(frame, subject, other)
        n = len(frame)
        ok = len(h2h["win"]) + len(h2h["tie"])
        lines.append(
            f"- **{subject} vs {other}**: wins {len(h2h['win'])}, ties {len(h2h['tie'])}, "
            f"losses {len(h2h['loss'])} of {n} → wins or ties on {100 * ok / max(n, 1):.0f} % "
            f"(target ≥ {100 * target:.0f} %: {'met' if n and ok / n >= target else 'NOT met'})."
        )
        if h2h["loss"]:
            lines.append(f"  - {subject} loses on: {', '.join(h2h['loss'])}.")
    overruns = frame[f"overrun_pct_{subject}"].dropna()
    if not overruns.empty:
        worst = frame.loc[overruns.idxmax()]
        lines.append(
            f"- **{subject} budget overrun**: max {overruns.max():.1f} % ({worst['dataset']}) "
            f"(target ≤ 2 %: {'met' if overruns.max() <= 2 else 'NOT met'}); over 2 % on: "
            + (", ".join(frame.loc[overruns[overruns > 2].index, "dataset"]) or "none")
            + "."
        )
    if not times.empty:
        worst = times.loc[times["not_fitting_pct"].idxmax()]
        lines.append(
            f"- **{subject} time not spent fitting**: mean {times['not_fitting_pct'].mean():.1f} %, "
            f"max {worst['not_fitting_pct']:.1f} % ({worst['dataset']}) (target < 10 %: "
            f"{'met' if times['not_fitting_pct'].max() < 10 else 'NOT met'})."
        )
    return "\n".join(lines)


def _seeds_text(seed: int | Sequence[int]) -> str:
    seeds = [seed] if isinstance(seed, int) else list(seed)
    if len(seeds) == 1:
        return f"outer split seed {seeds[0]}"
    return (
        f"outer split seeds {', '.join(map(str, seeds))} (each dataset scored by its mean over "
        "the seeds; overrun = the worst seed's)"
    )


def _commits(records: Sequence[dict]) -> str:
    return ", ".join(dict.fromkeys(str(r["git_commit"]) for r in records if r.get("git_commit")))


def _load_line(records: Sequence[dict]) -> str:
    loads = [r["loadavg_1m"] for r in records if r.get("loadavg_1m") is not None]
    if not loads:
        return ""
    return (
        f"Machine load (1-min load average when each run started): mean {sum(loads) / len(loads):.1f},"
        f" max {max(loads):.1f} on {os.cpu_count()} CPUs; above the core count, frameworks share "
        "CPU with other jobs, so wall times, overruns and trial counts are inflated/deflated."
    )


def write_report(
    records: Sequence[dict],
    frameworks: Sequence[str],
    out_dir: Path,
    *,
    budget_s: float,
    cores: int,
    seed: int | Sequence[int],
    command: str,
    note: str = "",
    results_md: Path | None = None,
) -> dict[str, Path]:
    """Write results.csv, results.md, scores.png and RESULTS.md into ``out_dir``.

    With ``results_md`` the RESULTS.md (and its chart, alongside) is also copied there, keeping
    any notes below ``NOTES_MARKER`` in the existing file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = results_frame(records, frameworks)
    csv_path = out_dir / "results.csv"
    frame.to_csv(csv_path, index=False)
    table = markdown_results(frame, frameworks)
    (out_dir / "results.md").write_text(table + "\n")
    chart_name = f"scores_{int(budget_s)}s.png"
    chart = plot_scores(
        frame,
        frameworks,
        out_dir / chart_name,
        f"Test score relative to the best, budget {budget_s:g} s, {cores} cores",
    )
    subject = "automl" if "automl" in frameworks else frameworks[0]
    times = time_frame(records, subject)
    times.to_csv(out_dir / "time_breakdown.csv", index=False)
    machine = machine_description()
    others = [f for f in frameworks if f != subject]
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            f"Command: `{command}`  ",
            f"Budget {budget_s:g} s per framework and dataset, {cores} cores each "
            f"(CPU affinity pinned), {_seeds_text(seed)}; scores on the held-out 20 %.",
            "",
            "Machine: "
            + ", ".join(
                f"{k} {v}"
                for k, v in machine.items()
                if k in ("cpu", "cpu_count", "usable_cores", "memory_gb", "os", "python")
            ),
            "Versions: "
            + ", ".join(f"{k} {v}" for k, v in machine.items() if k in _PACKAGES)
            + f", commit(s) of the runs: {_commits(records) or machine['git_commit']}.",
            _load_line(records),
            "",
            note,
            "",
            "## Accuracy at equal budget",
            "",
            "ROC AUC ↑ (binary), log loss ↓ (multiclass), RMSE ↓ (regression). Winner: best score; "
            f"'tie' when within {100 * TIE_TOLERANCE:g} % (relative) of the best. Wall s = the "
            "framework's fit call as timed by the harness; overrun = how far it went past the budget.",
            "",
            table,
            "",
            _targets(frame, times, subject, others) if subject == "automl" and others else "",
            "",
            f"![normalised scores]({chart_name})",
            "",
        ]
        + (
            [
                "## Where this engine's wall time goes",
                "",
                "Shares (%) of the core-seconds available (cores x wall) per phase of "
                "`summary.time_breakdown` (trial phases summed over parallel workers; idle = "
                "worker capacity that ran no finished trial); 'unaccounted' = core-seconds "
                "no phase claims (e.g. trials killed at the deadline); 'not fitting' = all but "
                "fitting.",
                "",
                markdown_time(times),
                "",
                "## Search details",
                "",
                markdown_details(records, frameworks),
                "",
            ]
            if subject == "automl"
            else []
        )
    )
    report = out_dir / "RESULTS.md"
    report.write_text(text)
    paths = {"csv": csv_path, "markdown": out_dir / "results.md", "chart": chart, "report": report}
    if results_md is not None:
        kept = ""
        if results_md.exists() and NOTES_MARKER in results_md.read_text():
            kept = results_md.read_text().split(NOTES_MARKER, 1)[1]
        results_md.write_text(text + "\n" + NOTES_MARKER + (kept or "\n"))
        (results_md.parent / chart_name).write_bytes(chart.read_bytes())
        paths["results_md"] = results_md
    return paths
