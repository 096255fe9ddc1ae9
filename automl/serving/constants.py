"""Every default, header name and protocol literal of the scoring server, in one place."""

from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_WORKERS = 1
DEFAULT_POLL_SECONDS = 30.0  # how often aliases and stages are re-resolved
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_PREDICT_TIMEOUT_SECONDS = 60.0
DEFAULT_PREDICT_THREADS = 4
DEFAULT_LOG_BATCH_ROWS = 1000
DEFAULT_LOG_FLUSH_SECONDS = 10.0
LATENCY_WINDOW = 2048  # latencies kept per route for the percentiles in /metrics
LATENCY_QUANTILES = (0.5, 0.9, 0.99)

# The environment variable that carries the server configuration to uvicorn's worker processes.
ENV_CONFIG = "AUTOML_SERVE_CONFIG"

# Request / response headers.
HEADER_REQUEST_KEY = "x-request-key"  # sticky route assignment
HEADER_REQUEST_ID = "x-request-id"  # echoed; joins the inference table with later labels
HEADER_ROUTE = "X-Route"
HEADER_MODEL_VERSION = "X-Model-Version"
HEADER_MODEL_URI = "X-Model-Uri"

# MLflow's scoring protocol: the content types a request may have, and the JSON body's keys (one
# per body) that say how its rows are laid out. Each tuple is unpacked into the names.
CONTENT_TYPES = CONTENT_TYPE_JSON, CONTENT_TYPE_CSV = ("application/json", "text/csv")
INPUT_FORMATS = DF_SPLIT, DF_RECORDS, INSTANCES, INPUTS = (
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
)
PARAMS_KEY = "params"
PARAM_PREDICT_PROBA = "predict_proba"  # {"params": {"predict_proba": true}} -> class probabilities
KNOWN_PARAMS = (PARAM_PREDICT_PROBA,)

# MLflow error codes and their HTTP statuses.
BAD_REQUEST = "BAD_REQUEST"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
INTERNAL_ERROR = "INTERNAL_ERROR"

# Inference table: where prediction batches go in the tracking store.
INFERENCE_EXPERIMENT_SUFFIX = "-inference"
INFERENCE_TABLE_DIR = "inference_table"
TAG_SERVED_MODEL = "automl.serving.model_uri"
TAG_ROUTES = "automl.serving.routes"
