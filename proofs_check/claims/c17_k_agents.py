"""C17: K agents round robin. ``(I - J_i) u_i* = sum_j P_{i,j} c_j`` and
``e_i = (I - J_i)^{-1} sum_{j != i} P_{i,j} K_j (w_j* - w_i*)``, from the
telescoping identity ``sum_j P_{i,j} K_j = I - J_i``; K = 2 gives C2 and C3.

Methods: V1 (K = 2..5, every agent), V2 (K = 3, d = 1; d = 2 in the full profile), V4 (K = 3, 4
simulations vs closed form), V8 (python-control DC gain for K = 3).
"""
from __future__ import annotations

import numpy as np

from numerics import closed_forms, random_systems, simulate
from theory import algebra, model
from theory import k_agents as ka
from theory import two_agents as ta

from ..methods import EXTERNAL_REL_TOL, FLOAT_REL_TOL, batch_relative_error, explicit_zero, free_proofs, worst, with_python_control
from ..provenance import cite
from ..registry import Claim, Outcome, Profile

V1_AGENTS = (2, 3, 4, 5)
CONVERGED_TURNS = 300  # rho <= 0.9: 0.9^300 < 1e-13


def identities(K: int):
    """(label, lhs, rhs, factors) for every agent i of a K-agent round."""
    ag = ka.agents(K)
    out = []
    for i in range(K):
        F = [model.I - ka.J(K, i)]
        out += [
            (f"K={K}, i={i + 1}: sum_j P_ij K_j = I - J_i", ka.telescoping_sum(K, i), model.I - ka.J(K, i), []),
            (f"K={K}, i={i + 1}: u_i* = T_i(u_(i-1)*)", ka.fixed_point(K, i), ag[i].T(ka.fixed_point(K, i - 1)), F),
            (f"K={K}, i={i + 1}: e_i formula", ka.fixed_point(K, i) - ag[i].w_star, ka.residual(K, i), F),
        ]
    return out


def v1(profile: Profile) -> Outcome:
    proofs = [(label, algebra.prove(lhs, rhs, f, ka.defs(K)))
              for K in V1_AGENTS for label, lhs, rhs, f in identities(K)]
    # K = 2 reduces to C2 and C3 exactly (agent 1 = A, agent 2 = B).
    rename = {ka.agents(2)[0].M: ta.A.M, ka.agents(2)[1].M: ta.B.M, ka.agents(2)[0].K: ta.A.K,
              ka.agents(2)[1].K: ta.B.K, ka.agents(2)[0].w_star: ta.A.w_star, ka.agents(2)[1].w_star: ta.B.w_star}
    proofs.append(("K=2 fixed point = C2 u*", algebra.prove(ka.fixed_point(2, 0).xreplace(rename), ta.u_star,
                                                             [model.I - ta.J_A], ta.DEFINITIONS)))
    proofs.append(("K=2 residual = C3 e_A", algebra.prove(ka.residual(2, 0).xreplace(rename), ta.e_A,
                                                           [model.I - ta.J_A], ta.DEFINITIONS)))
    return free_proofs(proofs)


def v2(profile: Profile) -> Outcome:
    K = 3
    dims = (1,) if profile.name == "quick" else (1, 2)  # d = 2 with K = 3 takes ~3 s
    return explicit_zero((f"{label} (d={n})", model.explicit(lhs - rhs, n, ka.agents(K)))
                         for n in dims for label, lhs, rhs, _ in identities(K))


def k_systems(rng, n: int, K: int, d: int, rho_max: float = 0.9):
    """Batches of K GD agents (scalar or SPD preconditioners) with round rate <= rho_max."""
    Gs, Hs = [], []
    while len(Gs) < n:
        H = np.stack([random_systems.spd(rng, d, cond=10 ** rng.uniform(0, 2)) for _ in range(K)])
        G = np.stack([random_systems.spd(rng, d, cond=5.0) for _ in range(K)])
        for k in range(K):
            G[k] *= rng.uniform(0.3, 1.8) / np.max(np.real(np.linalg.eigvals(G[k] @ H[k])))
        if closed_forms.contraction_rate(np.eye(d) - G @ H) <= rho_max:
            Gs.append(G)
            Hs.append(H)
    return np.stack(Gs), np.stack(Hs), rng.standard_normal((n, K, d))


def v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 17)
    errors = []
    for K in (3, 4):
        d = int(rng.integers(1, 7))
        Gamma, H, w = k_systems(rng, max(4, profile.instances // 4), K, d)
        b = (H @ w[..., None])[..., 0]
        sim = simulate.run_batch(Gamma, H, b, [1] * K, np.zeros((len(w), d)), CONVERGED_TURNS)[:, -1]
        M = np.eye(d) - Gamma @ H
        c = ((np.eye(d) - M) @ w[..., None])[..., 0]
        errors.extend(batch_relative_error(closed_forms.fixed_points(M, c), sim))
    return worst(errors, FLOAT_REL_TOL, f"K = 3, 4 agents: closed-form fixed points vs {CONVERGED_TURNS}-turn simulation")


@with_python_control
def v8(profile: Profile, control) -> Outcome:
    rng = np.random.default_rng(profile.seed + 171)
    errors = []
    Gamma, H, w = k_systems(rng, 6, 3, 3)
    for G, Hk, wk in zip(Gamma, H, w):
        M = np.eye(3) - G @ Hk
        c = ((np.eye(3) - M) @ wk[..., None])[..., 0]
        J, r = closed_forms.round_map(M, c, 0)
        u_ext = np.asarray(control.dcgain(control.ss(J, r[:, None], np.eye(3), np.zeros((3, 1)), dt=True))).reshape(3)
        errors.append(np.linalg.norm(closed_forms.fixed_points(M, c)[0] - u_ext) / np.linalg.norm(u_ext))
    return worst(errors, EXTERNAL_REL_TOL, "K = 3: python-control dcgain(ss(J_1, r_1, I, 0, dt=True)) vs u_1*")


CLAIMS = [
    Claim(
        id="C17",
        title="K agents round robin",
        hypotheses=("I - J_i invertible (implied by rho(J_i) < 1)",),
        reference=cite("C17"),
        relation="equal",
        methods={"V1": v1, "V2": v2, "V4": v4, "V8": v8},
        formulas=("C17.fixed_point_3_agents", "C17.residual_3_agents"),
        statement="(I - J_i) u_i* = sum_j P_{i,j} c_j; e_i = (I - J_i)^{-1} sum_{j != i} P_{i,j} K_j (w_j* - w_i*); "
                  "sum_j P_{i,j} K_j = I - J_i.",
    )
]
