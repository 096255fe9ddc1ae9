"""Jinja2 templates for trial and data-exploration notebooks (rendered by automl.notebooks.documents).

Templates are percent-format scripts: ``# %%`` starts a code cell, ``# %% [markdown]`` a markdown
cell. ``trial_base.py.j2`` is the layout; ``trial_classification.py.j2`` and
``trial_regression.py.j2`` extend it; ``families/<family>.py.j2`` is a model family's part (two
macros: ``describe()`` for the header and ``explainer()`` setting ``shap_values``), with
``families/_generic.py.j2`` as the fallback. Adding a model family means adding that one file.
Every ``{{ expression }}`` must pass through ``|py`` (Python literal) or ``|mdcode``, ``|mdtext``,
``|num`` (markdown): the environment refuses raw strings, so names are never pasted into code.
"""
