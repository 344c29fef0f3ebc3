"""The random-protocol compiler (R1-R4, a package extension of P1): who speaks next is drawn.

From a :class:`~theory.protocol.random_description.RandomSpec` the compiler

1. derives each alternative's round map ``z <- Phi_k z + psi_k`` with the deterministic compiler's
   composition (:func:`theory.protocol.round_map.compose_poly`) and the noise ``N_k`` it injects
   (:func:`theory.protocol.noise.noise_poly`);
2. the first moment: independent draws ``mu = E[Phi] mu + E[psi]`` with ``E[Phi] = sum_k p_k Phi_k``,
   solved by the block elimination of the deterministic compiler (formal inverses in the free
   algebra, :func:`theory.protocol.fixed_point.eliminate`); for a Markov chain the conditional first
   moments ``q_l = E[z 1{next alternative = l}]``, ``q_l = sum_j P[j,l] (Phi_j q_j + pi_j psi_j)``, and
   ``mu = sum_l q_l`` (Costa, Fragoso and Marques 2005, ch. 3), reduced exactly by the scalar blocks
   to the messages written in each alternative (:mod:`theory.protocol.random_markov`), then expanded
   when an elimination order settles it, else solved with named Schur blocks (each defined and
   displayed, the right sides and back substitution too: size linear in the steps); past
   ``random_markov.MAX_UNKNOWNS`` written messages left to their equations;
3. each agent's mean residual ``mu_i - w_i*`` in the gaps ``w_j* - w_i*``;
4. the second moment as a generalised Stein equation: independent draws, for the covariance ``C``,
   ``C = sum_k p_k (Phi_k C Phi_k^T + d_k d_k^T + N_k)`` with ``d_k = Phi_k mu + psi_k - mu`` (how far
   alternative k moves the mean); Markov, the conditional second moments
   ``Q_l = sum_j P[j,l] (Phi_j Q_j Phi_j^T + Phi_j q_j psi_j^T + psi_j q_j^T Phi_j^T + pi_j (psi_j psi_j^T + N_j))``;
5. the mean-square condition ``rho(sum_k p_k Phi_k (x) Phi_k) < 1`` (Markov: the block operator with
   blocks ``P[j,l] Phi_j (x) Phi_j``), evaluated numerically by :mod:`theory.protocol.random_evaluation`.

Every derived identity is checked in the free algebra by :func:`theory.protocol.random_checks.verify`
before it is printed. Hypotheses: the pivots of the elimination invertible (implied by
``rho(E[Phi]) < 1``); the chain irreducible.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from theory.core.algebra import P_ONE, FreeAlgebra, TooLarge, letter, padd, pmul, pscale
from theory.protocol import random_markov
from theory.protocol.description import Spec
from theory.protocol.fixed_point import EXPANDED_MAX_WORDS, eliminate
from theory.protocol.noise import noise_poly
from theory.protocol.random_description import RandomSpec, stationary_law
from theory.protocol.residuals import gap_poly, split_gaps
from theory.protocol.round_map import compose_poly, live
from theory.protocol.symbols import cov_block, ptranspose

__all__ = ["RandomCompiled", "compile_random", "mean_letter", "cond_letter", "cond_cov_letter"]


def mean_letter(name: str) -> sp.Symbol:
    """``mu_i``: agent i's stationary mean (an opaque letter in the second-moment equations)."""
    return sp.Symbol(f"mu_{name}", commutative=False)


def cond_letter(label_index: int, name: str) -> sp.Symbol:
    """``q_{l,i}``: block i of the conditional first moment of alternative l (Markov)."""
    return sp.Symbol(f"q_{{{label_index + 1},{name}}}", commutative=False)


def cond_cov_letter(label_index: int, a: str, b: str) -> sp.Symbol:
    """``Q_{l,a,b}``: block (a, b) of the conditional second moment of alternative l (Markov)."""
    return sp.Symbol(f"Q_{{{label_index + 1},{a},{b}}}", commutative=False)


