"""fit_and_score: every family trains and scores; results are reproducible from the config."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from prep_fixtures import mixed_frame, penguins_like
from sklearn import metrics as skm
from sklearn.base import BaseEstimator
from sklearn.datasets import load_breast_cancer

from automl.tabular.families import FAMILIES, available_families, portfolio, to_optuna_params
from automl.tabular.fit import TrialPruned, fit_and_score
from automl.tabular.metrics import evaluate
from automl.tabular.plan import make_plan
from automl.tabular.preprocessing import build_pipeline
from automl.tabular.split import assign_split


def holdout(df, task, target="label", **kwargs):
    """A plan + split using a single validation part (fast; CV is tested separately)."""
    plan, _, prepared = make_plan(df, task, target, **kwargs)
    plan = dataclasses.replace(plan, validation="holdout", n_folds=1)
    return plan, assign_split(prepared.drop(columns="_automl_fold"), plan)


@pytest.fixture(scope="module")
def classification():
    return holdout(mixed_frame(300), "classification")


@pytest.fixture(scope="module")
def regression():
    return holdout(mixed_frame(300, task="regression"), "regression")


def first_config(plan, family):
    return next(c for c in portfolio(plan) if c["family"] == family)


@pytest.mark.parametrize(
    "family", ["lightgbm", "logistic_regression", "random_forest", "extra_trees", "decision_tree"]
)
def test_each_classification_family_fits_and_scores(classification, family):
    plan, prepared = classification
    pipeline, metrics, config = fit_and_score(plan, first_config(plan, family), prepared)
    for part in ("train", "val", "test"):
        for key in ("f1_score", "roc_auc", "log_loss", "accuracy_score", "precision_score"):
            assert np.isfinite(metrics[f"{part}_{key}"]), f"{part}_{key}"
    assert metrics["val_roc_auc"] > 0.65
    assert config["family"] == family
    val = prepared[prepared["_automl_split"] == "val"]
    again = evaluate(plan, pipeline, val[plan.feature_names], val["label"])
    assert again["f1_score"] == pytest.approx(metrics["val_f1_score"], abs=1e-12)


@pytest.mark.parametrize(
    "family", ["lightgbm", "linear_regression", "random_forest", "extra_trees", "decision_tree"]
)
def test_each_regression_family_fits_and_scores(regression, family):
    plan, prepared = regression
    _, metrics, _ = fit_and_score(plan, first_config(plan, family), prepared)
    assert set(metrics) >= {
        "val_r2_score",
        "test_root_mean_squared_error",
        "train_mean_absolute_error",
        "val_mean_squared_error",
    }
    assert metrics["val_r2_score"] > 0.5
    assert metrics["val_root_mean_squared_error"] == pytest.approx(
        np.sqrt(metrics["val_mean_squared_error"])
    )


def test_lightgbm_early_stopping_is_reproduced_by_the_returned_config(classification):
    plan, prepared = classification
    config = first_config(plan, "lightgbm")
    first = fit_and_score(plan, config, prepared)
    rounds = first.config["params"]["n_estimators"]
    assert 1 <= rounds < config["params"]["n_estimators"]
    assert first.config["params"]["early_stopping_rounds"] is None
    second = fit_and_score(plan, first.config, prepared)
    assert second.config == first.config
    for key, value in first.metrics.items():
        assert second.metrics[key] == pytest.approx(value, abs=1e-9), key
    test = prepared[prepared["_automl_split"] == "test"]
    np.testing.assert_allclose(
        first.pipeline.predict_proba(test), second.pipeline.predict_proba(test), atol=1e-12
    )


def test_cross_validation_averages_folds_and_reproduces():
    plan, _, prepared = make_plan(penguins_like(), "classification", "species")
    assert plan.validation == "cv"
    reports = []
    for family in ("lightgbm", "logistic_regression"):
        result = fit_and_score(
            plan, first_config(plan, family), prepared, report=lambda s, v: reports.append(s)
        )
        assert len(result.fold_metrics) == 5
        mean_f1 = np.mean([m["f1_score"] for m in result.fold_metrics])
        assert result.metrics["val_f1_score"] == pytest.approx(mean_f1)
        assert result.metrics["val_log_loss"] < 0.5
        pool = prepared[prepared["_automl_split"] != "test"]
        assert sorted(result.val_y.index) == sorted(pool.index)  # out-of-fold, each row once
        assert result.val_predictions.shape == (len(pool), 3)
        np.testing.assert_allclose(result.val_predictions.sum(axis=1), 1.0)
        again = fit_and_score(plan, result.config, prepared)
        for key, value in result.metrics.items():
            assert again.metrics[key] == pytest.approx(value, abs=1e-9), (family, key)
    assert reports == [0, 1, 2, 3, 4] * 2


def test_report_can_prune_after_a_fold():
    plan, _, prepared = make_plan(penguins_like(), "classification", "species")
    seen = []

    def report(step, value):
        seen.append((step, value))
        return step == 1

    with pytest.raises(TrialPruned) as info:
        fit_and_score(plan, first_config(plan, "decision_tree"), prepared, report=report)
    assert [s for s, _ in seen] == [0, 1]
    assert info.value.step == 1
    assert info.value.metrics["val_f1_score"] == pytest.approx(np.mean([v for _, v in seen]))


def test_unseen_categories_and_missing_values_at_predict_time(classification):
    plan, prepared = classification
    for family in ("lightgbm", "logistic_regression", "random_forest"):
        pipeline, _, _ = fit_and_score(plan, first_config(plan, family), prepared)
        new = prepared[plan.feature_names].head(4).copy()
        new["color"] = pd.array(["purple", None, "red", "teal"], dtype="str")
        new["city"] = pd.array(["city_999", "atlantis", None, "city_3"], dtype="str")
        new["member"] = ["maybe", None, "yes", "no"]
        new["signup"] = ["not a date", None, "2030-05-01", "2021-02-03"]
        new["review"] = [None, "", "unheard words only", "good good"]
        new["rooms"] = [9, None, 1, 2]
        new["x"] = [np.nan, 1.0, 2.0, np.inf * 0]
        proba = pipeline.predict_proba(new)
        assert proba.shape == (4, 2) and np.isfinite(proba).all()
        assert set(pipeline.predict(new)) <= {"yes", "no"}


def test_object_dtype_input_gives_the_same_model(classification):
    plan, prepared = classification
    as_object = prepared.astype({c: object for c in ("color", "city")})
    config = first_config(plan, "logistic_regression")
    a = fit_and_score(plan, config, prepared).metrics
    b = fit_and_score(plan, config, as_object).metrics
    assert a == pytest.approx(b, abs=1e-12)


def test_sample_weights_weight_fitting_and_metrics():
    rng = np.random.default_rng(0)
    df = mixed_frame(300, task="regression")
    df["w"] = rng.uniform(0.1, 3.0, len(df))
    plan, prepared = holdout(df, "regression", sample_weight_col="w")
    assert "w" not in plan.feature_names
    config = first_config(plan, "linear_regression")
    pipeline, metrics, _ = fit_and_score(plan, config, prepared)
    val = prepared[prepared["_automl_split"] == "val"]
    pred = pipeline.predict(val)
    expected = skm.mean_absolute_error(val["label"], pred, sample_weight=val["w"])
    assert metrics["val_mean_absolute_error"] == pytest.approx(expected)
    unweighted = dataclasses.replace(plan, sample_weight_col=None)
    _, plain, _ = fit_and_score(unweighted, config, prepared)
    assert plain["train_r2_score"] != pytest.approx(metrics["train_r2_score"], abs=1e-6)


def test_binary_metrics_match_sklearn_on_real_data():
    df = load_breast_cancer(as_frame=True).frame
    df["target"] = df["target"].map({0: "malignant", 1: "benign"})
    plan, prepared = holdout(df, "classification", "target", pos_label="malignant")
    pipeline, metrics, _ = fit_and_score(plan, first_config(plan, "logistic_regression"), prepared)
    test = prepared[prepared["_automl_split"] == "test"]
    y = test["target"]
    proba = pipeline.predict_proba(test)[:, list(pipeline.classes_).index("malignant")]
    pred = pipeline.predict(test)
    assert metrics["test_f1_score"] == pytest.approx(skm.f1_score(y, pred, pos_label="malignant"))
    assert metrics["test_recall_score"] == pytest.approx(
        skm.recall_score(y, pred, pos_label="malignant")
    )
    assert metrics["test_roc_auc"] == pytest.approx(skm.roc_auc_score(y == "malignant", proba))
    assert metrics["test_roc_auc"] > 0.95


def test_search_space_and_portfolio_agree(classification):
    optuna = pytest.importorskip("optuna")
    plan, _ = classification
    names = available_families(plan)
    assert "linear_regression" not in names
    assert available_families(plan, ["lightgbm"]) == [n for n in names if n != "lightgbm"]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    from automl.tabular.families import suggest

    for config in portfolio(plan, names):
        study.enqueue_trial(to_optuna_params(config, plan))
        trial = study.ask()
        assert suggest(trial, plan, names) == config
        study.tell(trial, 0.0)
    for _ in range(15):
        trial = study.ask()
        config = suggest(trial, plan, names)
        build_pipeline(plan, config)  # every sampled config builds
        study.tell(trial, 0.0)


def _literal_values(value):
    """Every leaf parameter value of an estimator tree (estimators are walked into)."""
    if isinstance(value, BaseEstimator):
        for inner in value.get_params(deep=False).values():
            yield from _literal_values(inner)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _literal_values(item)
    else:
        yield value


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_pipelines_are_made_of_literal_parameters(classification, regression, family):
    """Notebooks rebuild pipelines as constructor calls, so parameters must be plain values."""
    plan, _ = classification if "classification" in FAMILIES[family].tasks else regression
    pipeline = build_pipeline(plan, first_config(plan, family))
    allowed = (str, int, float, bool, type(None), type)
    odd = [v for v in _literal_values(pipeline) if not isinstance(v, allowed)]
    assert odd == []


def test_rare_class_durations_and_infinities():
    df = penguins_like(200)
    rare = df.index[df["species"] == "Chinstrap"][3:]
    df = df.drop(index=rare).reset_index(drop=True)  # 3 Chinstrap rows left
    df["wait"] = pd.to_timedelta(np.arange(len(df)) % 17, unit="min")
    df.loc[::7, "bill_depth_mm"] = np.inf
    plan, _, prepared = make_plan(df, "classification", "species")
    assert "wait" in plan.feature_columns["numeric"]
    result = fit_and_score(plan, first_config(plan, "lightgbm"), prepared)
    assert np.isfinite(result.metrics["test_log_loss"])
    assert result.metrics["val_accuracy_score"] > 0.8


def test_fitted_pipelines_pickle_and_clone(classification):
    import pickle

    from sklearn.base import clone

    plan, prepared = classification
    for family in ("lightgbm", "random_forest"):
        pipeline, _, config = fit_and_score(plan, first_config(plan, family), prepared)
        restored = pickle.loads(pickle.dumps(pipeline))
        rows = prepared[plan.feature_names].tail(20)
        np.testing.assert_array_equal(restored.predict_proba(rows), pipeline.predict_proba(rows))
        fresh = clone(build_pipeline(plan, config)).fit(
            prepared[plan.feature_names], prepared["label"]
        )
        assert fresh.predict(rows).shape == (20,)


def test_imbalanced_plans_weight_classes_in_every_family():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    df["y"] = np.where(np.arange(300) < 12, "fraud", "ok")
    plan, _, prepared = make_plan(df, "classification", "y", pos_label="fraud")
    assert plan.class_weight == "balanced"
    for name in available_families(plan):
        model = build_pipeline(plan, first_config(plan, name)).named_steps["model"]
        assert model.get_params()["class_weight"] == "balanced", name
    # at the default cut: with F1 each model would predict at its own tuned decision threshold
    at_argmax = dataclasses.replace(plan, primary_metric="roc_auc")
    weighted = fit_and_score(at_argmax, first_config(plan, "logistic_regression"), prepared)
    plain = fit_and_score(
        dataclasses.replace(at_argmax, class_weight=None),
        first_config(plan, "logistic_regression"),
        prepared,
    )
    assert weighted.metrics["train_recall_score"] > plain.metrics["train_recall_score"]
