"""The Jinja2 environment for notebook templates and the conversion of rendered text to nbformat.

Templates under ``notebook_templates/`` are written as percent-format scripts: a line ``# %%``
starts a code cell and ``# %% [markdown]`` a markdown cell; ``# %% tags=["parameters"]`` (jupytext's
spelling) tags a code cell, as papermill finds its parameters cell. Every ``{{ expression }}`` must go
through a filter that escapes it (``py`` for code; ``mdcode``, ``mdtext``, ``num`` for markdown); the
environment refuses raw strings, so a column name can never be pasted into code as-is.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import nbformat

import notebook_templates
from automl.notebooks.code import Code, literal

_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]<>()#+\-.!|~&]")
_CELL_MARKER = re.compile(r"^# %%(?: \[(markdown)\])?(?: tags=(\[[^\]]*\]))?[ \t]*$")


class Markdown(str):
    """Markdown text whose user-provided parts are already escaped."""


def _finalize(value: Any) -> Any:
    """Let through only escaped text and numbers: anything else is a template bug."""
    if isinstance(value, Code | Markdown) or (
        isinstance(value, int | float) and not isinstance(value, bool)
    ):
        return value
    raise jinja2.TemplateError(
        f"template outputs the raw {type(value).__name__} {str(value)[:40]!r}; pass it through "
        "|py (code) or |mdcode / |mdtext (markdown) so names stay plain, whatever they contain"
    )


def mdcode(value: Any) -> Markdown:
    """An inline code span showing ``value``, safe for any content.

    Strings with line breaks, control characters or edge spaces are shown as their repr.
    """
    text = str(value)
    if isinstance(value, str) and (not text.isprintable() or text != text.strip() or not text):
        text = repr(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def mdtext(value: Any) -> Markdown:
    """Plain text in markdown: markdown/HTML syntax characters escaped, line breaks removed."""
    text = " ".join(str(value).split())
    return Markdown(_MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text))


def num(value: Any, digits: int = 6) -> Code:
    """A number for display (``digits`` significant digits)."""
    if value is None:
        return Code("n/a")
    return Code(f"{float(value):.{digits}g}")


def rendered(value: Any) -> Code:
    """Output of a template macro: its own expressions already went through these filters."""
    return Code(value)


def py(value: Any) -> Code:
    """Python source for a literal value (strings via repr, so they stay plain names)."""
    return literal(value)


@cache
def environment() -> jinja2.Environment:
    """The shared, cached environment: templates compile once per process."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(notebook_templates.__file__).parent),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=_finalize,
    )
    env.filters.update(py=py, mdcode=mdcode, mdtext=mdtext, num=num, rendered=rendered)
    env.globals["code"] = Code
    return env


def render_cells(template_name: str, context: dict[str, Any]) -> nbformat.NotebookNode:
    """Render ``template_name`` with ``context`` and split the text into a v4 notebook."""
    text = environment().get_template(template_name).render(context)
    return text_to_notebook(text)


def text_to_notebook(text: str) -> nbformat.NotebookNode:
    """Split percent-format text into markdown and code cells (empty cells are dropped).

    Cells get deterministic ids and are not validated one by one (that would cost more than the
    rendering); :func:`automl.notebooks.documents.write_notebook` validates the whole notebook.
    """
    cells: list[nbformat.NotebookNode] = []
    kind: str | None = None
    tags: list[str] = []
    lines: list[str] = []

    def flush() -> None:
        source = "\n".join(lines).strip("\n")
        if kind is None or not source.strip():
            return
        cell: dict[str, Any] = {
            "cell_type": kind,
            "id": f"cell-{len(cells)}",
            "metadata": {"tags": list(tags)} if tags else {},
            "source": source,
        }
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(nbformat.from_dict(cell))

    for line in text.split("\n"):
        match = _CELL_MARKER.match(line)
        if match:
            flush()
            kind, lines = (match.group(1) or "code"), []
            tags = json.loads(match.group(2)) if match.group(2) else []
        else:
            lines.append(line)
    flush()
    nb = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb
