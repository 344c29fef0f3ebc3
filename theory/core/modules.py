"""Recursive module discovery, shared by the formula registry and the claim registry."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["submodules"]


def submodules(package: ModuleType) -> list[ModuleType]:
    """Every module below ``package``, sub-packages included, imported, in name order.

    Parameters
    ----------
    package : module
        An imported package (it has ``__path__``).

    Returns
    -------
    list of module
        The package's modules at every depth (not the package itself).

    Examples
    --------
    >>> import theory.core
    >>> "theory.core.algebra" in [m.__name__ for m in submodules(theory.core)]
    True
    """
    names = sorted(info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
                   if not info.name.rsplit(".", 1)[-1].startswith("_"))
    return [importlib.import_module(name) for name in names]
