"""C2: the fixed points ``u* = (I - M_A M_B)^{-1}(M_A c_B + c_A)`` and ``v* = T_B(u*)``.

Methods: V1 (free algebra), V2 (explicit d = 1, 2), V4 (vs simulation),
V5 (mpmath, ill-conditioned), V6 (Hypothesis), V8 (python-control DC gain).
"""
from __future__ import annotations

import mpmath as mp
import numpy as np

from numerics.dynamics import closed_forms
from numerics.protocol import simulate
from proofs_check.statements.provenance import cite
from proofs_check.verification import precise_cases, shipped
from proofs_check.verification.instances import config_system, gd_pairs, moments, transfers
from proofs_check.verification.methods import (
    EXTERNAL_REL_TOL,
    FLOAT_REL_TOL,
    PAIR_FACTORS,
    PAIR_INVERTIBLE,
    PRECISE_DPS,
    PRECISE_REL_TOL,
    batch_relative_error,
    explicit_zero,
    free_proofs,
    relative_error,
    with_python_control,
    worst,
)
from proofs_check.verification.properties import run_property
from proofs_check.verification.registry import Claim, Outcome, Profile
from proofs_check.verification.shipped_formulas import formulas_method
from proofs_check.verification.strategies import RHO_CAP, pair_examples
from theory.core import algebra, model
from theory.round_robin import two_agents as ta

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
    return free_proofs((label, algebra.prove(lhs, rhs, factors, ta.DEFINITIONS, PAIR_FACTORS))
                       for label, lhs, rhs, factors in identities())


def v2(profile: Profile) -> Outcome:
    return explicit_zero((f"{label} (d={n})", model.explicit(lhs - rhs, n, ta.AGENTS))
                         for n in (1, 2) for label, lhs, rhs, _ in identities())


# Turns so that 0.9^turns < 1e-13: the transient is far below FLOAT_REL_TOL.
CONVERGED_TURNS = 300
# V6 examples reach rho up to 0.95 and cond(H) up to 1e8 (near-inverse preconditioner);
# 1e-8 relative to the problem scale allows that conditioning.
PROPERTY_TOL = 1e-8


def v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed)
    errors: list[float] = []
    for Gamma, H, w in gd_pairs(rng, profile.instances):
        v0 = rng.standard_normal((H.shape[0], H.shape[-1]))
        sim = simulate.run_batch(Gamma, H, moments(H, w), [1, 1], v0, CONVERGED_TURNS)[:, -1]
        M, c = transfers(Gamma, H, w)
        errors.extend(batch_relative_error(closed_forms.fixed_points(M, c), sim))
    # and the user-facing path: config-parsed pairs (matrix preconditioners, prompts, 1-3 steps),
    # `predict` against `simulate`
    from numerics.protocol import prediction
    for _ in range(max(4, profile.instances // 8)):
        system = config_system(rng, 2, int(rng.integers(1, 7)))
        doc, sim_doc = prediction.predict(system), prediction.simulate_doc(system, CONVERGED_TURNS)
        for a in system.agents:
            last = np.array(sim_doc["agents"][a.name]["messages"][-1])
            errors.append(relative_error(np.array(doc["agents"][a.name]["fixed_point"]), last))
    return worst(errors, FLOAT_REL_TOL, f"closed form vs {CONVERGED_TURNS}-turn simulation, d in 1..8, rho <= 0.9; "
                                        "config-parsed pairs: predict vs simulate",
                 power="a fixed point off by a relative 1e-8 is 10 times the bar")


def v5(profile: Profile) -> Outcome:
    """u* at 50 digits vs the C5 per-direction route, on commuting ill-conditioned pairs."""
    from theory.round_robin import per_direction as pd
    gain = precise_cases.mp_gain(pd.gain_A)
    errors, notes = [], []
    for case in precise_cases.cases(profile, seed_offset=5):
        with mp.workdps(PRECISE_DPS):
            u, _ = precise_cases.closed_form(case)
            u_ref = case.w_A + precise_cases.per_direction(case, gain)
            errors.append(float(mp.norm(u - u_ref) / mp.norm(u_ref)))
            notes.append(f"rho=1-{1 - case.rho:.0e}, cond={case.cond:.0e}: float64 keeps "
                         f"{precise_cases.float64_digits(case, u_ref):.1f} digits")
    return worst(errors, PRECISE_REL_TOL,
                 f"{PRECISE_DPS}-digit closed form vs per-direction route; " + "; ".join(notes))


def fixed_point_error(ex) -> float:
    """Converged simulation vs ``closed_forms.fixed_points`` on one Hypothesis example."""
    G, H, w = ex.Gamma[None], ex.H[None], ex.w_star[None]
    M, c = transfers(G, H, w)
    rho = float(closed_forms.contraction_rate(M)[0])
    turns = int(np.ceil(np.log(1e-14) / np.log(max(rho, 1e-3)))) + 5
    sim = simulate.run_batch(G, H, moments(H, w), [1, 1], np.zeros((1, H.shape[-1])), turns)[:, -1]
    return float(np.linalg.norm(closed_forms.fixed_points(M, c) - sim) / (1.0 + np.linalg.norm(w)))


def v6(profile: Profile) -> Outcome:
    return run_property(fixed_point_error, pair_examples(), profile, PROPERTY_TOL,
                        f"(u*, v*) vs converged simulation over d in 1..8, full/rank-deficient/ill-conditioned "
                        f"geometries, gap scale and angle, rho < {RHO_CAP}")


@with_python_control
def v8(profile: Profile, control) -> Outcome:
    rng = np.random.default_rng(profile.seed + 8)
    errors = []
    for Gamma, H, w in gd_pairs(rng, max(8, profile.instances // 8)):
        for M, c in zip(*transfers(Gamma, H, w)):
            d = M.shape[-1]
            J = M[0] @ M[1]
            r = M[0] @ c[1] + c[0]
            # u_{t+1} = J u_t + r*1: the fixed point is the DC gain of (J, r, I, 0) in discrete time.
            sys = control.ss(J, r[:, None], np.eye(d), np.zeros((d, 1)), dt=True)
            u_ext = np.asarray(control.dcgain(sys)).reshape(d)
            u = closed_forms.fixed_points(M[None], c[None])[0, 0]
            errors.append(np.linalg.norm(u - u_ext) / np.linalg.norm(u_ext))
    return worst(errors, EXTERNAL_REL_TOL, "python-control dcgain(ss(J, r, I, 0, dt=True)) vs closed form")


CLAIMS = [
    Claim(
        id="C2",
        title="Fixed points of the coupled maps",
        hypotheses=(PAIR_INVERTIBLE,),
        reference=cite("C2"),
        relation="equal",
        methods={"V1": v1, "V2": v2, "V4": v4, "V5": v5, "V6": v6, "V8": v8,
                 "VS": shipped.joint(shipped.documents_method(12, (2, 2), False),
                                    formulas_method(("C2.fixed_point_A", "C2.fixed_point_B")))},
        formulas=("C2.fixed_point_A", "C2.fixed_point_B"),
    )
]
