"""Forecasting: ``automl.forecast`` and the model families it searches.

``forecast(df, target_col=..., time_col=..., horizon=...)`` backtests baselines, statsmodels
models (ETS, ARIMA, Theta, STL) and a global LightGBM model under a budget, tracks every trial
and registers the winner refit on all data. ``ForecastModel`` is what gets logged.
"""

from automl.forecast.api import forecast
from automl.forecast.data import Panel, prepare_panel
from automl.forecast.model import ForecastModel

__all__ = ["ForecastModel", "Panel", "forecast", "prepare_panel"]
