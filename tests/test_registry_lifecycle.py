"""Aliases, stages, history, descriptions, tags and soft delete of registered models."""

from __future__ import annotations

import pytest

import registry
import tracking

pytest_plugins = ["registry_fixtures"]


@pytest.fixture
def three_versions(store, logged_model) -> str:
    uri = logged_model()
    for _ in range(3):
        registry.register_model(uri, "churn")
    return "churn"


def test_aliases_one_version_each_many_per_version(three_versions):
    registry.set_registered_model_alias("churn", "champion", 2, user="ana")
    registry.set_registered_model_alias("churn", "blue", 2)
    assert registry.get_model_version("churn", 2).aliases == ["blue", "champion"]
    registry.set_registered_model_alias("churn", "champion", "3", user="bob", comment="better f1")
    assert registry.get_model_version_by_alias("churn", "champion").version == 3
    assert registry.get_model_version("churn", 2).aliases == ["blue"]
    assert registry.get_registered_model("churn").aliases == {"blue": 2, "champion": 3}

    registry.delete_registered_model_alias("churn", "blue", user="ana")
    assert registry.get_model_version("churn", 2).aliases == []
    with pytest.raises(tracking.ResourceNotFoundError, match="no alias 'blue'.*champion"):
        registry.get_model_version_by_alias("churn", "blue")
    with pytest.raises(tracking.ResourceNotFoundError, match="no alias 'blue'"):
        registry.delete_registered_model_alias("churn", "blue")


def test_reserved_and_malformed_aliases_are_refused(three_versions):
    for alias, reason in [
        ("latest", "reserved"),
        ("LATEST", "reserved"),
        ("v3", "reserved because it looks like a version"),
        ("V12", "reserved because it looks like a version"),
        ("bad alias", "may only contain"),
        ("a/b", "may only contain"),
        ("", "must be a non-empty string"),
    ]:
        with pytest.raises(tracking.InvalidInputError, match=f"alias: .*{reason}"):
            registry.set_registered_model_alias("churn", alias, 1)
    registry.set_registered_model_alias("churn", "v3-candidate", 1)
    assert registry.get_registered_model("churn").aliases == {"v3-candidate": 1}


def test_alias_errors_change_nothing(three_versions):
    registry.set_registered_model_alias("churn", "champion", 1)
    with pytest.raises(tracking.ResourceNotFoundError, match="has no version 7"):
        registry.set_registered_model_alias("churn", "champion", 7)
    with pytest.raises(tracking.ResourceNotFoundError, match="'nope' does not exist"):
        registry.set_registered_model_alias("nope", "champion", 1)
    with pytest.raises(tracking.InvalidInputError, match="version: expected a positive integer"):
        registry.set_registered_model_alias("churn", "champion", "two")
    registry.delete_model_version("churn", 3)
    with pytest.raises(tracking.InvalidInputError, match="version 3 of model 'churn' is deleted"):
        registry.set_registered_model_alias("churn", "champion", 3)
    assert registry.get_registered_model("churn").aliases == {"champion": 1}
    history = registry.get_model_version_history("churn", 1)
    assert [e.event for e in history] == ["registered", "alias_set"]


def test_stages_and_archive_existing(three_versions):
    registry.transition_model_version_stage("churn", 1, "Production")
    registry.transition_model_version_stage("churn", 2, "staging")
    mv = registry.transition_model_version_stage(
        "churn", 2, "production", archive_existing_versions=True, user="ana", comment="ship"
    )
    assert mv.current_stage == "Production"
    stages = {v.version: v.current_stage for v in registry.search_model_versions("name='churn'")}
    assert stages == {1: "Archived", 2: "Production", 3: "None"}
    latest = registry.get_latest_versions("churn", stages=["Production", "None"])
    assert [(v.version, v.current_stage) for v in latest] == [(3, "None"), (2, "Production")]

    registry.transition_model_version_stage("churn", 3, "Production")  # no archiving asked
    prod = {v.version for v in registry.search_model_versions("current_stage = 'Production'")}
    assert prod == {2, 3}


def test_bad_stage_input_changes_nothing(three_versions):
    with pytest.raises(tracking.InvalidInputError, match="stage: unknown stage 'Prod'.*Production"):
        registry.transition_model_version_stage("churn", 1, "Prod")
    with pytest.raises(tracking.InvalidInputError, match="archive_existing_versions: only valid"):
        registry.transition_model_version_stage(
            "churn", 1, "Archived", archive_existing_versions=True
        )
    with pytest.raises(tracking.ResourceNotFoundError, match="has no version 9"):
        registry.transition_model_version_stage("churn", 9, "Staging")
    with pytest.raises(tracking.InvalidInputError, match="comment: expected a string"):
        registry.transition_model_version_stage("churn", 1, "Staging", comment=["x"])
    with pytest.raises(tracking.ResourceNotFoundError, match="has no version 9"):
        registry.get_model_version_history("churn", 9)
    assert {v.current_stage for v in registry.search_model_versions("name='churn'")} == {"None"}
    assert [e.event for e in registry.get_model_version_history("churn", 1)] == ["registered"]


