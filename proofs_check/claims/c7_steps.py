"""C7: steps per turn. C2-C5 hold with ``M_i -> M_i^s``; as ``s_A -> infinity``,
``e_A -> 0`` and ``e_B -> -M_B Delta``.

Methods: V1 (the s-step map by induction, and the limit), V4 (simulations
with s_A, s_B > 1 vs the C2/C3 closed forms on ``M_i^s``; the limit as s_A grows).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from numerics.dynamics import closed_forms
from numerics.protocol import simulate
from proofs_check.claims.c3_biased_equilibrium import simulated_plateaus
from proofs_check.statements.provenance import cite
from proofs_check.verification.instances import config_system, gd_pairs
from proofs_check.verification.methods import FLOAT_REL_TOL, free_proofs, worst
from proofs_check.verification.registry import Claim, Outcome, Profile
from proofs_check.verification.shipped_formulas import formulas_method
from theory.core import algebra, model
from theory.round_robin import steps, two_agents as ta

A, B = ta.A, ta.B
LIMIT_STEPS = (1, 4, 16, 64, 256)
# At s_A = 256 with rho(M_A) <= LIMIT_RHO_A the transient M_A^s is below 1e-11 for these pairs;
# the limit check compares e_B with -M_B Delta to that accuracy. Pairs with a slower A
# (rho(M_A) close to 1 is allowed by rho(M_A M_B) <= 0.9) need more steps and are left out.
LIMIT_RHO_A = 0.9
LIMIT_TOL = 1e-8
CONVERGED_TURNS = 300  # rho <= 0.9: 0.9^300 < 1e-13
LIMIT_HYPOTHESIS = "rho(M_A) < 1 for the s_A -> infinity limit"


def v1(profile: Profile) -> Outcome:
    one = algebra.prove(A.T(steps.T_s), steps.T_s_plus_1, (), ta.DEFINITIONS, {})
    base = algebra.prove(steps.T_s.xreplace({steps.S_A: A.M}), A.T(steps.w), (), ta.DEFINITIONS, {})
    # The limit s_A -> infinity: M_A^{s_A} -> 0 (rho(M_A) < 1), entered as the definition M_A := 0 in
    # C3's formulas (not substituted into them first: SymPy would collapse e_A to 0 = 0 before the proof).
    limit = {A.M.name: sp.ZeroMatrix(*A.M.shape), **ta.DEFINITIONS}
    hyp = {LIMIT_HYPOTHESIS: (model.I - B.M * A.M, model.I - A.M * B.M)}  # = I once M_A = 0
    lim_A = algebra.prove(ta.e_A, sp.ZeroMatrix(*A.w_star.shape), (), limit, hyp)
    lim_B = algebra.prove(ta.e_B, -B.M * ta.Delta, (), limit, hyp)
    return free_proofs([("T^1 = T", base), ("T(T^s(w)) = T^{s+1}(w)", one),
                        ("M_A = 0: e_A = 0", lim_A), ("M_A = 0: e_B = -M_B Delta", lim_B)])


def v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 7)
    errors = []
    # Pairs as users configure them (numerics.protocol.config), 1-4 steps per turn, matrix preconditioners:
    # the per-turn transfers M_i^{s_i} come from GDAgent.M, the code predict uses; the plateau from
    # iterating the real agents.
    for _ in range(max(8, profile.instances // 2)):
        system = config_system(rng, 2, int(rng.integers(1, 7)), max_steps=4)
        a, b = system.agents
        last = simulate.run(system.agents, system.initial_message, CONVERGED_TURNS)[-1]
        sim = last - np.stack([a.w_star, b.w_star])
        M, _ = system.stacked()
        G_A, G_B = closed_forms.bias_maps(M[0], M[1])
        Delta = b.w_star - a.w_star
        pred = np.stack([G_A @ Delta, -(G_B @ Delta)])
        errors.extend(np.linalg.norm(sim - pred, axis=-1) / np.linalg.norm(Delta))
    # The limit: e_A -> 0 and e_B -> -M_B Delta as s_A grows (B keeps one step).
    limit_gap = []
    for Gamma, H, w in gd_pairs(rng, 8, d_range=(2, 6), rho_max=0.9):
        fast_A = closed_forms.spectral_radius(np.eye(H.shape[-1]) - Gamma[:, 0] @ H[:, 0]) <= LIMIT_RHO_A
        if not np.any(fast_A):
            continue
        Gamma, H, w = Gamma[fast_A], H[fast_A], w[fast_A]
        M1 = np.eye(H.shape[-1]) - Gamma @ H
        Delta = w[:, 1] - w[:, 0]
        target_B = -(M1[:, 1] @ Delta[..., None])[..., 0]
        for sA in LIMIT_STEPS:
            sim = simulated_plateaus(Gamma, H, w, np.zeros_like(Delta), steps=[sA, 1])
            gap = np.linalg.norm(sim[:, 0], axis=-1) + np.linalg.norm(sim[:, 1] - target_B, axis=-1)
            limit_gap.append(float(np.max(gap / np.linalg.norm(Delta, axis=-1))))
    # The limit is a pass/fail side condition: for every batch the gap must shrink with s_A and end below LIMIT_TOL.
    n = len(LIMIT_STEPS)
    runs = [limit_gap[i:i + n] for i in range(0, len(limit_gap), n)]
    if not runs or not all(r[-1] <= LIMIT_TOL and all(x >= y for x, y in zip(r, r[1:])) for r in runs):  # NaN fails
        errors.append(np.inf)
    last = max(runs, key=lambda r: r[-1]) if runs else []
    return worst(errors, FLOAT_REL_TOL,
                 "config-parsed pairs (matrix preconditioners, s in 1..4): simulated plateaus vs C3 on "
                 "GDAgent.M = M^s; limit gap ||e_A|| + ||e_B + M_B Delta|| "
                 f"/ ||Delta|| at s_A = {LIMIT_STEPS} (worst of {len(runs)} batches): "
                 + ", ".join(f"{g:.1e}" for g in last)
                 + f" (last must be <= {LIMIT_TOL:g})")


CLAIMS = [
    Claim(
        id="C7",
        title="Steps per turn",
        hypotheses=("rho(M_A^{s_A} M_B^{s_B}) < 1", LIMIT_HYPOTHESIS),
        reference=cite("C7"),
        relation="equal",
        methods={"V1": v1, "V4": v4, "VS": formulas_method(("C7.s_steps", "C7.limit_residual_B"))},
        formulas=("C7.s_steps", "C7.limit_residual_B"),
    )
]
