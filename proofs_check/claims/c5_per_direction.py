"""C5: per-direction geometry when ``K_A`` and ``K_B`` share an eigenbasis.

``e_A,k = (1-a_k) b_k / D_k Delta_k``, ``e_B,k = -(1-b_k) a_k / D_k Delta_k``,
``(u* - v*)_k = -a_k b_k / D_k Delta_k``, ``rho = max_k |(1-a_k)(1-b_k)|``,
``D_k = a_k + b_k - a_k b_k``. Methods: V3 (the C3 maps restricted to one
direction are exactly these rational functions), V2 (diagonal d = 2), V4
(simulated GD agents with commuting prompts, read in the eigenbasis).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from numerics.agents import random_systems
from numerics.dynamics import closed_forms
from proofs_check.claims.c3_biased_equilibrium import simulated_plateaus
from proofs_check.statements.provenance import cite
from proofs_check.verification.methods import FLOAT_REL_TOL, explicit_zero, worst
from proofs_check.verification.registry import Claim, Outcome, Profile
from theory.core import model
from theory.round_robin import per_direction as pd, two_agents as ta

A, B = ta.A, ta.B
DIRECTION_GAINS = [
    ("e_A,k", ta.G_A, pd.gain_A),
    ("e_B,k", -ta.G_B, pd.gain_B),
    ("(u* - v*)_k", ta.G_A + ta.G_B - model.I, pd.gain_gap),  # u* - v* = e_A - e_B - Delta
    ("rate_k", ta.J_A, pd.rate),
]


def _diagonal_env(a_vals, b_vals) -> dict:
    Ka, Kb = sp.diag(*a_vals), sp.diag(*b_vals)
    n = len(a_vals)
    return {A.M.name: sp.eye(n) - Ka, B.M.name: sp.eye(n) - Kb, A.K.name: Ka, B.K.name: Kb}


# the registered formulas (rendered in the docs): (formula ID, C3 map, times Delta_k?)
REGISTERED = [("C5.residual_A_k", ta.G_A, True), ("C5.residual_B_k", -ta.G_B, True),
              ("C5.disagreement_k", ta.G_A + ta.G_B - model.I, True), ("C5.rate_k", ta.J_A, False)]


def v3(profile: Profile) -> Outcome:
    from theory.core.formulas import all_formulas

    env = _diagonal_env([pd.a], [pd.b])
    cases = [(f"{label} = C3 map in one direction", model.evaluate(expr, env)[0, 0] - gain)
             for label, expr, gain in DIRECTION_GAINS]
    shown = all_formulas()
    cases += [(f"registered {fid} = C3 map in one direction",
               model.evaluate(expr, env)[0, 0] * (pd.Delta_k if scaled else 1) - shown[fid].rhs)
              for fid, expr, scaled in REGISTERED]
    return explicit_zero(cases)


def v2(profile: Profile) -> Outcome:
    a = sp.symbols("a_1 a_2")
    b = sp.symbols("b_1 b_2")
    env = _diagonal_env(a, b)
    cases = []
    for label, expr, gain in DIRECTION_GAINS:
        G = model.evaluate(expr, env)
        expected = sp.diag(*[gain.subs({pd.a: ak, pd.b: bk}, simultaneous=True) for ak, bk in zip(a, b)])
        cases.append((f"{label} (diagonal d=2)", G - expected))
    return explicit_zero(cases)


def commuting_pair(rng, d: int):
    """GD agents whose prompts share an eigenbasis Q, scalar preconditioners: K_i = Q diag Q^T."""
    Q = random_systems.orthogonal(rng, d)
    hA, hB = rng.uniform(0.05, 1.0, d), rng.uniform(0.05, 1.0, d)
    if d > 1:  # one direction informative only to A, one only to B
        hA[0], hB[0] = 1.0, 0.02
        hB[1], hA[1] = 1.0, 0.02
    H = np.stack([(Q * hA) @ Q.T, (Q * hB) @ Q.T])
    etas = rng.uniform(0.5, 1.5, 2)
    Gamma = np.stack([etas[0] * np.eye(d), etas[1] * np.eye(d)])
    return Gamma, H, Q, etas[0] * hA, etas[1] * hB


def v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 55)
    fA = sp.lambdify((pd.a, pd.b), pd.gain_A, "numpy")
    fB = sp.lambdify((pd.a, pd.b), pd.gain_B, "numpy")
    fr = sp.lambdify((pd.a, pd.b), pd.rate, "numpy")
    errors: list[float] = []
    for k in range(max(8, profile.instances // 4)):
        d = int(rng.integers(1, 9))
        Gamma, H, Q, a, b = commuting_pair(rng, d)
        w = rng.standard_normal((1, 2, d))
        rho = float(np.max(np.abs(fr(a, b))))
        turns = int(np.ceil(np.log(1e-14) / np.log(rho))) + 5
        sim = simulated_plateaus(Gamma[None], H[None], w, np.zeros((1, d)), turns)[0]
        Delta_k = Q.T @ (w[0, 1] - w[0, 0])  # gap in the eigenbasis
        nD = float(np.linalg.norm(Delta_k))
        errors.append(float(np.linalg.norm(Q.T @ sim[0] - fA(a, b) * Delta_k)) / nD)
        errors.append(float(np.linalg.norm(Q.T @ sim[1] - fB(a, b) * Delta_k)) / nD)
        M = np.eye(d) - Gamma @ H
        errors.append(abs(float(closed_forms.contraction_rate(M)) - rho) / rho)
    return worst(errors, FLOAT_REL_TOL, "simulated plateaus in the shared eigenbasis vs per-direction gains; "
                                        "rho vs max_k |(1-a_k)(1-b_k)|, d in 1..8")


CLAIMS = [
    Claim(
        id="C5",
        title="Per-direction geometry of the plateau",
        hypotheses=("K_A and K_B simultaneously diagonalisable", "a_k + b_k - a_k b_k != 0"),
        reference=cite("C5"),
        relation="equal",
        methods={"V3": v3, "V2": v2, "V4": v4},
        formulas=("C5.residual_A_k", "C5.residual_B_k", "C5.disagreement_k", "C5.rate_k"),
    )
]
