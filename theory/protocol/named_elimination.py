"""Block elimination in which every object is a named letter, so its size is linear in the steps (R1).

:mod:`theory.protocol.schur` names the Schur complements but expands the eliminated right side
and the back substitution, whose words double with each step. Here, for ``A x = c`` (word
polynomials, ``n`` unknowns):

- step k takes the first row with a nonzero block in column k as pivot row; the pivot ``A^(k)_kk``
  gets the formal inverse ``Q_k`` (hypothesis: invertible) and every updated block
  ``A^(k+1)_ij = A^(k)_ij - A^(k)_ik Q_k A^(k)_kj`` is a letter ``U^{(k+1)}_{i,j}``
  (:func:`theory.protocol.schur.u_letter`) with that definition;
- for each right side (a *source* ``s``), the given entries are letters ``h^{(0),s}_i`` and every
  updated entry ``h^{(k+1),s}_i = h^{(k),s}_i - A^(k)_ik Q_k h^{(k),s}_k`` is a new letter;
- back substitution: ``y^{s}_k = Q_k (h^{(k),s}_k - sum_{j>k} A^(k)_kj y^{s}_j)``, a letter per unknown.

Each definition refers only to earlier names, so the displayed size is linear in the number of
letters (the U letters: at most ``n (n - 1) (2 n - 1) / 6``).

Proof (:func:`checks`, every item a small identity that reduces to 0 in the free algebra with the
letters opaque and the newest ones expanded one level): (a) the given right side is what the
``h^{(0)}`` letters name; (b) for i > k, row i of step k equals row i of step k+1 plus
``A^(k)_ik Q_k`` times the pivot row (matrix part with opaque ``x``; right-side part per source);
(c) the pivot row of step k holds with ``y_k`` expanded (``A^(k)_kk Q_k = I``); (d) each step's
system (and right side) is the previous step's update with the pivot row swapped in. By induction from the
last step every row of ``A x = c`` holds at ``x = y^{s}``; with the pivots invertible the solution is
unique. Claim R1 (the Markov chain's stationary mean, :mod:`theory.protocol.random_markov`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from theory.core.algebra import FreeAlgebra, from_poly, letter, padd, pmul, psubs
from theory.protocol.schur import u_letter

__all__ = ["Elimination", "Side", "h_letter", "y_letter", "eliminate", "solve", "checks"]


def h_letter(k: int, src: str, lab: str) -> sp.Symbol:
    """``h^{(k),s}_i``: entry i of right side ``s`` after k elimination steps."""
    return sp.Symbol(f"h^{{({k}),{src}}}_{{{lab}}}", commutative=False)


def y_letter(src: str, lab: str) -> sp.Symbol:
    """``y^{s}_i``: unknown i of the solution for right side ``s`` (back-substituted)."""
    return sp.Symbol(f"y^{{{src}}}_{{{lab}}}", commutative=False)


@dataclass
class Side:
    """One right side ``s`` eliminated and back-substituted; every entry a letter (or 0)."""

    src: str
    given: list  # the right side as given (word polynomials, original row order)
    h: list  # h[k]: the right side at step k after its row swap (letters or {})
    x: list  # the solution, unknown order (letters or {})
    nxt: list = field(default_factory=list)  # nxt[k]: the right side after step k's update, before the next swap
    made: list = field(default_factory=list)  # made[k]: the h letters defined at step k
    defs: dict = field(default_factory=dict)


@dataclass
class Elimination:
    """The matrix part of the elimination; ``sides`` the right sides solved with it."""

    n: int
    labels: list
    A: list  # A[k]: the system at step k after its row swap (polys; rows/cols >= k used)
    Q: list  # Q[k]: the pivot's inverse (a letter poly, or a number)
    pivot: list  # pivot[k]: the position swapped with k
    nxt: list  # the system of step k+1 before its swap, k = 0..n-2
    defs: dict = field(default_factory=dict)  # U letter -> definition
    order: list = field(default_factory=list)
    made: list = field(default_factory=list)  # made[k]: the U letters defined at step k
    sides: list = field(default_factory=list)


def eliminate(alg: FreeAlgebra, A: list, labels: list) -> Elimination:
    """The matrix part: pivots, formal inverses and named Schur blocks (module text)."""
    n = len(A)
    A = [row[:] for row in A]
    rows = list(range(n))
    el = Elimination(n, list(labels), [], [], [], [], made=[[] for _ in range(n)])
    for k in range(n):
        if k:  # the system of step k before its swap (step k - 1's update)
            el.nxt.append([row[:] for row in A])
        p = next((i for i in range(k, n) if A[i][k]), None)
        if p is None:
            raise ValueError("the reduced first-moment system is singular in the free algebra "
                             "(a block column vanishes)")
        A[k], A[p], rows[k], rows[p] = A[p], A[k], rows[p], rows[k]
        Qk = alg.inverse_poly(from_poly(A[k][k]))
        el.A.append([row[:] for row in A])
        el.Q.append(Qk)
        el.pivot.append(p)
        new = [row[:] for row in A]
        for i in range(k + 1, n):
            new[i][k] = {}
            if not A[i][k]:
                continue
            L = alg.reduce_poly(pmul(A[i][k], Qk))
            for j in range(k + 1, n):
                val = alg.reduce_poly(padd(A[i][j], pmul(L, A[k][j]), signs=(1, -1)))
                new[i][j] = {}
                if val:
                    U = u_letter(k + 1, labels[rows[i]], labels[j])
                    el.defs[U], new[i][j] = val, letter(U)
                    el.order.append(U)
                    el.made[k].append(U)
                    alg.define_letter(U, val)
        A = new
    return el


def _define(alg: FreeAlgebra, side: Side, sym: sp.Symbol, poly: dict) -> dict:
    """Name ``poly`` (0 stays 0) and return the letter's polynomial."""
    if not poly:
        return {}
    side.defs[sym] = poly
    alg.define_letter(sym, poly)
    return letter(sym)


