"""search_registered_models / search_model_versions: filters, LIKE semantics, ordering, paging."""

from __future__ import annotations

import pytest

import registry
import tracking

pytest_plugins = ["registry_fixtures"]


@pytest.fixture
def catalog(store, logged_model) -> dict[str, str]:
    """Models churn (3 versions, 2 runs), churn_v2 (1) and Fraud (1), with tags."""
    run_a, run_b = logged_model(seed=0), logged_model(seed=1)
    registry.register_model(run_a, "churn", tags={"stage": "dev"})
    registry.register_model(run_b, "churn", tags={"stage": "prod", "data set": "2024"})
    registry.register_model(run_b, "churn")
    registry.register_model(run_a, "churn_v2")
    registry.register_model(run_b, "Fraud", tags={"stage": "dev"})
    registry.set_registered_model_tag("churn", "team", "growth")
    registry.set_registered_model_tag("Fraud", "team", "risk")
    registry.transition_model_version_stage("churn", 2, "Production")
    return {"a": run_a.split("/")[1], "b": run_b.split("/")[1]}


def _versions(filter_string: str, **kwargs) -> list[tuple[str, int]]:
    return [(v.name, v.version) for v in registry.search_model_versions(filter_string, **kwargs)]


def _models(filter_string: str | None = None, **kwargs) -> list[str]:
    return [m.name for m in registry.search_registered_models(filter_string, **kwargs)]


def test_model_version_filters(catalog):
    assert _versions("name = 'churn'") == [("churn", 3), ("churn", 2), ("churn", 1)]
    assert _versions(f"run_id = '{catalog['a']}'") == [("churn", 1), ("churn_v2", 1)]
    assert _versions(f"run_id IN ('{catalog['a']}', 'nope') AND name != 'churn'") == [
        ("churn_v2", 1)
    ]
    assert _versions("tags.stage = 'dev'") == [("Fraud", 1), ("churn", 1)]
    assert _versions("tags.`data set` = '2024'") == [("churn", 2)]
    assert _versions("tags.stage != 'dev'") == [("churn", 2)]  # only versions having the tag
    assert _versions("name = 'churn' AND version_number IN (2, 3)") == [("churn", 3), ("churn", 2)]
    assert _versions("version_number NOT IN (1, 2)") == [("churn", 3)]
    assert _versions("name = 'churn' AND version_number >= 2") == [("churn", 3), ("churn", 2)]
    assert _versions("name = 'churn' AND version_number < 2") == [("churn", 1)]
    assert _versions("current_stage = 'production'") == [("churn", 2)]
    assert _versions("current_stage IN ('production', 'archived')") == [("churn", 2)]
    assert _versions("version_number = 1 AND name LIKE 'ch%'") == [("churn", 1), ("churn_v2", 1)]


def test_like_is_case_sensitive_and_ilike_is_not(catalog):
    assert _models("name LIKE 'churn%'") == ["churn", "churn_v2"]
    assert _models("name LIKE 'CHURN%'") == []
    assert _models("name ILIKE 'CHURN%'") == ["churn", "churn_v2"]
    assert _models("name LIKE 'churn_v_'") == ["churn_v2"]  # '_' is one character
    assert _models("name LIKE 'f%'") == []
    assert _models("name ILIKE 'f%'") == ["Fraud"]
    assert _models("tags.team LIKE 'gr%'") == ["churn"]


def test_ordering_and_paging(catalog):
    assert _models() == ["Fraud", "churn", "churn_v2"]  # default: name ASC
    assert _models(order_by=["name DESC"]) == ["churn_v2", "churn", "Fraud"]
    newest_first = _versions("", order_by=["creation_timestamp DESC"])
    assert newest_first[0] == ("Fraud", 1) and newest_first[-1] == ("churn", 1)
    assert _versions("name = 'churn'", order_by=["version_number ASC"]) == [
        ("churn", 1),
        ("churn", 2),
        ("churn", 3),
    ]
    page1 = registry.search_model_versions(max_results=2, order_by=["name", "version ASC"])
    page2 = registry.search_model_versions(
        max_results=2, order_by=["name", "version ASC"], page_token=page1.token
    )
    page3 = registry.search_model_versions(
        max_results=2, order_by=["name", "version ASC"], page_token=page2.token
    )
    seen = [(v.name, v.version) for v in [*page1, *page2, *page3]]
    assert seen == [("Fraud", 1), ("churn", 1), ("churn", 2), ("churn", 3), ("churn_v2", 1)]
    assert page3.token is None and page1.token is not None


