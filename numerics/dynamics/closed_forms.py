"""Batched closed forms for round-robin agents (C1, C2, C3, C7, C17).

Direct numpy code for the expressions derived in ``theory/``; the tests tie
each function to the lambdified SymPy object. Leading axes are batch axes:
``M`` has shape (..., K, d, d) and ``c`` (..., K, d), agents in speaking order.
Steps per turn (C7) enter through ``M_i -> M_i^s`` before calling these.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from numerics.io.errors import InputError


def round_map(M: np.ndarray, c: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Affine map of one full round ending at agent i: ``u_i <- J_i u_i + r_i`` (C17).

    ``J_i = M_i M_{i-1} ... M_{i+1}`` and ``r_i = sum_j P_{i,j} c_j``, accumulated
    by composing the affine maps of agents i+1, ..., i (cyclically).
    """
    K = M.shape[-3]
    j = (i + 1) % K
    J, r = M[..., j, :, :], c[..., j, :]
    for k in range(2, K + 1):
        j = (i + k) % K
        J = M[..., j, :, :] @ J
        r = (M[..., j, :, :] @ r[..., None])[..., 0] + c[..., j, :]
    return J, r


def spectral_radius(A: np.ndarray) -> np.ndarray:
    """``rho(A)`` over the leading batch axes."""
    return np.max(np.abs(np.linalg.eigvals(A)), axis=-1)


def require_finite_map(J: np.ndarray, name: Callable[[int], str] | None = None) -> None:
    """Raise InputError naming the first system whose round map ``J`` (..., n, n) overflowed float64.

    Finite transfers can compose to a round map beyond float64 (entries past 1.8e308); its rate is then
    not a float64 number, and LAPACK would refuse it with no name. ``name(k)`` names system k of the
    flattened batch (default ``round map``, ``round map of system k`` in a batch).
    """
    flat = J.reshape((-1,) + J.shape[-2:])
    bad = np.flatnonzero(~np.all(np.isfinite(flat), axis=(1, 2)))
    if bad.size:
        k = int(bad[0])
        what = name(k) if name is not None else "round map" + (f" of system {k}" if J.ndim > 2 else "")
        raise InputError(what, "not finite", "overflows float64: the agents' steps amplify messages beyond "
                         "1.8e308, so the rate is no float64 number (a2ad predict --precision computes it exactly)")


def contraction_rate(M: np.ndarray, name: Callable[[int], str] | None = None) -> np.ndarray:
    """``rho = rho(M_0 M_{K-1} ... M_1)``, the same for every agent (C1, C17).

    A round map that overflows float64 is refused (:func:`require_finite_map`; ``name`` names a system)."""
    K = M.shape[-3]
    J = M[..., 0, :, :]
    with np.errstate(over="ignore", invalid="ignore"):  # refused by name below
        for j in range(K - 1, 0, -1):
            J = J @ M[..., j, :, :]
    require_finite_map(J, name)
    return spectral_radius(J)


def fixed_points(M: np.ndarray, c: np.ndarray, check: bool = True) -> np.ndarray:
    """Every agent's fixed point ``u_i*`` (C2, C17), shape (..., K, d).

    Solves ``(I - J_0) u_0* = r_0`` once, then ``u_i* = M_i u_{i-1}* + c_i`` (C2's
    ``v* = T_B(u*)``). Hypothesis (``check``): ``rho < 1``, else InputError.
    """
    K, d = M.shape[-3], M.shape[-1]
    J, r = round_map(M, c, 0)
    if check:
        require_contraction(J)
    u = np.empty(c.shape)
    u[..., 0, :] = np.linalg.solve(np.eye(d) - J, r[..., None])[..., 0]
    for i in range(1, K):
        u[..., i, :] = (M[..., i, :, :] @ u[..., i - 1, :, None])[..., 0] + c[..., i, :]
    return u


# Squarings used to certify rho(J) < 1 cheaply: rho^(2^k) <= ||J^(2^k)||_F < 1 certifies it;
# 10 squarings reach rho up to ~0.99 for well-behaved J. The rest get the exact test.
CERTIFY_SQUARINGS = 10


def require_contraction(J: np.ndarray) -> None:
    """Raise InputError unless ``rho(J) < 1`` for every system in the batch (C1's hypothesis).

    Repeated squaring certifies most systems with a few matrix products; only the
    systems no squaring certifies get the exact (eigenvalue) test.
    """
    P = J.reshape((-1,) + J.shape[-2:])
    idx = np.arange(P.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(CERTIFY_SQUARINGS):
            undecided = ~(np.einsum("bij,bij->b", P, P) < 1)
            P, idx = P[undecided], idx[undecided]
            if not idx.size:
                return
            P = P @ P
    rest = J.reshape((-1,) + J.shape[-2:])[idx]
    worst = float(np.max(spectral_radius(rest)))
    if worst >= 1:  # no attracting fixed point (C1), even where I - J is invertible
        raise InputError("contraction rate rho", worst, "must be < 1 for a fixed point to exist and attract (C1)")


def bias_maps(M_A: np.ndarray, M_B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``G_A = (I - M_A M_B)^{-1} M_A K_B`` and ``G_B = (I - M_B M_A)^{-1} M_B K_A`` (C3)."""
    d = M_A.shape[-1]
    I = np.eye(d)
    G_A = np.linalg.solve(I - M_A @ M_B, M_A @ (I - M_B))
    G_B = np.linalg.solve(I - M_B @ M_A, M_B @ (I - M_A))
    return G_A, G_B
