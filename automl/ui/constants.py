"""Defaults and limits of the UI, in one place."""

from __future__ import annotations

from automl.core import tags
from automl.core.records import TrialState

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
# The state filter's choices, and the trial-state tag value each one matches (a failed trial is
# tagged TrialState.FAIL, "FAIL"; the filter and the table say FAILED, as its run status does).
STATE_TAG_VALUES = {
    "COMPLETE": TrialState.COMPLETE.value,
    "PRUNED": TrialState.PRUNED.value,
    "KILLED": TrialState.KILLED.value,
    "FAILED": TrialState.FAIL.value,
}
RUN_STATES = tuple(STATE_TAG_VALUES)
STATE_LABELS = {tag: label for label, tag in STATE_TAG_VALUES.items()}

CSRF_COOKIE = "automl_ui_csrf"
CSRF_FIELD = "csrf_token"
TOKEN_COOKIE = "automl_ui_token"

# Tag keys the AutoML search writes on its runs: one home for them, automl.core.tags.
TAG_ROLE = tags.ROLE
ROLE_PARENT = tags.ROLE_PARENT
TAG_TASK = tags.TASK
TAG_PRIMARY_METRIC = tags.PRIMARY_METRIC
TAG_BEST_RUN_ID = tags.BEST_RUN_ID
TAG_TRIAL_STATE = tags.TRIAL_STATE
TAG_TRIAL_NUMBER = tags.TRIAL_NUMBER
TAG_TARGET_COL = tags.TARGET_COL

# The registry page lists at most this many models and versions.
MAX_REGISTRY_MODELS = 500
MAX_REGISTRY_VERSIONS = 5000
# The leaderboard's column chooser: the URL parameter, and the localStorage key prefix.
COLUMNS_PARAM = "columns"
COLUMN_PREFIXES = ("metrics.", "params.", "tags.")
# AutoML parent runs looked up per experiment (one per classify/regress/forecast call into it).
MAX_PARENTS = 1000
# The data exploration notebook among the parent run's notebooks, and the forecast parent's
# horizon param (its validation is a rolling-origin backtest over that horizon).
EXPLORATION_NOTEBOOK = "data_exploration.ipynb"
PARAM_HORIZON = "data.horizon"
