"""Reading the user's dataset (a DataFrame or a CSV/Parquet path) and the alerts a search collects.

Shared by every task: neither knows anything of tables or series beyond a DataFrame. A path that
cannot be read (a directory, an empty, binary, ragged or corrupt file, one without read
permission) raises :class:`AutoMLInputError` naming the file, what is wrong and the fix, never
pandas' or pyarrow's own exception: the search stores nothing before the data is read.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from automl.core.spec import AutoMLInputError

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz")
_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 8192  # enough of a file's start to tell text from binary


def alert(kind: str, message: str, column: str | None = None) -> dict[str, Any]:
    """One alert as collected on the summary: ``{"kind", "column", "message"}``."""
    return {"kind": kind, "column": column, "message": message}


def load_dataset(dataset: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """Return the dataset as a DataFrame: a copy of a DataFrame, or read from a CSV/Parquet path."""
    if isinstance(dataset, pd.DataFrame):
        return dataset.copy()
    if isinstance(dataset, (str, os.PathLike)):
        return _read_path(Path(dataset))
    raise AutoMLInputError(
        f"dataset: expected a pandas DataFrame or a path to a CSV/Parquet file, "
        f"got {type(dataset).__name__}"
    )


def _fail(path: Path, problem: str, fix: str) -> AutoMLInputError:
    return AutoMLInputError(f"dataset: file {str(path)!r} {problem}; {fix}")


def _read_path(path: Path) -> pd.DataFrame:
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except PermissionError:  # a folder on the way cannot be searched
        raise _fail(
            path,
            "cannot be opened: permission denied",
            "make it and the folders above it readable by this user",
        ) from None
    if not exists:
        where = "" if path.is_absolute() else f" (relative to the working directory {os.getcwd()})"
        raise _fail(path, f"does not exist{where}", "check the path and its spelling")
    if is_dir:
        raise _fail(path, "is a directory", "give the path of a .csv or .parquet file inside it")
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith(PARQUET_SUFFIXES):
        reader, kind = _read_parquet, "Parquet"
    elif suffix.endswith(CSV_SUFFIXES):
        reader, kind = _read_csv, "CSV"
    else:
        raise AutoMLInputError(
            f"dataset: cannot read {str(path)!r}; give a pandas DataFrame or a .csv/.parquet file"
        )
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except PermissionError:
        raise _fail(
            path, "cannot be opened: permission denied", "make it readable by this user"
        ) from None
    if not head:
        raise _fail(path, "is empty (0 bytes)", f"give a {kind} file with named columns and rows")
    frame = reader(path, head)
    if frame.shape[1] == 0:
        raise _fail(path, "has no columns", f"give a {kind} file with named columns and rows")
    return frame


def _read_parquet(path: Path, head: bytes) -> pd.DataFrame:
    if not head.startswith(_PARQUET_MAGIC):
        raise _fail(
            path,
            "is not a Parquet file (it does not start with Parquet's 'PAR1' marker)",
            "write it with DataFrame.to_parquet, or give a CSV file a .csv name",
        )
    return _guarded(
        path,
        lambda: pd.read_parquet(path),
        "Parquet",
        "it is truncated or damaged: write it again with DataFrame.to_parquet",
    )


def _read_csv(path: Path, head: bytes) -> pd.DataFrame:
    compressed = path.suffix.lower() != ".csv"  # checked by its decompressor instead
    if not compressed:
        if head.startswith(_PARQUET_MAGIC):
            raise _fail(path, "is a Parquet file, not a CSV file", "rename it to .parquet")
        if b"\x00" in head:
            raise _fail(
                path,
                "is binary, not CSV text (it contains NUL bytes)",
                "give a comma-separated text file, or a .parquet file",
            )
    fix = "check that every row has as many comma-separated fields as the header"
    if compressed:
        fix = (
            f"check that it is a complete {path.suffix} archive of one CSV file (write it "
            "again, or give the uncompressed .csv)"
        )
    return _guarded(path, lambda: pd.read_csv(path), "CSV", fix)


def _guarded(path: Path, read: Callable[[], pd.DataFrame], kind: str, fix: str) -> pd.DataFrame:
    """Run ``read``, turning the library's exception into one naming the file and the fix."""
    try:
        return read()
    except PermissionError:
        raise _fail(path, "cannot be read: permission denied", "make it readable") from None
    except pd.errors.EmptyDataError:
        raise _fail(
            path, "has no header row", f"give a {kind} file with a header and rows"
        ) from None
    except UnicodeDecodeError as exc:
        raise _fail(
            path,
            f"is not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset "
            f"{exc.start})",
            "save it as UTF-8 CSV, or read it with pandas.read_csv(..., encoding=...) and pass "
            "the DataFrame",
        ) from None
    except pd.errors.ParserError as exc:
        raise _fail(path, f"is not well-formed {kind} ({_first_line(exc)})", fix) from None
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        # pyarrow's ArrowInvalid/ArrowIOError are ValueError/OSError; gzip, bz2, lzma and zip
        # raise OSError, EOFError or zlib.error on a truncated or corrupt archive
        raise _fail(path, f"cannot be read as {kind} ({_first_line(exc)})", fix) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
