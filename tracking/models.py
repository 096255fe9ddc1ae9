"""Model artifacts: ``model.joblib`` + ``MLmodel.json`` + ``requirements.txt`` +
``input_example.json``, and the ``Predictor`` that loads them back safely.

The sha256 of ``model.joblib`` is verified before unpickling; libraries the model was pickled
with are recorded so a version mismatch at load time gives a warning.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib import metadata as importlib_metadata
from typing import Any

from tracking.artifacts import LocalArtifactRepository, uri_to_path
from tracking.entities import ModelInfo
from tracking.exceptions import InvalidInputError, ResourceNotFoundError, TrackingError
from tracking.validation import check_artifact_path

MODEL_FILE = "model.joblib"
METADATA_FILE = "MLmodel.json"
REQUIREMENTS_FILE = "requirements.txt"
EXAMPLE_FILE = "input_example.json"
FORMAT_VERSION = 1
# joblib's zlib at level 3: a RandomForest pickle shrinks ~5x for ~1 s more to write and
# ~0.3 s more to load (benchmarks/model_compression.py); lzma is smaller still but ~2.5x
# slower to load. Uncompressed files (models logged before) load unchanged.
COMPRESS = ("zlib", 3)
_ALWAYS = ("scikit-learn", "numpy", "pandas", "joblib")
# Import names whose distribution is named differently.
_KNOWN_DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "PyYAML", "PIL": "pillow"}


class ModelVersionMismatchWarning(UserWarning):
    """A library differs from the version the model was saved with."""


class ModelIntegrityError(TrackingError):
    """A model file differs from the one logged (sha256), or ``MLmodel.json`` points outside
    the model's folder; the message names the run and what changed."""


class _ModuleCollector(pickle.Pickler):
    """Dry-run pickler that records the top-level module of every pickled object's class."""

    def __init__(self) -> None:
        super().__init__(_Sink(), protocol=pickle.HIGHEST_PROTOCOL)
        self.modules: set[str] = set()

    def persistent_id(self, obj: Any) -> None:
        module = getattr(type(obj), "__module__", None)
        if module:
            self.modules.add(module.split(".")[0])
        if isinstance(obj, type) and getattr(obj, "__module__", None):
            self.modules.add(obj.__module__.split(".")[0])
        return None


class _Sink(io.BytesIO):
    def write(self, data: Any) -> int:  # discard: only the traversal matters
        return len(data)


def _library_versions(model: Any) -> dict[str, str]:
    modules: set[str] = set()
    try:
        collector = _ModuleCollector()
        collector.dump(model)
        modules = collector.modules
    except Exception:  # unpicklable objects fail later in joblib.dump with a clear error
        pass
    distributions = set(_ALWAYS)
    for module in modules - set(sys.stdlib_module_names):
        name = _KNOWN_DISTRIBUTIONS.get(module, module)
        try:
            importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            # Scanning every installed distribution for the owner costs seconds per process;
            # a module whose distribution is named differently is recorded by module name.
            continue
        distributions.add(name)
    versions = {}
    for name in sorted(distributions):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _infer_task(model: Any) -> str | None:
    try:
        from sklearn.base import is_classifier, is_regressor
    except ImportError:  # pragma: no cover - sklearn is a dependency
        return None
    if is_classifier(model):
        return "classification"
    if is_regressor(model):
        return "regression"
    return None


def _flavor(model: Any) -> str:
    module = type(model).__module__.split(".")[0]
    return {"sklearn": "sklearn", "lightgbm": "lightgbm", "statsmodels": "statsmodels"}.get(
        module, "python"
    )


def _input_schema(model: Any, input_example: Any) -> list[dict[str, str]] | None:
    if input_example is not None:
        import pandas as pd

        frame = input_example if isinstance(input_example, pd.DataFrame) else None
        if frame is None:
            raise InvalidInputError(
                f"input_example must be a pandas DataFrame, got {type(input_example).__name__}"
            )
        return [{"name": str(col), "dtype": str(dtype)} for col, dtype in frame.dtypes.items()]
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [{"name": str(name), "dtype": "unknown"} for name in names]
    return None


