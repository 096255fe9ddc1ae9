"""The search core: the budget's arithmetic and that core depends on no task package."""

from __future__ import annotations

import ast
from pathlib import Path

import automl
from automl.core.budget import DEFAULT_TIMEOUT_MINUTES, Budget


def test_budget_owns_deadlines_and_keep_back():
    budget = Budget.from_arguments(1.0, None, started=100.0)
    assert budget.deadline == 100.0 + 60.0 - 0.9  # 1.5 % kept back for the wrap-up
    assert budget.grace_deadline == 100.0 + 60.0 + 5.0 - 1.5  # promised slack less wrap-up
    assert budget.time_left(now=150.0) == budget.deadline - 150.0
    assert budget.fits(5.0, now=150.0) and not budget.fits(10.0, now=150.0)
    assert not budget.fits(5.0, keep_back=5.0, now=150.0)  # the refit's time is kept back
    assert budget.stop_at(keep_back=3.0) == budget.deadline - 3.0
    assert budget.stop_at(keep_back=3.0, have_result=False) == budget.grace_deadline
    assert Budget.refit_reserve(0.0) == 0.0 and Budget.refit_reserve(2.0) == 3.0


def test_budget_defaults_trials_and_row_cap():
    default = Budget.from_arguments(None, None, started=0.0)
    assert default.timeout_s == DEFAULT_TIMEOUT_MINUTES * 60 and default.defaulted
    trials_only = Budget.from_arguments(None, 3, started=0.0)
    assert trials_only.deadline == float("inf") and not trials_only.defaulted
    assert trials_only.trials_left(2) and not trials_only.trials_left(3)
    assert trials_only.max_train_rows == 1_000_000
    assert Budget.from_arguments(0.1, None).max_train_rows == 20_000
    assert Budget.from_arguments(60.0, None).max_train_rows == 1_000_000


def test_core_imports_no_task_package():
    core = Path(automl.__file__).parent / "core"
    forbidden = ("automl.tabular", "automl.forecast", "automl.notebooks")
    offenders = []
    for path in sorted(core.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(forbidden)]
    assert not offenders, offenders
