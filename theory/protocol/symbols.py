"""The letters of a protocol's derivation (P1-P5): noncommutative SymPy symbols, so every result
holds in any dimension.

Agent i's turn is ``T_i(w) = M_i w + c_i`` with ``c_i = K_i w_i* = (1 - M_i) w_i*``; ``M_i`` stands
for the per-turn transfer (``M_i^{s_i}`` with s steps per turn, C7). Residuals are written in the
gaps ``w_j* - w_i*`` (one letter each); noisy agents add noise of covariance ``S_i``; the stationary
covariance has blocks ``V_i`` and ``V_{i,j}``; the named path names the round map's blocks
``Phi_{a,b}``. Transposition reverses words and knows which letters are symmetric.
"""
from __future__ import annotations

import sympy as sp

from theory.core.algebra import letter, padd, pmul

ONE = sp.Integer(1)


def M(name: str) -> sp.Symbol:
    """Agent ``name``'s per-turn transfer ``M_i``."""
    return sp.Symbol(f"M_{name}", commutative=False)


def w_star(name: str) -> sp.Symbol:
    """Agent ``name``'s target ``w_i*``."""
    return sp.Symbol(f"w^*_{name}", commutative=False)


def c(name: str) -> sp.Expr:
    """``c_i = K_i w_i* = (1 - M_i) w_i*``."""
    return (ONE - M(name)) * w_star(name)


def c_poly(name: str) -> dict:
    """:func:`c` as a word polynomial: ``w_i* - M_i w_i*``."""
    return padd(letter(w_star(name)), pmul(letter(M(name)), letter(w_star(name))), signs=(1, -1))


def gap(j: str, i: str) -> sp.Symbol:
    """The gap ``w_j* - w_i*`` as one symbol."""
    return sp.Symbol(f"(w^*_{j} - w^*_{i})", commutative=False)


def noise_cov(name: str) -> sp.Symbol:
    """``S_i``: the covariance of the noise agent ``name`` adds to each message it emits."""
    return sp.Symbol(f"S_{name}", commutative=False)


def cov_block(i: str, j: str) -> sp.Symbol:
    """Block (i, j) of the stationary covariance: ``V_i`` on the diagonal, ``V_{i,j}`` off it."""
    return sp.Symbol(f"V_{i}" if i == j else f"V_{{{i},{j}}}", commutative=False)


def phi_letter(a: str, b: str) -> sp.Symbol:
    """``Phi_{a,b}``: block (a, b) of the round map as a named letter (theory.protocol.schur)."""
    return sp.Symbol(f"Phi_{{{a},{b}}}", commutative=False)


# ---------------------------------------------------------------- transposition
def transpose(expr: sp.Expr) -> sp.Expr:
    """Transpose in the free algebra: reverse every word; ``X -> X^T``, ``S_i`` and ``P_ii`` symmetric."""
    out = []
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, word = term.args_cnc()
        letters = []
        for f in word:
            base, n = (f.base, int(f.exp)) if f.is_Pow else (f, 1)
            letters.extend([transpose_letter(base)] * n)
        out.append(sp.Mul(*coeff) * sp.Mul(*reversed(letters)))
    return sp.Add(*out)


def ptranspose(p: dict) -> dict:
    """:func:`transpose` of a word polynomial: reverse each word and transpose each letter."""
    return {tuple(transpose_letter(x) for x in reversed(w)): c for w, c in p.items()}


def transpose_letter(sym: sp.Symbol) -> sp.Symbol:
    """``X^T`` of one letter: ``S_i`` and the diagonal covariance blocks are symmetric,
    ``V_{i,j}^T = V_{j,i}``, ``(X^T)^T = X``."""
    name = sym.name
    if name.startswith("S_") or (name.startswith("V_") and _symmetric_block(name)):
        return sym
    if name.endswith("^T"):
        return sp.Symbol(name[:-2], commutative=False)
    if name.startswith("V_"):  # V_{ij}^T = V_{ji}
        i, j = name[3:-1].split(",")
        return sp.Symbol(f"V_{{{j},{i}}}", commutative=False)
    return sp.Symbol(f"{name}^T", commutative=False)


def _symmetric_block(name: str) -> bool:
    inner = name[3:-1] if name.startswith("V_{") else ""
    if "," not in inner:
        return True  # V_A: one agent's covariance
    i, j = inner.split(",")
    return i == j
