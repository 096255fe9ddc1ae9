"""The MLflow ``python_function`` wrapper around one of our logged models.

The exported MLflow Model carries our model folder (``MLmodel.json`` + pickle) as an artifact;
``load_context`` loads it with :func:`tracking.load_model` from that local path, so MLflow's
``pyfunc.load_model(...).predict(df)`` runs exactly our ``Predictor.predict``.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc

MODEL_ARTIFACT = "automl_model"
"""Key of our model folder in the pyfunc model's ``artifacts``."""


class AutoMLPyfuncModel(mlflow.pyfunc.PythonModel):
    """Predicts with the wrapped model: labels for classifiers, values for regressors."""

    def load_context(self, context: Any) -> None:
        import tracking

        self._predictor = tracking.load_model(context.artifacts[MODEL_ARTIFACT])

    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        """Our ``Predictor.predict`` (no type hints: MLflow would read them as a schema)."""
        return self._predictor.predict(model_input)
