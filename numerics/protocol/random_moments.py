"""First and second moments of a random protocol (issue 26; package extension of P1).

Each alternative k of a :class:`~numerics.protocol.random_spec.RandomProtocol` is a deterministic
round ``z <- Phi_k z + psi_k (+ noise)`` (:func:`numerics.protocol.evaluate.round_map`), with ``z``
every agent's latest message at the end of a round. With ``P[j, l]`` the probability that
alternative l follows j and ``pi`` the stationary law (Costa, Fragoso, Marques 2005, Markov jump
linear systems; Boyd, Ghosh, Prabhakar, Shah 2006 for the second moments of randomized gossip):

* Markov chain: the conditional moments ``q_l = E[z_t 1{theta_t = l}]``,
  ``Q_l = E[z_t z_t^T 1{theta_t = l}]`` (``theta_t`` the alternative about to run) solve
  ``q_l = sum_j P[j,l] (Phi_j q_j + pi_j psi_j)`` and
  ``Q_l = sum_j P[j,l] (Phi_j Q_j Phi_j^T + Phi_j q_j psi_j^T + psi_j q_j^T Phi_j^T + pi_j (psi_j psi_j^T + N_j))``;
  the stationary mean is ``mu = sum_l q_l``, the covariance ``sum_l Q_l - mu mu^T``, computed as the
  same equations centred about ``mu`` (``psi_j -> Phi_j mu + psi_j - mu``, ``q_j -> q_j - pi_j mu``), so
  no cancellation: an alternative that leaves ``mu`` in place adds no spread.
* Independent draws (every row of P is p): one mode, ``mu = (I - sum p_k Phi_k)^{-1} sum p_k psi_k`` and
  ``S = sum_k p_k (Phi_k S Phi_k^T + Phi_k mu psi_k^T + psi_k mu^T Phi_k^T + psi_k psi_k^T + N_k)``.

``N_k`` is the covariance that the agents' own noise (``S_i``, added to each message agent i writes)
leaves at the end of round k: ``N <- Phi_p N Phi_p^T + D_p`` over the phases p, ``D_p`` holding
``S_i`` in the blocks of phase p's speakers (as :func:`numerics.protocol.evaluate.stationary_covariance`).

Rates: ``mean_rate`` is the spectral radius of the first-moment operator (``sum_k p_k Phi_k``, or
blocks ``P[j,l] Phi_j``); ``contraction_rate`` the square root of that of the second-moment operator
(``sum_k p_k Phi_k (x) Phi_k``, or blocks ``P[j,l] Phi_j (x) Phi_j``): mean-square convergence from
every initial state and alternative iff it is below 1. It equals ``rho(Phi)`` for one alternative.

Agents that never speak in an alternative keep their message there (identity block of ``Phi_k``),
so no live-agent reduction is made: a start-of-round message that no alternative reads gives zero
columns in every ``Phi_k``, hence zero eigenvalues, and the full state is solved as is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.dynamics import closed_forms
from numerics.io.errors import InputError
from numerics.protocol import evaluate
from numerics.protocol.evaluate import CONVERGENCE_MARGIN
from numerics.protocol.random_spec import RandomProtocol

__all__ = ["RandomMoments", "moments", "alternative_maps", "noise_injection", "operators",
           "DENSE_MAX_UNKNOWNS", "DENSE_FALLBACK_UNKNOWNS", "DENSE_EIG_MAX", "ITERATIVE_RTOL"]

# The second-moment system has modes * (K d)^2 unknowns (modes = 1 for independent draws,
# n_alt for a chain). Up to DENSE_MAX_UNKNOWNS, one dense Kronecker solve (LAPACK, O(N^3)); beyond it
# GMRES on the operator applied as matrix products (never formed), which measured faster from there
# on (K = d = 4, 8 alternatives, 2048 unknowns: 0.05 s of CPU against 0.27 s dense; 4096: 0.18 s
# against 1.8 s). Should GMRES not reach its tolerance (a mean-square rate close to 1), the dense
# solve is used up to DENSE_FALLBACK_UNKNOWNS, and beyond that the instance is refused.
DENSE_MAX_UNKNOWNS = 1024
DENSE_FALLBACK_UNKNOWNS = 4096
# Up to this size the spectral radii come from dense eigenvalues (LAPACK eig is O(N^3) with a large
# constant: 0.26 s of CPU at N = 512 on one core); beyond it from ARPACK on the
# operator (largest modulus), which stays well under a second where dense eig would take many.
DENSE_EIG_MAX = 256
# Relative residual at which GMRES stops (the moments are then accurate to about this times the
# condition number of I - T, i.e. 1 / (1 - contraction_rate^2)).
ITERATIVE_RTOL = 1e-13
# GMRES restarts every GMRES_RESTART iterations and gives up after GMRES_MAX_CYCLES restarts (at most
# 10^4 operator applications, about a second at K = d = 4 and 16 alternatives).
GMRES_RESTART = 200
GMRES_MAX_CYCLES = 50
# ARPACK's tolerance on the leading eigenvalue (relative; 0 would mean machine precision).
ARPACK_TOL = 1e-14


@dataclass(frozen=True)
class RandomMoments:
    """The stationary moments of a random protocol (see the module docstring).

    ``mean`` (K, d) is None unless ``mean_converges``; ``covariance`` (K, d, d) and
    ``joint_covariance`` (K d, K d) are None unless ``converges``.
    """

    mean_rate: float
    contraction_rate: float
    converges: bool
    mean_converges: bool
    mean: np.ndarray | None
    covariance: np.ndarray | None
    joint_covariance: np.ndarray | None
    solver: str  # "dense" or "gmres": how the second-moment system was solved


def alternative_maps(M: np.ndarray, c: np.ndarray, rp: RandomProtocol) -> tuple[np.ndarray, np.ndarray]:
    """``Phi`` (n_alt, K d, K d) and ``psi`` (n_alt, K d): each alternative's round map (P1)."""
    Phis, psis = [], []
    for alt in rp.alternatives:
        W, mask = alt.weights()
        Phi, psi = evaluate.round_map(M, c, W, mask)  # no phase: Phi = I, psi = 0 (nobody speaks)
        Phis.append(Phi)
        psis.append(psi)
    return np.stack(Phis), np.stack(psis)