@dataclass
class RandomCompiled:
    """What :func:`compile_random` derives (word polynomials; see the module text for each formula)."""

    rspec: RandomSpec
    alg: FreeAlgebra
    Phi: list  # per alternative: K x K blocks
    psi: list  # per alternative: K blocks
    noise: list  # per alternative: K x K blocks N_k (empty dicts without noisy agents)
    law: tuple  # stationary law of the drawn alternative (p, or pi of the chain)
    mean_map: list  # independent: E[Phi] (K x K); Markov: the block operator (nK x nK)
    mean_offset: list  # E[psi] (K), Markov: sum_j P[j,l] pi_j psi_j (nK)
    live: tuple
    mean: Any  # list: mu_i per agent (None: too large to expand)
    cond_mean: Any  # list or None (also with named blocks); Markov: per alternative l, K blocks q_l
    residual_self: list
    residual_gaps: list
    deviation: list  # per alternative: K blocks d_k = Phi_k mu + psi_k - mu (mu letters)
    second_moment: dict  # independent: (a, b) -> rhs of C = ...; Markov: (l, a, b) -> rhs of Q_l = ...
    seconds: float  # compile_random's wall time (no default: only compile_random builds a RandomCompiled)
    notes: list = field(default_factory=list)
    named: Any = None  # Markov mean derived with named Schur blocks: the random_markov.MarkovMean

    @property
    def names(self) -> tuple[str, ...]:
        return self.rspec.names


def _scaled_sum(mats: list, coeffs) -> list:
    K = len(mats[0])
    return [[padd(*[pscale(m[a][b], c) for m, c in zip(mats, coeffs) if m[a][b]]) for b in range(K)]
            for a in range(K)]


def compile_random(rs: RandomSpec, derive_mean: bool = True) -> RandomCompiled:
    """Derive the first and second moments of a random protocol (see the module text).

    ``derive_mean=False`` stops after the maps and the moment equations (no elimination): for
    callers that substitute a known candidate mean into the first-moment equation (R2)."""
    t0 = time.perf_counter()
    K, n = rs.K, rs.n
    maps = [compose_poly(Spec(rs.names, alt.phases)) for alt in rs.alternatives]
    Phi = [m[0] for m in maps]
    psi = [m[1] for m in maps]
    noise = [noise_poly(Spec(rs.names, alt.phases)) if rs.noisy else [[{} for _ in range(K)] for _ in range(K)]
             for alt in rs.alternatives]
    if rs.noisy:  # only the noisy agents' S_i stay
        keep = {f"S_{x}" for x in rs.noisy}
        noise = [[[{w: c for w, c in e.items() if all(not str(x).startswith("S_") or str(x) in keep for x in w)}
                   for e in row] for row in N] for N in noise]
    law = stationary_law(rs)
    alg = FreeAlgebra(max_words=EXPANDED_MAX_WORDS)  # replaced by the solving algebra when the mean is derived
    notes: list = []
    mean = cond = named = parts = None
    if not rs.is_markov:
        Ebar = _scaled_sum(Phi, law)
        ebar = [padd(*[pscale(v[a], p) for v, p in zip(psi, law) if v[a]]) for a in range(K)]
        R = live(Ebar)
        mean_map, mean_offset = Ebar, ebar
        sol = _solve(Ebar, ebar) if derive_mean else None
        if sol is None and derive_mean:
            notes.append("the stationary mean: no elimination order gave a form that reduces to 0 "
                         f"(or it exceeds {EXPANDED_MAX_WORDS} words): given by its equation")
        elif sol is not None:
            alg, mean = sol
    else:
        P = rs.P
        # unknown (l, a) = block a of q_l; q_l = sum_j P[j,l] (Phi_j q_j + pi_j psi_j)
        big = [[pscale(Phi[j][a][b], P[j][l]) if P[j][l] != 0 else {} for j in range(n) for b in range(K)]
               for l in range(n) for a in range(K)]
        rhs = [padd(*[pscale(psi[j][a], P[j][l] * law[j]) for j in range(n) if P[j][l] != 0 and psi[j][a]])
               for l in range(n) for a in range(K)]
        R = live(big)
        mean_map, mean_offset = big, rhs
        if derive_mean:
            try:
                alg, cond, mean, named, parts = _markov_mean(rs, Phi, big, rhs)
                if named is not None:
                    notes.append("the conditional first moments are solved through the messages written in each "
                                 "alternative (unknown 2B: the message B writes in alternative 2) by block "
                                 "elimination with named blocks, each defined above from earlier ones: Schur "
                                 "blocks U, eliminated right sides h, back-substituted messages y (superscript: "
                                 "the target), and G_(i,j), the weight of w_j* in the mean of i")
            except (TooLarge, ValueError) as exc:  # a pivot or I - S singular in the free algebra, or too large
                notes.append(f"the conditional first moments: given by their equations ({exc})")
    res_self: list = []
    res_gaps: list = []
    if parts is not None:
        res_self, res_gaps = parts
    elif mean is not None:
        res_self, res_gaps = _residuals(alg, mean, rs.names)
    mu = [letter(mean_letter(x)) for x in rs.names]
    deviation = [[padd(*[pmul(Phi[k][a][b], mu[b]) for b in range(K) if Phi[k][a][b]], psi[k][a], mu[a],
                       signs=[1] * sum(1 for b in range(K) if Phi[k][a][b]) + [1, -1]) for a in range(K)]
                 for k in range(n)]
    second = second_moment_equations(rs, Phi, psi, noise, law, deviation)
    return RandomCompiled(rs, alg, Phi, psi, noise, law, mean_map, mean_offset, R, mean, cond, res_self, res_gaps,
                          deviation, second, time.perf_counter() - t0, notes, named)


