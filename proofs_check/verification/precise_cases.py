"""Ill-conditioned instances at high precision (method V5), shared by C2, C3 and C5.

Commuting effective steps ``K_A = Q diag(a) Q^{-1}``, ``K_B = Q diag(b) Q^{-1}``
built exactly at working precision, with ``cond(K_A)`` and ``rho`` chosen.
The witness evaluates C5's per-direction gains in that basis; the closed
form solves ``(I - M_A M_B) u = M_A c_B + c_A`` at 50 digits. Nothing is
shared between the two routes but the instance.
"""
from __future__ import annotations

from dataclasses import dataclass

import mpmath as mp
import numpy as np

from numerics.agents import random_systems
from numerics.dynamics import closed_forms, precise
from proofs_check.verification.methods import PRECISE_DPS

# (rho, cond(H_A)) pairs from docs/theory.rst, V5: rho up to 1 - 1e-10, cond(H) up to 1e12.
CASES = [(1 - 1e-10, 1e12), (1 - 1e-6, 1e8), (0.9, 1e4), (1 - 1e-8, 1e10)]


@dataclass
class PreciseCase:
    rho: float
    cond: float
    a: list
    b: list
    Q: mp.matrix
    Qinv: mp.matrix
    w_A: mp.matrix
    w_B: mp.matrix

    @property
    def d(self) -> int:
        return len(self.a)

    def K(self, gains) -> mp.matrix:
        return self.Q * mp.diag(gains) * self.Qinv


def build(rng: np.random.Generator, d: int, rho: float, cond: float) -> PreciseCase:
    """Exact at the current mp precision: the float64 Q is taken as exact data and inverted in mp."""
    a = [mp.mpf(10) ** (-mp.mpf(k) * mp.log10(cond) / max(d - 1, 1)) for k in range(d)]
    b = [mp.mpf(rng.uniform(0.3, 0.9)) for _ in range(d)]
    b[-1] = 1 - mp.mpf(rho) / (1 - a[-1])  # slowest direction attains rho exactly
    Q = mp.matrix(random_systems.orthogonal(rng, d).tolist())
    w = rng.standard_normal((2, d))
    return PreciseCase(rho, cond, a, b, Q, mp.inverse(Q), mp.matrix(w[0].tolist()), mp.matrix(w[1].tolist()))


def closed_form(case: PreciseCase):
    """``(u*, v*)`` from the C2 closed form at the current precision."""
    KA, KB = case.K(case.a), case.K(case.b)
    I = mp.eye(case.d)
    (u, v), _ = precise.fixed_points([I - KA, I - KB], [KA * case.w_A, KB * case.w_B])
    return u, v


def per_direction(case: PreciseCase, gains) -> mp.matrix:
    """``Q diag(gain(a_k, b_k)) Q^{-1} Delta`` (C5 route)."""
    return case.K([gains(ak, bk) for ak, bk in zip(case.a, case.b)]) * (case.w_B - case.w_A)


def float64_digits(case: PreciseCase, u_ref: mp.matrix) -> float:
    """Correct digits of the float64 closed form on the same instance."""
    f = lambda X: np.array(X.tolist(), dtype=float)
    KA, KB = f(case.K(case.a)), f(case.K(case.b))
    I = np.eye(case.d)
    M = np.stack([I - KA, I - KB])
    c = np.stack([KA @ f(case.w_A)[:, 0], KB @ f(case.w_B)[:, 0]])
    u64 = closed_forms.fixed_points(M, c, check=False)[0]
    ref = f(u_ref)[:, 0]
    return float(-np.log10(max(float(np.linalg.norm(u64 - ref) / np.linalg.norm(ref)), 1e-17)))


def cases(profile, seed_offset: int, d: int = 4):
    rng = np.random.default_rng(profile.seed + seed_offset)
    for rho, cond in CASES[: max(1, profile.precise_instances)] if profile.name == "quick" else CASES:
        with mp.workdps(PRECISE_DPS):
            yield build(rng, d, rho, cond)


def mp_gain(expr):
    """An mpmath function ``(a_k, b_k) -> gain`` from a C5 SymPy expression (theory.round_robin.per_direction)."""
    import sympy as sp

    from theory.round_robin import per_direction as pd

    return sp.lambdify((pd.a, pd.b), expr, "mpmath")
