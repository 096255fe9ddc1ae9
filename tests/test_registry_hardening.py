"""Bad registry names and versions are refused with the rule, before anything is stored; the
registry filter reads quoted literals as tracking's grammar does (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

import registry
import tracking

pytest_plugins = ["registry_fixtures"]

BAD_NAMES = [
    ("..", "reserved"),
    (".", "reserved"),
    ("latest", "reserved"),
    ("Latest", "reserved"),
    ("a\x00b", "control character"),
    ("line\nbreak", "control character"),
    ("tab\tname", "control character"),
]


@pytest.mark.parametrize(("name", "rule"), BAD_NAMES, ids=[repr(n) for n, _ in BAD_NAMES])
def test_bad_names_are_refused_and_nothing_is_stored(logged_model, name, rule):
    uri = logged_model()
    with pytest.raises(tracking.InvalidInputError, match=f"name: .*{rule}"):
        registry.register_model(uri, name)
    with pytest.raises(tracking.InvalidInputError, match=rule):
        registry.create_registered_model(name)
    assert registry.search_registered_models() == []


@pytest.mark.parametrize("version", [2**70, str(2**70), 2**31, -1, 0])
def test_out_of_range_versions_are_refused(logged_model, version):
    registry.register_model(logged_model(), "ok")
    with pytest.raises(tracking.InvalidInputError, match="version: expected a positive integer"):
        registry.get_model_version("ok", version)
    if int(version) > 1:
        with pytest.raises(tracking.InvalidInputError, match="version: expected a positive"):
            registry.load_model(f"models:/ok/{version}")
    with pytest.raises(tracking.InvalidInputError, match="version"):
        registry.set_registered_model_alias("ok", "champion", version)
    assert [v.version for v in registry.search_model_versions("name = 'ok'")] == [1]


def test_huge_version_in_a_filter_is_refused(logged_model):
    registry.register_model(logged_model(), "ok")
    with pytest.raises(tracking.FilterSyntaxError, match="out of range"):
        registry.search_model_versions(f"version_number = {2**70}")


def test_doubled_quote_in_registry_filter_like_tracking(logged_model):
    registry.register_model(logged_model(), "it's")
    registry.set_registered_model_tag("it's", "owner", 'say "hi"')
    found = registry.search_registered_models("name = 'it''s'")
    assert [m.name for m in found] == ["it's"]
    assert [m.name for m in registry.search_registered_models('tags.owner = "say ""hi"""')] == [
        "it's"
    ]
    assert [v.name for v in registry.search_model_versions("name = 'it''s'")] == ["it's"]
    # tracking's grammar reads the same literal the same way
    with tracking.start_run() as run:
        tracking.set_tag("who", "it's")
    found = tracking.search_runs(filter_string="tags.who = 'it''s'", output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]
