"""C2: the fixed points ``u* = (I - M_A M_B)^{-1}(M_A c_B + c_A)`` and ``v* = T_B(u*)``.

Methods: V1 (free algebra), V2 (explicit d = 1, 2), V4 (vs simulation),
V5 (mpmath, ill-conditioned), V8 (python-control DC gain).
"""
from __future__ import annotations

import time

import mpmath as mp
import numpy as np

from numerics import closed_forms, precise, random_systems, simulate
from theory import algebra, model
from theory import two_agents as ta

from ..methods import (EXTERNAL_REL_TOL, FLOAT_REL_TOL, PRECISE_DPS, PRECISE_REL_TOL, batch_relative_error,
                       explicit_zero, free_proofs, worst)
from ..registry import Claim, Outcome, Profile

A, B = ta.A, ta.B


def identities():
    """The C2 identities as (label, lhs, rhs, factors to multiply through)."""
    return [
        ("u* is fixed by the round map", ta.u_star, ta.round_map_u_expanded.xreplace({ta.u: ta.u_star}),
         [model.I - ta.J_A]),
        ("v* is fixed by the round map", ta.v_star, ta.round_map_v_expanded.xreplace({ta.v: ta.v_star}),
         [model.I - ta.J_B]),
        ("v* = T_B(u*)", ta.v_star, B.T(ta.u_star), [model.I - ta.J_B]),
        ("u* = T_A(v*)", ta.u_star, A.T(ta.v_star), [model.I - ta.J_A]),
    ]


def v1(profile: Profile) -> Outcome:
    return free_proofs((label, algebra.prove(lhs, rhs, factors, ta.DEFINITIONS))
                       for label, lhs, rhs, factors in identities())


def v2(profile: Profile) -> Outcome:
    return explicit_zero((f"{label} (d={n})", model.explicit(lhs - rhs, n, ta.AGENTS))
                         for n in (1, 2) for label, lhs, rhs, _ in identities())


def random_pairs(rng, n: int, d_range=(1, 8), rho_max: float = 0.9):
    """Yield ``(Gamma, H, w_star)`` batches per dimension (shapes (n_d, 2, d, d), (n_d, 2, d))."""
    dims = rng.integers(d_range[0], d_range[1] + 1, size=n)
    for d in np.unique(dims):
        k = int(np.sum(dims == d))
        pairs = [random_systems.stable_gd_pair(rng, int(d), rho_max) for _ in range(k)]
        Gamma = np.stack([p[0] for p in pairs])
        H = np.stack([p[1] for p in pairs])
        yield Gamma, H, rng.standard_normal((k, 2, int(d)))


# Turns so that 0.9^turns < 1e-13: the transient is far below FLOAT_REL_TOL.
CONVERGED_TURNS = 300


def v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed)
    errors = []
    for Gamma, H, w in random_pairs(rng, profile.instances):
        b = np.einsum("bkij,bkj->bki", H, w)
        v0 = rng.standard_normal((H.shape[0], H.shape[-1]))
        sim = simulate.run_batch(Gamma, H, b, [1, 1], v0, CONVERGED_TURNS)[:, -1]
        M = np.eye(H.shape[-1]) - Gamma @ H
        c = np.einsum("bkij,bkj->bki", np.eye(H.shape[-1]) - M, w)
        errors.extend(batch_relative_error(closed_forms.fixed_points(M, c), sim))
    return worst(errors, FLOAT_REL_TOL, f"closed form vs {CONVERGED_TURNS}-turn simulation, d in 1..8, rho <= 0.9")


def ill_conditioned_pair(rng, d: int, rho_target: float, cond: float):
    """A pair with ``cond(H_A) = cond`` and rate ``rho_target`` exactly (exact-arithmetic construction).

    Commuting diagonal geometries in a random rotation: ``a_k b_k`` products
    chosen so the largest ``(1 - a_k)(1 - b_k)`` equals ``rho_target``.
    """
    mp.mp.dps = max(mp.mp.dps, PRECISE_DPS)
    hA = [mp.mpf(10) ** (-mp.mpf(k) * mp.log10(cond) / max(d - 1, 1)) for k in range(d)]
    a = [h / hA[0] for h in hA]  # K_A eigenvalues with Gamma_A = I / max(h)
    # Slowest direction: a_min small; choose b so (1-a)(1-b) = rho_target there.
    b = [mp.mpf(rng.uniform(0.2, 0.9)) for _ in range(d)]
    k = d - 1
    b[k] = 1 - mp.mpf(rho_target) / (1 - a[k])
    Q = mp.matrix(random_systems.orthogonal(rng, d).tolist())
    KA = Q * mp.diag(a) * Q.T
    KB = Q * mp.diag(b) * Q.T
    return KA, KB