def file_sha256(path: str) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(
    repo: LocalArtifactRepository,
    run_id: str,
    model: Any,
    artifact_path: str = "model",
    input_example: Any = None,
    *,
    task: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> ModelInfo:
    """Write the model folder into the run's artifacts (atomically: staged, then moved)."""
    import joblib

    relative = check_artifact_path(artifact_path)
    if not relative:
        raise InvalidInputError("artifact_path must name a folder, e.g. 'model'")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidInputError(f"metadata must be a dict, got {type(metadata).__name__}")
    target = repo.path(relative)
    if os.path.exists(target):
        raise InvalidInputError(
            f"artifact_path {artifact_path!r} already holds a model in run {run_id}; "
            "pick another artifact_path"
        )
    schema = _input_schema(model, input_example)
    task = task or _infer_task(model)
    classes = getattr(model, "classes_", None)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    staging = tempfile.mkdtemp(dir=os.path.dirname(target), prefix=".tmp-model-")
    try:
        model_file = os.path.join(staging, MODEL_FILE)
        joblib.dump(model, model_file, compress=COMPRESS)
        digest = file_sha256(model_file)
        versions = _library_versions(model)
        created = int(time.time() * 1000)
        info = {
            "format_version": FORMAT_VERSION,
            "flavor": _flavor(model),
            "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
            "task": task,
            "run_id": run_id,
            "artifact_path": relative,
            "created": created,
            "python_version": platform.python_version(),
            "library_versions": versions,
            "input_schema": schema,
            "classes": None if classes is None else _jsonable(list(classes)),
            "model_file": MODEL_FILE,
            "sha256": digest,
            "metadata": metadata or {},
        }
        with open(os.path.join(staging, METADATA_FILE), "w", encoding="utf-8") as handle:
            json.dump(info, handle, indent=2, default=str)
        with open(os.path.join(staging, REQUIREMENTS_FILE), "w", encoding="utf-8") as handle:
            handle.writelines(f"{name}=={version}\n" for name, version in versions.items())
        if input_example is not None:
            example = input_example.head(5)
            payload = {
                "columns": [str(c) for c in example.columns],
                "dtypes": {str(c): str(d) for c, d in example.dtypes.items()},
                "data": json.loads(example.to_json(orient="values", date_format="iso")),
            }
            with open(os.path.join(staging, EXAMPLE_FILE), "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=2)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ModelInfo(
        run_id=run_id,
        artifact_path=relative,
        model_uri=f"runs:/{run_id}/{relative}",
        flavor=info["flavor"],
        task=task,
        sha256=digest,
        input_schema=schema,
        classes=info["classes"],
        metadata=info,
        created=created,
    )


# Functions a higher layer registers to complete a model's input before the schema check
# (automl.features looks up by key the features of a model trained on a training set). Each
# gets the Predictor and the frame and returns the completed frame, or None when it does not
# apply; tracking itself knows nothing of what they add.
InputResolver = Callable[["Predictor", Any], Any]
_input_resolvers: list[InputResolver] = []


def register_input_resolver(resolver: InputResolver) -> None:
    """Let ``resolver(predictor, df)`` fill in input columns a frame lacks (once per function)."""
    if resolver not in _input_resolvers:
        _input_resolvers.append(resolver)


class Predictor:
    """A loaded model: ``predict(df)`` / ``predict_proba(df)`` on raw input columns.

    Columns are checked against the saved input schema (missing ones raise naming them, extra
    ones are dropped, order is restored); when columns are missing, registered input resolvers
    may complete the frame first. Forecast models get their argument unchanged.
    """

    def __init__(self, model: Any, metadata: dict[str, Any]) -> None:
        self._model = model
        self.metadata = metadata
        self.tracking_uri: str | None = None  # the store it was loaded from (set by the client)
        schema = metadata.get("input_schema")
        self.input_columns: list[str] | None = (
            None if schema is None else [c["name"] for c in schema]
        )
        self.task: str | None = metadata.get("task")
        classes = metadata.get("classes")
        self.classes_ = None if classes is None else list(classes)

    def __repr__(self) -> str:
        return f"Predictor({self.metadata.get('model_class')}, task={self.task!r})"

    def unwrap(self) -> Any:
        """The raw deserialised object."""
        return self._model

    def _prepare(self, df: Any) -> Any:
        import pandas as pd

        if isinstance(df, dict) or (isinstance(df, list) and df and isinstance(df[0], dict)):
            df = pd.DataFrame(df)
        if not isinstance(df, pd.DataFrame):
            raise InvalidInputError(
                f"predict expects a pandas DataFrame of raw input columns, got {type(df).__name__}"
            )
        if self.input_columns is None:
            return df
        missing = [c for c in self.input_columns if c not in df.columns]
        for resolver in _input_resolvers if missing else ():
            completed = resolver(self, df)
            if completed is not None:
                df = completed
                missing = [c for c in self.input_columns if c not in df.columns]
                break
        if missing:
            raise InvalidInputError(
                f"input is missing column(s) {missing} required by the model; expected columns: "
                f"{self.input_columns}"
            )
        return df[self.input_columns]

    def predict(self, df: Any = None) -> Any:
        """Predictions for ``df`` (forecast models: ``df`` is passed through unchanged)."""
        if self.task == "forecast":
            return self._model.predict() if df is None else self._model.predict(df)
        if df is None:
            raise InvalidInputError("predict needs a DataFrame of input rows (df)")
        return self._model.predict(self._prepare(df))

    @property
    def predict_proba(self) -> Any:
        """Class probabilities (classifiers only; columns follow ``classes_``)."""
        if self.task == "forecast" or not hasattr(self._model, "predict_proba"):
            raise AttributeError(
                f"predict_proba is only available for classifiers; this model's task is "
                f"{self.task!r}"
            )

        def predict_proba(df: Any) -> Any:
            return self._model.predict_proba(self._prepare(df))

        return predict_proba


def _check_versions(info: dict[str, Any], uri: str) -> None:
    mismatches = []
    for name, saved in (info.get("library_versions") or {}).items():
        try:
            installed = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != saved:
            mismatches.append(f"{name} {saved} (saved) vs {installed} (installed)")
    if mismatches:
        warnings.warn(
            f"model {uri} was saved with different library versions: {'; '.join(mismatches)}. "
            f"Predictions may differ; see its {REQUIREMENTS_FILE}.",
            ModelVersionMismatchWarning,
            stacklevel=3,
        )


def read_model_metadata(path: str) -> dict[str, Any]:
    """Parsed ``MLmodel.json`` of a model folder."""
    meta_file = os.path.join(path, METADATA_FILE)
    if not os.path.isfile(meta_file):
        raise ResourceNotFoundError(f"{path!r} is not a model folder (no {METADATA_FILE})")
    with open(meta_file, encoding="utf-8") as handle:
        return json.load(handle)


def _confined_model_file(path: str, name: Any, where: str) -> str:
    """The model file's real path, refused unless it lies inside the model's own folder."""
    if not isinstance(name, str) or not name:
        raise ModelIntegrityError(f"{where}: {METADATA_FILE} has no valid model_file ({name!r})")
    folder = os.path.realpath(path)
    target = os.path.realpath(os.path.join(folder, name))
    if os.path.dirname(target) != folder and not target.startswith(folder + os.sep):
        raise ModelIntegrityError(
            f"{where}: {METADATA_FILE} points model_file at {name!r}, which resolves to "
            f"{target}, outside the model folder {folder}; it is not loaded"
        )
    return target


def load_model_from_path(
    path: str, uri: str | None = None, *, expected: tuple[str, str] | None = None, where: str = ""
) -> Predictor:
    """Verify the checksum, warn on version mismatch, unpickle, wrap in a ``Predictor``.

    ``expected`` is the (model_file, sha256) the store recorded at log time; when given, it is
    the reference (``MLmodel.json`` can be rewritten by whoever writes the folder).
    """
    import joblib

    uri = uri or path
    where = where or f"model {uri}"
    info = read_model_metadata(path)
    name = info.get("model_file", MODEL_FILE)
    if expected is not None and name != expected[0]:
        raise ModelIntegrityError(
            f"{where}: {METADATA_FILE} names model_file {name!r}, but the store recorded "
            f"{expected[0]!r} when the model was logged; it is not loaded"
        )
    model_file = _confined_model_file(path, name, where)
    if not os.path.isfile(model_file):
        raise ResourceNotFoundError(f"model {uri} has no {MODEL_FILE}")
    digest = file_sha256(model_file)
    reference = expected[1] if expected is not None else info.get("sha256")
    source = (
        "the store recorded at log time" if expected is not None else f"{METADATA_FILE} records"
    )
    if digest != reference:
        raise ModelIntegrityError(
            f"{where}: sha256 of {os.path.basename(model_file)} is {digest}, but "
            f"{source} {reference}; the file was modified or corrupted, so it is not loaded"
        )
    _check_versions(info, uri)
    return Predictor(joblib.load(model_file), info)


def load_model_uri(
    engine: Any,
    artifacts: Callable[[str], LocalArtifactRepository],
    model_uri: str,
    tracking_uri: str | None = None,
) -> Predictor:
    """Load a ``Predictor`` from a local path, ``runs:/`` or any registered scheme's URI.

    ``artifacts(run_id)`` gives the run's artifact repository; a run's model is checked against
    the digest the store in ``engine`` recorded when it was logged. ``tracking_uri`` (the
    store's) is kept on the Predictor for input resolvers that read the run.
    """
    predictor = _load_model_uri(engine, artifacts, model_uri)
    predictor.tracking_uri = tracking_uri
    return predictor


def _load_model_uri(
    engine: Any, artifacts: Callable[[str], LocalArtifactRepository], model_uri: str
) -> Predictor:
    from tracking.model_digests import recorded_digest
    from tracking.resolvers import parse_runs_uri, to_runs_uri, uri_scheme

    if uri_scheme(model_uri) in (None, "file"):
        return load_model_from_path(uri_to_path(model_uri), model_uri)
    run_id, artifact_path = parse_runs_uri(to_runs_uri(model_uri))
    path = artifacts(run_id).download_artifacts(artifact_path)
    expected = recorded_digest(engine, run_id, artifact_path)
    where = f"run {run_id}, model {artifact_path!r} ({model_uri})"
    return load_model_from_path(path, model_uri, expected=expected, where=where)
