"""Turn Python values and scikit-learn estimators into literal source code for notebooks.

Rendered notebooks must rebuild a trial's exact objects from plain code, so every value is written
with ``repr``-based literals (never pasted as raw text) and every estimator as a constructor call
imported from a public module.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import numpy as np


class Code(str):
    """Source text produced by this module: safe to place verbatim into a code cell."""


class NotRenderableError(TypeError):
    """A value has no literal source form (the notebook could not rebuild it)."""


def literal(value: Any, imports: set[str] | None = None, *, all_params: bool = False) -> Code:
    """Python source that evaluates to ``value``; estimator classes are added to ``imports``."""
    imports = imports if imports is not None else set()
    return Code(_literal(value, imports, all_params))


def _literal(value: Any, imports: set[str], all_params: bool) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, np.bool_):
        return repr(bool(value))
    if isinstance(value, int | np.integer):
        return repr(int(value))
    if isinstance(value, float | np.floating):
        return _float(float(value))
    if isinstance(value, str | np.str_):
        return repr(str(value))
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, imports, all_params) for v in value) + "]"
    if isinstance(value, tuple):
        items = [_literal(v, imports, all_params) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        pairs = (
            f"{_literal(k, imports, all_params)}: {_literal(v, imports, all_params)}"
            for k, v in value.items()
        )
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, np.ndarray):
        imports.add("import numpy as np")
        return f"np.array({_literal(value.tolist(), imports, all_params)})"
    if isinstance(value, type) and value.__module__ in ("numpy", "builtins"):
        if value.__module__ == "numpy":
            imports.add("import numpy as np")
            return f"np.{value.__name__}"
        return value.__name__
    if hasattr(value, "get_params") and not isinstance(value, type):
        return estimator_call(value, imports, all_params=all_params)
    raise NotRenderableError(
        f"cannot write {type(value).__qualname__} value {value!r} as notebook code; "
        "use plain Python values (numbers, strings, lists, dicts) or scikit-learn estimators"
    )


def _float(x: float) -> str:
    if math.isnan(x):
        return "float('nan')"
    if math.isinf(x):
        return "float('inf')" if x > 0 else "-float('inf')"
    return repr(x)


def estimator_call(
    estimator: Any,
    imports: set[str],
    *,
    all_params: bool = False,
    variables: Mapping[str, str] | None = None,
    prefix: str = "",
) -> Code:
    """``Class(param=literal, ...)`` for an estimator: all params, or only non-default ones.

    With ``all_params`` nested estimators (e.g. a wrapped regressor) show all theirs too.
    ``variables`` maps deep parameter paths (``regressor__alpha``, as ``set_params`` takes them)
    to notebook variable names written instead of the literal, so a parameters cell feeds them.
    """
    cls = type(estimator)
    imports.add(import_line(cls))
    shown = constructor_params(estimator, all_params=all_params)
    variables = variables or {}
    args = []
    for k, v in shown.items():
        path = prefix + k
        if path in variables:
            value = variables[path]
        elif hasattr(v, "get_params") and not isinstance(v, type):
            value = estimator_call(
                v, imports, all_params=all_params, variables=variables, prefix=path + "__"
            )
        else:
            value = _literal(v, imports, all_params)
        args.append(f"{k}={value}")
    if sum(len(a) + 2 for a in args) < 60 and not any("\n" in a for a in args):
        return Code(f"{cls.__name__}({', '.join(args)})")
    body = "".join("\n    " + a.replace("\n", "\n    ") + "," for a in args)
    return Code(f"{cls.__name__}({body}\n)")


def constructor_params(estimator: Any, *, all_params: bool = False) -> dict[str, Any]:
    """``get_params(deep=False)``, without the ones equal to the constructor default."""
    params = estimator.get_params(deep=False)
    if all_params:
        return params
    defaults = _defaults(type(estimator))
    return {k: v for k, v in params.items() if k not in defaults or not _same(v, defaults[k])}


@cache
def _defaults(cls: type) -> dict[str, Any]:
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return {}
    return {
        name: p.default
        for name, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


#: The only modules a rendered notebook imports ``automl`` names from, and only names in their
#: ``__all__``: the package's stable surface (see automl/tabular/__init__.py), so notebooks keep
#: running when the modules behind those names move.
PUBLIC_AUTOML_MODULES = ("automl", "automl.tabular", "automl.forecast")


@cache
def import_line(obj: Any) -> str:
    """``from <public module> import <Name>`` for a class or function.

    Third-party objects come from the shortest non-private module exposing them; ``automl``
    objects only from :data:`PUBLIC_AUTOML_MODULES`, where they must be listed in ``__all__``.
    """
    name = obj.__name__
    if obj.__module__.split(".")[0] == "automl":
        for module_name in PUBLIC_AUTOML_MODULES:
            module = importlib.import_module(module_name)
            if name in getattr(module, "__all__", ()) and getattr(module, name, None) is obj:
                return f"from {module_name} import {name}"
        raise NotRenderableError(
            f"{obj.__module__}.{name} is not a public name, so a notebook cannot import it; "
            f"export it on purpose (add it to __all__ in automl/tabular/__init__.py)"
        )
    parts = obj.__module__.split(".")
    for end in range(1, len(parts) + 1):
        candidate = parts[:end]
        if any(p.startswith("_") for p in candidate):
            break
        module_name = ".".join(candidate)
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if getattr(module, name, None) is obj:
            return f"from {module_name} import {name}"
    raise NotRenderableError(
        f"{obj.__module__}.{name} is not exported by a public module, so a notebook cannot "
        f"import it; export it (for automl names: add {name} to automl/tabular/__init__.py)"
    )


FIRST_PARTY = ("automl", "tracking", "registry")


def import_block(lines: Iterable[str]) -> Code:
    """Import lines as an isort-style block: third-party, then first-party, names merged."""
    groups: list[tuple[list[str], dict[str, set[str]]]] = [([], {}), ([], {})]
    for line in set(lines):
        words = line.split()
        module = words[1]
        plain, froms = groups[module.split(".")[0] in FIRST_PARTY]
        if words[0] == "import":
            plain.append(line)
        else:
            froms.setdefault(module, set()).update(n.strip(",") for n in words[3:])
    blocks = []
    for plain, froms in groups:
        block = sorted(plain, key=lambda line: line.split()[1]) + [
            _from_import(module, sorted(names)) for module, names in sorted(froms.items())
        ]
        if block:
            blocks.append("\n".join(block))
    return Code("\n\n".join(blocks))


def _from_import(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= 88:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