def _residuals(alg: FreeAlgebra, mean: list, names) -> tuple[list, list]:
    """Each agent's mean residual ``mu_i - w_i*`` in the gaps: ``(res_self, res_gaps)``."""
    res_self, res_gaps = [], []
    for i in range(len(names)):
        D, G = split_gaps(alg.reduce_poly(gap_poly(mean[i], names, i)), names, i)
        res_self.append(D)
        res_gaps.append(G)
    return res_self, res_gaps


def _markov_mean(rs: RandomSpec, Phi: list, big: list, rhs: list):
    """The conditional first moments ``(alg, cond, mean, named, (res_self, res_gaps) or None)``: the system
    reduced to the written messages by the exact scalar blocks (:mod:`theory.protocol.random_markov`), by
    expanded elimination, else with named Schur blocks (``named`` set); TooLarge past
    ``random_markov.MAX_UNKNOWNS`` written messages."""
    K, n = rs.K, rs.n
    mm = random_markov.reduce_system(Phi, rs.P, big)
    if len(mm.writers) > random_markov.MAX_UNKNOWNS:
        raise TooLarge(f"{len(mm.writers)} written messages to solve for (limit {random_markov.MAX_UNKNOWNS})")
    sol = (_solve(*random_markov.reduced(mm, rhs), orders=MARKOV_ORDERS)
           if len(mm.writers) <= random_markov.EXPANDED_UNKNOWNS else None)
    if sol is not None:
        alg, y = sol
        alg.max_words = random_markov.NAMED_MAX_WORDS  # the q_l, their sums and the residuals: past it, named
        try:
            q = [alg.reduce_poly(x) for x in random_markov.recover(mm, y, rhs)]
            cond = [[q[l * K + a] for a in range(K)] for l in range(n)]
            mean = [alg.reduce_poly(padd(*[cond[l][a] for l in range(n)])) for a in range(K)]
            return alg, cond, mean, None, _residuals(alg, mean, rs.names)
        except TooLarge:
            pass
    alg = FreeAlgebra(max_words=random_markov.NAMED_MAX_WORDS)
    mean, res_self, res_gaps, mm = random_markov.derive(alg, rs.names, Phi, rs.P, big, rhs, stationary_law(rs))
    return alg, None, mean, mm, (res_self, res_gaps)  # the q_l are not expanded one by one (only their sums)


# Elimination orders tried for the first moments: the rewriting of nested formal inverses is not
# confluent, so one order can leave an identity unreduced where another settles it (each try is cheap).
MAX_ORDERS = 6


