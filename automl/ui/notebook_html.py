"""A trial notebook as HTML: code, markdown (as preformatted text) and text outputs, escaped.

nbconvert is not among the project's dependencies, so this small renderer reads the cells with
nbformat; every string from the notebook is escaped, and images are embedded as data URIs only
when their MIME type is a raster image."""

from __future__ import annotations

import base64
import binascii

import nbformat
from markupsafe import Markup

_IMAGE_TYPES = ("image/png", "image/jpeg")


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output(output: dict) -> Markup:
    kind = output.get("output_type")
    if kind == "stream":
        return Markup('<pre class="nb-stream">{}</pre>').format(_text(output.get("text", "")))
    if kind == "error":
        trace = "\n".join(output.get("traceback", [])) or output.get("evalue", "")
        return Markup('<pre class="nb-error">{}</pre>').format(trace)
    data = output.get("data", {})
    for mime in _IMAGE_TYPES:
        if mime in data:
            raw = _text(data[mime]).replace("\n", "")
            try:
                base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                continue
            return Markup('<img class="nb-image" alt="output" src="data:{};base64,{}">').format(
                mime, raw
            )
    if "text/plain" in data:
        return Markup('<pre class="nb-result">{}</pre>').format(_text(data["text/plain"]))
    return Markup("")


def render_notebook(path: str) -> Markup:
    """HTML fragment for the notebook at ``path`` (ValueError if it is not a notebook)."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several types for a bad file
        raise ValueError(f"{path}: not a readable notebook ({exc})") from exc
    parts: list[Markup] = []
    for cell in notebook.cells:
        source = _text(cell.get("source", ""))
        if cell.cell_type == "code":
            outputs = Markup("").join(_output(o) for o in cell.get("outputs", []))
            parts.append(
                Markup('<div class="nb-cell nb-code"><pre>{}</pre>{}</div>').format(source, outputs)
            )
        else:
            parts.append(
                Markup('<div class="nb-cell nb-markdown"><pre>{}</pre></div>').format(source)
            )
    return Markup('<div class="notebook">{}</div>').format(Markup("").join(parts))
