"""Train/validation/test split, CV folds and budget sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl.tabular.plan import make_plan
from automl.tabular.split import assign_split, sample_for_budget


def frame(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "t": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.permutation(n), unit="h"),
            "y": rng.choice(["a", "b", "c"], size=n, p=[0.7, 0.25, 0.05]),
        }
    )


def test_stratified_60_20_20_and_deterministic():
    df = frame()
    _, _, first = make_plan(df, "classification", "y")
    _, _, second = make_plan(df, "classification", "y")
    counts = first["_automl_split"].value_counts()
    assert counts["train"] == pytest.approx(600, abs=3)
    assert counts["val"] == pytest.approx(200, abs=3)
    assert counts["test"] == pytest.approx(200, abs=3)
    overall = df["y"].value_counts(normalize=True)
    for part in ("train", "val", "test"):
        share = first.loc[first["_automl_split"] == part, "y"].value_counts(normalize=True)
        assert (share - overall).abs().max() < 0.01
    assert first["_automl_split"].tolist() == second["_automl_split"].tolist()
    assert first["_automl_fold"].tolist() == second["_automl_fold"].tolist()
    _, _, other_seed = make_plan(df, "classification", "y", seed=1)
    assert other_seed["_automl_split"].tolist() != first["_automl_split"].tolist()


def test_cv_folds_cover_train_and_val_only_and_are_stratified():
    _, _, prepared = make_plan(frame(), "classification", "y")
    test_rows = prepared["_automl_split"] == "test"
    assert (prepared.loc[test_rows, "_automl_fold"] == -1).all()
    folds = prepared.loc[~test_rows, "_automl_fold"]
    assert sorted(folds.unique()) == [0, 1, 2, 3, 4]
    assert folds.value_counts().max() - folds.value_counts().min() <= 1
    rare = prepared.loc[~test_rows & (prepared["y"] == "c"), "_automl_fold"].value_counts()
    assert rare.max() - rare.min() <= 1


def test_time_col_orders_the_split():
    df = frame()
    _, _, prepared = make_plan(df, "regression", "a", time_col="t")
    times = {p: prepared.loc[prepared["_automl_split"] == p, "t"] for p in ("train", "val", "test")}
    assert times["train"].max() < times["val"].min()
    assert times["val"].max() < times["test"].min()
    assert len(times["train"]) == 600


def test_split_col_values_are_used_as_given():
    df = frame(30)
    df["part"] = ["training"] * 18 + ["Validate"] * 6 + ["test"] * 6
    plan, _, prepared = make_plan(df, "classification", "y", split_col="part")
    assert plan.validation == "holdout"
    assert prepared["_automl_split"].tolist() == ["train"] * 18 + ["val"] * 6 + ["test"] * 6
    assert "part" not in plan.feature_names
    df["part"] = ["train"] * 24 + ["val"] * 6
    _, alerts, _ = make_plan(df, "classification", "y", split_col="part")
    assert any(a["kind"] == "split" and "no test rows" in a["message"] for a in alerts)


def test_sample_for_budget_samples_training_rows_only_stratified():
    df = frame(8000)
    plan, _, prepared = make_plan(df, "classification", "y")
    sampled, alerts = sample_for_budget(prepared, plan, max_rows=1000)
    parts = sampled["_automl_split"].value_counts()
    assert parts["train"] == pytest.approx(1000, abs=3)
    assert parts["val"] == (prepared["_automl_split"] == "val").sum()
    assert parts["test"] == (prepared["_automl_split"] == "test").sum()
    before = prepared.loc[prepared["_automl_split"] == "train", "y"].value_counts(normalize=True)
    after = sampled.loc[sampled["_automl_split"] == "train", "y"].value_counts(normalize=True)
    assert (before - after).abs().max() < 0.01
    assert alerts[0]["kind"] == "sampling" and "1000 of" in alerts[0]["message"]
    unchanged, none = sample_for_budget(prepared, plan, max_rows=10**6)
    assert unchanged is prepared and none == []


def test_assign_split_on_a_plan_without_time_or_split_column():
    plan, _, _ = make_plan(frame(100), "classification", "y")
    out = assign_split(frame(100), plan)
    assert set(out["_automl_split"]) == {"train", "val", "test"}
