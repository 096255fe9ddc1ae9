"""AutoMLClassifier / AutoMLRegressor in scikit-learn's machinery: fitted attributes, pickling,
clone, Pipeline, cross_val_score and CalibratedClassifierCV (tiny one-trial searches)."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import automl

pytestmark = pytest.mark.xdist_group("sklearn_estimators")


def _classifier(tmp_path) -> automl.AutoMLClassifier:
    return automl.AutoMLClassifier(max_trials=1, n_jobs=1, tracking_uri=str(tmp_path / "store"))


def test_classifier_fit_sets_fitted_attributes_and_pickles(tmp_path):
    X, y = make_classification(80, 4, random_state=0)
    labels = np.where(y == 1, "yes", "no")
    est = _classifier(tmp_path).fit(pd.DataFrame(X, columns=list("abcd")), labels)
    assert list(est.classes_) == ["no", "yes"]
    assert est.n_features_in_ == 4 and list(est.feature_names_in_) == list("abcd")
    assert isinstance(est.summary_, automl.AutoMLSummary)
    assert est.best_run_id_ == est.summary_.best_trial.run_id
    frame = pd.DataFrame(X, columns=list("abcd"))
    proba = est.predict_proba(frame)
    assert proba.shape == (80, 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(est.predict(frame)) <= {"no", "yes"}
    assert est.score(frame, labels) > 0.7
    blob = pickle.dumps(est)
    assert b"sqlalchemy" not in blob and b"Engine" not in blob  # no store handle in the pickle
    shutil.rmtree(tmp_path / "store")  # the unpickled estimator needs no store at all
    again = pickle.loads(blob)
    assert (again.predict(frame) == est.predict(frame)).all()
    with pytest.raises(ValueError, match="feature"):
        est.predict(frame.rename(columns={"a": "z"}))


def test_params_and_clone_follow_the_contract(tmp_path):
    est = _classifier(tmp_path).set_params(max_trials=2, primary_metric="accuracy")
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    assert cloned.get_params()["max_trials"] == 2
    assert not hasattr(cloned, "classes_")


def test_regressor_on_arrays_names_columns_x0_to_xn(tmp_path):
    X, y = make_regression(80, 3, noise=0.1, random_state=0)
    est = automl.AutoMLRegressor(max_trials=1, n_jobs=1, tracking_uri=str(tmp_path / "s"))
    est.fit(X, y)
    assert est.n_features_in_ == 3 and not hasattr(est, "feature_names_in_")
    assert est.model_uri_.startswith("models:/")
    assert est.model_.input_columns == ["x0", "x1", "x2"]
    assert est.score(X, y) > 0.5
    with pytest.raises(ValueError, match="3 features"):
        est.predict(X[:, :2])


def test_pipeline_cross_val_score_and_calibration(tmp_path):
    X, y = make_classification(80, 4, random_state=1)
    pipe = make_pipeline(StandardScaler(), _classifier(tmp_path))
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and (scores > 0.6).all()
    calibrated = CalibratedClassifierCV(_classifier(tmp_path), cv=2).fit(X, y)
    proba = calibrated.predict_proba(X)
    assert proba.shape == (80, 2) and np.allclose(proba.sum(axis=1), 1)
    assert len(calibrated.calibrated_classifiers_) == 2


def test_single_class_target_is_refused_naming_it(tmp_path):
    X, _ = make_classification(30, 4, random_state=0)
    with pytest.raises(ValueError, match="single class"):
        _classifier(tmp_path).fit(X, np.zeros(30))