def noise_injection(M: np.ndarray, S: np.ndarray, rp: RandomProtocol) -> np.ndarray:
    """``N`` (n_alt, K d, K d): the covariance a round of each alternative adds at its end, from noise
    ``S`` (K, d, d) on every message written: ``N <- Phi_p N Phi_p^T + D_p`` over its phases."""
    K, d = M.shape[0], M.shape[-1]
    zero = np.zeros((K, d))
    out = np.zeros((rp.n_alt, K * d, K * d))
    for k, alt in enumerate(rp.alternatives):
        W, mask = alt.weights()
        N = np.zeros((K * d, K * d))
        for p in range(W.shape[0]):
            Phi_p, _ = evaluate.round_map(M, zero, W[p:p + 1], mask[p:p + 1])
            D = np.zeros((K, d, K, d))
            for i in np.flatnonzero(mask[p]):
                D[i, :, i, :] = S[i]
            N = Phi_p @ N @ Phi_p.T + D.reshape(K * d, K * d)
        out[k] = N
    return out


def operators(rp: RandomProtocol) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mode structure ``(T, src, mass)``: ``T[l, j, k]`` the weight with which alternative k, run
    from mode j, feeds mode l; ``mass[j]`` the stationary probability of mode j.

    Independent draws: one mode, ``T[0, 0, k] = p_k``, mass 1. Markov chain: modes are the
    alternatives, ``T[l, j, j] = P[j, l]``, mass ``pi``.
    """
    n = rp.n_alt
    if not rp.markov:
        return rp.P[0][None, None, :].copy(), np.zeros(n, dtype=int), np.ones(1)
    T = np.zeros((n, n, n))
    for j in range(n):
        T[:, j, j] = rp.P[j]
    return T, np.arange(n), rp.stationary()


def _first_moment_matrix(T: np.ndarray, Phi: np.ndarray) -> np.ndarray:
    """Blocks ``A[l, j] = sum_k T[l, j, k] Phi_k`` as one (modes n, modes n) matrix."""
    m, n = T.shape[0], Phi.shape[-1]
    A = np.einsum("ljk,kab->lajb", T, Phi)
    return A.reshape(m * n, m * n)


def _second_apply(T: np.ndarray, Phi: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """``(T Q)_l = sum_{j,k} T[l, j, k] Phi_k Q_j Phi_k^T`` for Q (modes, n, n)."""
    m = T.shape[0]
    out = np.zeros_like(Q)
    for j in range(m):
        ks = np.flatnonzero(np.any(T[:, j, :] != 0, axis=0))
        if ks.size == 0:
            continue
        PQP = Phi[ks] @ Q[j] @ np.swapaxes(Phi[ks], -1, -2)  # (|ks|, n, n)
        out += np.einsum("lk,kab->lab", T[:, j, ks], PQP)
    return out


def _second_moment_matrix(T: np.ndarray, Phi: np.ndarray) -> np.ndarray:
    """The dense operator on row-major ``vec(Q)``: blocks ``sum_k T[l, j, k] Phi_k (x) Phi_k``."""
    m, n = T.shape[0], Phi.shape[-1]
    A = np.zeros((m, n * n, m, n * n))
    for k in range(Phi.shape[0]):
        kk = None
        for l in range(m):
            for j in range(m):
                if T[l, j, k] != 0:
                    kk = np.kron(Phi[k], Phi[k]) if kk is None else kk
                    A[l, :, j, :] += T[l, j, k] * kk
    return A.reshape(m * n * n, m * n * n)


def _radius_of_operator(apply, size: int) -> float:
    """Spectral radius of a linear operator on R^size given as a function, by ARPACK (largest modulus).

    ARPACK fails on operators whose Krylov space collapses (a nilpotent or zero operator: the start
    vector maps to 0) and can fail to converge; then the operator is formed densely where that is
    affordable (:data:`DENSE_FALLBACK_UNKNOWNS`), else the instance is refused.
    """
    from scipy.sparse.linalg import ArpackError, LinearOperator, eigs

    op = LinearOperator((size, size), matvec=apply, dtype=float)
    rng = np.random.default_rng(0)  # a fixed start vector: reproducible
    try:
        vals = eigs(op, k=min(6, size - 2), which="LM", tol=ARPACK_TOL, v0=rng.standard_normal(size),
                    return_eigenvectors=False, maxiter=size * 50)
        return float(np.max(np.abs(vals)))
    except ArpackError:  # ArpackNoConvergence included
        if size > DENSE_FALLBACK_UNKNOWNS:
            raise InputError("random protocol moment operator", f"size {size}",
                             "ARPACK did not find its spectral radius and the operator is too large to form "
                             f"(limit {DENSE_FALLBACK_UNKNOWNS})") from None
    dense = np.stack([apply(e) for e in np.eye(size)], axis=1)
    return float(closed_forms.spectral_radius(dense))


def _second_rate(T: np.ndarray, Phi: np.ndarray) -> float:
    """``rho`` of the second-moment operator (not yet square-rooted)."""
    m, n = T.shape[0], Phi.shape[-1]
    size = m * n * n
    if size <= DENSE_EIG_MAX:
        return float(closed_forms.spectral_radius(_second_moment_matrix(T, Phi)))
    return _radius_of_operator(lambda v: _second_apply(T, Phi, v.reshape(m, n, n)).ravel(), size)


def _first_rate(T: np.ndarray, Phi: np.ndarray) -> float:
    A = _first_moment_matrix(T, Phi)
    if A.shape[0] <= DENSE_EIG_MAX:
        return float(closed_forms.spectral_radius(A))
    return _radius_of_operator(lambda v: A @ v, A.shape[0])


def _solve_second(T: np.ndarray, Phi: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, str]:
    """``Q = T Q + C`` for Q (modes, n, n): dense Kronecker solve, or GMRES beyond :data:`DENSE_MAX_UNKNOWNS`."""
    m, n = C.shape[0], C.shape[-1]
    size = m * n * n
    if size <= DENSE_MAX_UNKNOWNS:
        A = np.eye(size) - _second_moment_matrix(T, Phi)
        return np.linalg.solve(A, C.ravel()).reshape(m, n, n), "dense"
    from scipy.sparse.linalg import LinearOperator, gmres

    op = LinearOperator((size, size), dtype=float,
                        matvec=lambda v: v - _second_apply(T, Phi, v.reshape(m, n, n)).ravel())
    x, info = gmres(op, C.ravel(), rtol=ITERATIVE_RTOL, atol=0.0, restart=min(size, GMRES_RESTART),
                    maxiter=GMRES_MAX_CYCLES)
    if info == 0:
        return x.reshape(m, n, n), "gmres"
    if size <= DENSE_FALLBACK_UNKNOWNS:  # slow convergence (rate near 1): the dense solve is still affordable
        A = np.eye(size) - _second_moment_matrix(T, Phi)
        return np.linalg.solve(A, C.ravel()).reshape(m, n, n), "dense"
    raise InputError("second-moment solve", f"{size} unknowns",
                     f"GMRES did not reach relative residual {ITERATIVE_RTOL:g} (mean-square rate close to 1?) and "
                     f"the dense solve is limited to {DENSE_FALLBACK_UNKNOWNS} unknowns")


def moments(M: np.ndarray, c: np.ndarray, rp: RandomProtocol, S: np.ndarray | None = None) -> RandomMoments:
    """The stationary mean and covariance and the mean and mean-square rates of ``rp``.

    ``M`` (K, d, d) per-turn transfers ``M_i^{s_i}``, ``c`` (K, d) offsets, ``S`` (K, d, d) per-agent
    noise covariances or None. Hypotheses: the mean needs ``mean_rate < 1``, the covariance
    ``contraction_rate < 1`` (each with :data:`~numerics.protocol.evaluate.CONVERGENCE_MARGIN`);
    otherwise those fields are None. The covariance is symmetrised (round-off only).
    """
    K, d = M.shape[0], M.shape[-1]
    n = K * d
    Phi, psi = alternative_maps(M, c, rp)
    N = noise_injection(M, S, rp) if S is not None else np.zeros((rp.n_alt, n, n))
    T, _, mass = operators(rp)
    m = T.shape[0]
    mean_rate = _first_rate(T, Phi)
    contraction_rate = float(np.sqrt(max(_second_rate(T, Phi), 0.0)))
    mean_converges = bool(mean_rate < 1 - CONVERGENCE_MARGIN)
    converges = bool(contraction_rate < 1 - CONVERGENCE_MARGIN)
    if not mean_converges:
        return RandomMoments(mean_rate, contraction_rate, converges, False, None, None, None, "none")
    # source of mode j's state for alternative k: mode j itself; the offsets weigh by the mode's mass
    A1 = _first_moment_matrix(T, Phi)
    f = np.einsum("ljk,j,ka->la", T, mass, psi).ravel()
    q = np.linalg.solve(np.eye(m * n) - A1, f).reshape(m, n)
    mu = q.sum(axis=0)
    if not converges:
        return RandomMoments(mean_rate, contraction_rate, False, True, mu.reshape(K, d), None, None, "none")
    # Centred about mu (no cancellation in Q - mu mu^T): z' - mu = Phi_k (z - mu) + e_k with
    # e_k = Phi_k mu + psi_k - mu, and the centred conditional mean of mode j is q_j - mass_j mu.
    e = Phi @ mu + psi - mu
    qc = q - mass[:, None] * mu
    C = np.zeros((m, n, n))
    for j in range(m):
        for k in range(rp.n_alt):
            w = T[:, j, k]
            if not np.any(w):
                continue
            Pq = np.outer(Phi[k] @ qc[j], e[k])
            term = Pq + Pq.T + mass[j] * (np.outer(e[k], e[k]) + N[k])
            C += w[:, None, None] * term
    Q, solver = _solve_second(T, Phi, C)
    Sigma = Q.sum(axis=0)
    Sigma = (Sigma + Sigma.T) / 2
    per_agent = np.stack([Sigma[i * d:(i + 1) * d, i * d:(i + 1) * d] for i in range(K)])
    return RandomMoments(mean_rate, contraction_rate, True, True, mu.reshape(K, d), per_agent, Sigma, solver)
