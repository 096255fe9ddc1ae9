"""Forecasting: ``automl.forecast`` and the model families it searches.

``forecast(df, target_col=..., time_col=..., horizon=...)`` backtests baselines, statsmodels
models (ETS, ARIMA, Theta, STL) and a global LightGBM model under a budget, tracks every trial
and registers the winner refit on all data. ``ForecastModel`` is what gets logged.
"""

from automl.forecast.api import forecast
from automl.forecast.backtest import backtest
from automl.forecast.data import Panel, prepare_panel
from automl.forecast.model import ForecastModel
from automl.forecast.plots import forecast_plot

# ``backtest`` and ``forecast_plot`` are what trial notebooks import: keep them stable.
__all__ = ["ForecastModel", "Panel", "backtest", "forecast", "forecast_plot", "prepare_panel"]
