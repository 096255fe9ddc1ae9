"""Preprocessing: width-bounded encodings, date features, output-to-column mapping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from prep_fixtures import mixed_frame

from automl.tabular.plan import make_plan
from automl.tabular.preprocessing import (
    DatetimeFeatures,
    HighCardinalityEncoder,
    build_preprocessor,
    describe,
    feature_sources,
)


@pytest.mark.parametrize("encoding", ["onehot_scaled", "onehot", "ordinal"])
def test_width_is_bounded_and_every_output_has_its_source_column(encoding):
    df = mixed_frame(300, task="regression")
    df["label"] = df["label"].round()  # integer-valued minutes/counts must stay "continuous"
    plan, _, prepared = make_plan(df, "regression", "label")
    preprocessor = build_preprocessor(plan, encoding)
    out = preprocessor.fit_transform(prepared, prepared["label"])
    sources = feature_sources(preprocessor)
    assert len(sources) == out.shape[1]
    assert set(sources) == set(plan.feature_names)
    assert sources.count("city") == 1  # 120 levels -> one target-encoded column
    n_colors = prepared["color"].nunique() + 1  # + the missing category
    assert sources.count("color") == (1 if encoding == "ordinal" else n_colors)
    assert out.shape[1] < 80
    assert np.isfinite(out).all()


def test_target_encoding_of_unseen_levels_is_the_target_mean():
    X = pd.DataFrame({"c": ["a", "b", "c", "d"] * 25})
    y = np.tile([1.0, 0.0, 1.0, 0.0], 25) + np.arange(100) / 1000
    encoder = HighCardinalityEncoder(target_type="continuous", random_state=0)
    encoder.fit(X, y)
    unseen = encoder.transform(pd.DataFrame({"c": ["zzz", None]}))
    np.testing.assert_allclose(unseen, [[y.mean()], [y.mean()]])
    again = HighCardinalityEncoder(target_type="continuous", random_state=0).fit_transform(X, y)
    np.testing.assert_array_equal(again, encoder.fit_transform(X, y))  # seeded cross-fitting


def test_datetime_features():
    X = pd.DataFrame(
        {
            "day": ["2024-03-01", "2024-12-25", None, "not a date"],
            "stamp": pd.to_datetime(
                ["2024-01-01 06:00", "2024-01-02 18:30", "2024-01-03 00:00", "2024-01-04 00:00"]
            ),
        }
    )
    features = DatetimeFeatures().fit(X)
    names = list(features.get_feature_names_out())
    assert "day_hour" not in names and "stamp_hour" in names  # hours only when times vary
    out = pd.DataFrame(features.transform(X), columns=names)
    assert out.loc[0, "day_month"] == 3 and out.loc[1, "day_dayofweek"] == 2  # Wednesday
    assert out.loc[[2, 3], "day_year"].isna().all()
    assert out.loc[1, "stamp_hour"] == pytest.approx(18.5)
    assert out.loc[0, "day_month_sin"] == pytest.approx(np.sin(2 * np.pi * 2 / 12))


def test_string_and_object_columns_encode_the_same():
    df = mixed_frame(120)
    plan, _, prepared = make_plan(df, "classification", "label")
    as_object = prepared.astype({c: object for c in ("color", "city", "member", "review")})
    for encoding in ("onehot", "ordinal"):
        a = build_preprocessor(plan, encoding).fit_transform(prepared, prepared["label"])
        b = build_preprocessor(plan, encoding).fit_transform(as_object, as_object["label"])
        np.testing.assert_array_equal(a, b)


def test_describe_names_the_choices_per_family():
    df = mixed_frame(120)
    plan, _, _ = make_plan(
        df, "classification", "label", imputers={"x": {"strategy": "constant", "fill_value": 0}}
    )
    linear = describe(plan, "logistic_regression")
    assert linear["categorical_encoding"] == "one-hot + standard scaling"
    assert linear["high_cardinality_encoding"] == "cross-fitted target encoding"
    assert linear["imputer.x"] == "constant 0"
    assert "imputer.noise" not in linear  # defaults are not repeated
    assert describe(plan, "lightgbm")["categorical_encoding"] == "ordinal codes"
