"""Helpers for the serving tests: a registered breast-cancer pipeline store, a deliberately slow
classifier, and a real ``python -m automl.serving`` process on a free 127.0.0.1 port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import registry
import tracking

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
MODEL = "bc"


class SlowClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the majority class after sleeping ``delay`` seconds (for the 504 test)."""

    def __init__(self, delay: float = 5.0) -> None:
        self.delay = delay

    def fit(self, X: pd.DataFrame, y: pd.Series) -> SlowClassifier:
        self.classes_ = sorted(set(y))
        self.majority_ = y.mode().iloc[0]
        self.feature_names_in_ = list(X.columns)
        return self

    def predict(self, X: pd.DataFrame) -> list:
        time.sleep(self.delay)
        return [self.majority_] * len(X)


def breast_cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y.map({0: "malignant", 1: "benign"})


def build_store(uri: str) -> dict[int, object]:
    """Register two versions of ``bc`` (production -> 1, staging -> 2) and ``slow`` version 1
    (alias production); return the fitted bc pipelines by version."""
    X, y = breast_cancer()
    tracking.set_tracking_uri(uri)
    try:
        tracking.set_experiment("serving-tests")
        fitted = {}
        for version, c in ((1, 1.0), (2, 0.001)):
            model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500))
            model.fit(X, y)
            with tracking.start_run():
                info = tracking.log_model(model, "model", input_example=X.head())
            assert registry.register_model(info.model_uri, MODEL).version == version
            fitted[version] = model
        registry.set_registered_model_alias(MODEL, "production", 1)
        registry.set_registered_model_alias(MODEL, "staging", 2)
        with tracking.start_run():
            info = tracking.log_model(SlowClassifier().fit(X, y), "model", input_example=X.head())
        registry.register_model(info.model_uri, "slow")
        registry.set_registered_model_alias("slow", "production", 1)
        return fitted
    finally:
        tracking.set_tracking_uri(None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(tracking_uri: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "automl.serving", "--tracking-uri", tracking_uri, *args]


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_DIR), str(TESTS_DIR), env.get("PYTHONPATH", "")])
    return env


@dataclass
class Server:
    """A running server process and its base URL."""

    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(tracking_uri: str, *args: str, timeout: float = 90.0) -> Server:
    """Start ``python -m automl.serving`` on a free port and wait until ``/ping`` answers 200."""
    port = free_port()
    # stderr goes to a file: a pipe nobody reads would block the server once full.
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open for the process lifetime
        "w+", prefix="automl-serve-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        server_command(tracking_uri, "--port", str(port), *args),
        env=server_env(),
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited with {process.returncode}: {log.read()}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as response:
                if response.status == 200:
                    return Server(process, url)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not answer /ping in time")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: dict


def post(
    url: str, body: bytes | str | dict, content_type: str = "application/json", **headers: str
) -> Answer:
    """POST to ``/invocations``; the answer whatever its status."""
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    all_headers = {"Content-Type": content_type} if content_type else {}
    all_headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    request = urllib.request.Request(url + "/invocations", data=body, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                json.loads(response.read()),
            )
    except urllib.error.HTTPError as error:
        return Answer(
            error.code, {k.lower(): v for k, v in error.headers.items()}, json.loads(error.read())
        )
