"""``automl serve`` as a real process on 127.0.0.1: MLflow's scoring protocol, errors, traffic
routes, sticky keys, alias following under load, metrics, the inference table and start-up
refusals. One registered store and a few servers per module keep it fast."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator

import pytest
from serving_fixtures import (
    MODEL,
    breast_cancer,
    build_store,
    post,
    server_command,
    server_env,
    start_server,
)

import registry
import tracking
from automl.serving import Route, RouteAssigner, load_inference_table, parse_route

pytestmark = pytest.mark.xdist_group("serving")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    uri = str(tmp_path_factory.mktemp("serving") / "store")
    fitted = build_store(uri)
    return uri, fitted


def _serving(store: tuple, *arguments: str) -> Iterator:
    """An ``automl serve`` process on the store with ``arguments``, stopped afterwards."""
    uri, _ = store
    server = start_server(uri, *arguments)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ab(store):
    """champion = bc@production (v1) 90 %, challenger = bc@staging (v2) 10 %, polled often."""
    yield from _serving(
        store,
        "--route", f"champion=models:/{MODEL}@production:90",
        "--route", f"challenger=models:/{MODEL}@staging:10",
        "--poll-interval", "0.3",
        "--max-body-bytes", "200000",
        "--log-predictions", "--log-batch-rows", "1000", "--log-flush-seconds", "0.5",
    )  # fmt: skip


@pytest.fixture(scope="module")
def slow(store):
    """fast = bc@staging, slow = a model sleeping 5 s; 0.5 s limit; aliases only on SIGHUP."""
    yield from _serving(
        store,
        "--route", f"fast=models:/{MODEL}@staging:50",
        "--route", "slow=models:/slow@production:50",
        "--predict-timeout", "0.5",
        "--poll-interval", "3600",
    )  # fmt: skip


def key_for(url: str, route: str) -> str:
    """A request key that the server assigns to ``route``."""
    X, _ = breast_cancer()
    for i in range(500):
        answer = post(url, X.head(1).to_csv(index=False), "text/csv", X_Request_Key=f"k{i}")
        if answer.headers["x-route"] == route:
            return f"k{i}"
    raise AssertionError(f"no key reaches route {route}")


def local_key(routes: dict[str, float], route: str) -> str:
    """A request key the assignment sends to ``route``, found without calling the server."""
    assigner = RouteAssigner([Route(n, f"models:/{MODEL}/1", p) for n, p in routes.items()])
    names = list(routes)
    return next(f"k{i}" for i in range(1000) if names[assigner.assign(f"k{i}")] == route)


SLOW_ROUTES = {"fast": 50.0, "slow": 50.0}


def test_ping_health_version(ab):
    for path in ("/ping", "/health"):
        with urllib.request.urlopen(ab.url + path) as response:
            assert response.status == 200
    with urllib.request.urlopen(ab.url + "/version") as response:
        info = json.loads(response.read())
    assert info["version"]
    assert {r["route"]: r["version"] for r in info["routes"]} == {
        "champion": "1",
        "challenger": "2",
    }


def _payloads(X):
    rows = X.head(3)
    records = json.loads(rows.to_json(orient="records"))
    return {
        "dataframe_split": ({"dataframe_split": json.loads(rows.to_json(orient="split"))}, None),
        "dataframe_records": ({"dataframe_records": records}, None),
        "instances": ({"instances": records}, None),
        "inputs_columns": ({"inputs": {c: rows[c].tolist() for c in rows.columns}}, None),
        "inputs_rows": ({"inputs": rows.to_numpy().tolist()}, None),
        "csv": (rows.to_csv(index=False), "text/csv"),
        "csv_utf8": (rows.to_csv(index=False), "text/csv; charset=utf-8"),
        "extra_column": ({"dataframe_records": [dict(r, extra="x") for r in records]}, None),
    }


@pytest.mark.parametrize("fmt", list(_payloads(breast_cancer()[0])))
def test_every_payload_format_predicts_as_the_model(ab, store, fmt):
    X, _ = breast_cancer()
    body, content_type = _payloads(X)[fmt]
    key = "payload-key"
    answer = post(ab.url, body, content_type or "application/json", X_Request_Key=key)
    assert answer.status == 200, answer.body
    version = int(answer.headers["x-model-version"])
    expected = store[1][version].predict(X.head(3)).tolist()
    assert answer.body == {"predictions": expected}


def test_probabilities_via_param(ab, store):
    X, _ = breast_cancer()
    body = {"dataframe_split": json.loads(X.head(2).to_json(orient="split"))}
    body["params"] = {"predict_proba": True}
    answer = post(ab.url, body)
    assert answer.status == 200
    model = store[1][int(answer.headers["x-model-version"])]
    expected = model.predict_proba(X.head(2))
    for row, probs in zip(answer.body["predictions"], expected, strict=True):
        assert set(row) == {"benign", "malignant"}
        assert [row[c] for c in model.classes_] == pytest.approx(probs.tolist())


def _bad_requests(X):
    record = json.loads(X.head(1).to_json(orient="records"))[0]
    split = json.loads(X.head(1).to_json(orient="split"))
    no_radius = {k: v for k, v in record.items() if k != "mean radius"}
    text_radius = dict(record, **{"mean radius": "large"})
    return [
        ("not json", "{oops", "application/json", 400, "not valid UTF-8 JSON"),
        ("list body", [1, 2], "application/json", 400, "must be an object"),
        ("no format", {"data": []}, "application/json", 400, "exactly one of the keys"),
        ("two formats", {"inputs": [record], "instances": [record]}, "application/json", 400,
         "exactly one of the keys"),
        ("missing column", {"dataframe_records": [no_radius]}, "application/json", 400,
         "missing column(s) ['mean radius']"),
        ("wrong type", {"dataframe_records": [text_radius]}, "application/json", 400,
         "column 'mean radius' expects numbers (float64), got 'large'"),
        ("empty records", {"dataframe_records": []}, "application/json", 400, "empty payload"),
        ("empty csv", "", "text/csv", 400, "empty CSV payload"),
        ("csv missing column", X.head(1).drop(columns=["worst area"]).to_csv(index=False),
         "text/csv", 400, "missing column(s) ['worst area']"),
        ("split not object", {"dataframe_split": [1]}, "application/json", 400,
         "dataframe_split must be an object"),
        ("row width", {"inputs": [[1.0, 2.0]]}, "application/json", 400,
         "rows have 2 values but the model expects 30 columns"),
        ("unknown param", {"dataframe_split": split, "params": {"k": 1}}, "application/json",
         400, "unknown param(s) ['k']"),
        ("proba not bool", {"dataframe_split": split, "params": {"predict_proba": "yes"}},
         "application/json", 400, "must be true or false"),
        ("content type", "a,b", "text/plain", 415, "content type 'text/plain' is not supported"),
        ("charset", {"dataframe_split": split}, "application/json; charset=latin-1", 415,
         "only supports UTF-8"),
        ("content parameter", {"dataframe_split": split}, "application/json; format=pandas",
         415, "unrecognized content type parameter(s) ['format']"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", _bad_requests(breast_cancer()[0]), ids=lambda c: c[0])
def test_bad_requests_get_mlflow_errors(ab, case):
    _, body, content_type, status, message = case
    answer = post(ab.url, json.dumps(body) if isinstance(body, list) else body, content_type)
    assert answer.status == status
    assert answer.body["error_code"] == "BAD_REQUEST"
    assert message in answer.body["message"]
    assert answer.headers["x-route"] in ("champion", "challenger")


def test_body_over_the_cap_is_413_and_the_server_stays_up(ab):
    X, _ = breast_cancer()
    big = X.sample(2000, replace=True, random_state=0).to_csv(index=False)
    assert len(big) > 200_000
    answer = post(ab.url, big, "text/csv")
    assert answer.status == 413
    assert answer.body["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "exceeds the limit of 200000 bytes" in answer.body["message"]
    assert post(ab.url, X.head(1).to_csv(index=False), "text/csv").status == 200


def test_split_over_2000_requests_matches_the_percentages(ab):
    X, _ = breast_cancer()
    body = X.head(1).to_csv(index=False)
    counts: Counter = Counter()
    lock = threading.Lock()

    def client(n):
        for _ in range(n):
            answer = post(ab.url, body, "text/csv")
            assert answer.status == 200
            with lock:
                counts[answer.headers["x-route"]] += 1

    threads = [threading.Thread(target=client, args=(500,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts.values()) == 2000
    assert abs(counts["challenger"] / 2000 - 0.10) < 0.03, counts


def test_sticky_keys_always_reach_the_same_route_and_version(ab):
    X, _ = breast_cancer()
    body = X.head(1).to_csv(index=False)
    seen = {}
    for i in range(60):
        answers = [post(ab.url, body, "text/csv", X_Request_Key=f"user-{i}") for _ in range(4)]
        routes = {(a.headers["x-route"], a.headers["x-model-version"]) for a in answers}
        assert len(routes) == 1, routes
        seen[i] = routes.pop()
    assert {r for r, _ in seen.values()} == {"champion", "challenger"}
    assert all(v == {"champion": "1", "challenger": "2"}[r] for r, v in seen.values())


def _metric(url, name, route):
    with urllib.request.urlopen(url + "/metrics") as response:
        assert response.headers["content-type"].startswith("text/plain")
        text = response.read().decode()
    line = f'{name}{{route="{route}"}} '
    values = [ln[len(line) :] for ln in text.splitlines() if ln.startswith(line)]
    assert values, f"{line!r} not in /metrics:\n{text}"
    return float(values[0])


def test_metrics_count_requests_and_errors_per_route(ab):
    X, _ = breast_cancer()
    key = key_for(ab.url, "challenger")
    before = _metric(ab.url, "automl_serving_requests_total", "challenger")
    errors = _metric(ab.url, "automl_serving_errors_total", "challenger")
    for _ in range(5):
        post(ab.url, X.head(1).to_csv(index=False), "text/csv", X_Request_Key=key)
    post(ab.url, "x", "text/plain", X_Request_Key=key)
    assert _metric(ab.url, "automl_serving_requests_total", "challenger") == before + 6
    assert _metric(ab.url, "automl_serving_errors_total", "challenger") == errors + 1
    assert _metric(ab.url, "automl_serving_request_latency_seconds_count", "challenger") >= 6


def test_predictions_are_logged_as_an_inference_table(ab, store):
    uri, _ = store
    X, _ = breast_cancer()
    answer = post(ab.url, X.head(3).to_csv(index=False), "text/csv", X_Request_Id="req-42")
    assert answer.headers["x-request-id"] == "req-42"
    tracking.set_tracking_uri(uri)
    deadline = time.monotonic() + 30
    while True:
        runs = tracking.search_runs(experiment_names=[f"{MODEL}-inference"], output_format="list")
        table = load_inference_table(runs[0].info.run_id) if runs else None
        if table is not None and (table["request_id"] == "req-42").any():
            break
        assert time.monotonic() < deadline, "request req-42 never reached the inference table"
        time.sleep(0.3)
    rows = table[table["request_id"] == "req-42"].sort_values("row")
    assert rows["row"].tolist() == [0, 1, 2]
    assert rows["route"].iloc[0] == answer.headers["x-route"]
    assert rows["model_version"].iloc[0] == answer.headers["x-model-version"]
    assert rows["prediction"].tolist() == answer.body["predictions"]
    assert rows["mean radius"].tolist() == X["mean radius"].head(3).tolist()


def test_alias_moved_under_load_fails_no_request(ab, store):
    uri, _ = store
    X, _ = breast_cancer()
    key = key_for(ab.url, "champion")
    body = X.head(5).to_csv(index=False)
    stop, failures, versions = threading.Event(), [], Counter()

    def client():
        while not stop.is_set():
            try:
                answer = post(ab.url, body, "text/csv", X_Request_Key=key)
                versions[answer.headers["x-model-version"]] += 1
                if answer.status != 200:
                    failures.append(answer)
            except Exception as exc:  # a dropped connection is a failure too
                failures.append(exc)

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    registry.RegistryClient(uri).set_registered_model_alias(MODEL, "production", 2)
    deadline = time.monotonic() + 30
    while versions["2"] < 20 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    registry.RegistryClient(uri).set_registered_model_alias(MODEL, "production", 1)
    assert failures == []
    assert versions["1"] > 0 and versions["2"] >= 20, versions
    after = post(ab.url, body, "text/csv", X_Request_Key=key)
    assert after.headers["x-model-version"] in ("1", "2")  # moved back; polling catches up


def test_slow_prediction_gets_504_and_the_server_stays_up(slow):
    X, _ = breast_cancer()
    body = X.head(1).to_csv(index=False)
    answer = post(slow.url, body, "text/csv", X_Request_Key=local_key(SLOW_ROUTES, "slow"))
    assert answer.status == 504
    assert answer.body["error_code"] == "DEADLINE_EXCEEDED"
    assert "longer than the limit of 0.5 s" in answer.body["message"]
    with urllib.request.urlopen(slow.url + "/ping") as response:
        assert response.status == 200
    fast = post(slow.url, body, "text/csv", X_Request_Key=local_key(SLOW_ROUTES, "fast"))
    assert fast.status == 200


def test_sighup_follows_a_moved_alias_at_once(slow, store):
    uri, _ = store
    X, _ = breast_cancer()
    key = local_key(SLOW_ROUTES, "fast")
    body = X.head(1).to_csv(index=False)
    assert post(slow.url, body, "text/csv", X_Request_Key=key).headers["x-model-version"] == "2"
    client = registry.RegistryClient(uri)
    client.set_registered_model_alias(MODEL, "staging", 1)
    try:
        slow.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while post(slow.url, body, "text/csv", X_Request_Key=key).headers["x-model-version"] != "1":
            assert time.monotonic() < deadline, "SIGHUP did not switch to version 1"
            time.sleep(0.2)
    finally:
        client.set_registered_model_alias(MODEL, "staging", 2)


def _refused(uri, *args):
    result = subprocess.run(
        server_command(uri, "--port", "1", *args),
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--route", "champion=models:/bc@production"], "missing ':PERCENT'"),
        (["--route", "champion=models:/bc@production:ninety"], "'ninety' is not a number"),
        (["--route", "a=models:/bc/1:60", "--route", "b=models:/bc/2:30"],
         "percentages must add up to 100, got 90 (a=60, b=30)"),
        (["--route", "a=models:/bc/1:50", "--route", "a=models:/bc/2:50"],
         "route name(s) ['a'] given more than once"),
        (["models:/bc/1", "--route", "a=models:/bc/2:100"], "either MODEL_URI or --route"),
        ([], "give MODEL_URI or at least one --route"),
    ],
)  # fmt: skip
def test_malformed_routes_refuse_to_start(store, args, message):
    assert message in _refused(store[0], *args)


def test_tampered_model_refuses_to_serve(tmp_path):
    uri = str(tmp_path / "tampered")
    build_store(uri)
    files = glob.glob(os.path.join(uri, "**", "model.joblib"), recursive=True)
    assert len(files) == 3
    for path in files:
        with open(path, "ab") as handle:
            handle.write(b"tampered")
    stderr = _refused(uri, "models:/bc@production")
    assert "cannot serve" in stderr and "sha256" in stderr


def test_parse_route_keeps_colons_of_the_uri():
    route = parse_route("champion=models:/churn@production:90")
    assert (route.name, route.model_uri, route.percent) == (
        "champion",
        "models:/churn@production",
        90,
    )


def test_several_workers_each_load_and_serve(store):
    uri, fitted = store
    X, _ = breast_cancer()
    server = start_server(uri, f"models:/{MODEL}/2", "--workers", "2")
    try:
        answers = [post(server.url, X.head(2).to_csv(index=False), "text/csv") for _ in range(6)]
    finally:
        server.stop()
    assert {a.status for a in answers} == {200}
    assert {a.headers["x-model-version"] for a in answers} == {"2"}
    assert answers[0].body["predictions"] == fitted[2].predict(X.head(2)).tolist()
