"""Feature tables on SQLite and PostgreSQL: versions, schema refusal, names, online copy, lineage."""

from __future__ import annotations

import datetime as dt
import inspect
import time

import pandas as pd
import pytest
import sqlalchemy as sa
from search_fixtures import tracking_uri
from sklearn.dummy import DummyClassifier

import registry
import tracking
from automl import features
from automl.features import (
    FeatureLookup,
    FeatureStore,
    create_training_set,
    lineage,
    lookup_online,
    table_lineage,
)

pytest_plugins = ["tracking_fixtures"]


def stats(spend, days=("2024-01-01", "2024-01-02")):
    return pd.DataFrame(
        {"user": [1, 2], "ts": pd.to_datetime(list(days)), "spend": list(map(float, spend))}
    )


@pytest.fixture
def store(fresh_store_uri) -> FeatureStore:
    return FeatureStore(fresh_store_uri)


def stored_rows(store: FeatureStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            name: conn.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
            for name in (
                "features_tables",
                "features_versions",
                "features_chunks",
                "features_online",
            )
        }


def test_every_write_is_a_version_and_old_ones_rebuild(store):
    store.create_table("user_stats", "user", stats([1, 2]), timestamp_keys="ts", description="d")
    v2 = store.write_table("user_stats", stats([10, 20], days=("2024-01-05", "2024-01-02")))
    time.sleep(0.01)
    after_v2 = dt.datetime.now()
    time.sleep(0.01)
    store.write_table("user_stats", stats([7, 8]).assign(extra=[1, 2]), mode="overwrite")
    assert v2.version == 2 and store.get_table("user_stats").version == 3
    first = store.read_table("user_stats", as_of=1)
    assert first["spend"].tolist() == [1.0, 2.0]
    second = store.read_table("user_stats", as_of=after_v2)
    # merge: user 1 gains a row at 01-05, user 2's row at 01-02 is replaced
    assert sorted(zip(second["user"], second["spend"], strict=True)) == [
        (1, 1.0),
        (1, 10.0),
        (2, 20.0),
    ]
    assert list(second.columns) == ["user", "ts", "spend"]
    third = store.read_table("user_stats")
    assert third["spend"].tolist() == [7.0, 8.0] and third["extra"].tolist() == [1, 2]
    assert [v.mode for v in store.list_versions("user_stats")] == [
        "overwrite",
        "merge",
        "overwrite",
    ]


def test_schema_changes_other_than_added_columns_are_refused_and_store_nothing(store):
    store.create_table("user_stats", "user", stats([1, 2]), timestamp_keys="ts")
    before = stored_rows(store)
    with pytest.raises(tracking.InvalidInputError, match=r"\['spend'\] .* are missing"):
        store.write_table("user_stats", stats([1, 2]).drop(columns="spend").assign(other=1.0))
    with pytest.raises(tracking.InvalidInputError, match="dtype of spend"):
        store.write_table("user_stats", stats([1, 2]).assign(spend=["a", "b"]))
    with pytest.raises(tracking.InvalidInputError, match="key column 'user'"):
        store.write_table("user_stats", stats([1, 2]).assign(user=["1", "2"]))
    with pytest.raises(tracking.InvalidInputError, match="repeat a key"):
        store.write_table("user_stats", pd.concat([stats([1, 2]), stats([3, 4])]))
    with pytest.raises(tracking.InvalidInputError, match="mode"):
        store.write_table("user_stats", stats([1, 2]), mode="append")
    assert stored_rows(store) == before
    assert store.get_table("user_stats").version == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "a/b"}, "name: 'a/b' contains"),
        ({"name": " x"}, "whitespace"),
        ({"name": ""}, "non-empty"),
        ({"primary_keys": "nope"}, r"primary_keys: column\(s\) \['nope'\]"),
        ({"primary_keys": "spend"}, "keys must be integers or strings"),
        ({"timestamp_keys": "spend"}, "pd.to_datetime"),
        ({"df": stats([1, 2]).assign(user=pd.array([1, None], dtype="Int64"))}, "contain nulls"),
        ({"df": [1, 2]}, "expected a pandas DataFrame"),
    ],
)
def test_bad_names_and_keys_are_refused_and_store_nothing(store, kwargs, message):
    args = {
        "name": "user_stats",
        "primary_keys": "user",
        "df": stats([1, 2]),
        "timestamp_keys": "ts",
    }
    args.update(kwargs)
    with pytest.raises(tracking.InvalidInputError, match=message):
        store.create_table(**args)
    assert stored_rows(store)["features_tables"] == 0


