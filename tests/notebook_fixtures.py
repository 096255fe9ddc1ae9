"""Helpers for the notebook tests: execute a notebook in a real Jupyter kernel and read results."""

from __future__ import annotations

import json
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell


def execute(nb: nbformat.NotebookNode, cwd: Path, *, timeout: int = 300) -> nbformat.NotebookNode:
    """Run a copy of ``nb`` top to bottom in a fresh ipykernel (nbclient); raise on any error."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    client = NotebookClient(
        nb, timeout=timeout, km=kernel_manager(), resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return nb


def kernel_manager() -> KernelManager:
    """A manager for an ipykernel of this very interpreter, whatever kernel specs are installed."""
    specs = KernelSpecManager(kernel_dirs=[str(_kernel_specs())])
    return KernelManager(kernel_name="automl-test-python", kernel_spec_manager=specs)


@cache
def _kernel_specs() -> Path:
    kernels = Path(tempfile.mkdtemp(prefix="automl-kernels-"))
    spec_dir = kernels / "automl-test-python"
    spec_dir.mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "automl tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return kernels


def chain(*notebooks: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """One notebook running ``notebooks`` in turn, the namespace cleared (``%reset -f``) between.

    Saves a kernel start and the heavy imports per notebook; nothing one notebook defines is
    visible to the next.
    """
    combined = nbformat.from_dict(json.loads(json.dumps(notebooks[0])))
    for nb in notebooks[1:]:
        combined.cells.append(new_code_cell("%reset -f"))
        combined.cells.extend(nbformat.from_dict(json.loads(json.dumps(nb))).cells)
    for i, cell in enumerate(combined.cells):
        cell["id"] = f"cell-{i}"
    return combined


def chained_parts(nb: nbformat.NotebookNode) -> list[list[nbformat.NotebookNode]]:
    """The executed cells of each notebook of a :func:`chain`, in order."""
    parts: list[list[nbformat.NotebookNode]] = [[]]
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source == "%reset -f":
            parts.append([])
        else:
            parts[-1].append(cell)
    return parts


def images(cells: list[nbformat.NotebookNode]) -> int:
    """How many PNG images (matplotlib figures) the cells displayed."""
    return sum(
        "image/png" in output.get("data", {})
        for cell in cells
        for output in cell.get("outputs", [])
    )


def with_probe(nb: nbformat.NotebookNode, label: str) -> nbformat.NotebookNode:
    """A copy of a trial notebook that ends by printing ``METRICS <label> <json>``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells.append(
        new_code_cell(f"import json as _j\nprint('METRICS {label} ' + _j.dumps(metrics))")
    )
    return nb


def labelled_metrics(nb: nbformat.NotebookNode) -> dict[str, dict[str, float]]:
    """``{label: metrics}`` from the lines :func:`with_probe` cells printed."""
    found = {}
    for line in stdout(nb).splitlines():
        if line.startswith("METRICS "):
            label, payload = line[len("METRICS ") :].split(" ", 1)
            found[label] = json.loads(payload)
    return found


def stdout(nb: nbformat.NotebookNode) -> str:
    """Everything the executed notebook printed to stdout."""
    return "".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )


def set_parameter(nb: nbformat.NotebookNode, name: str, value: Any) -> None:
    """Edit a parameter line (``NAME = ...``) as a user would before running."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if line.startswith(f"{name} = "):
                lines[i] = f"{name} = {value!r}"
                cell.source = "\n".join(lines)
                return
    raise AssertionError(f"no parameter {name} in the notebook")


HOSTILE = [
    "it's",
    'say "hi"',
    "new\nline",
    "back\\slash",
    "ünïcödé 列",
    "with space",
    "class",
    "{{ x }}",
    "{% if %}",
    "'); import os; ('",
    "# %%",
]


def frame(n: int, task: str, seed: int = 0, names: list[str] | None = None) -> pd.DataFrame:
    """Numeric, categorical, boolean, datetime and text columns plus a learnable target."""
    rng = np.random.default_rng(seed)
    names = names or ["num", "num2", "cat", "flag", "when", "note", "weight", "target"]
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    cat = rng.choice(["red", "green", "blue"], n)
    df = pd.DataFrame(
        {
            names[0]: np.where(rng.random(n) < 0.05, np.nan, x1),
            names[1]: x2,
            names[2]: cat,
            names[3]: rng.choice(["yes", "no"], n),
            names[4]: (pd.Timestamp("2021-01-01") + pd.to_timedelta(np.arange(n), "D")).astype(str),
            names[5]: [
                " ".join(rng.choice(["good", "bad", "fine", "ok", "meh"], 6)) for _ in range(n)
            ],
            names[6]: rng.uniform(0.5, 2.0, n),
        }
    )
    signal = x1 + 0.5 * x2 + (cat == "red") + 0.3 * rng.normal(size=n)
    if task == "classification":
        df[names[7]] = np.select([signal < -0.3, signal < 0.8], ["low", "mid"], "high")
    else:
        df[names[7]] = 3.0 * signal + 10.0
    return df


def assert_reproduced(expected: dict[str, float], got: dict[str, float], label: str) -> None:
    """Same metric names, every value within 1e-9 (NaN matches NaN)."""
    assert set(got) == set(expected), label
    for key, value in expected.items():
        if np.isnan(value):
            assert np.isnan(got[key]), f"{label}: {key}"
        else:
            assert abs(got[key] - value) <= 1e-9, f"{label}: {key} {got[key]!r} != {value!r}"
