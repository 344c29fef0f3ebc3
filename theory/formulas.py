"""Named derived objects: the formulas a paper would quote.

Each :class:`Formula` holds the SymPy object that the registry verifies; its
LaTeX is rendered from that same object. Theory modules expose ``FORMULAS``
(a list); :func:`all_formulas` collects them by ID, e.g. ``"C2.fixed_point_A"``.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class Formula:
    """``lhs = rhs`` with a stable ID ``<claim>.<name>``."""

    claim: str
    name: str
    lhs: sp.Basic
    rhs: sp.Basic
    description: str

    @property
    def id(self) -> str:
        return f"{self.claim}.{self.name}"

    def latex(self) -> str:
        return f"{sp.latex(self.lhs)} = {sp.latex(self.rhs)}"


def all_formulas() -> dict[str, Formula]:
    import theory

    out: dict[str, Formula] = {}
    for info in pkgutil.iter_modules(theory.__path__):
        module = importlib.import_module(f"theory.{info.name}")
        for f in getattr(module, "FORMULAS", []):
            if f.id in out:
                raise ValueError(f"formula {f.id} defined twice")
            out[f.id] = f
    return out
