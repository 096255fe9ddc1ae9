"""Dataset files that cannot be read get one clear error naming the file, what is wrong and the
fix, never pandas' or pyarrow's own exception, and nothing is stored (issue 17, item 10).
Through ``automl.classify``/``automl.forecast`` and the CLI (no traceback)."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import automl
import tracking
from automl.cli import main

GOOD = pd.DataFrame({"x": [float(i) for i in range(40)], "y": [0, 1] * 20})


def _parquet_bytes() -> bytes:
    return GOOD.to_parquet()


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


def _directory(folder: Path) -> Path:
    (folder / "x.csv").mkdir()
    return folder / "x.csv"


def _missing(folder: Path) -> Path:
    return folder / "missing.csv"


# name: (make the file in a folder, what the message says is wrong, the fix it gives)
CASES: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "missing file": (_missing, "does not exist", "check the path and its spelling"),
    "directory": (_directory, "is a directory", "give the path of a .csv or .parquet file"),
    "ragged csv": (
        _write("ragged.csv", b"x,y\n1,0\n2,1,7\n"),
        "is not well-formed CSV .*Expected 2 fields in line 3, saw 3",
        "as many comma-separated fields as the header",
    ),
    "unterminated quote": (
        _write("quote.csv", b'x,y\n"1,0\n'),
        "is not well-formed CSV .*EOF inside string",
        "comma-separated fields",
    ),
    "binary csv": (
        _write("binary.csv", bytes(range(256)) * 8),
        r"is binary, not CSV text \(it contains NUL bytes\)",
        "give a comma-separated text file",
    ),
    "zero-byte csv": (_write("empty.csv", b""), r"is empty \(0 bytes\)", "named columns and rows"),
    "blank lines csv": (_write("blank.csv", b"\n\n\n"), "has no header row", "with a header"),
    "latin-1 csv": (
        _write("latin.csv", "name,y\ncaf\xe9,1\n".encode("latin-1")),
        r"is not UTF-8 text \(byte b'\\xe9' at offset 3\)",
        r"save it as UTF-8 CSV, or read it with pandas.read_csv\(..., encoding=...\)",
    ),
    "parquet named csv": (
        _write("data.csv", _parquet_bytes()),
        "is a Parquet file, not a CSV file",
        "rename it to .parquet",
    ),
    "truncated csv.gz": (
        _write("cut.csv.gz", gzip.compress(GOOD.to_csv().encode())[:60]),
        "cannot be read as CSV",
        "complete .gz archive of one CSV file",
    ),
    "csv.gz not gzip": (
        _write("plain.csv.gz", b"x,y\n1,0\n"),
        "cannot be read as CSV .*Not a gzipped file",
        "complete .gz archive",
    ),
    "zero-byte parquet": (_write("empty.parquet", b""), r"is empty \(0 bytes\)", "named columns"),
    "text named parquet": (
        _write("text.parquet", b"x,y\n1,0\n"),
        "is not a Parquet file .*'PAR1' marker",
        "write it with DataFrame.to_parquet, or give a CSV file a .csv name",
    ),
    "truncated parquet": (
        _write("cut.parquet", _parquet_bytes()[:300]),
        "cannot be read as Parquet",
        "truncated or damaged: write it again with DataFrame.to_parquet",
    ),
    "corrupt parquet": (
        _write("bad.pq", b"PAR1" + b"\x13" * 200 + b"PAR1"),
        "cannot be read as Parquet",
        "truncated or damaged",
    ),
}


def _stored_experiments(store: Path) -> list[str]:
    if not store.exists():
        return []
    names = [e.name for e in tracking.TrackingClient(str(store)).search_experiments()]
    return [n for n in names if n != "Default"]


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "store"
    tracking.set_tracking_uri(str(path))
    monkeypatch.setenv("AUTOML_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    yield path
    tracking.set_tracking_uri(None)


@pytest.mark.parametrize("case", list(CASES))
def test_classify_names_the_file_and_the_fix(tmp_path, store, case):
    make, problem, fix = CASES[case]
    path = make(tmp_path)
    with pytest.raises(automl.AutoMLInputError) as caught:
        automl.classify(path, target_col="y", max_trials=1, verbose=False)
    message = str(caught.value)
    assert message.startswith(f"dataset: file {str(path)!r} ")
    assert _matches(problem, message) and _matches(fix, message)
    error = caught.value  # no library exception shown beneath it
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert _stored_experiments(store) == []


def _matches(pattern: str, text: str) -> bool:
    assert re.search(pattern, text), f"{pattern!r} not in {text!r}"
    return True


@pytest.mark.parametrize("case", ["directory", "text named parquet", "binary csv"])
def test_forecast_reads_files_the_same_way(tmp_path, store, case):
    make, problem, fix = CASES[case]
    path = make(tmp_path)
    with pytest.raises(automl.AutoMLInputError, match=problem):
        automl.forecast(path, target_col="y", time_col="x", verbose=False)
    assert _stored_experiments(store) == []


@pytest.mark.parametrize("case", ["directory", "ragged csv", "truncated parquet"])
@pytest.mark.parametrize("command", ["classify", "forecast"])
def test_cli_prints_one_line_without_traceback(tmp_path, store, capsys, case, command):
    make, problem, fix = CASES[case]
    path = make(tmp_path)
    extra = ["--time", "x"] if command == "forecast" else []
    argv = ["--tracking-uri", str(store), command, str(path), "--target", "y", *extra]
    assert main([*argv, "--max-trials", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith(f"error: dataset: file {str(path)!r}") and _matches(fix, err)
    assert _stored_experiments(store) == []


READ_AS_OTHER_USER = """
import sys
import automl
try:
    automl.classify(sys.argv[1], target_col="y", max_trials=1, verbose=False)
except automl.AutoMLInputError as exc:
    print(exc)
"""


@pytest.fixture
def shared_folder() -> Path:
    """A folder every user can search (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="automl-perm-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _as_other_user(path: Path, store: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", READ_AS_OTHER_USER, str(path)]
    if os.geteuid() == 0:  # root reads any file: run as nobody
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: root cannot be denied a file")
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {**os.environ, "AUTOML_TRACKING_URI": str(store)}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd="/", timeout=300)


@pytest.mark.parametrize("locked", ["file", "folder"])
def test_unreadable_file_says_permission_denied(shared_folder, locked):
    inner = shared_folder / "inner"
    inner.mkdir(mode=0o755)
    path = inner / "secret.csv"
    GOOD.to_csv(path, index=False)
    (path if locked == "file" else inner).chmod(0o600 if locked == "file" else 0o700)
    store = shared_folder / "other-store"
    out = _as_other_user(path, store)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"dataset: file {str(path)!r} cannot be opened: permission denied")
    assert "readable by this user" in out.stdout
    assert not store.exists()


def test_a_relative_missing_path_says_where_it_was_looked_for(tmp_path, store, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(automl.AutoMLInputError) as caught:
        automl.classify("data/train.csv", target_col="y", verbose=False)
    assert str(caught.value) == (
        f"dataset: file 'data/train.csv' does not exist (relative to the working directory "
        f"{tmp_path}); check the path and its spelling"
    )
    assert _stored_experiments(store) == []
