"""Online lookups on SQLite and PostgreSQL against the offline tables they mirror.

The lookup caches each table's metadata and checks it against the text its one statement
returns; these tests change a table between lookups (added column, dropped and recreated with
other keys) and look up more keys than one statement takes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tracking
from automl.features import (
    FeatureLookup,
    FeatureStore,
    add_online_features,
    create_training_set,
    lookup_online,
)
from automl.features.constants import ONLINE_BATCH

pytest_plugins = ["tracking_fixtures"]


@pytest.fixture
def store(fresh_store_uri) -> FeatureStore:
    return FeatureStore(fresh_store_uri)


def mixed_table(rng: np.random.Generator, entities: int) -> pd.DataFrame:
    """Two rows per user (the later one wins online), one column of each stored kind."""
    users = np.repeat(np.arange(entities), 2)
    return pd.DataFrame(
        {
            "user": users,
            "ts": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(np.tile([0, 1], entities), "D")
            + pd.to_timedelta(rng.integers(0, 3_600, 2 * entities), "s"),
            "spend": rng.normal(size=2 * entities),
            "visits": rng.integers(0, 1_000, 2 * entities),
            "segment": rng.choice(["a", "b", "c"], 2 * entities),
            "active": rng.random(2 * entities) > 0.5,
            "seen": pd.Timestamp("2023-06-01")
            + pd.to_timedelta(rng.integers(0, 10_000, 2 * entities), "min"),
        }
    )


def test_more_keys_than_one_statement_unsorted_repeated_and_unknown(store):
    rng = np.random.default_rng(0)
    entities = ONLINE_BATCH + 300
    table = mixed_table(rng, entities)
    store.create_table("user_stats", "user", table.sample(frac=1, random_state=0), "ts")
    latest = table.sort_values("ts").groupby("user").last()
    # 2.5 statements' worth of keys: shuffled, each known key twice, and unknown users
    request = pd.DataFrame(
        {
            "user": rng.permutation(
                np.r_[np.arange(entities), np.arange(entities), -np.arange(1, 60)]
            )
        }
    )
    request.index = pd.RangeIndex(1_000, 1_000 + len(request))  # the result keeps this index
    values, found = lookup_online(store, "user_stats", request)
    known = request["user"].to_numpy() >= 0
    np.testing.assert_array_equal(found, known)
    assert values.index.equals(request.index)
    assert list(values.columns) == ["spend", "visits", "segment", "active", "seen"]
    expected = latest.reindex(request["user"][known]).reset_index(drop=True)
    got = values[known].reset_index(drop=True)
    np.testing.assert_allclose(got["spend"], expected["spend"])
    assert got["visits"].tolist() == expected["visits"].tolist()
    assert got["segment"].tolist() == expected["segment"].tolist()
    assert got["active"].tolist() == expected["active"].tolist()
    assert got["seen"].tolist() == expected["seen"].tolist()
    assert values.loc[~known, "spend"].isna().all() and values.loc[~known, "visits"].isna().all()
    assert values.loc[~known, "segment"].isna().all()


def test_all_found_numeric_lookup_keeps_the_table_dtypes(store):
    table = pd.DataFrame({"user": [1, 2, 3], "spend": [0.5, 1.5, 2.5], "visits": [4, 5, 6]})
    store.create_table("user_stats", "user", table)
    values, found = lookup_online(store, "user_stats", pd.DataFrame({"user": [3, 1]}))
    assert found.all()
    assert values.dtypes.astype(str).tolist() == ["float64", "int64"]
    assert values.to_dict("list") == {"spend": [2.5, 0.5], "visits": [6, 4]}
    # a mapping of column -> values gives the same rows (on a new RangeIndex)
    by_mapping, found = lookup_online(store, "user_stats", {"user": np.array([3, 1])})
    pd.testing.assert_frame_equal(by_mapping, values)
    by_list, _ = lookup_online(store, "user_stats", {"user": [3, "1"]})
    pd.testing.assert_frame_equal(by_list, values)
    with pytest.raises(tracking.InvalidInputError, match="keys: columns have different lengths"):
        lookup_online(store, "user_stats", {"user": [1, 2], "other": [1]})
    # an unknown key: the int column has a gap, so it comes back as float with NaN
    values, found = lookup_online(store, "user_stats", pd.DataFrame({"user": [2, 99]}))
    assert found.tolist() == [True, False]
    assert values["visits"].iloc[0] == 5.0 and np.isnan(values["visits"].iloc[1])


def test_lookups_follow_added_columns_and_a_table_recreated_with_other_keys(store):
    store.create_table("t", "user", pd.DataFrame({"user": [1, 2], "spend": [1.0, 2.0]}))
    values, _ = lookup_online(store, "t", pd.DataFrame({"user": [1, 2]}))  # metadata cached
    assert list(values.columns) == ["spend"]
    # another client adds a column for user 1 only: the next lookup has it, NaN for user 2
    FeatureStore(store.tracking_uri).write_table(
        "t", pd.DataFrame({"user": [1], "spend": [10.0], "extra": [7.0]})
    )
    values, found = lookup_online(store, "t", pd.DataFrame({"user": [1, 2]}))
    assert found.all() and list(values.columns) == ["spend", "extra"]
    assert values["spend"].tolist() == [10.0, 2.0]
    assert values["extra"].iloc[0] == 7.0 and np.isnan(values["extra"].iloc[1])
    # dropped and recreated with string keys under another name and other features
    store.drop_table("t")
    with pytest.raises(tracking.ResourceNotFoundError, match="'t' does not exist"):
        lookup_online(store, "t", pd.DataFrame({"user": [1]}))
    store.create_table("t", "code", pd.DataFrame({"code": ["x1", "y2"], "rank": [3, 4]}))
    values, found = lookup_online(store, "t", pd.DataFrame({"code": ["y2", "zz"]}))
    assert found.tolist() == [True, False] and list(values.columns) == ["rank"]
    assert values["rank"].iloc[0] == 4
    with pytest.raises(tracking.InvalidInputError, match=r"code: key column missing.*\['code'\]"):
        lookup_online(store, "t", pd.DataFrame({"user": [1]}))


def test_composite_keys_by_other_column_names_and_a_wrong_key_count(store):
    table = pd.DataFrame({"shop": ["a", "a", "b"], "item": [1, 2, 1], "price": [1.0, 2.0, 3.0]})
    store.create_table("prices", ["shop", "item"], table)
    request = pd.DataFrame({"s": ["b", "a", "a", "c"], "i": [1, 2, 2, 1]})
    values, found = lookup_online(store, "prices", request, key_columns=["s", "i"])
    assert found.tolist() == [True, True, True, False]
    assert values["price"].tolist()[:3] == [3.0, 2.0, 2.0]
    with pytest.raises(tracking.InvalidInputError, match=r"key_columns: 1 column\(s\)"):
        lookup_online(store, "prices", request, key_columns=["s"])
    with pytest.raises(tracking.ResourceNotFoundError, match="'nope' does not exist"):
        lookup_online(store, "nope", request)


def test_online_features_equal_the_training_join_at_a_later_time(store):
    """No skew: keys looked up online get the values a point-in-time join gives after the
    last write, defaults and renamed outputs included."""
    rng = np.random.default_rng(1)
    store.create_table("user_stats", "user", mixed_table(rng, 30), timestamp_keys="ts")
    store.create_table(
        "user_region", "user", pd.DataFrame({"user": np.arange(20), "region": rng.random(20)})
    )
    labels = pd.DataFrame(
        {
            "user": rng.integers(0, 35, 80),
            "t": pd.Timestamp("2030-01-01"),
            "basket": rng.normal(size=80),
        }
    )
    training = create_training_set(
        labels,
        [
            FeatureLookup(
                "user_stats",
                "user",
                "t",
                feature_names=["spend", "segment"],
                rename_outputs={"spend": "user_spend"},
                default_values={"spend": -1.0, "segment": "none"},
            ),
            FeatureLookup("user_region", "user", default_values={"region": 0.0}),
        ],
        label=None,
        store=store,
    )
    with pytest.warns(UserWarning):  # unknown users take the defaults
        joined = training.load_df()
    served = add_online_features(training.feature_spec, labels[["user", "basket"]], store)
    for column in ("user_spend", "segment", "region"):
        assert served[column].tolist() == joined[column].tolist(), column
    assert (served["segment"] == "none").any() and (served["region"] == 0.0).any()
