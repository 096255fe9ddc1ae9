"""Real Dask clusters for tests: a LocalCluster of 2 worker processes, and separate
``dask scheduler`` / ``dask worker`` processes on 127.0.0.1 free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

TESTS_DIR = str(Path(__file__).parent)


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
