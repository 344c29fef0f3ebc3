"""Symbols of the model (THEORY.md section 0), as SymPy matrix symbols of size d.

``agent(name)`` gives the per-agent objects: transfer ``M``, effective step
``K``, offset ``c = K w_star``, target ``w_star``, preconditioner ``Gamma``,
geometry ``H`` and moment ``b``. ``DEFINITIONS`` lists the abbreviations
(``K = I - M``) that proofs substitute.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

d = sp.Symbol("d", integer=True, positive=True)
I = sp.Identity(d)


@dataclass(frozen=True)
class AgentSymbols:
    name: str
    M: sp.MatrixSymbol
    K: sp.MatrixSymbol
    w_star: sp.MatrixSymbol
    Gamma: sp.MatrixSymbol
    H: sp.MatrixSymbol
    b: sp.MatrixSymbol

    @property
    def c(self) -> sp.MatrixExpr:
        """``c_i = K_i w_i*``."""
        return self.K * self.w_star

    def T(self, w: sp.MatrixExpr) -> sp.MatrixExpr:
        """One turn: ``T_i(w) = M_i w + c_i``."""
        return self.M * w + self.c

    @property
    def definitions(self) -> dict:
        """``K_i = I - M_i``: the abbreviation every proof substitutes."""
        return {self.K.name: I - self.M}


def agent(name: str) -> AgentSymbols:
    return AgentSymbols(
        name=name,
        M=sp.MatrixSymbol(f"M_{name}", d, d),
        K=sp.MatrixSymbol(f"K_{name}", d, d),
        w_star=sp.MatrixSymbol(f"w^*_{name}", d, 1),
        Gamma=sp.MatrixSymbol(f"Gamma_{name}", d, d),
        H=sp.MatrixSymbol(f"H_{name}", d, d),
        b=sp.MatrixSymbol(f"b_{name}", d, 1),
    )


def vector(name: str) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, d, 1)


def matrix(name: str) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, d, d)


def definitions(*agents: AgentSymbols) -> dict:
    out: dict = {}
    for a in agents:
        out.update(a.definitions)
    return out


def explicit(expr: sp.MatrixExpr, dim: int, agents: tuple[AgentSymbols, ...], extra=()) -> sp.Matrix:
    """Substitute fully symbolic ``dim x dim`` matrices for every symbol (method V2).

    ``K_i`` is replaced by ``I - M_i`` so the check covers the definition too.
    """
    subs = {}
    for a in agents:
        M = sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"m{a.name}_{i}{j}"))
        subs[a.M] = M
        subs[a.K] = sp.eye(dim) - M
        subs[a.w_star] = sp.Matrix(dim, 1, lambda i, j: sp.Symbol(f"w{a.name}_{i}"))
    for sym in extra:
        rows, cols = (dim, dim) if sym.shape[1] != 1 else (dim, 1)
        subs[sym] = sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{sym.name.replace('^', '').replace('*', 's')}_{i}{j}"))
    e = expr.subs(d, dim)
    e = e.xreplace({k.subs(d, dim): v for k, v in subs.items()})
    return sp.Matrix(e.as_explicit())
