"""Tables: inputs, data plan, split, preprocessing, model families, fitting, metrics, SHAP,
plots and the trial runner: what ``classify`` and ``regress`` search over.

The names in ``__all__`` are the stable surface that generated notebooks import (trial and
exploration notebooks written by ``automl.notebooks``). A notebook saved today must still run
after the modules behind these names move, so they are exported here on purpose, keep their
signatures, and are the only ``automl`` names a rendered notebook may import (a test parses
every template's output to check it). Everything else under ``automl.tabular.*`` is internal.
The column transformers the preprocessing pipelines are built from are the exception: notebooks
import them from the top-level ``automl``, which exports them once, beside the search API.

- ``DataPlan``: the experiment's data plan (``DataPlan.from_dict(plan_dict)``).
- ``evaluate``: the engine's metric functions on a fitted pipeline.
- ``assign_split``: the search's train/validation/test split (and CV folds) of a frame.
- ``training_rows``: the sample of training rows a low-fidelity trial learnt from.
- ``load_dataset``: a CSV or Parquet file (or a DataFrame) as a DataFrame, as the search reads it.
- ``fit_and_score``, ``validation_frame``, ``EnsembleModel``, ``blend`` and
  ``score_predictions``: what an ensemble notebook refits, blends and scores its members with.
- ``FoldAverage``: a cross-validated trial's model, the mean of its fold models.
- ``aligned_proba``, ``tune_threshold`` and ``with_threshold``: a binary classifier's
  probabilities in the plan's class order, the decision threshold tuned on validation
  predictions (label metrics) and the pipeline that predicts at it.
"""

from automl.core.inputs import load_dataset
from automl.tabular.ensemble import EnsembleModel, FoldAverage, blend, score_predictions
from automl.tabular.fit import fit_and_score, validation_frame
from automl.tabular.metrics import aligned_proba, evaluate
from automl.tabular.plan import DataPlan
from automl.tabular.split import assign_split, training_rows
from automl.tabular.thresholds import tune_threshold, with_threshold

__all__ = [
    "DataPlan",
    "EnsembleModel",
    "FoldAverage",
    "aligned_proba",
    "assign_split",
    "blend",
    "evaluate",
    "fit_and_score",
    "load_dataset",
    "score_predictions",
    "training_rows",
    "tune_threshold",
    "validation_frame",
    "with_threshold",
]
