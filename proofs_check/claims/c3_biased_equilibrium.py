"""C3: the biased equilibrium ``e_A = u* - w_A* = G_A Delta`` and ``e_B = v* - w_B* = -G_B Delta``.

``G_A = (I - M_A M_B)^{-1} M_A K_B``, ``G_B = (I - M_B M_A)^{-1} M_B K_A``, with the
coupling identities ``e_A = M_A (e_B + Delta)`` and ``e_B = M_B (e_A - Delta)``.
Methods: V1, V2, V4 (plateau of simulated GD agents), V5 (60 digits vs the C5
route), V6 (Hypothesis over dimensions, geometries, gap scale and angle), V7
(trained LSA agents, :mod:`proofs_check.verification.v7_trained`).
"""
from __future__ import annotations

import mpmath as mp
import numpy as np

from numerics.dynamics import closed_forms
from numerics.protocol import simulate
from proofs_check.statements.provenance import cite
from proofs_check.verification import precise_cases
from proofs_check.verification.instances import gd_pairs, moments, transfers
from proofs_check.verification.methods import (
    FLOAT_REL_TOL,
    PAIR_FACTORS,
    PAIR_INVERTIBLE,
    PRECISE_DPS,
    PRECISE_REL_TOL,
    explicit_zero,
    free_proofs,
    relative_error,
    worst,
)
from proofs_check.verification.properties import run_property
from proofs_check.verification.registry import Claim, Outcome, Profile
from proofs_check.verification.shipped_formulas import formulas_method
from proofs_check.verification.strategies import RHO_CAP, pair_examples
from theory.core import algebra, model
from theory.round_robin import per_direction as pd, two_agents as ta

A, B = ta.A, ta.B
e_A_def = ta.u_star - A.w_star  # the plateau, from the fixed point
e_B_def = ta.v_star - B.w_star
CONVERGED_TURNS = 300  # 0.9^300 < 1e-13
# V6 examples reach rho up to 0.95 and cond(H) up to 1e8 (with a near-inverse
# preconditioner); 1e-8 relative to the problem scale allows that conditioning.
PROPERTY_TOL = 1e-8


def identities():
    """(label, lhs, rhs, factors to multiply through)."""
    return [
        ("e_A = G_A Delta", e_A_def, ta.e_A, [model.I - ta.J_A]),
        ("e_B = -G_B Delta", e_B_def, ta.e_B, [model.I - ta.J_B]),
        ("e_A = M_A (e_B + Delta)", e_A_def, A.M * (e_B_def + ta.Delta), [model.I - ta.J_A]),
        ("e_B = M_B (e_A - Delta)", e_B_def, B.M * (e_A_def - ta.Delta), [model.I - ta.J_B]),
    ]


def v1(profile: Profile) -> Outcome:
    return free_proofs((label, algebra.prove(lhs, rhs, f, ta.DEFINITIONS, PAIR_FACTORS))
                       for label, lhs, rhs, f in identities())


def v2(profile: Profile) -> Outcome:
    return explicit_zero((f"{label} (d={n})", model.explicit(lhs - rhs, n, ta.AGENTS))
                         for n in (1, 2) for label, lhs, rhs, _ in identities())


def simulated_plateaus(Gamma, H, w, v0, turns: int = CONVERGED_TURNS, steps=(1, 1)) -> np.ndarray:
    """``(u_T - w_A*, v_T - w_B*)`` from iterating the real GD maps; shape (B, 2, d)."""
    last = simulate.run_batch(Gamma, H, moments(H, w), steps, v0, turns)[:, -1]
    return last - w


def predicted_plateaus(Gamma, H, w) -> np.ndarray:
    """``(G_A Delta, -G_B Delta)`` from the closed-form bias maps."""
    M, _ = transfers(Gamma, H, w)
    G_A, G_B = closed_forms.bias_maps(M[:, 0], M[:, 1])
    Delta = (w[:, 1] - w[:, 0])[..., None]
    return np.stack([(G_A @ Delta)[..., 0], -(G_B @ Delta)[..., 0]], axis=1)


