"""Seeded random instances for witnesses and benchmarks.

Geometries with a chosen condition number or rank, and agent pairs whose
coupled rate is below a chosen bound. All functions take a
``numpy.random.Generator`` so results are reproducible.
"""
from __future__ import annotations

import numpy as np


def orthogonal(rng: np.random.Generator, d: int) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def spd(rng: np.random.Generator, d: int, cond: float = 10.0) -> np.ndarray:
    """SPD matrix with eigenvalues log-spaced in [1/cond, 1] (largest 1)."""
    Q = orthogonal(rng, d)
    eig = np.logspace(-np.log10(cond), 0, d) if d > 1 else np.ones(1)
    return (Q * eig) @ Q.T


def psd(rng: np.random.Generator, d: int, rank: int | None = None, cond: float = 10.0) -> np.ndarray:
    """PSD geometry of the given rank (default full), nonzero eigenvalues in [1/cond, 1]."""
    rank = d if rank is None else rank
    Q = orthogonal(rng, d)
    eig = np.zeros(d)
    eig[:rank] = np.logspace(-np.log10(cond), 0, rank) if rank > 1 else 1.0
    return (Q * eig) @ Q.T


def prompt(rng: np.random.Generator, N: int, d: int, noise: float = 0.0, scales=None):
    """A Gaussian prompt ``(X, y, w)`` with ``y = X w + noise``; ``scales`` stretch the columns."""
    X = rng.standard_normal((N, d)) * (1.0 if scales is None else np.asarray(scales))
    w = rng.standard_normal(d)
    return X, X @ w + noise * rng.standard_normal(N), w


def stable_gd_pair(rng: np.random.Generator, d: int, rho_max: float = 0.9, shared: bool = False,
                   max_tries: int = 1000):
    """``(Gamma, H)`` arrays of shape (2, d, d) with ``rho(M_A M_B) <= rho_max``.

    Each agent has an SPD ``H`` (cond <= 100) and an SPD preconditioner scaled so
    ``rho(I - Gamma H) < 1``; ``shared`` uses one preconditioner for both.
    """
    for _ in range(max_tries):
        H = np.stack([spd(rng, d, cond=10 ** rng.uniform(0, 2)) for _ in range(2)])
        G0 = spd(rng, d, cond=10 ** rng.uniform(0, 1))
        Gamma = np.stack([G0, G0 if shared else spd(rng, d, cond=10 ** rng.uniform(0, 1))])
        for k in range(2):
            lam = np.max(np.real(np.linalg.eigvals(Gamma[k] @ H[k])))
            Gamma[k] *= rng.uniform(0.3, 1.9) / lam
        if shared:
            Gamma[1] = Gamma[0]
        M = np.eye(d) - Gamma @ H
        if np.max(np.abs(np.linalg.eigvals(M[0] @ M[1]))) <= rho_max:
            return Gamma, H
    raise RuntimeError(f"no pair with rho <= {rho_max} found in {max_tries} tries")
