"""Bad input is rejected before any trial, with the argument or column named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from prep_fixtures import mixed_frame

from automl.tabular.data import AutoMLInputError, load_dataset, validate_inputs
from automl.tabular.plan import make_plan


@pytest.fixture
def frame() -> pd.DataFrame:
    return mixed_frame(60)


def check(df, match, task="classification", target_col="label", **kwargs):
    with pytest.raises(AutoMLInputError, match=match):
        validate_inputs(df, task=task, target_col=target_col, **kwargs)


def test_missing_target_column(frame):
    check(frame, "target_col: column 'churn' is not in the dataset", target_col="churn")


def test_target_all_missing_or_single_class(frame):
    frame["label"] = np.nan
    check(frame, "target_col 'label': every value is missing")
    frame["label"] = "yes"
    check(frame, "single class 'yes'")


def test_regression_target_must_be_numeric(frame):
    check(frame, "regression needs a numeric target", task="regression")


def test_metric_must_fit_task(frame):
    check(frame, "primary_metric: 'rmse' is a regression metric", primary_metric="rmse")
    check(frame, "primary_metric: unknown metric 'auc'", primary_metric="auc")


def test_empty_frame_and_duplicate_columns(frame):
    check(frame.iloc[0:0], "dataset: the frame is empty")
    doubled = pd.concat([frame, frame[["x"]]], axis=1)
    check(doubled, r"dataset: duplicate column names \['x'\]")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"exclude_frameworks": ["sklearn", "lightgbm"]}, "exclude_frameworks: excluding all"),
        ({"exclude_frameworks": ["xgboost"]}, "exclude_frameworks: unknown frameworks"),
        ({"exclude_cols": ["nope"]}, r"exclude_cols: columns \['nope'\]"),
        ({"pos_label": "maybe"}, "pos_label: 'maybe' is not among the classes"),
        ({"time_col": "review"}, "time_col 'review': values do not parse"),
        ({"time_col": "missing_col"}, "time_col: column 'missing_col' is not in the dataset"),
        ({"split_col": "color"}, "split_col 'color': values .* are not train/val/test"),
        ({"imputers": {"color": "median"}}, r"imputers\['color'\]: strategy 'median' needs"),
        ({"imputers": {"x": "zero"}}, r"imputers\['x'\]: unknown strategy 'zero'"),
        ({"imputers": {"x": {"strategy": "constant"}}}, "needs a 'fill_value'"),
        ({"sample_weight_col": "color"}, "sample_weight_col 'color': weights must be"),
    ],
)
def test_argument_errors_name_the_argument(frame, kwargs, match):
    check(frame, match, **kwargs)


def test_valid_inputs_pass(frame):
    validate_inputs(
        frame,
        task="classification",
        target_col="label",
        primary_metric="roc_auc",
        exclude_frameworks=["lightgbm"],
        imputers={"x": {"strategy": "constant", "fill_value": 0}},
        pos_label="yes",
        time_col="signup",
    )


def test_pos_label_required_for_unusual_pairs(frame):
    frame["label"] = frame["label"].map({"yes": "alive", "no": "dead"})
    with pytest.raises(AutoMLInputError, match="pos_label: cannot tell the positive class"):
        make_plan(frame, "classification", "label")
    plan, _, _ = make_plan(frame, "classification", "label", pos_label="alive")
    assert plan.pos_label == "alive"
    # roc_auc does not depend on the positive class: the last class is used, with an alert
    plan, alerts, _ = make_plan(frame, "classification", "label", primary_metric="roc_auc")
    assert plan.pos_label == "dead"
    assert any(a["kind"] == "pos_label" and "'dead'" in a["message"] for a in alerts)


def test_rows_with_missing_target_are_dropped_with_an_alert():
    df = mixed_frame(80)
    df.loc[:9, "label"] = None
    plan, alerts, prepared = make_plan(df, "classification", "label")
    assert len(prepared) == 70 and plan.n_rows == 70
    dropped = [a for a in alerts if a["kind"] == "missing_target"]
    assert dropped and "dropped 10 of 80 rows" in dropped[0]["message"]


def test_load_dataset_reads_csv_and_parquet(tmp_path):
    df = mixed_frame(30)
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_parquet(tmp_path / "d.parquet", index=False)
    assert load_dataset(tmp_path / "d.csv").shape == df.shape
    assert load_dataset(str(tmp_path / "d.parquet"))["review"].tolist() == df["review"].tolist()
    with pytest.raises(AutoMLInputError, match="does not exist"):
        load_dataset(tmp_path / "nope.csv")
    with pytest.raises(AutoMLInputError, match="expected a pandas DataFrame"):
        load_dataset(42)


def test_column_names_must_be_text(frame):
    frame = frame.rename(columns={"x": 0})
    check(frame, r"dataset: column names must be strings, got \[0\]")


def test_no_usable_feature_left(frame):
    keep = ["label", "customer_id", "const", "x"]
    with pytest.raises(AutoMLInputError, match=r"exclude_cols: excluding \['x'\] leaves no usable"):
        make_plan(frame[keep], "classification", "label", exclude_cols=["x"])
    with pytest.raises(AutoMLInputError, match="dataset: no usable feature columns"):
        make_plan(frame[["label", "customer_id", "const"]], "classification", "label")


def test_validation_is_chosen_from_the_data_size_against_the_budget():
    from automl.tabular.plan import choose_cross_validation

    assert choose_cross_validation(2_344, 73, 60.0).startswith("small dataset")  # < 5,000 rows
    assert "150,000 cells" in choose_cross_validation(7_000, 19, 60.0)  # FLAML's rule: CV
    assert choose_cross_validation(7_000, 19, 20.0) == ""  # less time: holdout
    assert choose_cross_validation(40_000, 14, 300.0) != ""  # more time: CV
    assert choose_cross_validation(150_000, 2, 3_600.0) == ""  # never above 100k rows
    assert choose_cross_validation(6_000, 5, None) == ""  # trial budget only: the row rule
