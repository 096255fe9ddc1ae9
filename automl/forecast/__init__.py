"""Forecasting: automl.forecast and the model families it searches."""