# The Markov reduced system (random_markov) tries fewer orders before its named path: the gallery's
# group chat settles in the first order, and each failed order on a dense chain cost seconds (measured).
MARKOV_ORDERS = 2


def _orders(R: tuple, limit: int = MAX_ORDERS) -> list:
    out = [tuple(R), tuple(reversed(R))]
    out += [tuple(R[k:] + R[:k]) for k in range(1, len(R))]
    seen: list = []
    for o in out:
        if o not in seen:
            seen.append(o)
    return seen[:limit]


def _solve(Amap: list, rhs: list, orders: int = MAX_ORDERS):
    """``x = Amap x + rhs`` by block elimination over the live columns, in the first order whose
    solution substituted back reduces to 0 in its algebra; ``(alg, x)`` or None."""
    R = live(Amap)
    m = len(Amap)
    for order in _orders(R, orders):
        alg = FreeAlgebra(max_words=EXPANDED_MAX_WORDS)
        try:
            A = [[padd(dict(P_ONE) if u == v else {}, Amap[u][v], signs=(1, -1)) for v in order] for u in order]
            xR = eliminate(alg, A, [rhs[u] for u in order])
            x: list = [None] * m
            for k, u in enumerate(order):
                x[u] = xR[k]
            for u in range(m):
                if x[u] is None:
                    x[u] = alg.reduce_poly(padd(*[pmul(Amap[u][v], x[v]) for v in R], rhs[u]))
            ok = all(not alg.reduce_poly(padd(x[u], *[pmul(Amap[u][v], x[v]) for v in range(m) if Amap[u][v]],
                                              rhs[u], signs=[1] + [-1] * (sum(1 for v in range(m) if Amap[u][v]) + 1)))
                     for u in range(m))
        except (TooLarge, ValueError):
            continue
        if ok:
            return alg, x
    return None


def sandwich(Phi: list, X, a: int, b: int) -> dict:
    """``(Phi X Phi^T)_ab = sum_{c,e} Phi_ac X_ce Phi_be^T`` with ``X(c, e)`` a word polynomial."""
    K = len(Phi)
    return padd(*[pmul(Phi[a][c], X(c, e), ptranspose(Phi[b][e]))
                  for c in range(K) for e in range(K) if Phi[a][c] and Phi[b][e]])


def second_moment_equations(rs: RandomSpec, Phi, psi, noise, law, deviation) -> dict:
    """The right sides of the generalised Stein equation (see the module text), as word polynomials."""
    K, n, nm = rs.K, rs.n, rs.names
    out: dict = {}
    if not rs.is_markov:
        C = lambda c, e: letter(cov_block(nm[c], nm[e]))  # noqa: E731
        for a in range(K):
            for b in range(K):
                terms = []
                for k in range(n):
                    part = padd(sandwich(Phi[k], C, a, b), pmul(deviation[k][a], ptranspose(deviation[k][b])),
                                noise[k][a][b])
                    terms.append(pscale(part, law[k]))
                out[(a, b)] = padd(*terms)
        return out
    P = rs.P
    for l in range(n):
        for a in range(K):
            for b in range(K):
                terms = []
                for j in range(n):
                    if P[j][l] == 0:
                        continue
                    Q = lambda c, e, j=j: letter(cond_cov_letter(j, nm[c], nm[e]))  # noqa: E731
                    q = [letter(cond_letter(j, x)) for x in nm]
                    Pq = [padd(*[pmul(Phi[j][x][y], q[y]) for y in range(K) if Phi[j][x][y]]) for x in range(K)]
                    part = padd(sandwich(Phi[j], Q, a, b), pmul(Pq[a], ptranspose(psi[j][b])),
                                pmul(psi[j][a], ptranspose(Pq[b])),
                                pscale(padd(pmul(psi[j][a], ptranspose(psi[j][b])), noise[j][a][b]), law[j]))
                    terms.append(pscale(part, P[j][l]))
                out[(l, a, b)] = padd(*terms)
    return out
