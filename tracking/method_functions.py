"""Module-level functions that call a method on an object found at call time.

The fluent APIs (``registry.register_model``, ``automl.features.create_table``...) are methods of a
client bound to the current tracking URI. Each function keeps its method's name, docstring and
signature (without ``self``), so the function and the method cannot drift apart.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


def method_functions(
    receiver: Callable[[], Any], module: str
) -> Callable[[Callable[Concatenate[Any, _P], _R]], Callable[_P, _R]]:
    """What turns a method into a function of ``module`` that calls it on ``receiver()``
    (looked up on every call, so the function follows the current tracking URI)."""

    def function(method: Callable[Concatenate[Any, _P], _R]) -> Callable[_P, _R]:
        name = method.__name__

        @functools.wraps(method)
        def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            return getattr(receiver(), name)(*args, **kwargs)

        call.__module__, call.__qualname__ = module, name
        signature = inspect.signature(method)
        call.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=list(signature.parameters.values())[1:]
        )
        return call

    return function
