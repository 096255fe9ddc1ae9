"""Experiment tracking on a SQL store: experiments, runs, params, metrics, artifacts, models."""
