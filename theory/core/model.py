"""Symbols of the model (docs/theory.rst), as SymPy matrix symbols of size d.

``agent(name)`` gives the per-agent objects: transfer ``M``, effective step
``K``, offset ``c = K w_star``, target ``w_star``, preconditioner ``Gamma``,
geometry ``H`` and moment ``b``. ``definitions(*agents)`` lists the abbreviations
(``K = I - M``) that proofs substitute.

``d`` is a positive integer symbol (a dimension: ``sqrt(d**2)`` is ``d``) and
``I`` the ``d x d`` identity. Agent ``A``'s symbols are named ``M_A``, ``K_A``,
``w^*_A`` (d x 1), ``Gamma_A``, ``H_A`` and ``b_A`` (d x 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

d = sp.Symbol("d", integer=True, positive=True)
I = sp.Identity(d)


@dataclass(frozen=True)
class AgentSymbols:
    """One agent's symbols; immutable and hashable (equal for equal names, usable as a dict key)."""

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
    """The symbols of one agent: ``M``, ``K = I - M``, ``w_star``, ``Gamma``, ``H``, ``b`` (d x d or d x 1).

    Parameters
    ----------
    name : str
        The subscript, e.g. ``"A"``.

    Returns
    -------
    AgentSymbols
        With ``c = K w_star`` and one turn ``T(w) = M w + c``.

    Examples
    --------
    >>> A = agent("A")
    >>> A.T(vector("w"))
    K_A*w^*_A + M_A*w
    """
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
    Agent ``A``'s ``M`` gets entries ``mA_ij`` and its ``w_star`` entries ``wA_i``
    (symbols named with the row and column index, e.g. ``mA_01``).
    ``extra``: further MatrixSymbols (messages, probes) to make fully symbolic:
    a ``X`` of one column (a vector) becomes ``dim x 1`` with entries ``X[i,0]``,
    any other ``dim x dim`` with entries ``X[i,j]``.
    """
    subs = {}
    for a in agents:
        M = sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"m{a.name}_{i}{j}"))
        subs[a.M] = M
        subs[a.K] = sp.eye(dim) - M
        subs[a.w_star] = sp.Matrix(dim, 1, lambda i, j: sp.Symbol(f"w{a.name}_{i}"))
    for sym in extra:
        cols = 1 if sym.shape[1] == 1 else dim
        subs[sym] = sp.Matrix(dim, cols, lambda i, j: sp.Symbol(f"{sym.name}[{i},{j}]"))
    env = {k.name: v for k, v in subs.items()}
    return sp.Matrix(evaluate(expr, env, SYMPY_OPS))


class _Ops:
    """Backend for :func:`evaluate`: identity, zero and inverse for one array type."""

    def __init__(self, eye, zeros, inv):
        self.eye, self.zeros, self.inv = eye, zeros, inv


def _sympy_inverse(X):
    X = sp.Matrix(X)
    return X.adjugate() / X.det(method="berkowitz")  # fast and exact for small symbolic matrices


SYMPY_OPS = _Ops(lambda n: sp.eye(n), lambda r, c: sp.zeros(r, c), _sympy_inverse)


def numpy_ops():
    import numpy as np

    return _Ops(np.eye, lambda r, c: np.zeros((r, c)), np.linalg.inv)


def evaluate(expr, env: dict, ops: _Ops = SYMPY_OPS):
    """Evaluate a matrix expression with concrete matrices ``env[name]``.

    Works for explicit SymPy matrices (V2) and numpy arrays (to tie numeric
    code to the derived object). The dimension ``d`` is the number of rows of
    the inputs (each d x d or d x 1).

    Supported: a MatrixSymbol (``env[name]``; a missing name raises KeyError),
    a sum, a product with scalar factors (a kept factor 0 gives zero; a SymPy result keeps the scalar exact,
    a numpy one takes ``float`` of it, so a symbolic scalar raises TypeError),
    ``Inverse`` (``ops.inv``), ``MatPow`` with an integer exponent (``X**n``
    for ``n > 0``, ``inv(X)**|n|`` for ``n < 0``, the identity for ``n = 0``),
    ``Identity`` (``d x d``), ``ZeroMatrix`` (``d x 1`` for a zero vector,
    ``d x d`` otherwise) and ``Transpose``. Any other node (e.g. a non-integer
    power, a Hadamard product) raises ``TypeError("cannot evaluate ...")``, a
    power of a non-square matrix (e.g. ``MatPow(x, 0)`` of a vector) ValueError;
    ``Identity`` or ``ZeroMatrix`` with an empty ``env`` raise ValueError.
    """
    if isinstance(expr, sp.MatrixSymbol):
        return env[expr.name]
    if isinstance(expr, sp.MatAdd):
        vals = [evaluate(a, env, ops) for a in expr.args]
        out = vals[0]
        for v in vals[1:]:
            out = out + v
        return out
    if isinstance(expr, sp.MatMul):
        out = None
        scalar = 1
        for a in expr.args:
            if not isinstance(a, sp.MatrixExpr):
                scalar = scalar * a
                continue
            v = evaluate(a, env, ops)
            out = v if out is None else out @ v
        if scalar != 1:
            out = out * (scalar if isinstance(out, sp.MatrixBase) else float(scalar))
        return out
    if isinstance(expr, sp.Inverse):
        return ops.inv(evaluate(expr.arg, env, ops))
    if isinstance(expr, sp.MatPow) and expr.exp.is_Integer:
        base = evaluate(expr.base, env, ops)
        n = int(expr.exp)
        rows, cols = base.shape
        if rows != cols:
            raise ValueError(f"cannot evaluate {expr}: a power of a non-square {rows} x {cols} matrix")
        if n == 0:  # SymPy keeps MatPow(X, 0) unevaluated
            return ops.eye(rows)
        factor = base if n > 0 else ops.inv(base)
        out = factor
        for _ in range(abs(n) - 1):
            out = out @ factor
        return out
    if isinstance(expr, sp.Identity):
        n = _dimension(env)
        return ops.eye(n)
    if isinstance(expr, sp.ZeroMatrix):
        n = _dimension(env)
        return ops.zeros(n, n if expr.shape[1] != 1 else 1)
    if isinstance(expr, sp.Transpose):
        return evaluate(expr.arg, env, ops).T
    raise TypeError(f"cannot evaluate {type(expr).__name__}: {expr}")


def _dimension(env: dict) -> int:
    for v in env.values():
        return v.shape[0]
    raise ValueError("no matrices to read the dimension from")
