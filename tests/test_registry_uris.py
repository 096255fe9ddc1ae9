"""models:/ URIs: every form resolves to the right run, loads through tracking and registry."""

from __future__ import annotations

import shutil
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

import registry
import tracking
from registry.uris import parse_models_uri, resolve_models_uri

pytest_plugins = ["registry_fixtures"]


@pytest.fixture
def versions(store, logged_model) -> list[str]:
    """churn v1..v3 from three different runs; v2 in Production, v1 Staging, alias champion=v1."""
    uris = [logged_model(seed=seed) for seed in range(3)]
    for uri in uris:
        registry.register_model(uri, "churn")
    registry.transition_model_version_stage("churn", 2, "Production")
    registry.transition_model_version_stage("churn", 1, "Staging")
    registry.set_registered_model_alias("churn", "champion", 1)
    return uris


def test_every_uri_form_resolves(versions):
    v1, v2, v3 = versions
    assert resolve_models_uri("models:/churn/2") == v2
    assert resolve_models_uri("models:/churn@champion") == v1
    assert resolve_models_uri("models:/churn/Production") == v2
    assert resolve_models_uri("models:/churn/staging") == v1
    assert resolve_models_uri("models:/churn/latest") == v3
    assert resolve_models_uri("models:/churn/None") == v3
    registry.transition_model_version_stage("churn", 3, "Production")
    assert resolve_models_uri("models:/churn/Production") == v3  # newest in the stage
    registry.delete_model_version("churn", 3)
    assert resolve_models_uri("models:/churn/latest") == v2
    assert resolve_models_uri("models:/churn/production") == v2


def test_tracking_and_registry_load_the_same_predictor(versions, frame):
    X = frame
    direct = tracking.load_model(versions[0]).predict(X)
    via_tracking = tracking.load_model("models:/churn@champion")
    via_registry = registry.load_model("models:/churn@champion")
    assert type(via_tracking) is type(via_registry) is type(tracking.load_model(versions[0]))
    np.testing.assert_array_equal(via_tracking.predict(X), direct)
    np.testing.assert_array_equal(via_registry.predict(X), direct)
    np.testing.assert_array_equal(
        registry.load_model(versions[2]).predict(X),
        registry.load_model("models:/churn/latest").predict(X),
    )
    other = registry.load_model("models:/churn/Production").unwrap()
    assert other.random_state == 1  # v2 was trained with seed 1


def test_entry_point_is_registered():
    (entry,) = [e for e in entry_points(group="tracking.uri_resolvers") if e.name == "models"]
    assert entry.load() is resolve_models_uri


def test_unresolvable_uris_give_clear_errors(versions):
    cases = [
        ("models:/nope/1", tracking.ResourceNotFoundError, "'nope' does not exist"),
        ("models:/churn/9", tracking.ResourceNotFoundError, "version 9 .* does not exist"),
        ("models:/churn@ghost", tracking.ResourceNotFoundError, "no alias 'ghost'.*champion"),
        ("models:/churn/Archived", tracking.ResourceNotFoundError, "no version in stage Archived"),
        ("models:/churn/Prod", tracking.InvalidInputError, "neither a version number"),
        ("models:/churn", tracking.InvalidInputError, "cannot parse"),
        ("models:/churn/1/extra", tracking.InvalidInputError, "cannot parse"),
        ("models:/@x", tracking.InvalidInputError, "cannot parse"),
    ]
    for uri, error, message in cases:
        with pytest.raises(error, match=message):
            registry.load_model(uri)
        with pytest.raises(error, match=message):
            tracking.load_model(uri)


def test_parse_models_uri_forms():
    assert parse_models_uri("models:/a/3").version == 3
    assert parse_models_uri("models:/a@prod").alias == "prod"
    assert parse_models_uri("models:/a/PRODUCTION").stage == "Production"
    assert parse_models_uri("models:/a/Latest").latest
    with pytest.raises(tracking.InvalidInputError, match="not a models:/ URI"):
        parse_models_uri("runs:/abc/model")


def test_model_replaced_after_registration_is_refused(versions):
    registry.load_model("models:/churn/3")
    folder = Path(tracking.download_artifacts(versions[2]))
    replacement = Path(tracking.download_artifacts(versions[0]))
    for name in ("model.joblib", "MLmodel.json"):  # a consistent, but different, model
        shutil.copy(replacement / name, folder / name)
    for load in (registry.load_model, tracking.load_model):
        with pytest.raises(tracking.ModelIntegrityError, match="changed since registration"):
            load("models:/churn/3")
    # Loading by run is refused too (issue 17.1): the store keeps the digest logged with the run,
    # so a consistent MLmodel.json + model.joblib pair copied in is still a changed model.
    with pytest.raises(tracking.ModelIntegrityError, match="recorded at log time"):
        registry.load_model(versions[2])
