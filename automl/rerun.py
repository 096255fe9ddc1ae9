"""``automl rerun RUN_ID [--param NAME=VALUE ...] [--data PATH]``: re-execute a trial's notebook.

The trial's logged notebook runs top to bottom in a fresh Jupyter kernel with one cell injected
after its parameters cell (the code cell tagged ``parameters``; the new one is tagged
``injected-parameters``, papermill's convention): the new values, ``LOG_RERUN = True``, the
current store and optionally new data. The names are the parameters cell's own (the trial's
hyperparameters and ``SEED``), so ``--param`` (alias ``--set``), ``papermill -p`` and an edit of
that cell mean the same. The notebook's ``LOG_RERUN`` branch logs the new run, tagged ``automl.rerun_of``; the
executed notebook is attached to it. Names, values and the data's columns are checked before
any kernel starts.

New data needs the columns the trial uses (features, target, sample weights). With an
``_automl_split`` column its rows are used as that column says; without one the notebook splits
them as the search split its input (rows with a missing target dropped, then the plan's split
rule from the seed: random 60/20/20 stratified by class, by time, or by the split column).
Other columns are ignored.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import tracking
from automl.cli_support import add_command
from automl.core import tags

RERUN_TAG = tags.RERUN_OF
RERUN_PARAMS_TAG = tags.RERUN_PARAMS
RERUN_DATA_TAG = tags.RERUN_DATA
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
NOTEBOOK_DIR = "notebooks"
DATA_ARTIFACT = "data/rerun_data.parquet"  # a DataFrame given as data, logged with the new run
EXECUTE_TIMEOUT_S = 1800
SPLIT_COLUMN = "_automl_split"
SPLIT_VALUES = ("train", "val", "test")
KERNEL_NAME = "automl-rerun-python"
SEED = "SEED"
MAX_SEED = 2**32 - 1  # numpy's seed range
DRY_FIT_ROWS = 24  # the rows a model without declared constraints is test-trained on
DRY_FIT_ROUNDS = 5
#: Parameters-cell settings the rerun itself sets (data goes through --data).
OWN_SETTINGS = (
    "DATA_PATH",
    "TRACKING_URI",
    "LOG_RERUN",
    "REGISTER_MODEL",
    "RUN_ID",
    "EXPERIMENT_ID",
)


class RerunError(ValueError):
    """The rerun request is invalid (unknown run, parameter or data); nothing was executed."""


@dataclass
class RerunResult:
    """The new run and where its executed notebook is."""

    source_run_id: str
    run_id: str
    params: dict[str, Any] = field(default_factory=dict)
    notebook_path: str = ""


@dataclass(frozen=True)
class _Parameters:
    """A trial notebook's parameters cell: its position, values and hyperparameter paths."""

    index: int
    values: dict[str, Any]
    paths: dict[str, str]  # hyperparameter name -> the estimator's (deep) parameter

    @property
    def settable(self) -> list[str]:
        return [*self.paths, SEED]

    def listing(self) -> str:
        return ", ".join(f"{k}={self.values.get(k)!r}" for k in self.settable)


def _parse_value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word such as l2 or gbdt


