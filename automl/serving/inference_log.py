"""``--log-predictions``: request features, predictions, route and version, written in batches
into the tracking store as the served model's inference table.

Each server start opens one run in the experiment ``<model name>-inference``; every batch is a
Parquet file under the run's ``inference_table/`` artifacts. ``load_inference_table`` reads them
back as one DataFrame, to be joined with labels that arrive later (on ``request_id``).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

import tracking
from automl.serving import constants as C

log = logging.getLogger("automl.serving")
META_COLUMNS = ("request_id", "row", "route", "model_version", "served_at", "prediction")


@dataclass(frozen=True)
class InferenceRecord:
    """The rows of one answered request."""

    request_id: str
    route: str
    model_version: str
    served_at: float
    frame: pd.DataFrame
    predictions: list[Any]


def inference_experiment_name(model_uri: str) -> str:
    """``models:/churn@production`` -> ``churn-inference``; ``runs:/<id>/m`` -> ``run-<id>-...``."""
    if model_uri.startswith("models:/"):
        name = model_uri[len("models:/") :].split("@")[0].split("/")[0]
    elif model_uri.startswith("runs:/"):
        name = "run-" + model_uri[len("runs:/") :].split("/")[0]
    else:
        name = os.path.basename(os.path.normpath(model_uri)) or "model"
    return name + C.INFERENCE_EXPERIMENT_SUFFIX


class InferenceLogger:
    """Queues records and writes them as Parquet batches from one background thread."""

    def __init__(
        self,
        model_uri: str,
        routes: dict[str, str],
        batch_rows: int = C.DEFAULT_LOG_BATCH_ROWS,
        flush_seconds: float = C.DEFAULT_LOG_FLUSH_SECONDS,
    ) -> None:
        self._client = tracking.TrackingClient()
        name = inference_experiment_name(model_uri)
        experiment = self._client.get_experiment_by_name(name)
        experiment_id = (
            experiment.experiment_id if experiment else self._client.create_experiment(name)
        )
        run = self._client.create_run(
            experiment_id,
            run_name=f"serving-{time.strftime('%Y%m%d-%H%M%S')}-pid{os.getpid()}",
            tags={
                C.TAG_SERVED_MODEL: model_uri,
                C.TAG_ROUTES: ", ".join(f"{k}={v}" for k, v in routes.items()),
            },
        )
        self.run_id = run.info.run_id
        self._batch_rows = batch_rows
        self._flush_seconds = flush_seconds
        self._queue: queue.Queue[InferenceRecord | None] = queue.Queue()
        self._part = 0
        self._thread = threading.Thread(target=self._loop, name="inference-log", daemon=True)
        self._thread.start()

    def add(self, record: InferenceRecord) -> None:
        self._queue.put(record)

    def close(self) -> None:
        """Write what is queued and end the run."""
        self._queue.put(None)
        self._thread.join()
        self._client.set_terminated(self.run_id)

    def _loop(self) -> None:
        pending: list[InferenceRecord] = []
        rows, deadline = 0, time.monotonic() + self._flush_seconds
        while True:
            try:
                record = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                record = ...
            if record is None:
                self._write(pending)
                return
            if record is not ...:
                pending.append(record)
                rows += len(record.frame)
            if rows >= self._batch_rows or time.monotonic() >= deadline:
                self._write(pending)
                pending, rows = [], 0
                deadline = time.monotonic() + self._flush_seconds

    def _write(self, records: list[InferenceRecord]) -> None:
        if not records:
            return
        try:
            table = pd.concat([_rows(r) for r in records], ignore_index=True)
            self._part += 1
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, f"part-{self._part:06d}-{os.getpid()}.parquet")
                table.to_parquet(path, index=False)
                self._client.log_artifact(self.run_id, path, C.INFERENCE_TABLE_DIR)
        except Exception:  # logging must never take the server down
            log.exception("could not write %d inference records", len(records))


def _rows(record: InferenceRecord) -> pd.DataFrame:
    features = record.frame.reset_index(drop=True).copy()
    features.columns = [f"feature_{c}" if c in META_COLUMNS else str(c) for c in features.columns]
    predictions = [json.dumps(p) if isinstance(p, dict) else p for p in record.predictions]
    meta = pd.DataFrame(
        {
            "request_id": record.request_id,
            "row": range(len(features)),
            "route": record.route,
            "model_version": record.model_version,
            "served_at": pd.Timestamp(record.served_at, unit="s", tz="UTC"),
            "prediction": predictions,
        }
    )
    return pd.concat([meta, features], axis=1)


def load_inference_table(run_id: str) -> pd.DataFrame:
    """Every logged row of one serving run (``--log-predictions``), oldest batch first."""
    client = tracking.TrackingClient()
    files = sorted(f.path for f in client.list_artifacts(run_id, C.INFERENCE_TABLE_DIR))
    if not files:
        return pd.DataFrame(columns=list(META_COLUMNS))
    frames = [pd.read_parquet(client.download_artifacts(run_id, path)) for path in files]
    return pd.concat(frames, ignore_index=True)
