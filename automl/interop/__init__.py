"""Interoperability with neighbouring tools: export experiments to an MLflow tracking server."""

from automl.interop.mlflow_export import ExportResult, MlflowExportError, export_to_mlflow

__all__ = ["ExportResult", "MlflowExportError", "export_to_mlflow"]