def _read_parameters(nb: Any) -> _Parameters:
    """The tagged parameters cell's literal assignments and the notebook's hyperparameter map."""
    tagged = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.metadata.get("tags", [])
    ]
    if not tagged:
        raise RerunError(
            "the trial's notebook has no cell tagged 'parameters' (it was written by an older "
            "version); run the search again to get a notebook that can be re-run"
        )
    index = tagged[0]
    values: dict[str, Any] = {}
    for node in ast.parse(nb.cells[index].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    if "LOG_RERUN" not in values:
        raise RerunError(
            "the trial's notebook cannot log a re-run (its parameters cell has no LOG_RERUN); "
            "automl rerun re-runs table (classify/regress) trials"
        )
    paths = dict(nb.metadata.get("automl", {}).get("hyperparameters", {}))
    return _Parameters(index, values, {k: v for k, v in paths.items() if k in values})


def _same_kind(old: Any, value: Any) -> bool:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return (
        old is None
        or value is None
        or (isinstance(old, bool) and isinstance(value, bool))
        or (isinstance(old, int) and not isinstance(old, bool) and type(value) is int)
        or (isinstance(old, float) and numeric)
        or (isinstance(old, str) and isinstance(value, str))
    )


def _requested(params: Sequence[str] | Mapping[str, Any] | None, listing: str) -> dict[str, Any]:
    if isinstance(params, Mapping):
        return {str(k): v for k, v in params.items()}
    requested: dict[str, Any] = {}
    for item in params or []:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise RerunError(f"--param {item!r}: write NAME=VALUE; valid parameters: {listing}")
        requested[name] = _parse_value(text)
    return requested


def _check_params(
    estimator: Any, cell: _Parameters, params: Sequence[str] | Mapping[str, Any] | None
) -> dict[str, Any]:
    """``NAME=VALUE`` items (or a mapping) as typed values of the parameters cell's names."""
    from sklearn.base import clone

    listing = cell.listing()
    overrides: dict[str, Any] = {}
    for name, value in _requested(params, listing).items():
        if name == "DATA_PATH":
            raise RerunError("--param DATA_PATH: give new data with --data PATH instead")
        if name in OWN_SETTINGS:
            raise RerunError(f"--param {name}: automl rerun sets it; valid parameters: {listing}")
        if name not in cell.settable:
            raise RerunError(f"--param {name}: not a parameter of this trial; valid: {listing}")
        old = cell.values[name]
        if not _same_kind(old, value):
            raise RerunError(
                f"--param {name}={value!r}: expected a {type(old).__name__} like {old!r}; "
                f"valid parameters: {listing}"
            )
        if name == SEED and not 0 <= value <= MAX_SEED:
            raise RerunError(f"--param SEED={value}: must be an int in [0, {MAX_SEED}]")
        overrides[name] = float(value) if isinstance(old, float) else value
    candidate = clone(estimator).set_params(
        **{cell.paths[k]: v for k, v in overrides.items() if k in cell.paths}
    )
    nested = [v for v in candidate.get_params(deep=True).values() if hasattr(v, "get_params")]
    for part in [candidate, *nested]:
        if hasattr(part, "_parameter_constraints"):  # scikit-learn's declared constraints
            try:
                part._validate_params()
            except (ValueError, TypeError) as exc:
                raise RerunError(f"--param: {exc}; valid parameters: {listing}") from exc
    if set(overrides) & set(cell.paths) and not hasattr(candidate, "_parameter_constraints"):
        _dry_fit(candidate, listing)
    return overrides


def _dry_fit(candidate: Any, listing: str) -> None:
    """Train a copy on a few random rows: estimators without scikit-learn's declared constraints
    (LightGBM) check their parameters only when they train, so bad values fail here."""
    import warnings

    import numpy as np
    from sklearn.base import clone, is_classifier

    model = clone(candidate)
    rounds = model.get_params().get("n_estimators")
    if type(rounds) is int and rounds > DRY_FIT_ROUNDS:
        model.set_params(n_estimators=DRY_FIT_ROUNDS)  # more rounds are not less valid
    rng = np.random.default_rng(0)
    X = rng.normal(size=(DRY_FIT_ROWS, 3))
    y = np.arange(DRY_FIT_ROWS) % 2 if is_classifier(model) else rng.normal(size=DRY_FIT_ROWS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
    except Exception as exc:  # noqa: BLE001 - whatever the library raises, the values are bad
        raise RerunError(
            f"--param: {type(candidate).__name__} refuses these values ({' '.join(str(exc).split())}); "
            f"valid parameters: {listing}"
        ) from exc


def _plan(client: tracking.TrackingClient, source: Any) -> Any:
    from automl.tabular import DataPlan

    parent = source.info.parent_run_id
    if not parent:
        raise RerunError(f"run {source.info.run_id} is not a trial of a search (no parent run)")
    with open(client.download_artifacts(parent, "automl/plan.json")) as fh:
        return DataPlan.from_dict(json.load(fh))


def _check_data(data: str | os.PathLike[str] | pd.DataFrame, plan: Any) -> pd.DataFrame:
    """The new data, refused unless it has every column the trial uses and a valid split."""
    from automl.tabular import load_dataset

    try:
        frame = load_dataset(data)
    except ValueError as exc:
        raise RerunError(f"--data: {exc}") from exc
    what = "the DataFrame" if isinstance(data, pd.DataFrame) else repr(str(data))
    needed = [*plan.feature_names, plan.target_col]
    needed += [plan.sample_weight_col] if plan.sample_weight_col is not None else []
    if SPLIT_COLUMN not in frame.columns:
        needed += [c for c in (plan.split_col, plan.time_col) if c is not None and c not in needed]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise RerunError(
            f"--data {what}: missing column(s) {missing}; the trial uses {needed} (other columns "
            f"are ignored; without {SPLIT_COLUMN} the rows are split as the search did)"
        )
    if SPLIT_COLUMN in frame.columns:
        bad = sorted(set(frame[SPLIT_COLUMN].dropna().astype(str)) - set(SPLIT_VALUES))
        if bad or frame[SPLIT_COLUMN].isna().any():
            raise RerunError(
                f"--data {what}: column {SPLIT_COLUMN} must hold only {list(SPLIT_VALUES)}, "
                f"found {bad or 'missing values'}; drop the column to split as the search did"
            )
    return frame


def _kernel_manager(tmp: str) -> Any:
    """A fresh ipykernel of this very interpreter, whatever kernel specs the machine has."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = os.path.join(tmp, "kernels", KERNEL_NAME)
    os.makedirs(spec_dir)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    with open(os.path.join(spec_dir, "kernel.json"), "w") as fh:
        json.dump({"argv": argv, "display_name": "automl rerun", "language": "python"}, fh)
    specs = KernelSpecManager(kernel_dirs=[os.path.dirname(spec_dir)])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def rerun(
    run_id: str,
    params: Sequence[str] | Mapping[str, Any] | None = None,
    data: str | os.PathLike[str] | pd.DataFrame | None = None,
) -> RerunResult:
    """Re-execute trial ``run_id``'s notebook with new parameters-cell values and optional data.

    ``params`` are ``"NAME=VALUE"`` strings (or a ``{name: value}`` mapping) naming the
    notebook's hyperparameters or ``SEED``; ``data`` is a CSV/Parquet path or a DataFrame with
    the columns the trial uses. Returns the run the notebook logged.
    """
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
    nb = nbformat.read(client.download_artifacts(run_id, notebooks[0]), as_version=4)
    cell = _read_parameters(nb)
    model = tracking.load_model(f"runs:/{run_id}/model").unwrap()
    pipeline = model.members[0] if hasattr(model, "members") else model  # CV: a fold average
    estimator = pipeline[-1]
    overrides = _check_params(estimator, cell, params)
    frame = _check_data(data, _plan(client, source)) if data is not None else None

    query = f"tags.`{RERUN_TAG}` = '{run_id}'"
    before = {r.info.run_id for r in client.search_runs([source.info.experiment_id], query)}
    with tempfile.TemporaryDirectory() as tmp:
        injected: dict[str, Any] = {
            "LOG_RERUN": True,
            "REGISTER_MODEL": False,
            "TRACKING_URI": client.tracking_uri,
        }
        data_path = None
        if isinstance(data, pd.DataFrame) and frame is not None:
            data_path = os.path.join(tmp, os.path.basename(DATA_ARTIFACT))
            frame.to_parquet(data_path, index=False)  # logged with the new run below
        elif data is not None:
            data_path = os.path.abspath(str(data))
        if data_path is not None:
            injected["DATA_PATH"] = data_path
        source_lines = ["# Parameters injected by automl rerun"]
        source_lines += [f"{k} = {v!r}" for k, v in {**injected, **overrides}.items()]
        nb.cells.insert(
            cell.index + 1,
            nbformat.v4.new_code_cell("\n".join(source_lines), metadata={"tags": [INJECTED_TAG]}),
        )
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
        if isinstance(data, pd.DataFrame) and data_path is not None:
            client.log_artifact(new[0], data_path, os.path.dirname(DATA_ARTIFACT))
            data_path = f"runs:/{new[0]}/{DATA_ARTIFACT}"
    client.set_tag(new[0], RERUN_PARAMS_TAG, json.dumps(overrides, default=str))
    if data_path is not None:
        client.set_tag(new[0], RERUN_DATA_TAG, data_path)
    return RerunResult(run_id, new[0], overrides, f"{NOTEBOOK_DIR}/{os.path.basename(path)}")


def _run(args: argparse.Namespace) -> int:
    """Re-execute a trial's notebook with new parameters or data."""
    result = rerun(args.run_id, args.set, args.data)
    print(f"logged run {result.run_id} (re-run of {result.source_run_id}, params {result.params})")
    return 0


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rerun`` to the ``automl`` command."""
    parser = add_command(subparsers, "rerun", _run)
    parser.add_argument("run_id", help="the trial's run id")
    parser.add_argument(
        "--param",
        "--set",
        dest="set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter of the notebook's parameters cell (a hyperparameter or SEED)",
    )
    parser.add_argument(
        "--data",
        help="a CSV/Parquet file with the trial's columns; without _automl_split its rows are "
        "split as the search did",
    )