def test_get_list_drop_and_tags(store):
    store.create_table("b_stats", "user", stats([1, 2]), timestamp_keys="ts", tags={"team": "x"})
    store.create_table("a_stats", "user", stats([1, 2]).drop(columns="ts"))
    with pytest.raises(tracking.ResourceAlreadyExistsError, match="already exists"):
        store.create_table("a_stats", "user", stats([1, 2]))
    store.set_table_tag("a_stats", "owner", "ana")
    store.delete_table_tag("b_stats", "team")
    tables = store.list_tables()
    assert [t.name for t in tables] == ["a_stats", "b_stats"]
    assert tables[0].tags == {"owner": "ana"} and tables[1].tags == {}
    assert tables[1].features == {"spend": "float64"} and tables[1].timestamp_keys == ("ts",)
    store.drop_table("a_stats")
    with pytest.raises(tracking.ResourceNotFoundError, match="does not exist"):
        store.get_table("a_stats")
    assert stored_rows(store)["features_tables"] == 1


def test_online_copy_follows_writes_with_latest_row_per_key(store):
    store.create_table("user_stats", "user", stats([1, 2]), timestamp_keys="ts")
    # older row for user 1 must not replace the newer online value; user 3 is new
    store.write_table(
        "user_stats",
        pd.DataFrame(
            {
                "user": [1, 3],
                "ts": pd.to_datetime(["2023-06-01", "2024-01-01"]),
                "spend": [-1.0, 3.0],
            }
        ),
    )
    values, found = lookup_online(store, "user_stats", pd.DataFrame({"user": [3, 1, 9, "2"]}))
    assert found.tolist() == [True, True, False, True]
    assert values["spend"].tolist()[:2] == [3.0, 1.0] and values["spend"].iloc[3] == 2.0
    store.write_table("user_stats", stats([5, 6]), mode="overwrite")
    _, found = lookup_online(store, "user_stats", pd.DataFrame({"user": [3]}))
    assert not found.any()
    with pytest.raises(tracking.InvalidInputError, match="user: key value 'x' is not an integer"):
        lookup_online(store, "user_stats", pd.DataFrame({"user": ["x"]}))


def test_lineage_from_table_to_model_versions_and_back(store):
    store.create_table("user_stats", "user", stats([1, 2]), timestamp_keys="ts")
    labels = pd.DataFrame({"user": [1, 2], "t": pd.to_datetime(["2024-02-01"] * 2), "y": [0, 1]})
    training = create_training_set(
        labels, [FeatureLookup("user_stats", "user", "t")], label="y", store=store
    )
    client = store.client
    experiment = client.create_experiment("lineage")
    run = client.create_run(experiment)
    lineage.log_training_set(training, run.info.run_id)
    model = DummyClassifier().fit(labels[["user"]], labels["y"])
    client.log_model(run.info.run_id, model, "model")
    client.set_terminated(run.info.run_id)
    reg = registry.RegistryClient(store.tracking_uri)
    version = reg.register_model(f"runs:/{run.info.run_id}/model", "churn")
    uses = table_lineage(store, "user_stats")
    assert [(u.table_version, u.run_id, u.model_versions) for u in uses] == [
        (1, run.info.run_id, [("churn", version.version)])
    ]
    spec = lineage.run_feature_spec(store, run.info.run_id)
    assert spec == training.feature_spec
    assert lineage.model_version_features(store, "churn", version.version) == spec


def test_module_functions_work_on_the_current_tracking_store(fresh_store_uri):
    with tracking_uri(fresh_store_uri):
        table = features.create_table("user_stats", "user", stats([1, 2]), "ts", tags={"a": "b"})
        assert (table.version, table.tags) == (1, {"a": "b"})
        assert features.write_table("user_stats", stats([3, 4]), mode="overwrite").version == 2
        assert features.read_table("user_stats", as_of=1)["spend"].tolist() == [1.0, 2.0]
        features.set_table_tag("user_stats", "owner", "ana")
        features.delete_table_tag("user_stats", "a")
        assert features.get_table("user_stats").tags == {"owner": "ana"}
        assert [t.name for t in features.list_tables()] == ["user_stats"]
        features.drop_table("user_stats")
        assert features.list_tables() == []
    assert inspect.signature(features.read_table).parameters["as_of"].default is None
    assert features.create_table.__doc__ == FeatureStore.create_table.__doc__
