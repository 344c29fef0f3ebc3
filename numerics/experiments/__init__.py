"""The paper's experiments: each module writes CSV data and PNG figures.

A module defines ``NAME`` (the CLI name), ``DESCRIPTION`` and
``run(out_dir: Path, agents: str = "gd", seed: int = 0, quick: bool = False) -> list[Path]``.
They are discovered automatically by ``a2ad experiment``.
"""
from __future__ import annotations

import importlib
import pkgutil


def all_experiments() -> dict:
    out = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME"):
            out[module.NAME] = module
    return out
