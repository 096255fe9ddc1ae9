"""Notebook rendering: the Jinja environment and its escaping filters, code helpers, and the
trial and exploration notebooks rendered from ``notebook_templates/``."""
