"""Defaults of the promotion gates, in one place."""

from __future__ import annotations

# The training snapshot automl's search logs on its parent run (read by the drift gate).
SNAPSHOT_ARTIFACT = "data/training_data.parquet"
# Population stability index above 0.2 is the usual "significant shift" rule of thumb.
DEFAULT_MAX_PSI = 0.2
# Two-sample Kolmogorov-Smirnov statistic (largest CDF gap); p-values are reported alongside.
DEFAULT_MAX_KS = 0.2
PSI_BINS = 10
# Floor for empty bins so the PSI's log stays finite.
PSI_EPSILON = 1e-4
LATENCY_CALLS = 100
LATENCY_BATCH_ROWS = 100
LATENCY_PERCENTILE = 99
DEFAULT_TARGET = "production"
