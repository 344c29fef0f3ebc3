"""The stationary covariance of noisy agents (P1, re-deriving C15).

Agent i adds independent noise ``eta`` of covariance ``S_i`` to each message it emits; a message
emitted in phase p reaches the end of the round through ``T_p = Phi_P ... Phi_{p+1}``, so one round
injects ``Q = sum_p sum_{i in S_p} T_p[:, i] S_i T_p[:, i]^T`` and the deviation from the fixed
point obeys ``x <- Phi x + noise``. The stationary covariance of the live agents solves the
Lyapunov equation ``V_RR = Phi_RR V_RR Phi_RR^T + Q_RR``.
"""
from __future__ import annotations

import sympy as sp

from theory.core.algebra import FreeAlgebra, from_poly, letter, padd, pmul, to_poly
from theory.protocol.description import Spec
from theory.protocol.round_map import matmul, phase_map, phase_tails
from theory.protocol.symbols import (
    ONE,
    cov_block,
    noise_cov,
    phi_letter,
    ptranspose,
    transpose,
    transpose_letter,
)


def noise_injection(s: Spec) -> list:
    """``Q`` (K x K blocks): covariance one round adds, from noise ``eta`` (cov ``S_i``) on every message emitted."""
    K, idx = s.K, {n: k for k, n in enumerate(s.names)}
    maps = [phase_map(s, ph)[0] for ph in s.phases]
    Q = [[sp.Integer(0)] * K for _ in range(K)]
    for p, phase in enumerate(s.phases):
        tail = [[ONE if i == j else sp.Integer(0) for j in range(K)] for i in range(K)]
        for Pq in maps[p + 1:]:
            tail = matmul(Pq, tail)
        for listener, _ in phase:
            col = [tail[a][idx[listener]] for a in range(K)]
            S = noise_cov(listener)
            for a in range(K):
                for b in range(K):
                    if col[a] != 0 and col[b] != 0:
                        Q[a][b] = sp.expand(Q[a][b] + col[a] * S * transpose(col[b]))
    return Q


def noise_poly(s: Spec) -> list:
    """:func:`noise_injection` as word polynomials (no SymPy expansion: for dense protocols)."""
    K, idx = s.K, {n: k for k, n in enumerate(s.names)}
    Q: list[list[dict]] = [[{} for _ in range(K)] for _ in range(K)]
    for phase, tail in zip(s.phases, phase_tails(s)):
        for listener, _ in phase:
            col = [tail[a][idx[listener]] for a in range(K)]
            S = letter(noise_cov(listener))
            for a in range(K):
                for b in range(K):
                    if col[a] and col[b]:
                        Q[a][b] = padd(Q[a][b], pmul(col[a], S, ptranspose(col[b])))
    return Q


def lyapunov(names, Phi: list, R: tuple, Q: list) -> dict:
    """``{(a, b): (Phi_RR V_RR Phi_RR^T + Q_RR)_ab}`` for a, b in R (``Phi`` word polynomials, ``Q`` SymPy)."""
    PhiT = {(b, l): ptranspose(Phi[b][l]) for b in R for l in R}
    out = {}
    for a in R:
        for b in R:
            rhs = padd(*[pmul(Phi[a][k], letter(cov_block(names[k], names[l])), PhiT[(b, l)])
                         for k in R for l in R if Phi[a][k] and Phi[b][l]], to_poly(Q[a][b]))
            out[(a, b)] = from_poly(rhs)
    return out


def named_lyapunov(alg: FreeAlgebra, names, Phi: list, R: tuple, Q: list) -> dict:
    """:func:`lyapunov` in the named letters ``Phi_{a,b}`` (theory.protocol.schur) and ``N_{a,b}``
    (block (a, b) of ``Q``, a word polynomial, defined in ``alg``)."""
    out = {}
    for a in R:
        for b in R:
            terms = [pmul(letter(phi_letter(names[a], names[k])), letter(cov_block(names[k], names[l])),
                          letter(transpose_letter(phi_letter(names[b], names[l]))))
                     for k in R for l in R if Phi[a][k] and Phi[b][l]]
            if Q[a][b]:
                N = sp.Symbol(f"N_{{{names[a]},{names[b]}}}", commutative=False)
                alg.define_letter(N, Q[a][b])
                terms.append(letter(N))
            out[(a, b)] = from_poly(padd(*terms))
    return out
