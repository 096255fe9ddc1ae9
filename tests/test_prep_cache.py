"""The preprocessing cache: trials that share an encoding fit it once, and score exactly as if
each had fit its own (the high-cardinality column's cross-fitted target encoding included)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from prep_fixtures import mixed_frame

from automl.tabular import fit_and_score
from automl.tabular.families import portfolio
from automl.tabular.plan import make_plan
from automl.tabular.prepared import PreparedCache
from automl.tabular.split import assign_split


def _plan(validation: str):
    plan, _, prepared = make_plan(mixed_frame(300), "classification", "label")
    if validation == "holdout":
        plan = dataclasses.replace(plan, validation="holdout", n_folds=1)
        prepared = assign_split(prepared.drop(columns="_automl_fold"), plan)
    assert plan.validation == validation
    assert plan.feature_columns.get("high_cardinality")  # target-encoded, cross-fitted
    return plan, prepared


def _preprocessors(pipeline):
    members = getattr(pipeline, "members", None) or [pipeline]
    return [m.named_steps["preprocess"] for m in members]


@pytest.mark.parametrize("validation", ["holdout", "cv"])
def test_cached_trials_score_as_fresh_ones_and_share_the_preprocessing(validation):
    plan, prepared = _plan(validation)
    configs = [c for c in portfolio(plan) if c["family"] == "lightgbm"][:2]
    configs.append(next(c for c in portfolio(plan) if c["family"] == "random_forest"))
    cache = PreparedCache()
    cached = [fit_and_score(plan, c, prepared, cache=cache) for c in configs]
    fresh = [fit_and_score(plan, c, prepared) for c in configs]
    for a, b in zip(cached, fresh, strict=True):
        assert a.metrics == b.metrics
        assert a.config == b.config
        np.testing.assert_array_equal(a.val_predictions, b.val_predictions)
        np.testing.assert_array_equal(a.test_predictions, b.test_predictions)
    # the two LightGBM trials (ordinal codes) use the very same fitted preprocessors; the
    # forest (one-hot) has its own
    first, second, forest = (_preprocessors(r.pipeline) for r in cached)
    assert all(p is q for p, q in zip(first, second, strict=True))
    assert not any(p is q for p, q in zip(first, forest, strict=True))
    assert all(p is not q for p, q in zip(first, _preprocessors(fresh[0].pipeline), strict=True))


def test_the_cache_drops_the_least_recently_used_beyond_its_size():
    plan, prepared = _plan("holdout")
    lightgbm = next(c for c in portfolio(plan) if c["family"] == "lightgbm")
    forest = next(c for c in portfolio(plan) if c["family"] == "random_forest")
    cache = PreparedCache(max_bytes=1)  # room for the newest entry only
    one = fit_and_score(plan, lightgbm, prepared, cache=cache)
    fit_and_score(plan, forest, prepared, cache=cache)
    again = fit_and_score(plan, lightgbm, prepared, cache=cache)
    assert _preprocessors(again.pipeline)[0] is not _preprocessors(one.pipeline)[0]
    assert again.metrics == one.metrics
    assert cache.nbytes > 0
