"""AutoML: search model families and hyperparameters under a budget, tracking every trial.

import automl
summary = automl.classify(df, target_col="churned", timeout_minutes=5)
model = summary.best_trial.load_model()
"""

from automl.api import classify, load_model, regress
from automl.summary import AutoMLSummary, TrialInfo

__all__ = ["AutoMLSummary", "TrialInfo", "classify", "load_model", "regress"]
