"""``automl models list | show | register | alias | stage | describe`` through automl.cli.main."""

from __future__ import annotations

import json

import pytest

import registry
from automl.cli import main

pytest_plugins = ["registry_fixtures"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_store(store, logged_model, capsys) -> str:
    uri = logged_model(metrics={"val_f1": 0.75})
    code, out, _ = run(
        capsys, "--tracking-uri", store, "models", "register", uri, "churn", "--tag", "team=ml"
    )
    assert code == 0 and "registered churn version 1" in out
    registry.register_model(uri, "churn")
    return store


def test_alias_stage_describe_show(cli_store, capsys):
    base = ["--tracking-uri", cli_store, "models"]
    code, out, _ = run(capsys, *base, "alias", "churn", "champion", "2", "--user", "ana")
    assert code == 0 and "churn@champion -> version 2" in out
    code, out, _ = run(
        capsys, *base, "stage", "churn", "2", "Production", "--comment", "go live", "--user", "bob"
    )
    assert code == 0 and "now in stage Production" in out
    assert run(capsys, *base, "describe", "churn", "Churn model")[0] == 0
    assert run(capsys, *base, "describe", "churn", "tuned", "--version", "2")[0] == 0

    mv = registry.get_model_version("churn", 2)
    assert (mv.aliases, mv.current_stage, mv.description) == (["champion"], "Production", "tuned")
    assert registry.get_registered_model("churn").description == "Churn model"

    code, out, _ = run(capsys, *base, "show", "churn", "@champion")
    assert code == 0
    assert "churn version 2" in out and "stage:       Production" in out
    assert "ana: alias 'champion' set on version 2" in out
    assert "bob: stage None -> Production: go live" in out
    assert f": registered from {mv.source}" in out

    code, out, _ = run(capsys, *base, "show", "churn", "--json")
    shown = json.loads(out)
    assert shown["aliases"] == {"champion": 2} and [v["version"] for v in shown["versions"]] == [
        2,
        1,
    ]
    assert shown["versions"][1]["tags"] == {"team": "ml"}
    assert shown["versions"][1]["metrics"] == {"val_f1": 0.75}

    assert run(capsys, *base, "alias", "churn", "champion", "--delete")[0] == 0
    assert registry.get_registered_model("churn").aliases == {}


def test_list_models_and_versions(cli_store, capsys, logged_model):
    registry.register_model(logged_model(), "fraud")
    code, out, _ = run(capsys, "--tracking-uri", cli_store, "models", "list")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].split() == ["NAME", "LATEST", "ALIASES", "DESCRIPTION"]
    assert [line.split()[:2] for line in lines[1:]] == [["churn", "2"], ["fraud", "1"]]
    code, out, _ = run(
        capsys, "--tracking-uri", cli_store, "models", "list", "--versions", "--filter",
        "name = 'churn'", "--json",
    )  # fmt: skip
    assert code == 0 and [v["version"] for v in json.loads(out)] == [2, 1]


def test_cli_errors_are_clear_and_change_nothing(cli_store, capsys):
    base = ["--tracking-uri", cli_store, "models"]
    cases = [
        (["stage", "churn", "1", "Live"], "stage: unknown stage 'Live'"),
        (["alias", "churn", "latest", "1"], "'latest' is reserved"),
        (["alias", "churn", "champion"], "version: give the version"),
        (["alias", "nope", "champion", "1"], "'nope' does not exist"),
        (["show", "churn", "7"], "version 7 of registered model 'churn' does not exist"),
        (["describe", "churn", "x", "--version", "9"], "has no version 9"),
        (["list", "--filter", "colour = 'red'"], "unknown field 'colour'"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, *base, *argv)
        assert code == 2 and message in err, (argv, err)
    model = registry.get_registered_model("churn")
    assert (model.aliases, model.description) == ({}, None)
    assert {v.current_stage for v in registry.search_model_versions("name = 'churn'")} == {"None"}
