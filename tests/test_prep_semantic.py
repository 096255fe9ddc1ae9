"""Semantic types and the data plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
from prep_fixtures import mixed_frame, penguins_like

from automl.tabular.plan import DataPlan, make_plan
from automl.tabular.semantic import detect_semantic_types


def test_every_semantic_type_is_detected():
    features, dropped, conversions, alerts = detect_semantic_types(mixed_frame(), "label")
    assert features == {
        "numeric": ["x", "noise"],
        "categorical": ["color", "rooms"],
        "high_cardinality": ["city"],
        "boolean": ["member"],
        "datetime": ["signup"],
        "text": ["review"],
    }
    assert dropped["customer_id"].startswith("id-like")
    assert dropped["const"] == "constant"
    assert {a["column"] for a in alerts if a["kind"] == "dropped_column"} == {
        "customer_id",
        "const",
    }
    assert conversions == {
        "rooms": "categorical",
        "member": "boolean",
        "signup": "datetime",
        "review": "text",
    }


def test_object_and_native_dtypes():
    n = 50
    df = pd.DataFrame(
        {
            "flag": np.tile([True, False], n // 2),
            "when": pd.date_range("2020-01-01", periods=n, freq="h"),
            "amount": np.arange(n).astype(str),  # numbers stored as text
            "code": pd.Series(["a", "b"] * (n // 2), dtype=object),
            "y": np.tile([0, 1], n // 2),
        }
    )
    features, dropped, conversions, _ = detect_semantic_types(df, "y")
    assert features["boolean"] == ["flag"]
    assert features["datetime"] == ["when"]
    assert features["categorical"] == ["code"]
    assert conversions["amount"] == "numeric"
    assert "amount" in features["numeric"] and not dropped


def test_plan_round_trips_through_json_and_states_its_choices():
    plan, alerts, prepared = make_plan(
        penguins_like(), "classification", "species", primary_metric="log_loss", seed=3
    )
    assert plan.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert plan.multiclass_average == "macro" and plan.pos_label is None
    assert plan.validation == "cv" and plan.n_folds == 5
    kinds = {a["kind"] for a in alerts}
    assert {"metric", "validation"} <= kinds
    assert plan.primary_metric_key == "log_loss" and not plan.greater_is_better
    again = DataPlan.from_dict(plan.to_dict())
    assert again == plan
    assert list(prepared.columns) == [
        "bill_length_mm",
        "bill_depth_mm",
        "island",
        "species",
        "_automl_split",
        "_automl_fold",
    ]


def test_pos_label_inference_imbalance_and_user_imputers():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df.loc[:5, "a"] = np.nan
    df["y"] = np.where(np.arange(n) < 20, True, False)  # 20 vs 380: ratio 0.053
    plan, alerts, _ = make_plan(df, "classification", "y", imputers={"a": "mean"})
    assert plan.pos_label is True
    assert plan.class_weight == "balanced"
    assert any(a["kind"] == "imbalance" for a in alerts)
    assert plan.imputers["a"] == {"strategy": "mean"}
    assert plan.imputers["b"] == {"strategy": "median"}


def test_large_frames_use_holdout():
    rng = np.random.default_rng(0)
    n = 6000
    df = pd.DataFrame({"a": rng.normal(size=n), "y": rng.normal(size=n)})
    plan, alerts, prepared = make_plan(df, "regression", "y", primary_metric="rmse")
    assert plan.validation == "holdout" and "_automl_fold" not in prepared.columns
    assert not any(a["kind"] == "validation" for a in alerts)
