"""A model trained on a training set, served by key through a real ``automl serve`` process."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from search_fixtures import small_search, tracking_uri
from serving_fixtures import post, start_server
from sklearn.linear_model import LogisticRegression

import automl
import registry
import tracking
from automl import cli, features
from automl.features import FeatureLookup, FeatureStore


def _training_set(labels: pd.DataFrame, store: FeatureStore) -> features.TrainingSet:
    """``labels`` (user, t, basket) with y = basket > 0, joined to user_stats at t and to
    user_region (default -1 for users it lacks)."""
    labels["y"] = (labels["basket"] > 0).astype(int)
    return features.create_training_set(
        labels,
        [
            FeatureLookup("user_stats", "user", "t"),
            FeatureLookup("user_region", "user", default_values={"region_score": -1.0}),
        ],
        label="y",
        exclude_columns=["user", "t"],
        store=store,
    )


pytest_plugins = ["tracking_fixtures"]


@pytest.fixture
def trained(tmp_path):
    """user_stats table, a model trained on its point-in-time join, registered as 'churn'."""
    return _build(str(tmp_path / "store"))


@pytest.fixture
def trained_on_each_backend(fresh_store_uri):
    """``trained`` on a fresh SQLite store and a fresh PostgreSQL schema."""
    return _build(fresh_store_uri)


def _build(uri: str):
    store = FeatureStore(uri)
    rng = np.random.default_rng(0)
    users = np.arange(40)
    table = pd.DataFrame(
        {
            "user": np.repeat(users, 3),
            "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.tile([0, 10, 20], 40), "D"),
            "spend": rng.normal(size=120),
        }
    )
    store.create_table("user_stats", "user", table, timestamp_keys="ts")
    store.create_table(
        "user_region", "user", pd.DataFrame({"user": users, "region_score": users / 40.0})
    )
    labels = pd.DataFrame(
        {
            "user": rng.choice(users, 200),
            "t": pd.Timestamp("2024-01-05") + pd.to_timedelta(rng.integers(0, 30, 200), "D"),
            "basket": rng.normal(size=200),  # request-time column
        }
    )
    training = _training_set(labels, store)
    frame = training.load_df()
    X, y = frame.drop(columns="y"), frame["y"]
    model = LogisticRegression().fit(X, y)
    with tracking_uri(uri):
        with tracking.start_run() as run:
            info = tracking.log_model(model, "model", input_example=X.head())
            features.log_training_set(training, run.info.run_id)
        registry.register_model(info.model_uri, "churn")
    return uri, model, store


def test_served_model_takes_keys_and_request_columns_and_looks_up_the_rest(trained):
    uri, model, store = trained
    server = start_server(uri, "models:/churn/1")
    try:
        rows = [{"user": 3, "basket": 0.5}, {"user": 7, "basket": -1.2}]
        answer = post(server.url, {"dataframe_records": rows})
        assert answer.status == 200, answer.body
        online = store.read_table("user_stats")
        latest = online.sort_values("ts").groupby("user")["spend"].last()
        expected_input = pd.DataFrame(
            {
                "basket": [0.5, -1.2],
                "spend": [latest[3], latest[7]],
                "region_score": [3 / 40.0, 7 / 40.0],
            }
        )
        assert answer.body["predictions"] == model.predict(expected_input).tolist()

        unknown = post(server.url, {"dataframe_records": [{"user": 999, "basket": 0.1}]})
        assert unknown.status == 400
        assert "user" in unknown.body["message"] and "999" in unknown.body["message"]
    finally:
        server.stop()
    uses = features.table_lineage(store, "user_region")
    assert uses[0].model_versions == [("churn", 1)]


def test_served_and_loaded_by_key_on_sqlite_and_postgresql(trained_on_each_backend):
    uri, model, store = trained_on_each_backend
    rows = [{"user": 3, "basket": 0.5}, {"user": 7, "basket": -1.2}]
    latest = store.read_table("user_stats").sort_values("ts").groupby("user")["spend"].last()
    joined = pd.DataFrame(
        {"basket": [0.5, -1.2], "spend": [latest[3], latest[7]], "region_score": [0.075, 0.175]}
    )
    loaded = registry.RegistryClient(uri).load_model("models:/churn/1")
    assert loaded.predict(pd.DataFrame(rows)).tolist() == model.predict(joined).tolist()
    server = start_server(uri, "models:/churn/1")
    try:
        answer = post(server.url, {"dataframe_records": rows})
        assert answer.status == 200, answer.body
        assert answer.body["predictions"] == model.predict(joined).tolist()
    finally:
        server.stop()


def test_loaded_model_takes_keys_and_looks_its_features_up(trained):
    uri, model, store = trained
    with tracking_uri(uri):
        registry.set_registered_model_alias("churn", "champion", 1)
        loaded = automl.load_model("models:/churn@champion")
        keys = pd.DataFrame({"user": [3, 7], "basket": [0.5, -1.2]})

        def expected(spend_of_3: float) -> pd.DataFrame:
            latest = store.read_table("user_stats").sort_values("ts").groupby("user")["spend"]
            return pd.DataFrame(
                {
                    "basket": [0.5, -1.2],
                    "spend": [spend_of_3, latest.last()[7]],
                    "region_score": [3 / 40.0, 7 / 40.0],
                }
            )

        latest_3 = store.read_table("user_stats").sort_values("ts").groupby("user")["spend"]
        before = expected(latest_3.last()[3])
        assert loaded.predict(keys).tolist() == model.predict(before).tolist()
        np.testing.assert_allclose(loaded.predict_proba(keys), model.predict_proba(before))
        # the joined columns themselves are used as they are (no lookup)
        np.testing.assert_allclose(loaded.predict_proba(before), model.predict_proba(before))

        # a write reaches the next prediction (the online copy, not a copy taken at load)
        store.write_table(
            "user_stats",
            pd.DataFrame({"user": [3], "ts": [pd.Timestamp("2024-03-01")], "spend": [40.0]}),
        )
        np.testing.assert_allclose(loaded.predict_proba(keys), model.predict_proba(expected(40.0)))

        with pytest.raises(tracking.InvalidInputError, match=r"lookup key column\(s\) \['user'\]"):
            loaded.predict(keys.drop(columns="user"))
        with pytest.raises(
            tracking.InvalidInputError, match=r"request-time column\(s\) \['basket'\]"
        ):
            loaded.predict(keys.drop(columns="basket"))
        with pytest.raises(features.MissingFeatureKeyError, match="999"):
            loaded.predict(pd.DataFrame({"user": [999], "basket": [0.1]}))
        # the same through features.score_batch and a runs:/ URI
        run_uri = f"runs:/{registry.get_model_version('churn', 1).run_id}/model"
        assert features.score_batch(run_uri, keys).tolist() == loaded.predict(keys).tolist()
    # a client of the store, whatever the current tracking URI, finds the spec in its store
    other = registry.RegistryClient(uri).load_model("models:/churn@champion")
    assert other.predict(keys).tolist() == loaded.predict(keys).tolist()


def test_cli_lists_shows_and_traces_lineage_both_ways(trained, capsys):
    uri, _, _ = trained
    assert cli.main(["--tracking-uri", uri, "features", "list"]) == 0
    listing = capsys.readouterr().out
    assert "user_region" in listing and "user_stats" in listing
    assert cli.main(["--tracking-uri", uri, "features", "show", "user_stats", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["primary_keys"] == ["user"] and shown["versions"][0]["num_rows"] == 120
    assert cli.main(["--tracking-uri", uri, "features", "lineage", "user_stats"]) == 0
    assert "-> churn v1" in capsys.readouterr().out
    assert cli.main(["--tracking-uri", uri, "features", "lineage", "--model", "churn", "1"]) == 0
    out = capsys.readouterr().out
    assert "user_stats v1" in out and "user_region v1" in out
    assert cli.main(["--tracking-uri", uri, "features", "show", "nope"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_automl_on_a_training_set_records_the_spec_and_serves_by_key(trained):
    uri, _, store = trained
    labels = pd.DataFrame(
        {
            "user": np.tile(np.arange(40), 5),
            "t": pd.Timestamp("2024-01-25"),
            "basket": np.random.default_rng(1).normal(size=200),
        }
    )
    training = _training_set(labels, store)
    with tracking_uri(uri):
        summary = small_search(
            automl.classify,
            training,
            "y",
            "features",
            max_trials=2,
            register_model_name="churn_auto",
        )
        spec = features.run_feature_spec(store, summary.parent_run_id)
        version = summary.registered_model_version
        loaded = automl.load_model(f"models:/churn_auto/{version.version}")
        by_key = loaded.predict(pd.DataFrame({"user": [5, 6], "basket": [2.0, -2.0]}))
        trial = automl.load_model(summary.best_trial.run_id)  # a trial: spec on its parent run
        by_trial = trial.predict(pd.DataFrame({"user": [5, 6], "basket": [2.0, -2.0]}))
    assert by_key.tolist() == [1, 0] and by_trial.tolist() == [1, 0]
    assert spec == training.feature_spec
    # the model files carry the spec too (MLmodel.json metadata), not only the run
    carried = loaded.metadata["metadata"]["feature_spec"]
    assert features.FeatureSpec.from_json(carried) == spec
    assert [lk.table_version for lk in spec.lookups] == [1, 1]
    server = start_server(uri, f"models:/churn_auto/{version.version}")
    try:
        answer = post(server.url, {"dataframe_records": [{"user": 5, "basket": 2.0}]})
        assert answer.status == 200, answer.body
        assert answer.body["predictions"] == [1]
    finally:
        server.stop()
    assert ("churn_auto", int(version.version)) in features.table_lineage(store, "user_stats")[
        -1
    ].model_versions


def test_regress_on_a_training_set_predicts_by_key_as_on_the_joined_rows(trained):
    uri, _, store = trained
    rng = np.random.default_rng(2)
    labels = pd.DataFrame(
        {
            "user": rng.choice(40, 150),
            "t": pd.Timestamp("2024-01-28"),
            "basket": rng.normal(size=150),
        }
    )
    joined_stats = store.read_table("user_stats").sort_values("ts").groupby("user")["spend"].last()
    labels["amount"] = 3.0 * labels["user"].map(joined_stats) + labels["basket"]
    training = features.create_training_set(
        labels,
        [FeatureLookup("user_stats", "user", "t")],
        label="amount",
        exclude_columns=["user", "t"],
        store=store,
    )
    with tracking_uri(uri):
        summary = small_search(automl.regress, training, "amount", "features_regress", max_trials=1)
        model = automl.load_model(summary.best_trial.run_id)
        keys = pd.DataFrame({"user": [4, 9], "basket": [0.3, -0.7]})
        joined = keys.assign(spend=[joined_stats[4], joined_stats[9]]).drop(columns="user")
        np.testing.assert_allclose(model.predict(keys), model.predict(joined))
        assert features.run_feature_spec(store, summary.parent_run_id) == training.feature_spec


def test_a_plain_model_keeps_its_missing_column_error_and_creates_no_feature_tables(tmp_path):
    uri = str(tmp_path / "plain")
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(X, [0, 1, 0, 1])
    client = tracking.TrackingClient(uri)
    run = client.create_run(client.create_experiment("plain"))
    client.log_model(run.info.run_id, model, "model", input_example=X)
    with tracking_uri(uri):
        loaded = automl.load_model(f"runs:/{run.info.run_id}/model")
        with pytest.raises(tracking.InvalidInputError, match=r"missing column\(s\) \['b'\]"):
            loaded.predict(X[["a"]])
    tables = sa.inspect(client.engine).get_table_names()
    assert not [t for t in tables if t.startswith("features_")], tables
