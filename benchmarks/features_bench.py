"""Point-in-time join and online lookups: automl.features vs Feast (local provider) vs merge_asof.

    python benchmarks/features_bench.py [--entities 100000 --stamps 100 --labels 1000000]

One Parquet copy of the data is written first; then each engine runs each phase in a process of
its own (so peak memory is that phase's), Feast from its own interpreter (``--feast-python``,
default /work/venv-feast/bin/python: its pins clash with ours). Phases: ``setup`` (load the
table: create_table / feast apply + materialize to SQLite), ``join`` (1M labels point-in-time,
all features), ``online`` (lookups of 1 and 100 random keys, p50/p99 over ``--repeats``).
Prints one table; timings are wall-clock on whatever the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = ["f1", "f2", "f3"]
DEFAULT_FEAST_PYTHON = "/work/venv-feast/bin/python"


@dataclass(frozen=True)
class PhaseResult:
    """One engine's phase: seconds, peak RSS and (online) latency percentiles in ms."""

    engine: str
    phase: str
    seconds: float
    peak_mb: float
    p50_ms_1: float | None = None
    p99_ms_1: float | None = None
    p50_ms_100: float | None = None
    p99_ms_100: float | None = None


def make_data(folder: str, entities: int, stamps: int, labels: int, seed: int = 0) -> None:
    """features.parquet (entities x stamps rows) and labels.parquet, shared by every engine."""
    rng = np.random.default_rng(seed)
    base = np.datetime64("2024-01-01T00:00:00", "ns")
    n = entities * stamps
    offsets = np.tile(np.arange(stamps), entities) * 86_400 + rng.integers(0, 3_600, n)
    table = pd.DataFrame(
        {
            "user": np.repeat(np.arange(entities, dtype=np.int64), stamps),
            "ts": base + offsets.astype("timedelta64[s]"),
            "f1": rng.random(n),
            "f2": rng.random(n),
            "f3": rng.integers(0, 100, n),
        }
    )
    table.to_parquet(os.path.join(folder, "features.parquet"), index=False)
    label_frame = pd.DataFrame(
        {
            "user": rng.integers(0, entities, labels),
            "event_timestamp": base
            + rng.integers(0, stamps * 86_400, labels).astype("timedelta64[s]"),
            "y": rng.integers(0, 2, labels),
        }
    )
    label_frame.to_parquet(os.path.join(folder, "labels.parquet"), index=False)


def _latencies(fn, keys: np.ndarray, size: int, repeats: int) -> dict[str, float]:
    """p50 and p99 of ``fn``'s wall-clock and CPU ms on ``size`` random keys.

    The CPU time (this thread's) is what the lookup itself costs; wall minus CPU is time spent
    waiting for the core (other processes on a shared machine) or for I/O.
    """
    rng = np.random.default_rng(size)
    for _ in range(20):  # warm-up: statement caches, the table's lookup plan
        fn(keys[:size])
    wall, cpu = [], []
    for _ in range(repeats):
        chosen = rng.choice(keys, size, replace=False)
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn(chosen)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return {
        f"{stat}_{p}": float(np.percentile(values, p))
        for stat, values in (("wall", wall), ("cpu", cpu))
        for p in (50, 99)
    }


def _online_result(lookups: dict, keys: np.ndarray, repeats: int) -> dict:
    """Latencies of each request form in ``lookups`` (name -> fn) at 1 and 100 keys."""
    return {
        f"{form}/{size}": _latencies(fn, keys, size, repeats)
        for form, fn in lookups.items()
        for size in (1, 100)
    }


# ---------------------------------------------------------------------- automl.features
def ours(folder: str, phase: str, repeats: int) -> dict:
    from automl.features import FeatureLookup, FeatureStore, create_training_set, lookup_online

    started = time.perf_counter()
    store = FeatureStore(os.path.join(folder, "ours"))
    if phase == "setup":
        table = pd.read_parquet(os.path.join(folder, "features.parquet"))
        store.create_table("user_stats", "user", table, timestamp_keys="ts")
        return {"seconds": time.perf_counter() - started}
    if phase == "join":
        labels = pd.read_parquet(os.path.join(folder, "labels.parquet"))
        training = create_training_set(
            labels,
            [FeatureLookup("user_stats", "user", timestamp_lookup_key="event_timestamp")],
            label="y",
            store=store,
        )
        frame = training.load_df()
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "rows": len(frame), "checksum": float(np.nansum(frame["f1"]))}
    keys = np.arange(_entities(folder))

    def frame_request(chosen):
        return lookup_online(store, "user_stats", pd.DataFrame({"user": chosen}))

    def mapping_request(chosen):
        return lookup_online(store, "user_stats", {"user": chosen})

    lookups = {"frame": frame_request, "mapping": mapping_request}
    return _online_result(lookups, keys, repeats)


def _entities(folder: str) -> int:
    with open(os.path.join(folder, "shape.json"), encoding="utf-8") as handle:
        return json.load(handle)["entities"]


# ---------------------------------------------------------------------- pandas merge_asof
def pandas_baseline(folder: str, phase: str, repeats: int) -> dict:
    if phase != "join":
        return {}
    started = time.perf_counter()
    table = pd.read_parquet(os.path.join(folder, "features.parquet")).sort_values("ts")
    labels = pd.read_parquet(os.path.join(folder, "labels.parquet"))
    left = labels.reset_index().sort_values("event_timestamp")
    frame = pd.merge_asof(
        left, table, left_on="event_timestamp", right_on="ts", by="user", direction="backward"
    ).sort_values("index")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(frame), "checksum": float(np.nansum(frame["f1"]))}


