"""scikit-learn's own estimator checks on AutoMLClassifier / AutoMLRegressor (tiny budgets).

Slow by nature: every check fits the estimator, and each fit is a full (one-trial) search with
tracking, a notebook and a registered model, a few seconds each: the 105 checks take ~13 minutes
on a 2-core machine. Every check applies and passes, so no ``expected_failed_checks`` are listed.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl.estimators import AutoMLClassifier, AutoMLRegressor

pytestmark = pytest.mark.xdist_group("sklearn_checks")


@parametrize_with_checks(
    [
        AutoMLClassifier(max_trials=1, n_jobs=1),
        AutoMLRegressor(max_trials=1, n_jobs=1),
    ],
)
def test_sklearn_estimator_checks(estimator, check) -> None:
    """Each check fits into the test's own temporary store (conftest's isolated_store)."""
    check(estimator)
