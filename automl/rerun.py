"""``automl rerun RUN_ID [--param name=value ...] [--data PATH]``: re-execute a trial's notebook.

The trial's logged notebook is executed top to bottom in a fresh Jupyter kernel with a cell
injected after its parameters cell (tagged ``injected-parameters``, papermill's convention) and
one after its model cell that sets the new hyperparameters with ``model.set_params``. The
notebook's own ``LOG_RERUN`` branch logs the new run, tagged ``automl.rerun_of``; the executed
notebook is attached to it. Names and values are checked against the trial's fitted estimator
before any kernel starts.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import tracking

RERUN_TAG = "automl.rerun_of"
RERUN_PARAMS_TAG = "automl.rerun_params"
RERUN_DATA_TAG = "automl.rerun_data"
INJECTED_TAG = "injected-parameters"
PARAMETERS_MARKER = "# Parameters you may change"
MODEL_CELL_MARKER = "model = "
NOTEBOOK_DIR = "notebooks"
EXECUTE_TIMEOUT_S = 1800
SPLIT_COLUMN = "_automl_split"
KERNEL_NAME = "automl-rerun-python"
MODEL_PARAM_PREFIX = "model."  # how trials log their searched hyperparameters


class RerunError(ValueError):
    """The rerun request is invalid (unknown run, parameter or data); nothing was executed."""


@dataclass
class RerunResult:
    """The new run and where its executed notebook is."""

    source_run_id: str
    run_id: str
    params: dict[str, Any] = field(default_factory=dict)
    notebook_path: str = ""


def _parse_value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word such as l2 or gbdt


def _check_params(estimator: Any, trial_params: dict[str, str], raw: list[str]) -> dict[str, Any]:
    """``name=value`` strings as typed hyperparameters the trial's estimator accepts."""
    from sklearn.base import clone

    current = estimator.get_params(deep=False)
    valid = sorted(k for k in trial_params if k in current)
    listing = ", ".join(f"{k}={current[k]!r}" for k in valid)
    params: dict[str, Any] = {}
    for item in raw:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise RerunError(f"--param {item!r}: write name=value; valid parameters: {listing}")
        if name not in valid:
            raise RerunError(f"--param {name}: not a parameter of this trial; valid: {listing}")
        value, old = _parse_value(text), current[name]
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = (
            old is None
            or value is None
            or (isinstance(old, bool) and isinstance(value, bool))
            or (isinstance(old, int) and not isinstance(old, bool) and type(value) is int)
            or (isinstance(old, float) and numeric)
            or (isinstance(old, str) and isinstance(value, str))
        )
        if not ok:
            raise RerunError(
                f"--param {name}={text}: expected a {type(old).__name__} like {old!r}; "
                f"valid parameters: {listing}"
            )
        params[name] = float(value) if isinstance(old, float) else value
    candidate = clone(estimator).set_params(**params)
    if hasattr(candidate, "_validate_params"):
        try:
            candidate._validate_params()
        except (ValueError, TypeError) as exc:
            raise RerunError(f"--param: {exc}; valid parameters: {listing}") from exc
    return params


def _cell_index(cells: list[Any], marker: str, what: str) -> int:
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and (
            "parameters" in cell.metadata.get("tags", [])
            if what == "parameters"
            else any(line.startswith(marker) for line in cell.source.splitlines())
        ):
            return i
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and marker in cell.source:
            return i
    raise RerunError(f"the trial's notebook has no {what} cell; it cannot be re-run")


def _kernel_manager(tmp: str) -> Any:
    """A fresh ipykernel of this very interpreter, whatever kernel specs the machine has."""
    import sys

    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = os.path.join(tmp, "kernels", KERNEL_NAME)
    os.makedirs(spec_dir)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    with open(os.path.join(spec_dir, "kernel.json"), "w") as fh:
        json.dump({"argv": argv, "display_name": "automl rerun", "language": "python"}, fh)
    specs = KernelSpecManager(kernel_dirs=[os.path.dirname(spec_dir)])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def _check_data(data: str, snapshot: str) -> None:
    import pandas as pd

    new = pd.read_parquet(data) if data.endswith(".parquet") else pd.read_csv(data)
    expected = list(pd.read_parquet(snapshot).columns)
    missing = [c for c in expected if c not in new.columns]
    if missing:
        raise RerunError(
            f"--data {data}: missing column(s) {missing}; the trial's data has {expected} "
            f"({SPLIT_COLUMN} says which rows are train/val/test)"
        )