# ---------------------------------------------------------------------- Feast (own venv)
def feast_engine(folder: str, phase: str, repeats: int) -> dict:
    from datetime import timedelta

    from feast import Entity, FeatureStore, FeatureView, Field, FileSource
    from feast.types import Float64, Int64

    repo = os.path.join(folder, "feast_repo")
    os.makedirs(repo, exist_ok=True)
    with open(os.path.join(repo, "feature_store.yaml"), "w", encoding="utf-8") as handle:
        handle.write(
            "project: bench\nregistry: registry.db\nprovider: local\n"
            "online_store:\n  type: sqlite\n  path: online.db\n"
            "offline_store:\n  type: file\nentity_key_serialization_version: 3\n"
        )
    started = time.perf_counter()
    store = FeatureStore(repo_path=repo)
    user = Entity(name="user", join_keys=["user"])
    view = FeatureView(
        name="user_stats",
        entities=[user],
        ttl=timedelta(days=3650),
        schema=[
            Field(name="f1", dtype=Float64),
            Field(name="f2", dtype=Float64),
            Field(name="f3", dtype=Int64),
        ],
        source=FileSource(path=os.path.join(folder, "features.parquet"), timestamp_field="ts"),
    )
    refs = [f"user_stats:{f}" for f in FEATURES]
    if phase == "setup":
        store.apply([user, view])
        table = pd.read_parquet(os.path.join(folder, "features.parquet"), columns=["ts"])
        start, end = table["ts"].min().to_pydatetime(), table["ts"].max().to_pydatetime()
        store.materialize(start - timedelta(seconds=1), end + timedelta(seconds=1))
        return {"seconds": time.perf_counter() - started}
    if phase == "join":
        labels = pd.read_parquet(os.path.join(folder, "labels.parquet"))
        frame = store.get_historical_features(entity_df=labels, features=refs).to_df()
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "rows": len(frame), "checksum": float(np.nansum(frame["f1"]))}
    keys = np.arange(_entities(folder))

    def lookup(chosen):
        rows = [{"user": int(k)} for k in chosen]
        return store.get_online_features(features=refs, entity_rows=rows).to_dict()

    return _online_result({"entity_rows": lookup}, keys, repeats)


ENGINES = {"automl.features": ours, "pandas merge_asof": pandas_baseline, "feast": feast_engine}


def run_phase(engine: str, folder: str, phase: str, repeats: int) -> None:
    """Child process: run one phase and print its JSON result."""
    start = time.perf_counter()
    extra = ENGINES[engine](folder, phase, repeats)
    seconds = extra.pop("seconds", time.perf_counter() - start)  # the work, without imports
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"seconds": seconds, "peak_mb": peak_mb, **extra}), flush=True)


def spawn(python: str, engine: str, folder: str, phase: str, repeats: int) -> dict:
    command = [python, os.path.abspath(__file__), "--child", engine, "--folder", folder]
    command += ["--phase", phase, "--repeats", str(repeats)]
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{engine} {phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--stamps", type=int, default=100)
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--feast-python", default=DEFAULT_FEAST_PYTHON)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument(
        "--phases",
        default="setup,join,online",
        help="phases to run (setup is always run first for engines that load a store)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_phase(args.child, args.folder, args.phase, args.repeats)
        return
    load_start = _load()
    with tempfile.TemporaryDirectory(prefix="features_bench_") as folder:
        make_data(folder, args.entities, args.stamps, args.labels)
        with open(os.path.join(folder, "shape.json"), "w", encoding="utf-8") as handle:
            json.dump({"entities": args.entities}, handle)
        print(
            f"{args.entities * args.stamps:,} feature rows ({args.entities:,} entities x "
            f"{args.stamps} timestamps), {args.labels:,} label rows",
            flush=True,
        )
        rows = []
        for engine in args.engines.split(","):
            python = args.feast_python if engine == "feast" else sys.executable
            result = {}
            phases = {"setup", *args.phases.split(",")}
            for phase in ("setup", "join", "online"):
                if phase not in phases or (engine == "pandas merge_asof" and phase != "join"):
                    continue
                out = spawn(python, engine, folder, phase, args.repeats)
                result[phase] = out
                print(f"  {engine} {phase}: {out}", flush=True)
            rows.append((engine, result))
        print()
        print(f"load average at the start: {load_start}, at the end: {_load()}")
        print(
            "| engine | load (s) | PIT join (s) | join peak MB | request | 1 key wall p50 / p99 ms "
            "| CPU p50 / p99 | 100 keys wall p50 / p99 ms | CPU p50 / p99 |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for engine, result in rows:
            for line in _rows(engine, result):
                print(line)


def _load() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def _rows(engine: str, result: dict) -> list[str]:
    """Lines of the results table: one per request form (``-`` for a phase not run)."""
    setup, join, online = (result.get(p, {}) for p in ("setup", "join", "online"))
    load = f"{setup['seconds']:.1f}" if setup else "-"
    joined = f"{join['seconds']:.1f} | {join['peak_mb']:.0f}" if join else "- | -"
    forms = sorted({key.split("/")[0] for key in online if "/" in key}) or ["-"]

    def latency(form: str, size: int) -> str:
        stats = online.get(f"{form}/{size}")
        if stats is None:
            return "- | -"
        return (
            f"{stats['wall_50']:.2f} / {stats['wall_99']:.2f} | "
            f"{stats['cpu_50']:.2f} / {stats['cpu_99']:.2f}"
        )

    return [
        f"| {engine} | {load} | {joined} | {form} | {latency(form, 1)} | {latency(form, 100)} |"
        for form in forms
    ]


if __name__ == "__main__":
    main()
