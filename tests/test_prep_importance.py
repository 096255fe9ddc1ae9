"""SHAP importance aggregated to the original columns, and the evaluation plots."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from prep_fixtures import mixed_frame, penguins_like

from automl.tabular import plots
from automl.tabular.families import portfolio
from automl.tabular.fit import fit_and_score
from automl.tabular.importance import shap_importance, shap_values_by_column
from automl.tabular.plan import make_plan
from automl.tabular.split import assign_split


def trained(df, task, family, target="label"):
    plan, _, prepared = make_plan(df, task, target)
    plan = dataclasses.replace(plan, validation="holdout", n_folds=1)
    prepared = assign_split(prepared.drop(columns="_automl_fold"), plan)
    config = next(c for c in portfolio(plan) if c["family"] == family)
    result = fit_and_score(plan, config, prepared)
    val = prepared[prepared["_automl_split"] == "val"]
    return plan, result, val


@pytest.fixture(scope="module")
def regression_frame():
    return mixed_frame(300, task="regression")


@pytest.mark.parametrize("family", ["linear_regression", "lightgbm", "random_forest"])
def test_shap_sums_back_to_predictions_per_original_column(regression_frame, family):
    plan, result, val = trained(regression_frame, "regression", family)
    by_column = shap_values_by_column(plan, result.pipeline, val, family)
    assert list(by_column.columns) == plan.feature_names  # one column per input column
    pred = result.pipeline.predict(val)
    offset = pred - by_column.sum(axis=1).to_numpy()  # the base value: the same for every row
    assert np.ptp(offset) < 1e-6 * max(1.0, np.abs(pred).max())


def test_importance_table_ranks_the_informative_columns(regression_frame):
    plan, result, val = trained(regression_frame, "regression", "lightgbm")
    table = shap_importance(plan, result.pipeline, val, "lightgbm")
    assert list(table.columns) == ["feature", "importance"]
    assert sorted(table["feature"]) == sorted(plan.feature_names)
    assert table["importance"].is_monotonic_decreasing and (table["importance"] >= 0).all()
    assert set(table["feature"].head(2)) == {"x", "color"}
    ranks = dict(zip(table["feature"], range(len(table)), strict=True))
    assert ranks["noise"] > ranks["x"]


def test_linear_values_equal_shaps_linear_explainer():
    shap = pytest.importorskip("shap")
    plan, result, val = trained(mixed_frame(200), "classification", "logistic_regression")
    preprocess = result.pipeline.named_steps["preprocess"]
    model = result.pipeline.named_steps["model"]
    Xt = preprocess.transform(val[plan.feature_names])
    expected = shap.LinearExplainer(model, Xt).shap_values(Xt)
    from automl.tabular.importance import _linear_values

    np.testing.assert_allclose(_linear_values(model, Xt)[:, :, 0], expected, atol=1e-10)


def test_multiclass_importance_and_forest_budget():
    df = penguins_like()
    plan, result, val = trained(df, "classification", "random_forest", target="species")
    table = shap_importance(plan, result.pipeline, val, "random_forest")
    assert sorted(table["feature"]) == ["bill_depth_mm", "bill_length_mm", "island"]
    assert (table["importance"] > 0).all()
    assert len(shap_values_by_column(plan, result.pipeline, val, "random_forest")) == len(val)
    # A tiny fit time leaves room only for the probe: 5 rows explained by 2 trees.
    probe = shap_values_by_column(plan, result.pipeline, val, "random_forest", fit_seconds=1e-6)
    assert len(probe) == 5 and np.isfinite(probe.to_numpy()).all()
    budgeted = shap_importance(plan, result.pipeline, val, "random_forest", fit_seconds=1e-6)
    assert sorted(budgeted["feature"]) == sorted(table["feature"])


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_classification_plots():
    plan, result, val = trained(penguins_like(), "classification", "lightgbm", target="species")
    figures = plots.classification_plots(plan, result.pipeline, val, val["species"])
    assert set(figures) == {"confusion_matrix", "roc_curve", "precision_recall_curve"}
    roc = figures["roc_curve"].axes[0]
    assert len(roc.get_lines()) == 4  # one curve per class + the diagonal
    matrix = figures["confusion_matrix"].axes[0].images[0].get_array()
    assert matrix.sum() == len(val)
    for figure in figures.values():
        assert _png(figure).startswith(b"\x89PNG")
        plots.close(figure)


def test_plots_from_out_of_fold_predictions():
    plan, _, prepared = make_plan(penguins_like(), "classification", "species")
    result = fit_and_score(plan, next(iter(portfolio(plan))), prepared)
    figures = plots.evaluation_plots(plan, result.val_y, result.val_predictions)
    matrix = figures["confusion_matrix"].axes[0].images[0].get_array()
    assert matrix.sum() == (prepared["_automl_split"] != "test").sum()
    assert np.trace(matrix) / matrix.sum() == pytest.approx(
        result.metrics["val_accuracy_score"], abs=0.02
    )


def test_regression_and_importance_plots(regression_frame):
    plan, result, val = trained(regression_frame, "regression", "decision_tree")
    figures = plots.regression_plots(plan, result.pipeline, val, val["label"])
    assert set(figures) == {"predicted_vs_actual", "residuals"}
    points = figures["residuals"].axes[0].collections[0].get_offsets()
    assert len(points) == len(val)
    table = shap_importance(plan, result.pipeline, val, "decision_tree")
    bars = plots.importance_plot(table, top=3).axes[0].patches
    assert len(bars) == 3
    assert _png(figures["predicted_vs_actual"]).startswith(b"\x89PNG")


def test_binary_plots_with_a_float_target():
    df = mixed_frame(200)
    df["label"] = (df["label"] == "yes").astype(float)
    df.loc[:4, "label"] = np.nan  # float dtype, as targets with gaps are
    plan, result, val = trained(df, "classification", "decision_tree")
    assert plan.classes == [0, 1] and plan.pos_label == 1
    figures = plots.classification_plots(plan, result.pipeline, val, val["label"])
    assert figures["confusion_matrix"].axes[0].images[0].get_array().sum() == len(val)
    labels = [line.get_label() for line in figures["roc_curve"].axes[0].get_lines()]
    assert labels[0].startswith("1 (AUC")