def test_models_carry_latest_versions_and_aliases(catalog):
    registry.set_registered_model_alias("churn", "champion", 2)
    (churn,) = registry.search_registered_models("name = 'churn'")
    assert churn.aliases == {"champion": 2} and churn.tags == {"team": "growth"}
    assert [(v.version, v.current_stage) for v in churn.latest_versions] == [
        (3, "None"),
        (2, "Production"),
    ]


def test_bad_filters_name_the_problem(store):
    cases = [
        ("colour = 'red'", "unknown field 'colour'"),
        ("name = 'a' OR name = 'b'", "OR is not supported"),
        ("name ~ 'a'", "cannot parse"),
        ("name = ", "missing value"),
        ("version_number = 'x'", "version_number must be an integer"),
        ("name = 'churn' AND", "dangling AND"),
        ("current_stage = 'Prod'", "stage: unknown stage"),
        ("current_stage IN ('Staging', 'Live')", "stage: unknown stage 'Live'"),
        ("name IN ()", "empty IN list"),
        ("name > 'a'", "only compares numbers"),
        ("tags.stage < 'b'", "tag values are text"),
        ("name IN ('a', 'b'", "unterminated IN list"),
    ]
    for filter_string, message in cases:
        with pytest.raises(tracking.InvalidInputError, match=message):
            registry.search_model_versions(filter_string)
    with pytest.raises(tracking.InvalidInputError, match="unknown field 'run_id'"):
        registry.search_registered_models("run_id = 'x'")


def test_bad_order_by_and_paging_arguments(store):
    with pytest.raises(tracking.InvalidInputError, match="order_by: unknown field 'colour'"):
        registry.search_registered_models(order_by=["colour"])
    with pytest.raises(tracking.InvalidInputError, match="direction must be ASC or DESC"):
        registry.search_model_versions(order_by=["name UP"])
    with pytest.raises(tracking.InvalidInputError, match="max_results: expected a positive"):
        registry.search_model_versions(max_results=0)
    with pytest.raises(tracking.InvalidInputError, match="page_token: 'zz'"):
        registry.search_model_versions(page_token="zz")


DEEP = "(" * 5000 + "name = 'churn'" + ")" * 5000
WIDE = " AND ".join(["name = 'churn'"] * 3000)


@pytest.mark.parametrize(
    ("text", "limit"), [(DEEP, "limit of 32"), (WIDE, "limit of 200")], ids=["deep", "wide"]
)
def test_oversized_registry_filters_raise_with_the_limit(store, text, limit):
    with pytest.raises(tracking.FilterSyntaxError, match=limit):
        registry.search_model_versions(text)
    with pytest.raises(tracking.FilterSyntaxError, match=limit):
        registry.search_registered_models(text)


def test_registry_filters_at_the_limits_run_on_the_database(catalog):
    nested = "(" * 31 + "name = 'churn'" + ")" * 31
    assert _versions(nested) == [("churn", 3), ("churn", 2), ("churn", 1)]
    wide = " AND ".join(["version_number >= 1"] * 199 + ["name = 'Fraud'"])
    assert _versions(wide) == [("Fraud", 1)]
    assert _models(" AND ".join(["name LIKE 'ch%'"] * 200)) == ["churn", "churn_v2"]


def test_registry_backticked_entity_and_field_names(catalog):
    assert _versions("`tags`.stage = 'dev'") == [("Fraud", 1), ("churn", 1)]
    assert _versions("`tag`.`data set` = '2024'") == [("churn", 2)]
    assert _models("`tags`.team = 'risk'") == ["Fraud"]
    assert _versions("`name` = 'churn_v2'") == [("churn_v2", 1)]
    with pytest.raises(tracking.FilterSyntaxError, match="unknown entity type 'metrics'"):
        registry.search_model_versions("`metrics`.x > 1")


def test_registry_filter_errors_point_at_the_token(store):
    text = "name = 'a' OR name = 'b'"
    with pytest.raises(tracking.FilterSyntaxError, match="OR is not supported") as info:
        registry.search_model_versions(text)
    assert info.value.token == "OR" and text[info.value.position :].startswith("OR")
    assert "^" in str(info.value)
