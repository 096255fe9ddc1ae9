"""The table of bad inputs (issue 17, "Done when"): each one, through the public API or the CLI,
raises the expected error type with a message naming the argument or column and saying what to
do, and leaves the store exactly as it was (every table's rows and every artifact file).

Dataset files that cannot be read are in test_dataset_files.py; degenerate targets in
test_core_hardening.py; registry names and versions in test_registry_hardening.py; oversized
filters in test_tracking_filter_limits.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

import automl
import registry
import tracking
from automl.cli import main
from automl.retention import prune_models
from tracking.db import dispose_engine

RNG = np.random.default_rng(0)
TABLE = pd.DataFrame({"x": RNG.normal(size=40), "z": RNG.normal(size=40), "y": [0, 1] * 20})
SERIES = pd.DataFrame(
    {"date": pd.date_range("2020-01-01", periods=60, freq="D"), "sales": RNG.normal(size=60) + 9}
)
BUDGET = {"max_trials": 1, "timeout_minutes": 0.1, "verbose": False, "n_jobs": 1}
NO_RUN = "0" * 32


@dataclass(frozen=True)
class Case:
    """One bad input: the call, the error it must raise, and what the message must say."""

    id: str
    call: Callable[[dict[str, Any]], Any]
    error: type[Exception]
    names: str  # the argument or column, as the message names it (a regex)
    fix: str  # what the message tells the user to do (a regex)


def classify(dataset=TABLE, **kwargs) -> Callable[[dict[str, Any]], Any]:
    return lambda ctx: automl.classify(dataset, **{"target_col": "y", **BUDGET, **kwargs})


def regress(dataset=TABLE, **kwargs) -> Callable[[dict[str, Any]], Any]:
    return lambda ctx: automl.regress(dataset, **{"target_col": "y", **BUDGET, **kwargs})


def forecast(dataset=SERIES, **kwargs) -> Callable[[dict[str, Any]], Any]:
    base = {"target_col": "sales", "time_col": "date", **BUDGET}
    return lambda ctx: automl.forecast(dataset, **{**base, **kwargs})


E = automl.AutoMLInputError
SEARCH_CASES = [
    Case("target missing", classify(target_col="nope"), E, "target_col", r"columns: \['x'"),
    Case("target None", classify(target_col=None), E, "target_col", "e.g. target_col='y'"),
    Case("target int", classify(target_col=5), E, "target_col", "e.g. target_col="),
    Case(
        "timeout -1", classify(timeout_minutes=-1), E, "timeout_minutes", "e.g. timeout_minutes=5"
    ),
    Case("timeout 0", classify(timeout_minutes=0), E, "timeout_minutes", "timeout_minutes=None"),
    Case("timeout str", classify(timeout_minutes="5"), E, "timeout_minutes", "e.g. timeout_"),
    Case("timeout inf", classify(timeout_minutes=np.inf), E, "timeout_minutes", "e.g. timeout_"),
    Case("timeout nan", classify(timeout_minutes=np.nan), E, "timeout_minutes", "e.g. timeout_"),
    Case("max_trials 0", classify(max_trials=0), E, "max_trials", "such as 20, or None"),
    Case("max_trials -3", classify(max_trials=-3), E, "max_trials", "such as 20"),
    Case("max_trials 1.5", classify(max_trials=1.5), E, "max_trials", "such as 20"),
    Case("max_trials True", classify(max_trials=True), E, "max_trials", "such as 20"),
    Case("n_jobs 0", classify(n_jobs=0), E, "n_jobs", r"e.g. n_jobs=2 or -1"),
    Case("n_jobs -5", classify(n_jobs=-5), E, "n_jobs", r"e.g. n_jobs=2 or -1"),
    Case("n_jobs str", classify(n_jobs="2"), E, "n_jobs", r"e.g. n_jobs=2"),
    Case("seed abc", classify(seed="abc"), E, "seed", "e.g. seed=0"),
    Case("seed 1.5", classify(seed=1.5), E, "seed", "e.g. seed=0"),
    Case("seed -1", classify(seed=-1), E, "seed", "e.g. seed=0"),
    Case("experiment ''", classify(experiment_name=""), E, "experiment_name", "give a name"),
    Case("experiment 5", classify(experiment_name=5), E, "experiment_name", "give a name"),
    Case("register a/b", classify(register_model_name="a/b"), E, "register_model_name", "replace"),
    Case("register blank", classify(register_model_name=" "), E, "register_model_name", "give a"),
    Case("metric unknown", classify(primary_metric="nope"), E, "primary_metric", "use one of"),
    Case("metric of regression", classify(primary_metric="rmse"), E, "primary_metric", "use one"),
    Case(
        "framework unknown",
        classify(exclude_frameworks=["tensorflow"]),
        E,
        "exclude_frameworks",
        r"accepted: \['sklearn'",
    ),
    Case(
        "all frameworks",
        classify(exclude_frameworks=["sklearn", "lightgbm"]),
        E,
        "exclude_frameworks",
        "leaves no model to train",
    ),
    Case(
        "split values",
        classify(TABLE.assign(s="a"), split_col="s"),
        E,
        "split_col 's'",
        "accepted: train, val",
    ),
    Case(
        "time_col not dates",
        classify(TABLE.assign(t="abc"), time_col="t"),
        E,
        "time_col 't'",
        "give a datetime column",
    ),
    Case("pos_label", classify(pos_label="maybe"), E, "pos_label", r"among the classes \['0', '1'"),
    Case("dataset int", classify(42), E, "dataset", "expected a pandas DataFrame or a path"),
    Case("dataset None", classify(None), E, "dataset", "expected a pandas DataFrame or a path"),
    Case("dataset list", classify([[1, 2]]), E, "dataset", "expected a pandas DataFrame"),
    Case("dataset .txt", classify("notes.txt"), E, "dataset", "give a pandas DataFrame or a .csv"),
    Case(
        "duplicate columns",
        classify(pd.DataFrame([[1, 2, 0]] * 40, columns=["x", "x", "y"])),
        E,
        r"dataset: duplicate column names \['x'\]",
        "rename them",
    ),
    Case(
        "retrain_full", classify(retrain_full="yes"), E, "retrain_full", "e.g. retrain_full=False"
    ),
    Case("verbose", classify(verbose="no"), E, "verbose", "e.g. verbose=False"),
    Case("cluster", classify(cluster="bogus"), E, "cluster", "e.g. cluster='tcp://"),
    Case(
        "regress text target",
        regress(TABLE.assign(y=["a", "b"] * 20)),
        E,
        "target_col 'y'",
        "use automl.classify for labels",
    ),
    Case("regress metric f1", regress(primary_metric="f1"), E, "primary_metric", "use one of"),
    Case(
        "forecast time_col missing",
        forecast(time_col="nope"),
        ValueError,
        "time_col 'nope'",
        r"columns: \['date', 'sales'\]",
    ),
    Case(
        "forecast target missing",
        forecast(target_col="nope"),
        ValueError,
        "target_col 'nope'",
        r"columns: \['date'",
    ),
    Case(
        "forecast horizon too long",
        forecast(horizon=10_000),
        ValueError,
        "horizon=10000",
        "lower horizon or give more history",
    ),
    Case(
        "forecast frequency",
        forecast(frequency="bogus"),
        ValueError,
        "frequency='bogus'",
        "use a pandas alias",
    ),
    Case(
        "forecast metric",
        forecast(primary_metric="f1"),
        ValueError,
        "primary_metric 'f1'",
        r"one of \['smape'",
    ),
    Case(
        "forecast time not dates",
        forecast(SERIES.assign(date="abc")),
        ValueError,
        "time_col 'date'",
        "give ISO dates such as",
    ),
    Case("forecast n_jobs", forecast(n_jobs=0), E, "n_jobs", "e.g. n_jobs=2"),
    Case("forecast seed", forecast(seed="abc"), E, "seed", "e.g. seed=0"),
]

T = tracking.InvalidInputError
TRACKING_CASES = [
    Case(
        "metric value text",
        lambda c: c["client"].log_metric(c["run"], "m", "abc"),
        T,
        "metric 'm' value 'abc'",
        "log a float or int",
    ),
    Case(
        "metric key with /",
        lambda c: c["client"].log_metric(c["run"], "a/../b", 1.0),
        T,
        "metric key 'a/../b'",
        "may not contain path separators",
    ),
    Case(
        "metric step text",
        lambda c: c["client"].log_metric(c["run"], "m", 1.0, step="x"),
        T,
        "metric 'm' step 'x'",
        "must be an integer",
    ),
    Case(
        "metric step 2**70",
        lambda c: c["client"].log_metric(c["run"], "m", 1.0, step=2**70),
        T,
        "metric 'm' step",
        "outside the 64-bit integer range",
    ),
    Case(
        "param key too long",
        lambda c: c["client"].log_param(c["run"], "k" * 300, 1),
        T,
        "param key 'kkk",
        "the limit is 250",
    ),
    Case(
        "param value too long",
        lambda c: c["client"].log_param(c["run"], "k", "v" * 10_000),
        T,
        "param 'k' value",
        "the limit is 6000",
    ),
    Case(
        "param changed",
        lambda c: c["client"].log_param(c["run"], "p", "2"),
        T,
        "param 'p' of run",
        "params are immutable",
    ),
    Case(
        "run id malformed",
        lambda c: c["client"].get_run("nope"),
        T,
        "run_id 'nope'",
        "32 hex characters",
    ),
    Case(
        "experiment name too long",
        lambda c: c["client"].create_experiment("x" * 1000),
        T,
        "experiment name",
        "the limit is 500",
    ),
    Case(
        "filter operator",
        lambda c: c["client"].search_runs([c["experiment"]], "metrics.m >> 1"),
        tracking.FilterSyntaxError,
        "filter_string",
        "expected a value: a number or a quoted string",
    ),
    Case(
        "filter entity",
        lambda c: c["client"].search_runs([c["experiment"]], "foo.m > 1"),
        tracking.FilterSyntaxError,
        "filter_string: unknown entity type 'foo'",
        "use metrics., params., tags. or attributes.",
    ),
    Case(
        "order_by entity",
        lambda c: c["client"].search_runs([c["experiment"]], "", order_by=["bogus.m"]),
        tracking.FilterSyntaxError,
        "order_by: unknown entity type 'bogus'",
        "use metrics., params.",
    ),
    Case(
        "max_results 10**9",
        lambda c: c["client"].search_runs([c["experiment"]], "", max_results=10**9),
        T,
        "max_results",
        "exceeds the limit of 50000",
    ),
    Case(
        "page token",
        lambda c: c["client"].search_runs([c["experiment"]], "", page_token="garbage"),
        T,
        "page_token",
        "not a token from a previous page",
    ),
    Case(
        "experiment id",
        lambda c: c["client"].search_runs(["abc"], ""),
        T,
        "experiment_id 'abc'",
        "a decimal integer",
    ),
    Case(
        "artifact ..",
        lambda c: c["client"].log_text(c["run"], "x", "../evil.txt"),
        T,
        "artifact_file '../evil.txt'",
        "'..' is not allowed",
    ),
    Case(
        "artifact absolute",
        lambda c: c["client"].log_text(c["run"], "x", "/etc/evil.txt"),
        T,
        "artifact_file '/etc/evil.txt'",
        "give a path relative to the run's artifact folder",
    ),
    Case(
        "run status",
        lambda c: c["client"].set_terminated(c["run"], "BOGUS"),
        T,
        "status 'BOGUS'",
        "one of RUNNING, FINISHED, FAILED, KILLED",
    ),
    Case(
        "model uri scheme",
        lambda c: tracking.load_model("bogus:/x"),
        T,
        "bogus:/",
        r"use runs:/<run_id>/<path>",
    ),
    Case(
        "prune keep_top",
        lambda c: prune_models("e", keep_top=-1),
        E,
        "keep_top",
        "how many of the best trial models to keep",
    ),
]

REGISTRY_CASES = [
    Case(
        "name with /",
        lambda c: registry.register_model(c["model_uri"], "a/b"),
        T,
        "name: 'a/b'",
        "choose another name",
    ),
    Case(
        "name ''",
        lambda c: registry.register_model(c["model_uri"], ""),
        T,
        "name",
        "must be a non-empty string",
    ),
    Case(
        "model uri",
        lambda c: registry.register_model("bogus", "m2"),
        T,
        "model_uri",
        "what tracking.log_model returns as model_uri",
    ),
    Case(
        "version text",
        lambda c: registry.get_model_version("m1", "abc"),
        T,
        "version",
        "expected a positive integer",
    ),
    Case(
        "alias latest",
        lambda c: registry.set_registered_model_alias("m1", "latest", 1),
        T,
        "alias: 'latest'",
        "pick another",
    ),
    Case(
        "alias with space",
        lambda c: registry.set_registered_model_alias("m1", "a b", 1),
        T,
        "alias: 'a b'",
        "may only contain letters, digits",
    ),
    Case(
        "alias like a version",
        lambda c: registry.set_registered_model_alias("m1", "v1", 1),
        T,
        "alias: 'v1'",
        "pick another",
    ),
    Case(
        "stage",
        lambda c: registry.transition_model_version_stage("m1", 1, "Bogus"),
        T,
        "stage: unknown stage 'Bogus'",
        "use one of None, Staging, Production, Archived",
    ),
    Case(
        "filter field",
        lambda c: registry.search_registered_models("bogus = 'x'"),
        tracking.FilterSyntaxError,
        "filter_string: unknown field 'bogus'",
        "valid: name",
    ),
    Case(
        "filter OR",
        lambda c: registry.search_model_versions("name = 'a' OR name = 'b'"),
        tracking.FilterSyntaxError,
        "filter_string: OR is not supported",
        "run one search per alternative",
    ),
    Case(
        "models:/ version text",
        lambda c: registry.load_model("models:/m1/abc"),
        T,
        "model_uri: 'abc'",
        "for an alias write models:/<name>@<alias>",
    ),
    Case(
        "duplicate model",
        lambda c: registry.create_registered_model("m1"),
        T,
        "name: registered model 'm1'",
        "already exists",
    ),
    Case(
        "tag key ''",
        lambda c: registry.set_registered_model_tag("m1", "", "v"),
        T,
        "key",
        "must be a non-empty string",
    ),
]

# (argv after --tracking-uri, what stderr must say: the argument and the fix)
CLI_CASES = [
    (["classify", "{csv}", "--target", "nope"], r"target_col: .*columns: \['x', 'y'\]"),
    (["classify", "{csv}", "--target", "y", "--timeout", "-1"], "timeout_minutes: .*e.g."),
    (["classify", "{csv}", "--target", "y", "--max-trials", "0"], "max_trials: .*such as 20"),
    (["classify", "{csv}", "--target", "y", "--metric", "rmse"], "primary_metric: .*use one of"),
    (["regress", "{csv}", "--target", "y", "--n-jobs", "0"], "n_jobs: .*e.g. n_jobs=2"),
    (["classify", "{csv}", "--target", "y", "--split-col", "x"], "split_col 'x': .*accepted:"),
    (["forecast", "{series}", "--target", "sales", "--time", "nope"], r"time_col 'nope'.*columns"),
    (
        ["forecast", "{series}", "--target", "sales", "--time", "date", "--frequency", "x"],
        "frequency='x' is not understood; use a pandas alias",
    ),
    (["runs", "search", "metrics.x >> 1"], "filter_string: expected a value"),
    (["runs", "show", "nope"], r"run_id 'nope' is not a run id \(32 hex characters\)"),
    (["leaderboard", "nope"], "no experiment named 'nope'; see `automl runs list`"),
    (["prune-models", "nope", "--keep-top", "1"], "experiment_name: .*automl runs list"),
    (["prune-models", "e", "--keep-top", "-1"], "keep_top: expected an integer >= 0"),
    (["models", "show", ".."], "name: '..' is reserved.*choose another name"),
    (["models", "alias", "m1", "latest", "1"], "alias: 'latest' is reserved.*pick another"),
    (["models", "stage", "m1", "1", "Bogus"], "stage: unknown stage 'Bogus'; use one of"),
]


def snapshot(uri: str, root: str) -> tuple[dict[str, list[str]], list[tuple[str, int]]]:
    """Every row of every table of the store, and every artifact file with its size."""
    engine = tracking.TrackingClient(uri).engine
    rows: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for table in sorted(sa.inspect(conn).get_table_names()):
            result = conn.execute(sa.text(f'SELECT * FROM "{table}"'))
            rows[table] = sorted(repr(tuple(r)) for r in result)
    files = sorted(
        (
            os.path.relpath(os.path.join(folder, name), root),
            os.path.getsize(os.path.join(folder, name)),
        )
        for folder, _, names in os.walk(root)
        for name in names
    )
    return rows, files


@pytest.fixture
def populated(tmp_path, monkeypatch) -> dict[str, Any]:
    """A store with an experiment, a run with a metric and a param, and a registered model."""
    store, artifacts = str(tmp_path / "store"), str(tmp_path / "artifacts")
    monkeypatch.setenv("AUTOML_ARTIFACT_ROOT", artifacts)
    monkeypatch.chdir(tmp_path)
    tracking.set_tracking_uri(store)
    client = tracking.TrackingClient(store)
    experiment = client.create_experiment("e")
    run = client.create_run(experiment).info.run_id
    client.log_batch(run, metrics={"m": 1.0}, params={"p": "1"})
    with tracking.start_run(experiment_id=experiment):
        frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
        info = tracking.log_model(LogisticRegression().fit(frame, [0, 1, 0, 1]))
    registry.register_model(info.model_uri, "m1")
    TABLE[["x", "y"]].to_csv(tmp_path / "table.csv", index=False)
    SERIES.to_csv(tmp_path / "series.csv", index=False)
    (tmp_path / "notes.txt").write_text("x,y\n")
    yield {
        "uri": store,
        "root": artifacts,
        "client": client,
        "experiment": experiment,
        "run": run,
        "model_uri": info.model_uri,
        "csv": str(tmp_path / "table.csv"),
        "series": str(tmp_path / "series.csv"),
    }
    dispose_engine(tracking.get_tracking_uri())
    tracking.set_tracking_uri(None)


def _check(case: Case, ctx: dict[str, Any]) -> None:
    before = snapshot(ctx["uri"], ctx["root"])
    with pytest.raises(case.error) as caught:
        case.call(ctx)
    message = str(caught.value)
    assert re.search(case.names, message), message
    assert re.search(case.fix, message), message
    assert snapshot(ctx["uri"], ctx["root"]) == before


ALL_CASES = SEARCH_CASES + TRACKING_CASES + REGISTRY_CASES


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_bad_input_is_refused_clearly_and_stores_nothing(populated, case):
    _check(case, populated)


@pytest.mark.parametrize(
    "argv", CLI_CASES, ids=[" ".join(a[:2]) + f" #{i}" for i, (a, _) in enumerate(CLI_CASES)]
)
def test_cli_bad_input_is_one_line_without_traceback(populated, capsys, argv):
    args, expected = argv
    args = [a.format(csv=populated["csv"], series=populated["series"]) for a in args]
    before = snapshot(populated["uri"], populated["root"])
    extra = ["--quiet"] if args[0] in ("classify", "regress", "forecast") else []
    assert main(["--tracking-uri", populated["uri"], *args, *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("error: ")
    assert re.search(expected, err), err
    assert snapshot(populated["uri"], populated["root"]) == before
