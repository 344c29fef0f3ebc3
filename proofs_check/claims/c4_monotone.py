"""C4: alignment; the errors degrade linearly with the objective gap.

``Delta = 0`` gives ``e_A = e_B = 0``; the errors are linear in ``Delta``, so
``||e_A(s Delta)|| = |s| ||e_A(Delta)||`` grows strictly with ``|s|`` when
``G_A Delta != 0``; ``sigma_min(G_A) ||Delta|| <= ||e_A|| <= ||G_A||_2 ||Delta||``;
for equal norms r and angle theta, ``||Delta|| = 2 r sin(theta / 2)``.
Methods: V1 (linearity), V3 (the angle identity), V4 (bounds and scaling on
simulated plateaus), V6 (Hypothesis over scale and angle).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from numerics.dynamics import closed_forms
from proofs_check.claims.c3_biased_equilibrium import plateau_error, simulated_plateaus
from proofs_check.statements.provenance import cite
from proofs_check.verification.instances import gd_pairs, transfers
from proofs_check.verification.methods import PAIR_FACTORS, PAIR_INVERTIBLE, explicit_zero, free_proofs, worst
from proofs_check.verification.properties import run_property
from proofs_check.verification.registry import Claim, Outcome, Profile
from proofs_check.verification.strategies import pair_examples
from theory.core import algebra, model
from theory.round_robin import two_agents as ta

A, B = ta.A, ta.B
# Bounds are checked on simulated plateaus, which carry ~1e-14 relative round-off;
# 1e-9 of ||G_A|| ||Delta|| leaves room without hiding a real violation.
BOUND_REL_TOL = 1e-9
PROPERTY_TOL = 1e-8  # as C3's V6: rho up to 0.95, cond(H) up to 1e8
SCALES = (0.0, 0.5, 1.0, 2.0, 4.0)

r, theta = sp.symbols("r theta", positive=True)


def v1(profile: Profile) -> Outcome:
    D1, D2 = model.vector("Delta_1"), model.vector("Delta_2")
    s = sp.Symbol("s")
    return free_proofs([
        ("G_A (s D1 + D2) = s G_A D1 + G_A D2", algebra.prove(ta.G_A * (s * D1 + D2), s * ta.G_A * D1 + ta.G_A * D2,
                                                                     (), ta.DEFINITIONS, PAIR_FACTORS)),
        ("G_B (s D1 + D2) = s G_B D1 + G_B D2", algebra.prove(ta.G_B * (s * D1 + D2), s * ta.G_B * D1 + ta.G_B * D2,
                                                                     (), ta.DEFINITIONS, PAIR_FACTORS)),
        ("w_A* = w_B* gives u* = w_A*", algebra.prove(ta.u_star.xreplace({B.w_star: A.w_star}), A.w_star,
                                                      [model.I - ta.J_A], ta.DEFINITIONS, PAIR_FACTORS)),
        ("w_A* = w_B* gives v* = w_B*", algebra.prove(ta.v_star.xreplace({A.w_star: B.w_star}), B.w_star,
                                                      [model.I - ta.J_B], ta.DEFINITIONS, PAIR_FACTORS)),
    ])


def v3(profile: Profile) -> Outcome:
    # ||r u - r R(theta) u||^2 in the plane of the two targets, vs (2 r sin(theta/2))^2
    wA = sp.Matrix([r, 0])
    wB = sp.Matrix([r * sp.cos(theta), r * sp.sin(theta)])
    gap_sq = ((wB - wA).T * (wB - wA))[0]
    deriv = sp.diff(2 * r * sp.sin(theta / 2), theta)
    return explicit_zero([
        ("||Delta||^2 = 4 r^2 sin^2(theta/2)",
         sp.Matrix([sp.simplify(sp.expand_trig(gap_sq - 4 * r**2 * sp.sin(theta / 2) ** 2))])),
        ("d/dtheta 2 r sin(theta/2) = r cos(theta/2) (>= 0 on [0, pi])", sp.Matrix([deriv - r * sp.cos(theta / 2)])),
    ])


def v4(profile: Profile) -> Outcome:
    """Scaling and the singular-value bounds, on plateaus of simulated GD agents."""
    rng = np.random.default_rng(profile.seed + 4)
    errors = []
    for Gamma, H, w in gd_pairs(rng, max(16, profile.instances // 2)):
        M, _ = transfers(Gamma, H, w)
        G_A, _ = closed_forms.bias_maps(M[:, 0], M[:, 1])
        sv = np.linalg.svd(G_A, compute_uv=False)
        Delta = w[:, 1] - w[:, 0]
        nD = np.linalg.norm(Delta, axis=-1)
        v0 = np.zeros((H.shape[0], H.shape[-1]))
        base = None
        for s in SCALES:
            ws = np.stack([w[:, 0], w[:, 0] + s * Delta], axis=1)
            e_A = np.linalg.norm(simulated_plateaus(Gamma, H, ws, v0)[:, 0], axis=-1)
            scale = sv[:, 0] * nD
            errors.extend(np.maximum(e_A - s * sv[:, 0] * nD, 0) / scale)  # upper bound
            errors.extend(np.maximum(s * sv[:, -1] * nD - e_A, 0) / scale)  # lower bound
            if s == 1.0:
                base = e_A
            elif base is not None:
                errors.extend(np.abs(e_A - s * base) / scale)  # exact scaling, hence monotone
        # Delta = 0 (s = 0) is covered by the bounds: both are 0 there.
    return worst(errors, BOUND_REL_TOL, f"simulated ||e_A(s Delta)|| for s in {SCALES}: within "
                                        "[sigma_min(G_A), ||G_A||] * s ||Delta|| and equal to s ||e_A(Delta)||")


def scaling_error(ex) -> float:
    """||e_A(2 Delta)|| = 2 ||e_A(Delta)|| on a Hypothesis example (plus the plateau itself)."""
    G, H, w = ex.Gamma[None], ex.H[None], ex.w_star[None]
    w2 = np.stack([w[:, 0], w[:, 0] + 2 * (w[:, 1] - w[:, 0])], axis=1)
    d = H.shape[-1]
    turns = 1200  # rho < 0.95: 0.95^1200 ~ 1e-27
    e1 = np.linalg.norm(simulated_plateaus(G, H, w, np.zeros((1, d)), turns)[0, 0])
    e2 = np.linalg.norm(simulated_plateaus(G, H, w2, np.zeros((1, d)), turns)[0, 0])
    return max(float(abs(e2 - 2 * e1) / (1 + np.linalg.norm(w))), plateau_error(ex))


def v6(profile: Profile) -> Outcome:
    return run_property(scaling_error, pair_examples(), profile, PROPERTY_TOL,
                        "||e_A(2 Delta)|| = 2 ||e_A(Delta)|| over d in 1..8, all geometry kinds, gap scale and angle")


CLAIMS = [
    Claim(
        id="C4",
        title="Alignment and degradation linear in the gap",
        hypotheses=("rho(M_A M_B) < 1", PAIR_INVERTIBLE),
        reference=cite("C4"),
        relation="upper",
        methods={"V1": v1, "V3": v3, "V4": v4, "V6": v6},
        formulas=("C3.residual_A", "C3.residual_B"),
    )
]
