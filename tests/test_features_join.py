"""Point-in-time joins of training sets checked against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tracking
from automl import features
from automl.features import FeatureLookup, FeatureStore


def brute_force(labels, table, key_pairs, label_ts, table_ts, feature):
    """Per label row: the feature row with equal keys and the largest timestamp <= the label's."""
    out = []
    for _, row in labels.iterrows():
        mask = np.ones(len(table), dtype=bool)
        for label_key, table_key in key_pairs:
            mask &= (table[table_key] == row[label_key]).to_numpy()
        if label_ts is not None:
            if pd.isna(row[label_ts]):
                out.append(np.nan)
                continue
            mask &= (table[table_ts] <= row[label_ts]).to_numpy()
        candidates = table[mask]
        if candidates.empty:
            out.append(np.nan)
        else:
            out.append(candidates.sort_values(table_ts)[feature].iloc[-1])
    return np.array(out, dtype=float)


def random_table(rng, entities, stamps):
    keys = np.repeat(np.arange(entities), stamps)
    days = rng.integers(0, 30, entities * stamps)
    frame = pd.DataFrame(
        {"user": keys, "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, "D")}
    )
    frame = frame.drop_duplicates(["user", "ts"]).sample(frac=1, random_state=1)  # unsorted
    frame["spend"] = rng.normal(size=len(frame))
    return frame.reset_index(drop=True)


@pytest.fixture
def store(tmp_path) -> FeatureStore:
    return FeatureStore(str(tmp_path / "store"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_join_matches_brute_force_with_ties_and_unsorted_rows(store, seed):
    rng = np.random.default_rng(seed)
    table = random_table(rng, entities=15, stamps=8)
    store.create_table("spend", "user", table, timestamp_keys="ts")
    # labels: unsorted, some exactly at feature timestamps (ties), unknown users, repeated rows
    exact = table.sample(20, random_state=seed)[["user", "ts"]]
    rand = pd.DataFrame(
        {
            "user": rng.integers(0, 18, 60),
            "ts": pd.Timestamp("2023-12-28") + pd.to_timedelta(rng.integers(0, 40, 60), "D"),
        }
    )
    labels = pd.concat([exact, rand, exact.head(3)], ignore_index=True).sample(
        frac=1, random_state=2
    )
    labels["y"] = rng.integers(0, 2, len(labels))
    labels = labels.rename(columns={"ts": "event_time"}).reset_index(drop=True)

    training = features.create_training_set(
        labels,
        [FeatureLookup("spend", "user", timestamp_lookup_key="event_time")],
        label="y",
        store=store,
    )
    with pytest.warns(UserWarning, match="found no row"):
        joined = training.load_df()
    expected = brute_force(labels, table, [("user", "user")], "event_time", "ts", "spend")
    np.testing.assert_allclose(joined["spend"].to_numpy(), expected, equal_nan=True)
    assert joined[["user", "event_time", "y"]].equals(labels[["user", "event_time", "y"]])
    assert training.alerts[0].missing_rows == int(np.isnan(expected).sum()) > 0


def test_exact_tie_takes_the_row_at_the_label_time_never_a_later_one(store):
    table = pd.DataFrame(
        {
            "user": [1, 1, 1],
            "ts": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-06"]),
            "spend": [1.0, 5.0, 6.0],
        }
    )
    store.create_table("spend", "user", table, timestamp_keys="ts")
    labels = pd.DataFrame(
        {"user": [1, 1, 1], "t": pd.to_datetime(["2024-01-05", "2024-01-04", "2023-12-31"])}
    )
    training = features.create_training_set(
        labels, [FeatureLookup("spend", "user", timestamp_lookup_key="t")], label=None, store=store
    )
    with pytest.warns(UserWarning):
        assert training.load_df()["spend"].tolist()[:2] == [5.0, 1.0]
    assert np.isnan(training.load_df()["spend"].iloc[2])


def test_two_lookups_of_one_table_with_different_keys_and_defaults(store):
    rng = np.random.default_rng(7)
    table = random_table(rng, entities=10, stamps=5)
    store.create_table("spend", "user", table, timestamp_keys="ts")
    labels = pd.DataFrame(
        {
            "buyer": rng.integers(0, 12, 50),
            "seller": rng.integers(0, 12, 50),
            "t": pd.Timestamp("2024-01-03") + pd.to_timedelta(rng.integers(0, 30, 50), "D"),
        }
    )
    training = features.create_training_set(
        labels,
        [
            FeatureLookup("spend", "buyer", "t", rename_outputs={"spend": "buyer_spend"}),
            FeatureLookup(
                "spend",
                "seller",
                "t",
                rename_outputs={"spend": "seller_spend"},
                default_values={"spend": -99.0},
            ),
        ],
        label=None,
        exclude_columns=["buyer"],
        store=store,
    )
    with pytest.warns(UserWarning):
        joined = training.load_df()
    buyer = brute_force(labels, table, [("buyer", "user")], "t", "ts", "spend")
    seller = brute_force(labels, table, [("seller", "user")], "t", "ts", "spend")
    np.testing.assert_allclose(joined["buyer_spend"], buyer, equal_nan=True)
    np.testing.assert_allclose(joined["seller_spend"], np.where(np.isnan(seller), -99.0, seller))
    assert "buyer" not in joined.columns
    assert [a.lookup_keys for a in training.alerts] == [["buyer"], ["seller"]]


def test_composite_keys_and_lookup_without_timestamp_takes_latest(store):
    table = pd.DataFrame(
        {
            "shop": ["a", "a", "b", "a"],
            "item": [1, 1, 1, 2],
            "ts": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-02", "2024-01-03"]),
            "price": [1.0, 9.0, 2.0, 3.0],
        }
    )
    store.create_table("prices", ["shop", "item"], table, timestamp_keys="ts")
    labels = pd.DataFrame({"s": ["a", "b", "a", "c"], "i": [1, 1, 2, 1]})
    training = features.create_training_set(
        labels, [FeatureLookup("prices", ["s", "i"])], label=None, store=store
    )
    with pytest.warns(UserWarning):
        assert training.load_df()["price"].tolist()[:3] == [9.0, 2.0, 3.0]


def test_training_set_rebuilds_at_its_recorded_version(store):
    table = pd.DataFrame(
        {"user": [1, 2], "ts": pd.to_datetime(["2024-01-01"] * 2), "spend": [1.0, 2.0]}
    )
    store.create_table("spend", "user", table, timestamp_keys="ts")
    labels = pd.DataFrame({"user": [1, 2], "t": pd.to_datetime(["2024-02-01"] * 2)})
    lookup = [FeatureLookup("spend", "user", "t")]
    first = features.create_training_set(labels, lookup, label=None, store=store)
    store.write_table("spend", table.assign(spend=[10.0, 20.0]), mode="merge")
    spec = first.feature_spec
    assert spec.lookups[0].table_version == 1
    assert first.load_df()["spend"].tolist() == [1.0, 2.0]
    again = features.create_training_set(
        labels, [FeatureLookup("spend", "user", "t", version=1)], label=None, store=store
    )
    assert again.load_df()["spend"].tolist() == [1.0, 2.0]
    current = features.create_training_set(labels, lookup, label=None, store=store)
    assert current.load_df()["spend"].tolist() == [10.0, 20.0]


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        (FeatureLookup("nope", "user"), "does not exist"),
        (FeatureLookup("spend", "missing_col"), "lookup_key"),
        (FeatureLookup("spend", ["user", "t"]), "keyed by"),
        (FeatureLookup("spend", "user", "nope"), "timestamp_lookup_key"),
        (FeatureLookup("spend", "user", feature_names=["height"]), "feature_names"),
        (FeatureLookup("spend", "user", rename_outputs={"spend": "y"}), "already comes from"),
        (FeatureLookup("spend", "user", default_values={"zz": 1}), "default_values"),
        (FeatureLookup("spend", "user", version=5), "as_of"),
    ],
)
def test_bad_lookups_are_refused_naming_the_argument(store, lookup, message):
    table = pd.DataFrame({"user": [1], "ts": pd.to_datetime(["2024-01-01"]), "spend": [1.0]})
    store.create_table("spend", "user", table, timestamp_keys="ts")
    labels = pd.DataFrame({"user": [1], "t": pd.to_datetime(["2024-01-02"]), "y": [1]})
    with pytest.raises(tracking.TrackingError, match=message):
        features.create_training_set(labels, [lookup], label="y", store=store)


def test_label_key_of_the_wrong_type_is_refused(store):
    table = pd.DataFrame({"user": [1], "spend": [1.0]})
    store.create_table("spend", "user", table)
    labels = pd.DataFrame({"user": ["1"]})
    training = features.create_training_set(
        labels, [FeatureLookup("spend", "user")], None, store=store
    )
    with pytest.raises(tracking.InvalidInputError, match="cannot match key 'user'"):
        training.load_df()