def solve(alg: FreeAlgebra, el: Elimination, rhs: list, src: str) -> Side:
    """Eliminate and back-substitute the right side ``rhs`` (source ``src``), naming every entry."""
    n, lab = el.n, el.labels
    side = Side(src, list(rhs), [], [])
    rows = list(range(n))
    h = [_define(alg, side, h_letter(0, src, lab[u]), alg.reduce_poly(rhs[u])) for u in range(n)]
    for k in range(n):
        p = el.pivot[k]
        h[k], h[p], rows[k], rows[p] = h[p], h[k], rows[p], rows[k]
        side.h.append(h[:])
        A, made = el.A[k], []
        for i in range(k + 1, n):
            if A[i][k] and h[k]:
                h[i] = _define(alg, side, h_letter(k + 1, src, lab[rows[i]]),
                               alg.reduce_poly(padd(h[i], pmul(A[i][k], el.Q[k], h[k]), signs=(1, -1))))
                made += [L for w in h[i] for L in w]
        side.nxt.append(h[:])
        side.made.append(made)
    x: list = [{} for _ in range(n)]
    for k in range(n - 1, -1, -1):
        A, hk = el.A[k], side.h[k]
        later = [j for j in range(k + 1, n) if A[k][j] and x[j]]
        rest = padd(hk[k], *[pmul(A[k][j], x[j]) for j in later], signs=[1] + [-1] * len(later))
        x[k] = _define(alg, side, y_letter(src, lab[k]), alg.reduce_poly(pmul(el.Q[k], rest)))
    side.x = x
    el.sides.append(side)
    return side


def _row(row: list, cols, xs: list) -> dict:
    return padd(*[pmul(row[j], xs[j]) for j in cols if row[j] and xs[j]])


def _one_level(poly: dict, defs: dict) -> dict:
    return psubs(poly, {s: d for s, d in defs.items() if any(s in w for w in poly)})


def checks(alg: FreeAlgebra, el: Elimination) -> list[tuple[str, dict]]:
    """(label, residual) of every local identity of the module text (each must reduce to 0)."""
    n, out = el.n, []
    xs = [letter(sp.Symbol(f"x_{k}", commutative=False)) for k in range(n)]
    for k in range(n - 1):
        A, A1 = el.A[k], el.nxt[k]
        expand = {U: el.defs[U] for U in el.made[k]}
        for i in range(k + 1, n):
            if not A[i][k]:
                continue  # row i is carried over unchanged
            res = padd(_row(A[i], range(k, n), xs), psubs(_row(A1[i], range(k + 1, n), xs), expand),
                       pmul(A[i][k], el.Q[k], _row(A[k], range(k, n), xs)), signs=(1, -1, -1))
            out.append((f"elimination step {k + 1}: row {i + 1} = its update + multiple of the pivot row",
                        alg.reduce_poly(res)))
    for k in range(1, n):  # step k's system is step k-1's update with rows k and pivot[k] swapped
        p = el.pivot[k]
        swapped = [el.nxt[k - 1][{k: p, p: k}.get(i, i)] for i in range(n)]
        worst: dict = {}
        for i in range(k, n):
            for j in range(k, n):
                worst = worst or padd(el.A[k][i][j], swapped[i][j], signs=(1, -1))
        for side in el.sides:
            for i in range(k, n):
                worst = worst or padd(side.h[k][i], side.nxt[k - 1][{k: p, p: k}.get(i, i)], signs=(1, -1))
        out.append((f"elimination step {k + 1}: the system is step {k}'s update with rows {k + 1} and {p + 1} "
                    "swapped", worst))
    for side in el.sides:
        s = side.src
        for u in range(n):  # (a) the h^(0) letters name the given right side (original order)
            L = h_letter(0, s, el.labels[u])
            out.append((f"right side {s}: h^(0)_{el.labels[u]} is entry {u + 1} of the given right side",
                        alg.reduce_poly(padd(side.defs.get(L, {}), side.given[u], signs=(1, -1)))))
        for k in range(n - 1):
            A, h, h1 = el.A[k], side.h[k], side.nxt[k]
            expand = {L: side.defs[L] for L in side.made[k]}
            for i in range(k + 1, n):
                if not A[i][k]:
                    continue  # the entry is carried over unchanged
                # (b) the right side's part of row i (the matrix part is checked above)
                res = padd(h[i], psubs(h1[i], expand), pmul(A[i][k], el.Q[k], h[k]), signs=(1, -1, -1))
                out.append((f"elimination step {k + 1}, right side {s}: row {i + 1} = its update + multiple of "
                            "the pivot row", alg.reduce_poly(res)))
        for k in range(n):  # (c) the pivot row of step k at the back-substituted unknowns
            A, h = el.A[k], side.h[k]
            xk = list(side.x)
            xk[k] = _one_level(side.x[k], side.defs)
            res = padd(_row(A[k], range(k, n), xk), h[k], signs=(1, -1))
            out.append((f"back substitution {k + 1}, right side {s}: y_{el.labels[k]} solves the pivot row",
                        alg.reduce_poly(res)))
    return out
