"""Run tag keys and values the search writes, in one place (as MLflow's ``utils/mlflow_tags``).

Readers (the CLI, the summary, the UI) use these names instead of string literals.
"""

from __future__ import annotations

ROLE = "automl.role"
ROLE_PARENT = "parent"
ROLE_TRIAL = "trial"
TASK = "automl.task"
TARGET_COL = "automl.target_col"
TIME_COL = "automl.time_col"
PRIMARY_METRIC = "automl.primary_metric"
OPTUNA_STUDY = "automl.optuna_study"
OPTUNA_TRIAL = "automl.optuna_trial"
BEST_RUN_ID = "automl.best_run_id"
# On a parent run: the SHA-256 of its data snapshot; a resumed search ranks the finished trials
# of the experiment's earlier searches on the same data with its own.
DATA_DIGEST = "automl.data_digest"
TRIAL_NUMBER = "automl.trial_number"
TRIAL_STATE = "automl.trial_state"
ERROR = "automl.error"
NOTEBOOK_ERROR = "automl.notebook_error"
CHARTS = "automl.charts"
# Set on trials that ran in the search's own process rather than in a worker.
RAN_IN = "automl.ran_in"
RAN_IN_SEARCH_PROCESS = "search process"
# A run parameter (and a key of a trial config's params): the cut on the positive class's
# probability a binary classifier predicts at, tuned on validation for label metrics.
DECISION_THRESHOLD = "decision_threshold"
# A run parameter (and a key of a trial config's params): how many of the training rows a
# low-fidelity trial learnt from; absent, all of them. The refit always learns from every row.
TRAIN_ROWS = "train_rows"
# On a trial that re-runs a low-fidelity trial's configuration on every training row: that run.
PROMOTED_FROM = "automl.promoted_from"
# ``shap.top_feature_1`` ... on each trial, its most important input columns.
SHAP_TOP_FEATURE_PREFIX = "shap.top_feature_"
# An ensemble run: the run ids of its members.
ENSEMBLE = "automl.ensemble"
# The machine and Dask worker that ran a trial.
HOST = "automl.host"
# A TrainingSet's feature lookups, recorded on the parent run.
FEATURE_SPEC = "automl.feature_spec"
# ``automl rerun``: the run re-run, the parameters changed and the data used.
RERUN_OF = "automl.rerun_of"
RERUN_PARAMS = "automl.rerun_params"
RERUN_DATA = "automl.rerun_data"
# ``automl export-mlflow``: where an exported run, experiment and model version came from.
SOURCE_RUN_ID = "automl.source_run_id"
SOURCE_EXPERIMENT_ID = "automl.source_experiment_id"
SOURCE_MODEL_VERSION = "automl.source_model_version"
# ``automl prune-models``: set on a trial whose model folder was deleted to save disk.
MODEL_PRUNED = "automl.model_pruned"