def v5(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 5)
    errors, notes = [], []
    cases = [(1 - 1e-10, 1e12), (1 - 1e-6, 1e8), (0.9, 1e4)][: max(1, profile.precise_instances)]
    for rho_target, cond in cases:
        d = 4
        with mp.workdps(2 * PRECISE_DPS):
            KA, KB = ill_conditioned_pair(rng, d, rho_target, cond)
            w = [mp.matrix(rng.standard_normal(d).tolist()) for _ in range(2)]
            MA, MB = mp.eye(d) - KA, mp.eye(d) - KB
            cs = [KA * w[0], KB * w[1]]
            # Reference at 100 digits: the per-direction formula (C5) in the eigenbasis is not used
            # here; instead the fixed point is the exact solution checked by its residual.
            u_ref = mp.lu_solve(mp.eye(d) - MA * MB, MA * cs[1] + cs[0])
        with mp.workdps(PRECISE_DPS):
            (u, v), rho = precise.fixed_points([MA, MB], cs)
            err = mp.norm(u - u_ref) / mp.norm(u_ref)
            errors.append(float(err))
        # float64 on the same instance: how many digits survive
        f = lambda X: np.array(X.tolist(), dtype=float)
        u64 = closed_forms.fixed_points(np.stack([f(MA), f(MB)]), np.stack([f(cs[0])[:, 0], f(cs[1])[:, 0]]), check=False)[0]
        digits = -np.log10(max(np.linalg.norm(u64 - f(u_ref)[:, 0]) / np.linalg.norm(f(u_ref)), 1e-17))
        notes.append(f"rho=1-{1 - rho_target:.0e}, cond={cond:.0e}: float64 keeps {digits:.1f} digits")
    return worst(errors, PRECISE_REL_TOL, f"mpmath {PRECISE_DPS} digits vs {2 * PRECISE_DPS}-digit solve; " + "; ".join(notes))


def v8(profile: Profile) -> Outcome:
    try:
        import control
    except ImportError:
        return Outcome.skip("python-control is not installed (pip install 'a2a-dynamics[test]')")
    rng = np.random.default_rng(profile.seed + 8)
    errors = []
    for Gamma, H, w in random_pairs(rng, max(8, profile.instances // 8)):
        for g, h, ws in zip(Gamma, H, w):
            d = h.shape[-1]
            M = np.eye(d) - g @ h
            c = np.einsum("kij,kj->ki", np.eye(d) - M, ws)
            J = M[0] @ M[1]
            r = M[0] @ c[1] + c[0]
            # u_{t+1} = J u_t + r*1: the fixed point is the DC gain of (J, r, I, 0) in discrete time.
            sys = control.ss(J, r[:, None], np.eye(d), np.zeros((d, 1)), dt=True)
            u_ext = np.asarray(control.dcgain(sys)).reshape(d)
            u = closed_forms.fixed_points(M[None], c[None])[0, 0]
            rho_ext = np.max(np.abs(control.poles(sys)))
            errors.append(max(np.linalg.norm(u - u_ext) / np.linalg.norm(u_ext),
                              abs(rho_ext - closed_forms.contraction_rate(M)) / rho_ext))
    return worst(errors, EXTERNAL_REL_TOL, "python-control dcgain(ss(J, r, I, 0, dt=True)) and poles vs closed form")


CLAIMS = [
    Claim(
        id="C2",
        title="Fixed points of the coupled maps",
        hypotheses=("I - M_A M_B invertible (implied by rho(M_A M_B) < 1)",),
        reference="arXiv:2511.08710 section 2; THEORY.md C2",
        relation="equal",
        methods={"V1": v1, "V2": v2, "V4": v4, "V5": v5, "V8": v8},
        formulas=("C2.fixed_point_A", "C2.fixed_point_B"),
        statement="u* = (I - M_A M_B)^{-1}(M_A c_B + c_A), v* = (I - M_B M_A)^{-1}(M_B c_A + c_B), v* = T_B(u*), u* = T_A(v*).",
    )
]
