"""The paper's experiments: each module writes CSV data and PNG figures.

A module defines ``NAME`` (the CLI name), ``DESCRIPTION`` and
``run(out_dir: Path, agents: str = "gd", seed: int = 0, quick: bool = False, figure_format: str = "png")
-> list[Path]`` (figures as png, pdf or svg).
They are discovered automatically by ``a2ad experiment``.
"""
from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path


def names() -> list[str]:
    """The experiments' ``NAME``s, read from their sources without importing them (matplotlib is slow to load)."""
    out = []
    for info in pkgutil.iter_modules(__path__):
        tree = ast.parse((Path(__path__[0]) / f"{info.name}.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NAME" for t in node.targets) \
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                out.append(node.value.value)
    return sorted(out)


def all_experiments() -> dict:
    out = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME"):
            out[module.NAME] = module
    return out
