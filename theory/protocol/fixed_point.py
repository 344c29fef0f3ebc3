"""The fixed point and residuals by expanded block elimination (P1-P4).

Only the live agents R enter: ``(I - Phi_RR) z_R* = r_R`` is solved by Gaussian elimination in
the free algebra, each pivot becoming a formal inverse ``Q_k`` with its defining rewrite rules
(theory.core.algebra; hypothesis: the pivot is invertible), then ``z_o* = Phi_oR z_R* + r_o`` for
the other agents, and each residual ``e_i = z_i* - w_i*`` is written in the gaps
(theory.protocol.residuals). Every entry is expanded: past EXPANDED_MAX_WORDS words the compiler
switches to named Schur blocks (theory.protocol.schur).
"""
from __future__ import annotations

from theory.core.algebra import P_ONE, FreeAlgebra, padd, pmul
from theory.protocol.description import Spec
from theory.protocol.residuals import gap_poly, split_gaps

# The expanded elimination is kept while every reduced polynomial stays under this many words
# (the gallery and the re-derived claims stay under 40); past it, the fixed point is derived with
# named Schur blocks instead (theory.protocol.schur), whose proofs are small local identities.
EXPANDED_MAX_WORDS = 300


def eliminate(alg: FreeAlgebra, A: list, b: list) -> list:
    """Solve ``A z = b`` (word polynomials) by Gaussian elimination; pivots become formal inverses."""
    n = len(A)
    A = [row[:] for row in A]
    b = b[:]
    pivots = []
    for k in range(n):
        p = next((i for i in range(k, n) if A[i][k]), None)
        if p is None:
            raise ValueError("the protocol's I - Phi is singular in the free algebra (a block column vanishes)")
        A[k], A[p], b[k], b[p] = A[p], A[k], b[p], b[k]
        Qp = alg.inverse_poly(A[k][k])
        pivots.append(Qp)
        for i in range(k + 1, n):
            if not A[i][k]:
                continue
            L = alg.reduce_poly(pmul(A[i][k], Qp))
            A[i] = [alg.reduce_poly(padd(A[i][j], pmul(L, A[k][j]), signs=(1, -1))) for j in range(n)]
            b[i] = alg.reduce_poly(padd(b[i], pmul(L, b[k]), signs=(1, -1)))
    z: list = [None] * n  # back substitution: z[k] from z[k+1:]
    for k in range(n - 1, -1, -1):
        rest = padd(b[k], *[pmul(A[k][j], z[j]) for j in range(k + 1, n)], signs=[1] + [-1] * (n - k - 1))
        z[k] = alg.reduce_poly(pmul(pivots[k], rest))
    return z


def expanded(alg: FreeAlgebra, s: Spec, Phi: list, r: list, R: tuple) -> tuple[list, list, list]:
    """``(z, residual_self, residual_gaps)`` (word polynomials) by the expanded elimination;
    TooLarge past ``alg.max_words``."""
    A = [[padd(dict(P_ONE) if a == b else {}, Phi[a][b], signs=(1, -1)) for b in R] for a in R]
    zR = eliminate(alg, A, [r[a] for a in R])
    z: list = [None] * s.K  # the live agents' first, then the others' from them
    for k, a in enumerate(R):
        z[a] = zR[k]
    for o in range(s.K):
        if z[o] is None:
            z[o] = alg.reduce_poly(padd(*[pmul(Phi[o][a], z[a]) for a in R], r[o]))
    res_self, res_gaps = [], []
    for i in range(s.K):
        D, G = split_gaps(alg.reduce_poly(gap_poly(z[i], s.names, i)), s.names, i)
        res_self.append(D)
        res_gaps.append(G)
    return z, res_self, res_gaps
