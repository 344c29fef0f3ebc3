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
    eigenvalues = mp.eig(A, left=False, right=False)
    return max(abs(e) for e in eigenvalues)


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
