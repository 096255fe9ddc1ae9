"""The search's Optuna study: asked in memory, mirrored to the store, pruned by the median rule."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_breast_cancer

import automl
import tracking
from automl.core.study import RUN_ID_ATTR, SearchStudy


@pytest.mark.parametrize("greater_is_better", [True, False])
def test_the_workers_median_rule_prunes_as_optunas_median_pruner(tmp_path, greater_is_better):
    rng = np.random.default_rng(0)
    direction = "maximize" if greater_is_better else "minimize"
    reference = optuna.create_study(
        direction=direction,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
    )
    task = SimpleNamespace(greater_is_better=greater_is_better)
    ours = SearchStudy(task, f"sqlite:///{tmp_path / 's.db'}", "s", seed=0)
    decisions = []
    for number in range(40):
        values = rng.normal(size=5).cumsum() / 3
        trial = reference.ask()
        rule = ours.pruning_rule()
        asked = ours.study.ask()
        for step, value in enumerate(values):
            trial.report(float(value), step)
            theirs = trial.should_prune()
            mine = rule is not None and rule.should_prune(step, list(values[: step + 1]))
            decisions.append((number, step, theirs, mine))
            if theirs:
                break
        # both studies learn the same history: the trial's values up to where it stopped
        kept = values[: step + 1]
        pruned = decisions[-1][2]
        for s, v in enumerate(kept):
            asked.report(float(v), s)
        state = optuna.trial.TrialState.PRUNED if pruned else None
        reference.tell(trial, None if pruned else float(kept[-1]), state=state)
        ours.study.tell(asked, None if pruned else float(kept[-1]), state=state)
    ours.close()
    assert any(theirs for *_, theirs, _ in decisions)  # the comparison covers real prunes
    assert [d[2] for d in decisions] == [d[3] for d in decisions]


def test_the_stored_study_holds_every_trial_with_its_run():
    df = load_breast_cancer(as_frame=True).frame
    summary = automl.classify(
        df, target_col="target", max_trials=8, experiment_name="mirrored", verbose=False
    )
    client = tracking.TrackingClient()
    parent = client.get_run(summary.parent_run_id)
    stored = optuna.load_study(
        study_name=parent.data.tags["automl.optuna_study"],
        storage=client.engine.url.render_as_string(hide_password=False),
    )
    fitted = [t for t in summary.all_trials if t.params["model_family"] != "ensemble"]
    by_run = {t.user_attrs[RUN_ID_ATTR]: t for t in stored.trials if RUN_ID_ATTR in t.user_attrs}
    assert {t.run_id for t in fitted} <= set(by_run)
    assert not stored.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    for info in fitted:
        trial = by_run[info.run_id]
        run = client.get_run(info.run_id)
        assert trial.number == int(run.data.tags["automl.optuna_trial"])
        assert trial.state.name == info.state
        if info.state == "COMPLETE":
            assert trial.value == pytest.approx(info.evaluation_metric_score)
        if summary.validation == "cv" and info.state == "COMPLETE" and trial.number > 0:
            assert len(trial.intermediate_values) >= 1  # the folds it reported
