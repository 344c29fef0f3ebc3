"""mpmath versions of the closed forms, for ``--precision`` and V5 checks.

Same formulas as :mod:`numerics.closed_forms` (C2, C17), evaluated at a given
number of decimal digits. Inputs are nested lists or arrays of numbers (or
mpf); conversion happens inside ``mp.workdps`` so no digits are lost.
"""
from __future__ import annotations

from typing import Sequence

import mpmath as mp

from .errors import InputError


def to_matrix(A) -> mp.matrix:
    return mp.matrix([[mp.mpf(x) for x in row] for row in A])


def to_vector(v) -> mp.matrix:
    return mp.matrix([mp.mpf(x) for x in v])


def matrix_power(M: mp.matrix, s: int) -> mp.matrix:
    out = mp.eye(M.rows)
    for _ in range(s):
        out = out * M
    return out


def spectral_radius(A: mp.matrix) -> mp.mpf:
    if A.rows == 1:  # mp.eig returns vectors too for 1 x 1 input
        return abs(A[0, 0])
    return max(abs(e) for e in mp.eig(A, left=False, right=False))


def round_map(Ms: Sequence[mp.matrix], cs: Sequence[mp.matrix]):
    """``J_0`` and ``r_0`` of the round ending at agent 0 (C17)."""
    K, d = len(Ms), Ms[0].rows
    J, r = mp.eye(d), mp.matrix(d, 1)
    for k in range(1, K + 1):
        j = k % K
        J = Ms[j] * J
        r = Ms[j] * r + cs[j]
    return J, r


def fixed_points(Ms: Sequence[mp.matrix], cs: Sequence[mp.matrix]) -> tuple[list[mp.matrix], mp.mpf]:
    """All fixed points and rho, at the current mp precision (C2, C17).

    Raises InputError when rho >= 1.
    """
    J, r = round_map(Ms, cs)
    rho = spectral_radius(J)
    if rho >= 1:
        raise InputError("contraction rate rho", float(rho), "must be < 1 for a fixed point to exist and attract (C1)")
    u = [mp.lu_solve(mp.eye(J.rows) - J, r)]
    for i in range(1, len(Ms)):
        u.append(Ms[i] * u[-1] + cs[i])
    return u, rho


# Singular values below this fraction of the largest (at the working precision's
# square root) are treated as exact zeros of a rank-deficient geometry.
def _rank_cutoff() -> mp.mpf:
    return mp.mpf(10) ** (-(mp.mp.dps // 2))


def min_norm_solve(H: mp.matrix, b: mp.matrix) -> mp.matrix:
    """``H^+ b`` for symmetric PSD ``H`` via an mp SVD (the minimum-norm target)."""
    U, S, V = mp.svd_r(H)
    top = max(S) if len(S) else mp.mpf(0)
    out = mp.matrix(H.cols, 1)
    for k in range(len(S)):
        if top > 0 and S[k] > top * _rank_cutoff():
            coeff = sum(U[i, k] * b[i] for i in range(H.rows)) / S[k]
            for j in range(H.cols):
                out[j] += coeff * V[k, j]
    return out


def agent_transfer(Gamma, geometry, steps: int):
    """``(M^s, c_s, w*)`` of a GD agent at the current precision, from its exact input data.

    A prompt's ``H = X^T X / N`` and ``b = X^T y / N`` are recomputed in mp, and
    ``c_s = sum_{k<s} M^k Gamma b`` needs no pseudo-inverse (``b`` lies in ``range(H)``).
    """
    G = to_matrix(Gamma)
    if geometry.X is not None:
        X, y = to_matrix(geometry.X), to_vector(geometry.y)
        N = X.rows
        H = X.T * X / N
        b = X.T * y / N
        w = min_norm_solve(H, b)
    else:
        H = to_matrix(geometry.H)
        w = to_vector(geometry.w_star)
        b = H * w
    d = H.rows
    M1 = mp.eye(d) - G * H
    M, c = mp.eye(d), mp.matrix(d, 1)
    for _ in range(steps):
        c = M1 * c + G * b
        M = M1 * M
    return M, c, w
