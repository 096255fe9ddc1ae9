"""A PostgreSQL URI without psycopg installed: one message naming the URI and the fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tracking

URI = "postgresql://someone:secret@127.0.0.1:1/nowhere"
# Run with psycopg (and psycopg2) made unimportable, as on an install without the extra.
_BLOCK = "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None; "


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK + code], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("uri", [URI, URI.replace("postgresql:", "postgresql+psycopg:")])
def test_api_names_the_uri_and_the_fix(uri):
    done = _run(
        "import tracking\n"
        "try:\n"
        f"    tracking.TrackingClient({uri!r})\n"
        "except tracking.InvalidInputError as exc:\n"
        "    print('ERR', exc)\n"
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("ERR tracking_uri ") and "127.0.0.1:1/nowhere" in out
    assert "pip install 'automl-tracked[postgres]'" in out and "secret" not in out


def test_cli_prints_no_traceback():
    done = _run(
        f"from automl.cli import main; sys.exit(main(['--tracking-uri', {URI!r}, 'runs', 'list']))"
    )
    assert done.returncode == 2, done.stderr
    assert "automl-tracked[postgres]" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.postgres
def test_bare_postgresql_uri_uses_psycopg(fresh_postgres_url):
    """Without a driver in the URL, the psycopg the extra installs is used (not psycopg2)."""
    bare = fresh_postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    client = tracking.TrackingClient(bare)
    assert client.engine.dialect.driver == "psycopg"
    assert client.get_experiment_by_name("Default") is not None


@pytest.fixture
def fresh_postgres_url(store_factory, tmp_path):
    with store_factory("postgres", tmp_path) as uri:
        yield uri


pytest_plugins = ["tracking_fixtures"]
