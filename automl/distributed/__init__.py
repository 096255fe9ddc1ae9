"""Trials on a Dask ``distributed`` cluster (``pip install 'automl-tracked[dask]'``).

:class:`DaskExecutor` is one implementation of :class:`automl.core.executor.Executor`: the
search loop, Optuna, the budget and registration stay in the caller; each trial runs on a Dask
worker inside a child process the worker kills at the deadline.
"""

from automl.distributed.executor import (
    ClusterError,
    DaskExecutor,
    check_workers,
    cluster_executor,
    refuse_sqlite,
)
from automl.distributed.trial_process import HOST_TAG
from automl.distributed.versions import TRACKED_PACKAGES, library_versions

__all__ = [
    "HOST_TAG",
    "TRACKED_PACKAGES",
    "ClusterError",
    "DaskExecutor",
    "check_workers",
    "cluster_executor",
    "library_versions",
    "refuse_sqlite",
]