def test_history_records_who_when_from_to_comment(three_versions):
    registry.transition_model_version_stage("churn", 2, "Staging", user="ana", comment="qa")
    registry.set_registered_model_alias("churn", "champion", 2, user="ana")
    registry.transition_model_version_stage(
        "churn", 3, "Staging", archive_existing_versions=True, user="bob"
    )
    registry.set_registered_model_alias("churn", "champion", 3, user="bob", comment="newer")
    history = registry.get_model_version_history("churn", 2)
    rows = [(e.event, e.alias, e.from_value, e.to_value, e.user, e.comment) for e in history]
    assert rows[1:] == [
        ("stage_transition", None, "None", "Staging", "ana", "qa"),
        ("alias_set", "champion", None, "2", "ana", None),
        ("stage_transition", None, "Staging", "Archived", "bob", rows[3][5]),
        ("alias_set", "champion", "2", "3", "bob", "newer"),
    ]
    assert "version 3 moved to Staging" in rows[3][5]
    assert rows[0][0] == "registered" and history[0].user
    times = [e.timestamp for e in history]
    assert times == sorted(times) and times[0] > 1_600_000_000_000
    assert (
        history[4].describe() == "alias 'champion' set on version 3 (moved from version 2): newer"
    )
    default_user = registry.get_model_version_history("churn", 1)[0].user
    assert isinstance(default_user, str) and default_user


def test_descriptions_and_tags(three_versions):
    model = registry.update_registered_model("churn", "Predicts churn\nsecond line")
    assert model.description == "Predicts churn\nsecond line"
    assert registry.update_model_version("churn", 2, "tuned").description == "tuned"
    registry.set_registered_model_tag("churn", "team", "growth")
    registry.set_registered_model_tag("churn", "team", "ml")
    registry.set_model_version_tag("churn", 2, "validated", True)
    assert registry.get_registered_model("churn").tags == {"team": "ml"}
    assert registry.get_model_version("churn", 2).tags == {"validated": "True"}
    registry.delete_model_version_tag("churn", 2, "validated")
    registry.delete_registered_model_tag("churn", "team")
    assert registry.get_model_version("churn", 2).tags == {}
    assert registry.get_registered_model("churn").tags == {}
    with pytest.raises(tracking.ResourceNotFoundError, match="no tag 'team'"):
        registry.delete_registered_model_tag("churn", "team")
    with pytest.raises(tracking.InvalidInputError, match="description: expected a string"):
        registry.update_model_version("churn", 2, 42)
    with pytest.raises(tracking.InvalidInputError, match="key: a tag key"):
        registry.set_registered_model_tag("churn", "", "x")
    assert registry.get_model_version("churn", 2).description == "tuned"


def test_soft_delete_and_restore(three_versions):
    registry.set_registered_model_alias("churn", "champion", 2)
    registry.delete_model_version("churn", 2, user="ana")
    assert [v.version for v in registry.search_model_versions("name='churn'")] == [3, 1]
    deleted = registry.search_model_versions("name='churn'", include_deleted=True)
    assert {v.version: v.status for v in deleted}[2] == "DELETED"
    assert registry.get_registered_model("churn").aliases == {}
    with pytest.raises(tracking.ResourceNotFoundError, match="version 2 .* was deleted"):
        registry.get_model_version("churn", 2)
    events = [(e.event, e.user) for e in registry.get_model_version_history("churn", 2)]
    assert events[-2:] == [("alias_deleted", "ana"), ("deleted", "ana")]
    restored = registry.restore_model_version("churn", 2)
    assert restored.status == "READY" and restored.aliases == []

    registry.delete_registered_model("churn")
    assert registry.search_registered_models() == []
    assert registry.search_model_versions("name='churn'") == []
    with pytest.raises(tracking.ResourceNotFoundError, match="'churn' was deleted"):
        registry.get_registered_model("churn")
    with pytest.raises(tracking.ResourceNotFoundError, match="restore_registered_model"):
        registry.transition_model_version_stage("churn", 1, "Staging")
    with pytest.raises(tracking.ResourceNotFoundError, match="was deleted"):
        registry.load_model("models:/churn/1")
    assert [m.name for m in registry.search_registered_models(include_deleted=True)] == ["churn"]
    source = registry.search_model_versions("name='churn'", include_deleted=True)[0].source
    with pytest.raises(tracking.ResourceNotFoundError, match="restore_registered_model"):
        registry.register_model(source, "churn")
    assert registry.restore_registered_model("churn").latest_versions[0].version == 3
    assert len(registry.search_model_versions("name='churn'")) == 3