def v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 3)
    errors = []
    for Gamma, H, w in gd_pairs(rng, profile.instances):
        v0 = rng.standard_normal((H.shape[0], H.shape[-1]))
        sim, pred = simulated_plateaus(Gamma, H, w, v0), predicted_plateaus(Gamma, H, w)
        # relative to the objective gap: the plateau is a fraction of ||Delta||
        scale = np.linalg.norm(w[:, 1] - w[:, 0], axis=-1)[:, None]
        errors.extend((np.linalg.norm(sim - pred, axis=-1) / scale).ravel())
        # leading axes are batch axes (the closed forms' contract): an extra one changes nothing
        M, _ = transfers(Gamma, H, w)
        flat, nested = closed_forms.bias_maps(M[:, 0], M[:, 1]), closed_forms.bias_maps(M[None, :, 0], M[None, :, 1])
        errors += [relative_error(n[0], f) for n, f in zip(nested, flat)]
    return worst(errors, FLOAT_REL_TOL, f"simulated plateau ({CONVERGED_TURNS} turns) vs G_A Delta, -G_B Delta; "
                                        "error / ||Delta||, d in 1..8, rho <= 0.9; bias maps with an extra batch axis")


def v5(profile: Profile) -> Outcome:
    gA = precise_cases.mp_gain(pd.gain_A)
    gB = precise_cases.mp_gain(pd.gain_B)
    errors = []
    for case in precise_cases.cases(profile, seed_offset=33):
        with mp.workdps(PRECISE_DPS):
            u, v = precise_cases.closed_form(case)
            for e, ref in ((u - case.w_A, precise_cases.per_direction(case, gA)),
                           (v - case.w_B, precise_cases.per_direction(case, gB))):
                errors.append(float(mp.norm(e - ref) / mp.norm(ref)))
    return worst(errors, PRECISE_REL_TOL, f"e_A, e_B from the {PRECISE_DPS}-digit fixed point vs per-direction "
                                          f"gains; rho up to 1-1e-10, cond(H) up to 1e12")


def plateau_error(ex) -> float:
    """Simulated vs predicted plateau for one Hypothesis example, relative to the problem scale."""
    G, H, w = ex.Gamma[None], ex.H[None], ex.w_star[None]
    rho = closed_forms.contraction_rate(np.eye(H.shape[-1]) - G @ H)[0]
    turns = int(np.ceil(np.log(1e-14) / np.log(max(rho, 1e-3)))) + 5
    sim = simulated_plateaus(G, H, w, np.zeros((1, H.shape[-1])), turns)
    pred = predicted_plateaus(G, H, w)
    return float(np.linalg.norm(sim - pred) / (1.0 + np.linalg.norm(w)))


def v6(profile: Profile) -> Outcome:
    return run_property(plateau_error, pair_examples(), profile, PROPERTY_TOL,
                        f"plateau = (G_A Delta, -G_B Delta) over d in 1..8, full/rank-deficient/ill-conditioned "
                        f"geometries, gap scale in [0, 10], angle in [0, pi], rho < {RHO_CAP}")


def v7(profile: Profile) -> Outcome:
    from proofs_check.verification.v7_trained import v7_plateau  # trains LSA agents: imported only when V7 runs

    return v7_plateau(profile)


CLAIMS = [
    Claim(
        id="C3",
        title="Biased equilibrium: plateau G_A Delta",
        hypotheses=(PAIR_INVERTIBLE,),
        reference=cite("C3"),
        relation="equal",
        methods={"V1": v1, "V2": v2, "V4": v4, "V5": v5, "V6": v6, "V7": v7,
                 "VS": formulas_method(("C3.bias_map_A", "C3.bias_map_B", "C3.residual_A", "C3.residual_B"))},
        formulas=("C3.bias_map_A", "C3.bias_map_B", "C3.residual_A", "C3.residual_B"),
    )
]