def rerun(run_id: str, params: list[str] | None = None, data: str | None = None) -> RerunResult:
    """Re-execute trial ``run_id``'s notebook with ``name=value`` hyperparameters and optional
    new data (same columns as the trial's snapshot); returns the logged run."""
    import nbformat
    from nbclient import NotebookClient

    client = tracking.TrackingClient()
    try:
        source = client.get_run(run_id)
    except tracking.ResourceNotFoundError as exc:
        raise RerunError(f"RUN_ID {run_id!r}: no such run in {client.tracking_uri}") from exc
    notebooks = [
        f.path for f in client.list_artifacts(run_id, NOTEBOOK_DIR) if f.path.endswith(".ipynb")
    ]
    if not notebooks:
        raise RerunError(f"run {run_id} has no notebook (only trials have one)")
    estimator = tracking.load_model(f"runs:/{run_id}/model").unwrap()[-1]
    trial_params = {
        k.removeprefix(MODEL_PARAM_PREFIX): v
        for k, v in source.data.params.items()
        if k.startswith(MODEL_PARAM_PREFIX)
    }
    overrides = _check_params(estimator, trial_params, list(params or []))

    nb = nbformat.read(client.download_artifacts(run_id, notebooks[0]), as_version=4)
    at = _cell_index(nb.cells, PARAMETERS_MARKER, "parameters")
    namespace: dict[str, Any] = {}
    exec(  # the parameters cell's assignments are literals (DATA_PATH, TRACKING_URI, ...)
        "\n".join(
            line for line in nb.cells[at].source.splitlines() if line[:1].isupper() and "=" in line
        ),
        {},
        namespace,
    )
    if data is not None:
        _check_data(data, namespace["DATA_PATH"])
    injected = {"LOG_RERUN": True, "REGISTER_MODEL": False, "TRACKING_URI": client.tracking_uri}
    if data is not None:
        injected["DATA_PATH"] = os.path.abspath(data)
    cell = nbformat.v4.new_code_cell(
        "\n".join(f"{k} = {v!r}" for k, v in injected.items()),
        metadata={"tags": [INJECTED_TAG]},
    )
    nb.cells.insert(at + 1, cell)
    if overrides:
        model_at = _cell_index(nb.cells, MODEL_CELL_MARKER, "model")
        nb.cells.insert(
            model_at + 1,
            nbformat.v4.new_code_cell(
                f"model.set_params(**{overrides!r})", metadata={"tags": [INJECTED_TAG]}
            ),
        )

    query = f"tags.`{RERUN_TAG}` = '{run_id}'"
    before = {r.info.run_id for r in client.search_runs([source.info.experiment_id], query)}
    with tempfile.TemporaryDirectory() as tmp:
        NotebookClient(
            nb,
            timeout=EXECUTE_TIMEOUT_S,
            km=_kernel_manager(tmp),
            resources={"metadata": {"path": tmp}},
        ).execute()
        new = [
            r.info.run_id
            for r in client.search_runs([source.info.experiment_id], query)
            if r.info.run_id not in before
        ]
        if len(new) != 1:
            raise RuntimeError(f"the re-executed notebook logged {len(new)} runs, expected 1")
        path = os.path.join(tmp, os.path.basename(notebooks[0]))
        nbformat.write(nb, path)
        client.log_artifact(new[0], path, NOTEBOOK_DIR)
    client.set_tag(new[0], RERUN_PARAMS_TAG, json.dumps(overrides, default=str))
    if data is not None:
        client.set_tag(new[0], RERUN_DATA_TAG, os.path.abspath(data))
    return RerunResult(run_id, new[0], overrides, f"{NOTEBOOK_DIR}/{os.path.basename(path)}")


def _run(args: argparse.Namespace) -> int:
    result = rerun(args.run_id, args.param, args.data)
    print(f"logged run {result.run_id} (re-run of {result.source_run_id}, params {result.params})")
    return 0


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rerun", help="re-execute a trial's notebook with new hyperparameters or data"
    )
    parser.add_argument("run_id", help="the trial's run id")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--data", help="a data file with the same columns as the trial's")
    parser.set_defaults(handler=_run)
