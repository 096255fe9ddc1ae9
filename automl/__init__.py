"""AutoML: search model families and hyperparameters under a budget, tracking every trial.

import automl
summary = automl.classify(df, target_col="churned", timeout_minutes=5)
model = summary.best_trial.load_model()
"""

import sys

from automl.api import classify, load_model, regress
from automl.core.spec import AutoMLInputError
from automl.core.summary import AutoMLSummary, TrialInfo
from automl.estimators import AutoMLClassifier, AutoMLRegressor
from automl.forecast import forecast  # the function shadows its subpackage's name, as intended
from automl.tabular import preprocessing
from automl.tabular.preprocessing import (
    BooleanEncoder,
    CategoricalCleaner,
    DatetimeFeatures,
    HighCardinalityEncoder,
    NumericCoercer,
    TextFeatures,
)

__all__ = [
    "AutoMLClassifier",
    "AutoMLInputError",
    "AutoMLRegressor",
    "AutoMLSummary",
    "BooleanEncoder",
    "CategoricalCleaner",
    "DatetimeFeatures",
    "HighCardinalityEncoder",
    "NumericCoercer",
    "TextFeatures",
    "TrialInfo",
    "classify",
    "forecast",
    "load_model",
    "regress",
]

# Models pickled before the modules were grouped under automl/tabular/ name their transformers
# ``automl.preprocessing.*``: keep that name resolving so those models still load.
sys.modules.setdefault("automl.preprocessing", preprocessing)
