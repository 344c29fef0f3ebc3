"""C15: noisy agents. With independent zero-mean output noise ``Cov eta_i = S_i``, the mean
follows the noiseless fixed point (C2) and B's messages have stationary covariance
``P_B = J_B P_B J_B^T + M_B S_A M_B^T + S_B`` (``J_B = M_B M_A``); with K agents,
``P_i = J_i P_i J_i^T + sum_j P_{i,j} S_j P_{i,j}^T``.

Methods: V1 (the deviation recursion, and K = 2 of the K-agent equation is the two-agent
one), V4 (Monte Carlo over independent chains of real GD steps, K = 2 and 3),
V8 (scipy's ``solve_discrete_lyapunov`` and python-control's ``dlyap``).
"""
from __future__ import annotations

import numpy as np

from numerics.agents.gd import GDAgent
from numerics.dynamics import closed_forms, lyapunov, noisy as noisy_sim
from proofs_check.statements.provenance import cite
from proofs_check.verification.instances import random_gd_agent
from proofs_check.verification.methods import (
    EXTERNAL_REL_TOL,
    PAIR_FACTORS,
    PAIR_INVERTIBLE,
    free_proofs,
    relative_error,
    with_python_control,
    worst,
)
from proofs_check.verification.registry import Claim, Outcome, Profile
from theory.core import algebra, model
from theory.round_robin import k_agents as ka, two_agents as ta
from theory.stochastic import noisy

# V4 statistical tolerance: entries of a sample covariance of n iid Gaussian vectors have
# standard error sqrt((P_ii P_jj + P_ij^2) / n); 5 standard errors over a few hundred
# entries fails by chance with probability < 1e-4 (and the seed is fixed).
MC_Z_TOL = 5.0
MC_CHAINS = {"quick": 20_000, "full": 100_000}
MC_SYSTEMS = {"quick": 2, "full": 6}  # per K; each costs BURN_IN turns over all chains
RHO_MAX = 0.9
# Turns before sampling: the chains start at 0, so the covariance still carries J^T P J^T-sized
# terms, rho^(2 T) <= 0.9^240 < 1e-10 relative: ~1e-7 standard errors at 1e5 chains (the
# mean is subtracted by np.cov). 120 turns cost 40% of 300 at no loss of power.
BURN_IN = 120


def v1(profile: Profile) -> Outcome:
    A, B = ta.A, ta.B
    proofs = [("v_t - v* = J_B (v_{t-1} - v*) + M_B eta_A + eta_B",
               algebra.prove(noisy.v_next - ta.v_star, noisy.deviation_B, [model.I - ta.J_B], ta.DEFINITIONS,
                             PAIR_FACTORS))]
    # The K-agent equation for agent 1 (= A) is consistent with B's two-agent one: with
    # P_A := M_A P_B M_A^T + S_A (A's reply to B's stationary message plus its own noise),
    # rhs_A(P_A) - P_A = M_A (rhs_B(P_B) - P_B) M_A^T, so B's equation implies A's.
    a1, a2 = ka.agents(2)
    rename = {a1.M: A.M, a2.M: B.M}
    P_A, P_B = noisy.P_A, noisy.P_B
    rhs_A = noisy.lyapunov_rhs(2, 0, P_A, [noisy.S_A, noisy.S_B]).xreplace(rename)
    proofs.append(("K = 2: P_A = M_A P_B M_A^T + S_A turns B's Lyapunov equation into A's",
                   algebra.prove(rhs_A - P_A, A.M * (noisy.lyapunov_rhs_B - P_B) * A.M.T, [],
                                 {P_A.name: A.M * P_B * A.M.T + noisy.S_A}, {})))
    # the registered two-agent formulas (rendered in the docs) stand in the same relation
    from theory.core.formulas import all_formulas
    shown = all_formulas()
    proofs.append(("registered C15.stationary_covariance_A vs C15.stationary_covariance_B",
                   algebra.prove(shown["C15.stationary_covariance_A"].rhs - P_A,
                                 A.M * (shown["C15.stationary_covariance_B"].rhs - P_B) * A.M.T, [],
                                 {P_A.name: A.M * P_B * A.M.T + noisy.S_A}, {})))
    return free_proofs(proofs)


def noisy_systems(rng, n: int, K: int):
    """``n`` systems of K GD agents with round rate <= RHO_MAX and random PSD noise (one rank-deficient)."""
    out: list[tuple[list[GDAgent], np.ndarray]] = []
    while len(out) < n:
        d = int(rng.integers(1, 5))
        agents = [random_gd_agent(rng, d, chr(ord("A") + k)) for k in range(K)]
        if closed_forms.contraction_rate(np.stack([a.M for a in agents])) > RHO_MAX:
            continue
        S = []
        for k in range(K):
            root = rng.standard_normal((d, int(rng.integers(1, d + 1)) if k == 0 else d))
            S.append(rng.uniform(0.01, 0.1) * root @ root.T / d)
        out.append((agents, np.stack(S)))
    return out


def v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 15)
    chains = MC_CHAINS[profile.name]
    z = []
    for K in (2, 3):
        for i, (agents, S) in enumerate(noisy_systems(rng, MC_SYSTEMS[profile.name], K)):
            final = noisy_sim.run_chains(agents, S, np.zeros(agents[0].d), BURN_IN, chains, profile.seed + i)
            P = lyapunov.stationary_covariances(np.stack([a.M for a in agents]), S)
            for k in range(K):
                C = np.cov(final[:, k].T, ddof=1).reshape(P[k].shape)
                diag = np.diag(P[k])
                se = np.sqrt((np.outer(diag, diag) + P[k] ** 2) / chains)
                z.append(float(np.max(np.abs(C - P[k]) / se)))
    return worst(z, MC_Z_TOL, f"K = 2, 3: Monte Carlo covariance ({chains} chains) vs Lyapunov, "
                              "in standard errors",
                 power=f"a diagonal covariance entry off by a relative x scores z ~ x sqrt(chains / 2) = "
                       f"{np.sqrt(chains / 2):.0f} x: x = 5% reaches the bar, a dropped noise term "
                       "(x = O(1)) is ~20 times it")


@with_python_control
def v8(profile: Profile, control) -> Outcome:
    from scipy.linalg import solve_discrete_lyapunov
    rng = np.random.default_rng(profile.seed + 151)
    errors = []
    for K in (2, 3):
        for agents, S in noisy_systems(rng, max(4, profile.instances // 8), K):
            M = np.stack([a.M for a in agents])
            P = lyapunov.stationary_covariances(M, S)
            for i in range(K):
                J, Q = lyapunov.round_noise(M, S, i)
                errors.append(relative_error(P[i], solve_discrete_lyapunov(J, Q)))
                errors.append(relative_error(P[i], np.asarray(control.dlyap(J, Q))))
    return worst(errors, EXTERNAL_REL_TOL, "K = 2, 3: Kronecker solve vs scipy solve_discrete_lyapunov "
                                           "and python-control dlyap")


CLAIMS = [
    Claim(
        id="C15",
        title="Noisy agents: stationary spread from a Lyapunov equation",
        hypotheses=("independent zero-mean output noise, Cov eta_i = S_i", "rho(M_A M_B) < 1", PAIR_INVERTIBLE),
        reference=cite("C15"),
        relation="equal",
        methods={"V1": v1, "V4": v4, "V8": v8},
        formulas=("C15.stationary_covariance_B", "C15.stationary_covariance_A"),
    )
]
