"""The ``automl`` command line and the README's demo, run for real."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_diabetes

from automl import demo
from automl.cli import main

pytestmark = pytest.mark.xdist_group("engine")


def test_cli_regress_then_leaderboard(tmp_path, capsys):
    path = tmp_path / "diabetes.csv"
    load_diabetes(as_frame=True, scaled=False).frame.to_csv(path, index=False)
    argv = ["regress", str(path), "--target", "target", "--metric", "mae", "--max-trials", "3"]
    assert main([*argv, "--experiment", "cli_diabetes", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "cli_diabetes" in out and "val_mean_absolute_error" in out

    assert main(["leaderboard", "cli_diabetes"]) == 0
    board = capsys.readouterr().out.splitlines()
    assert board[0].split()[:2] == ["rank", "run_id"]
    # header + one row per finished trial, and the ensemble of them when it won validation
    ensembles = [line for line in board[1:] if "ensemble" in line]
    assert len(board) == 1 + 3 + len(ensembles) and len(ensembles) <= 1
    maes = [float(line.split()[3]) for line in board[1:]]
    assert maes == sorted(maes)


def test_cli_reports_bad_input_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "tiny.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    assert main(["classify", str(path), "--target", "missing", "--max-trials", "1"]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["leaderboard", "no_such_experiment"]) == 2


def test_readme_demo_registers_and_loads_the_winner(capsys):
    demo.main(["--minutes", "0.3"])
    out = capsys.readouterr().out
    assert "registered: models:/breast_cancer/1" in out
    assert "load by alias" in out
    predictions = [line for line in out.splitlines() if "-> predicts" in line]
    assert len(predictions) == 2
    assert predictions[0].split("predicts")[1] == predictions[1].split("predicts")[1]
