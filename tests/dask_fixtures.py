"""Real Dask clusters for tests: a LocalCluster of 2 worker processes, and separate
``dask scheduler`` / ``dask worker`` processes on 127.0.0.1 free ports; a PostgreSQL store
(skipped without ``AUTOML_TEST_POSTGRES_URL``); helpers that drive a ``DaskExecutor`` with the
no-fit runner ``tests/dask_trial_runner.py``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from tracking_fixtures import _postgres_uri  # noqa: E402

from automl.core.records import TaskKind, TrialConfig, WorkerTask  # noqa: E402

TESTS_DIR = str(Path(__file__).parent)
RUNNER = "dask_trial_runner"


def make_setup(tmp_path: Path, **extra: Any) -> dict:
    """The no-fit runner's setup: a data file to scatter and a folder for its pid markers."""
    data = tmp_path / "prepared.parquet"
    data.write_bytes(b"x" * 1234)
    markers = tmp_path / "markers"
    markers.mkdir()
    return {"snapshot_path": str(data), "marker_dir": str(markers), **extra}


def task(number: int, sleep: float, run_id: str = "") -> WorkerTask:
    return WorkerTask(
        kind=TaskKind.TRIAL, run_id=run_id, config=TrialConfig("dummy", {"sleep": sleep}),
        number=number,
    )  # fmt: skip


def collect(executor: Any, n: int, timeout: float = 180.0) -> dict:
    """Poll until ``n`` results came back (or ``timeout``); results by key."""
    results: dict = {}
    end = time.monotonic() + timeout
    while len(results) < n and time.monotonic() < end:
        for result in executor.poll(timeout=0.5):
            results[result.key] = result
    return results


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids: list[int], timeout: float = 30.0) -> bool:
    """Whether every process in ``pids`` has ended within ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.2)
    return not any(alive(p) for p in pids)


def wait_marker(setup: dict, number: int, timeout: float = 180.0) -> int:
    """The pid of the trial process running trial ``number``, once it started."""
    path = Path(setup["marker_dir"]) / f"{number}.pid"
    end = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < end, f"trial {number} never started"
        time.sleep(0.1)
    return int(path.read_text())


@pytest.fixture
def pg_uri(tmp_path, monkeypatch) -> Iterator[str]:
    """A new PostgreSQL schema as the tracking store (this process's artifacts in tmp_path)."""
    monkeypatch.setenv("AUTOML_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    yield from _postgres_uri()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # the workers' trial processes import tests/dask_trial_runner.py
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [TESTS_DIR, env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def local_cluster(monkeypatch) -> Iterator[distributed.Client]:
    """A LocalCluster with 2 worker processes (one thread each), and its client."""
    for key, value in _env().items():
        monkeypatch.setenv(key, value)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    )  # fmt: skip
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


class ProcessCluster:
    """``dask scheduler`` and ``dask worker`` processes (no nanny, so kill -9 really kills)."""

    def __init__(self, n_workers: int) -> None:
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        port = self.address.rsplit(":", 1)[1]
        bin_dir = Path(sys.executable).parent
        self.scheduler = subprocess.Popen(
            [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", port,
             "--dashboard-address", ":0", "--no-show"],
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.workers: list[subprocess.Popen] = []
        for _ in range(n_workers):
            self.add_worker()

    def add_worker(self) -> subprocess.Popen:
        bin_dir = Path(sys.executable).parent
        worker = subprocess.Popen(
            [str(bin_dir / "dask"), "worker", self.address, "--nthreads", "1", "--no-nanny",
             "--host", "127.0.0.1", "--dashboard-address", ":0"],
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, client: distributed.Client, n: int) -> None:
        client.wait_for_workers(n, timeout=60)

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


@pytest.fixture
def process_cluster() -> Iterator[ProcessCluster]:
    """A scheduler and 2 workers as separate processes on 127.0.0.1."""
    cluster = ProcessCluster(n_workers=2)
    deadline = time.monotonic() + 60
    while True:
        try:
            with distributed.Client(cluster.address, timeout=5) as client:
                cluster.wait_for_workers(client, 2)
            break
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                cluster.close()
                raise
            time.sleep(0.5)
    yield cluster
    cluster.close()
