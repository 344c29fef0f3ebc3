"""Lazy public names (PEP 562): a package exports names that are imported on first use."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["exports"]


def exports(package: str, table: dict[str, str], namespace: dict[str, Any]
            ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose public names are imported on first use.

    Parameters
    ----------
    package : str
        The package's name (for the error of an unknown name).
    table : dict
        Exported name -> the module that defines it; a name equal to its module's last part is the
        module itself (``"two_agents": "theory.round_robin.two_agents"``).
    namespace : dict
        The package's ``globals()``: a name, once imported, is stored there, so later look-ups are
        plain attribute reads.

    Returns
    -------
    tuple of callables
        ``(__getattr__, __dir__)`` for the package module.

    Examples
    --------
    >>> space = {}
    >>> getattr_, dir_ = exports("demo", {"sqrt": "math", "json": "json"}, space)
    >>> getattr_("sqrt")(9.0), getattr_("json").__name__, dir_()
    (3.0, 'json', ['json', 'sqrt'])
    >>> getattr_("nope")
    Traceback (most recent call last):
    ...
    AttributeError: module 'demo' has no attribute 'nope'
    """
    def getattr_(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        imported = importlib.import_module(module)
        value = imported if module.rsplit(".", 1)[-1] == name else getattr(imported, name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted((set(namespace) - {"__builtins__"}) | set(table))

    return getattr_, dir_
