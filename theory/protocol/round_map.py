"""The round map of a protocol (P1): ``z <- Phi z + r`` for the joint state ``z = (m_1, ..., m_K)``.

Phase p replaces block row i (i in ``S_p``) by ``M_i sum_j W_ij (row j)`` and adds ``c_i``, so
``Phi_p`` is the identity outside those rows and a round is ``Phi = Phi_P ... Phi_1``,
``r = sum_p Phi_P ... Phi_{p+1} r_p``. The live agents R are the nonzero block columns of ``Phi``
(messages read before they are overwritten): ``rho(Phi) = rho(Phi_RR)``.

Block matrices are lists of lists of word polynomials (theory.core.algebra), or of SymPy
expressions for the ``*_map``/``compose``/``matmul`` forms.
"""
from __future__ import annotations

from theory.core.algebra import P_ONE, from_poly, letter, padd, pmul, pscale, to_poly
from theory.protocol.description import Spec
from theory.protocol.symbols import M, c_poly


def identity(K: int) -> list:
    """The K x K block identity (word polynomials)."""
    return [[dict(P_ONE) if i == j else {} for j in range(K)] for i in range(K)]


def pmatmul(A, B):
    """Block product of word-polynomial block matrices."""
    n, m, k = len(A), len(B[0]), len(B)
    return [[padd(*[pmul(A[i][l], B[l][j]) for l in range(k) if A[i][l] and B[l][j]]) for j in range(m)]
            for i in range(n)]


def pmatvec(A, v):
    """Block matrix times block vector (word polynomials)."""
    return [padd(*[pmul(A[i][l], v[l]) for l in range(len(v)) if A[i][l] and v[l]]) for i in range(len(A))]


def matmul(A, B):
    """Block product of SymPy entries (through word polynomials)."""
    P_ = pmatmul([[to_poly(x) for x in row] for row in A], [[to_poly(x) for x in row] for row in B])
    return [[from_poly(x) for x in row] for row in P_]


def _no_offsets(K: int) -> list[dict]:
    """``r = 0``: one empty word polynomial per agent."""
    return [{} for _ in range(K)]


def phase_poly(s: Spec, phase) -> tuple[list, list]:
    """``Phi_p`` (K x K word polynomials) and ``r_p`` of one phase (P1)."""
    K, idx = s.K, {n: k for k, n in enumerate(s.names)}
    Phi, r = identity(K), _no_offsets(K)
    for listener, row in phase:
        i = idx[listener]
        Phi[i] = [{} for _ in range(K)]
        for src, wt in row:
            Phi[i][idx[src]] = padd(Phi[i][idx[src]], pscale(letter(M(listener)), wt))
        r[i] = c_poly(listener)
    return Phi, r


def compose_poly(s: Spec) -> tuple[list, list]:
    """``Phi = Phi_P ... Phi_1`` and ``r`` of one round, composing the phase maps."""
    Phi, r = identity(s.K), _no_offsets(s.K)
    for phase in s.phases:
        Pp, rp = phase_poly(s, phase)
        Phi = pmatmul(Pp, Phi)
        r = [padd(a, b) for a, b in zip(pmatvec(Pp, r), rp)]
    return Phi, r


def phase_map(s: Spec, phase) -> tuple[list, list]:
    """``Phi_p`` and ``r_p`` as SymPy expressions."""
    Phi, r = phase_poly(s, phase)
    return [[from_poly(x) for x in row] for row in Phi], [from_poly(x) for x in r]


def compose(s: Spec) -> tuple[list, list]:
    """``Phi`` and ``r`` of one round as SymPy expressions."""
    Phi, r = compose_poly(s)
    return [[from_poly(x) for x in row] for row in Phi], [from_poly(x) for x in r]


def phase_tails(s: Spec) -> list:
    """Per phase p, the word-polynomial product ``Phi_P ... Phi_{p+1}`` of the maps of the phases
    after p (how a message emitted in phase p reaches the end of the round)."""
    maps = [phase_poly(s, ph)[0] for ph in s.phases]
    tails = []
    for p in range(len(s.phases)):
        tail = identity(s.K)
        for Pq in maps[p + 1:]:
            tail = pmatmul(Pq, tail)
        tails.append(tail)
    return tails


def live(Phi) -> tuple[int, ...]:
    """Indices of the nonzero block columns of Phi (the live agents R)."""
    K = len(Phi)
    return tuple(j for j in range(K) if any((Phi[i][j] if isinstance(Phi[i][j], dict) else Phi[i][j] != 0)
                                            for i in range(K)))
