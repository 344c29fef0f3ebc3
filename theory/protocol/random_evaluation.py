"""Numeric values of a derived random protocol (R1-R4): the derived maps evaluated, then the moments.

With ``Phi_k``, ``psi_k``, ``N_k`` (the compiler's word polynomials evaluated at the agents' ``M_i``,
``w_i*``, ``S_i``):

- ``mean_rate = rho(sum_k p_k Phi_k)`` (Markov: of the block operator ``[P[j,l] Phi_j]_{l,j}``);
- ``contraction_rate = rho(sum_k p_k Phi_k (x) Phi_k)^{1/2}`` (Markov: blocks ``P[j,l] Phi_j (x) Phi_j``),
  the mean-square rate per round (Costa, Fragoso and Marques 2005, Theorem 3.9);
- the stationary mean, and the covariance from the generalised Stein equation solved densely
  (Kronecker; the sizes here are at most a few hundred unknowns).

The symbolic stationary mean can be evaluated too (:func:`derived_mean`), to tie the numbers to the
derived object. Hypotheses: ``contraction_rate < 1`` for the covariance, ``mean_rate < 1`` for the mean.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from theory.core.algebra import from_poly
from theory.protocol.random_compiler import RandomCompiled
from theory.protocol.symbols import M, noise_cov, w_star

__all__ = ["Numeric", "RandomMoments", "numeric", "moments", "derived_mean", "spectral_radius", "stein_residual"]


@dataclass(frozen=True)
class Numeric:
    """The derived maps evaluated: ``Phi`` (n, Kd, Kd), ``psi`` (n, Kd), ``N`` (n, Kd, Kd), ``law`` (n),
    ``P`` (n, n) or None."""

    Phi: np.ndarray
    psi: np.ndarray
    N: np.ndarray
    law: np.ndarray
    P: np.ndarray | None
    d: int


@dataclass(frozen=True)
class RandomMoments:
    mean_rate: float
    contraction_rate: float
    mean: np.ndarray | None  # (K d,) or None when the mean does not converge
    covariance: np.ndarray | None  # (K d, K d) or None when not mean-square stable
    converges: bool
    mean_converges: bool
    cond_mean: np.ndarray | None = None  # Markov: (n, K d) conditional first moments q_l
    cond_second: np.ndarray | None = None  # Markov: (n, K d, K d) conditional second moments Q_l


def spectral_radius(A: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(A)))) if A.size else 0.0


def _table(agents: dict, noise: dict | None) -> tuple[dict, int]:
    if not agents:
        raise ValueError("no agents: the derived maps are evaluated at the agents' M_i and w_i*")
    table = {}
    d = np.shape(next(iter(agents.values()))[0])[0]
    for k, (Mk, wk) in agents.items():
        Mk = np.asarray(Mk, dtype=float)
        if Mk.shape != (d, d) or np.size(wk) != d:
            raise ValueError(f"agent {k}: M_i of shape {Mk.shape} and w_i* of size {np.size(wk)}; every agent's M_i "
                             f"must be {d} x {d} and its w_i* of size {d} (the first agent's dimension)")
        table[M(k)] = Mk
        table[sp.Symbol(f"M_{k}^T", commutative=False)] = Mk.T
        table[w_star(k)] = np.asarray(wk, dtype=float).reshape(-1, 1)
        table[sp.Symbol(f"w^*_{k}^T", commutative=False)] = table[w_star(k)].T
    for k, S in (noise or {}).items():
        table[noise_cov(k)] = np.asarray(S, dtype=float)
    return table, d


def _poly(p: dict, table: dict, shape: tuple, scalars: dict) -> np.ndarray:
    out = np.zeros(shape)
    for w, c in p.items():
        val = np.eye(shape[0])
        for x in w:
            val = val @ table[x]
        cval = float(c) if not getattr(c, "free_symbols", None) else float(c.xreplace(scalars))
        out = out + cval * val  # a word of an offset ends in a w*_j (d x 1); of a map or noise, d x d
    return out


def numeric(rc: RandomCompiled, agents: dict, noise: dict | None = None, scalars: dict | None = None) -> Numeric:
    """The derived ``Phi_k``, ``psi_k``, ``N_k`` and the law at numbers. ``agents``: name -> (M_i, w_i*);
    ``noise``: name -> S_i; ``scalars``: symbol name -> value (probabilities ``p_1``, weights)."""
    table, d = _table(agents, noise)
    sc = {sp.Symbol(k, positive=True): v for k, v in (scalars or {}).items()}
    sc.update({sp.Symbol(k): v for k, v in (scalars or {}).items()})
    K, n = rc.rspec.K, rc.rspec.n
    Phi = np.zeros((n, K * d, K * d))
    psi = np.zeros((n, K * d))
    N = np.zeros((n, K * d, K * d))
    for k in range(n):
        for a in range(K):
            psi[k, a * d:(a + 1) * d] = _poly(rc.psi[k][a], table, (d, 1), sc)[:, 0]
            for b in range(K):
                Phi[k, a * d:(a + 1) * d, b * d:(b + 1) * d] = _poly(rc.Phi[k][a][b], table, (d, d), sc)
                if rc.noise[k][a][b]:
                    N[k, a * d:(a + 1) * d, b * d:(b + 1) * d] = _poly(rc.noise[k][a][b], table, (d, d), sc)
    law = np.array([float(sp.sympify(x).xreplace(sc)) for x in rc.law])
    P = None if not rc.rspec.is_markov else np.array([[float(sp.sympify(x).xreplace(sc)) for x in row]
                                                     for row in rc.rspec.P])
    return Numeric(Phi, psi, N, law, P, d)


def moments(nu: Numeric) -> RandomMoments:
    """Rates, stationary mean and covariance (module text) from the evaluated maps."""
    n, D = nu.Phi.shape[0], nu.Phi.shape[1]
    I = np.eye(D)
    if nu.P is None:
        Ebar = np.einsum("k,kij->ij", nu.law, nu.Phi)
        L = np.einsum("k,kij,kab->iajb", nu.law, nu.Phi, nu.Phi).reshape(D * D, D * D)
        mean_rate, ms = spectral_radius(Ebar), spectral_radius(L) ** 0.5
        mean = np.linalg.solve(I - Ebar, nu.law @ nu.psi) if mean_rate < 1 else None
        cov = None
        if ms < 1 and mean is not None:
            dev = nu.Phi @ mean + nu.psi - mean  # d_k
            rhs = np.einsum("k,ki,kj->ij", nu.law, dev, dev) + np.einsum("k,kij->ij", nu.law, nu.N)
            C = np.linalg.solve(np.eye(D * D) - L, rhs.reshape(-1)).reshape(D, D)
            cov = (C + C.T) / 2
        return RandomMoments(mean_rate, ms, mean, cov, ms < 1, mean_rate < 1)
    P, pi = nu.P, nu.law
    A = np.zeros((n * D, n * D))  # q_l = sum_j P[j,l] Phi_j q_j + ...
    B = np.zeros((n * D * D, n * D * D))
    for l in range(n):
        for j in range(n):
            A[l * D:(l + 1) * D, j * D:(j + 1) * D] = P[j, l] * nu.Phi[j]
            B[l * D * D:(l + 1) * D * D, j * D * D:(j + 1) * D * D] = P[j, l] * np.kron(nu.Phi[j], nu.Phi[j])
    mean_rate, ms = spectral_radius(A), spectral_radius(B) ** 0.5
    mean = cov = None
    if mean_rate < 1:
        b = np.concatenate([sum(P[j, l] * pi[j] * nu.psi[j] for j in range(n)) for l in range(n)])
        q = np.linalg.solve(np.eye(n * D) - A, b).reshape(n, D)
        mean = q.sum(axis=0)
        if ms < 1:
            rhs = []
            for l in range(n):
                acc = np.zeros((D, D))
                for j in range(n):
                    Pq = nu.Phi[j] @ q[j]
                    acc += P[j, l] * (np.outer(Pq, nu.psi[j]) + np.outer(nu.psi[j], Pq)
                                      + pi[j] * (np.outer(nu.psi[j], nu.psi[j]) + nu.N[j]))
                rhs.append(acc.ravel())
            Q = np.linalg.solve(np.eye(n * D * D) - B, np.concatenate(rhs)).reshape(n, D, D)
            C = Q.sum(axis=0) - np.outer(mean, mean)
            cov = (C + C.T) / 2
            return RandomMoments(mean_rate, ms, mean, cov, True, True, q, Q)
        return RandomMoments(mean_rate, ms, mean, cov, False, True, q)  # ms >= 1 here
    # mean_rate >= 1 here, and mean-square stability implies mean stability (ms >= mean_rate, Costa, Fragoso
    # and Marques 2005): neither converges (a rounded ms just below 1 must not say otherwise)
    return RandomMoments(mean_rate, ms, mean, cov, False, False)


def stein_residual(rc: RandomCompiled, agents: dict, noise: dict | None = None) -> float:
    """Markov: the displayed conditional second-moment equations ``Q_l = ...`` (the compiler's word
    polynomials) evaluated at the numerically solved ``q_j``, ``Q_j``: ``max |Q_l - rhs_l|`` relative to
    ``max(1, max |Q|)``. Ties the printed equations to the numbers (the solve builds its own operator)."""
    from theory.protocol.random_compiler import cond_cov_letter, cond_letter
    from theory.protocol.symbols import transpose_letter

    if not rc.rspec.is_markov:
        raise ValueError("stein_residual is for a Markov chain (independent draws: the centred Stein equation)")
    m = moments(numeric(rc, agents, noise))
    if m.cond_second is None or m.cond_mean is None:
        raise ValueError(f"not mean-square stable (contraction_rate = {m.contraction_rate:.6g}): no second moment")
    table, d = _table(agents, noise)
    K, names = rc.rspec.K, rc.names
    for j in range(rc.rspec.n):
        for c in range(K):
            v = m.cond_mean[j][c * d:(c + 1) * d].reshape(-1, 1)
            table[cond_letter(j, names[c])] = v
            table[transpose_letter(cond_letter(j, names[c]))] = v.T
            for e in range(K):
                table[cond_cov_letter(j, names[c], names[e])] = m.cond_second[j][c * d:(c + 1) * d, e * d:(e + 1) * d]
    worst = 0.0
    for (l, a, b), p in rc.second_moment.items():
        rhs = _poly(p, table, (d, d), {})
        worst = max(worst, float(np.abs(m.cond_second[l][a * d:(a + 1) * d, b * d:(b + 1) * d] - rhs).max()))
    return worst / max(1.0, float(np.abs(m.cond_second).max()))


def derived_mean(rc: RandomCompiled, agents: dict, scalars: dict | None = None) -> np.ndarray:
    """The symbolic stationary mean evaluated (formal inverses inverted numerically, in order of creation)."""
    from theory.protocol.evaluation import evaluate

    if rc.mean is None:
        raise ValueError("the mean was not expanded (too large)")
    sc = dict(scalars or {})
    # evaluate() reads only .alg (the formal inverses), which RandomCompiled has
    cp: Any = rc
    _, d = _table(agents, None)
    out = [evaluate(cp, from_poly(m), agents, scalars=sc)[:, 0] if m else np.zeros(d) for m in rc.mean]
    return np.concatenate(out)
