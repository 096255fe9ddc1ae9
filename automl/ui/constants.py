"""Defaults and limits of the UI, in one place."""

from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
COMPARE_MIN_RUNS = 2
COMPARE_MAX_RUNS = 50
# Metric histories longer than this are downsampled (min/max per bucket) for display.
MAX_CHART_POINTS = 2000
# While the AutoML parent run is RUNNING, the runs table and chart reload this often.
REFRESH_SECONDS = 5
MAX_EXPERIMENTS = 500
RUN_STATES = ("COMPLETE", "PRUNED", "KILLED", "FAILED")

CSRF_COOKIE = "automl_ui_csrf"
CSRF_FIELD = "csrf_token"
TOKEN_COOKIE = "automl_ui_token"

# Tag keys the AutoML search writes on its runs (read here as plain strings so the UI does
# not depend on the search's modules).
TAG_ROLE = "automl.role"
ROLE_PARENT = "parent"
TAG_TASK = "automl.task"
TAG_PRIMARY_METRIC = "automl.primary_metric"
TAG_BEST_RUN_ID = "automl.best_run_id"
TAG_TRIAL_STATE = "automl.trial_state"
TAG_TRIAL_NUMBER = "automl.trial_number"
TAG_TARGET_COL = "automl.target_col"

# The registry page lists at most this many models and versions.
MAX_REGISTRY_MODELS = 500
MAX_REGISTRY_VERSIONS = 5000
# The leaderboard's column chooser: the URL parameter, and the localStorage key prefix.
COLUMNS_PARAM = "columns"
COLUMN_PREFIXES = ("metrics.", "params.", "tags.")
# AutoML parent runs looked up per experiment (one per classify/regress/forecast call into it).
MAX_PARENTS = 1000
