"""Jinja2 templates for trial and data-exploration notebooks (rendered by automl.notebooks)."""
