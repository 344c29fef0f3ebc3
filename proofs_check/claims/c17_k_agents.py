"""C17: K agents round robin. ``(I - J_i) u_i* = sum_j P_{i,j} c_j`` and
``e_i = (I - J_i)^{-1} sum_{j != i} P_{i,j} K_j (w_j* - w_i*)``, from the
telescoping identity ``sum_j P_{i,j} K_j = I - J_i``; K = 2 gives C2 and C3.

Methods: V1 (K = 2..5, every agent; stops at the first K that fails), V2 (K = 3, d = 1; d = 2 in
the full profile), V4 (K = 3, 4 simulations vs closed form), V8 (python-control DC gain for K = 3).
"""
from __future__ import annotations

import numpy as np

from numerics.agents import random_systems
from numerics.dynamics import closed_forms
from numerics.protocol import simulate
from proofs_check.statements.provenance import cite
from proofs_check.verification import shipped
from proofs_check.verification.instances import config_system, round_rate
from proofs_check.verification.methods import (
    EXTERNAL_REL_TOL,
    FLOAT_REL_TOL,
    PAIR_FACTORS,
    PAIR_INVERTIBLE,
    explicit_zero,
    finite_max,
    free_proofs,
    with_python_control,
    worst,
)
from proofs_check.verification.registry import Claim, Outcome, Profile
from proofs_check.verification.shipped_exact import exact_method
from proofs_check.verification.shipped_protocol import RR_SHAPES, shapes_method
from proofs_check.verification.shipped_reasons import reasons_method
from theory.core import algebra, model
from theory.round_robin import k_agents as ka, two_agents as ta

A = ta.A
V1_AGENTS = (2, 3, 4, 5)
ROUND_INVERTIBLE = "I - J_i invertible (implied by rho(J_i) < 1)"
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
    proofs = []
    for K in V1_AGENTS:
        rounds = {ROUND_INVERTIBLE: tuple(model.I - ka.J(K, i) for i in range(K))}
        proofs += [(label, algebra.prove(lhs, rhs, f, ka.defs(K), rounds)) for label, lhs, rhs, f in identities(K)]
        if not all(p.holds for _, p in proofs):
            break  # the smallest K that fails is the diagnosis; larger K only repeat it, ever more slowly
    # K = 2 reduces to C2 and C3 exactly (agent 1 = A, agent 2 = B).
    rename = {ka.agents(2)[0].M: ta.A.M, ka.agents(2)[1].M: ta.B.M, ka.agents(2)[0].K: ta.A.K,
              ka.agents(2)[1].K: ta.B.K, ka.agents(2)[0].w_star: ta.A.w_star, ka.agents(2)[1].w_star: ta.B.w_star}
    # (against C2's fixed-point equation and C3's coupling identity, not C2/C3's formulas as
    # built: those are the same expressions after renaming, which would prove nothing)
    u2 = ka.fixed_point(2, 0).xreplace(rename)
    proofs.append(("K=2 fixed point solves C2's u = M_A M_B u + M_A c_B + c_A",
                   algebra.prove(u2, ta.round_map_u_expanded.xreplace({ta.u: u2}),
                                 [model.I - ta.J_A], ta.DEFINITIONS, PAIR_FACTORS)))
    # The registered three-agent formulas (rendered in the docs) are agent 1's: each is proved from
    # agent 1's map T_1, with agent 1 named as in their left-hand sides (u^*_1, e_1), so a formula
    # registered for another agent or with renamed agents fails.
    from theory.core.formulas import all_formulas

    registered, first = all_formulas(), model.agent("1")
    u_3 = ka.fixed_point(3, 2)
    rounds = {ROUND_INVERTIBLE: tuple(model.I - ka.J(3, i) for i in range(3))}
    proofs.append(("registered C17.fixed_point_3_agents = T_1(u_3*)",
                   algebra.prove(registered["C17.fixed_point_3_agents"].rhs, first.T(u_3),
                                 [model.I - ka.J(3, 0)], ka.defs(3), rounds)))
    proofs.append(("registered C17.residual_3_agents = T_1(u_3*) - w_1*",
                   algebra.prove(registered["C17.residual_3_agents"].rhs, first.T(u_3) - first.w_star,
                                 [model.I - ka.J(3, 0)], ka.defs(3), rounds)))
    proofs.append(("K=2 residual satisfies C3's e_A = M_A (e_B + Delta)",
                   algebra.prove(ka.residual(2, 0).xreplace(rename), A.M * (ta.e_B + ta.Delta),
                                 [model.I - ta.J_A], ta.DEFINITIONS, PAIR_FACTORS)))
    return free_proofs(proofs)


def v2(profile: Profile) -> Outcome:
    K = 3
    dims = (1,) if profile.name == "quick" else (1, 2)  # d = 2 with K = 3 takes ~3 s
    return explicit_zero((f"{label} (d={n})", model.explicit(lhs - rhs, n, ka.agents(K)))
                         for n in dims for label, lhs, rhs, _ in identities(K))


def k_systems(rng, n: int, K: int, d: int, rho_max: float = 0.9):
    """Batches of K GD agents (scalar or SPD preconditioners) with round rate <= rho_max."""
    Gs: list[np.ndarray] = []
    Hs: list[np.ndarray] = []
    while len(Gs) < n:
        H = np.stack([random_systems.spd(rng, d, cond=10 ** rng.uniform(0, 2)) for _ in range(K)])
        G = np.stack([random_systems.spd(rng, d, cond=5.0) for _ in range(K)])
        for k in range(K):
            G[k] *= rng.uniform(0.3, 1.8) / np.max(np.real(np.linalg.eigvals(G[k] @ H[k])))
        if closed_forms.contraction_rate(np.eye(d) - G @ H) <= rho_max:
            Gs.append(G)
            Hs.append(H)
    return np.stack(Gs), np.stack(Hs), rng.standard_normal((n, K, d))


def observed_round_rate(system) -> float:
    """Decay rate per round of agent 0's messages in a simulation of the real agents of an aligned
    system (every target 0, so the fixed point is 0 and the iterates keep full relative precision);
    as C1's V4, over rounds [t2/4, t2] with a running max over PHASE_WINDOW rounds."""
    from proofs_check.claims.c1_convergence import LOG10_RANGE, MAX_TURNS, PHASE_WINDOW

    rho = round_rate(system.agents)  # only to size the window
    t2 = int(min(MAX_TURNS, LOG10_RANGE / max(abs(np.log10(max(rho, 1e-300))), 1e-6)))
    t1 = t2 // 4
    err = np.linalg.norm(simulate.run(system.agents, system.initial_message, t2 + 1)[:, 0], axis=-1)
    peak = lambda t: np.max(err[max(t - PHASE_WINDOW, 0):t + 1])  # noqa: E731
    return float((peak(t2) / peak(t1)) ** (1.0 / (t2 - t1)))


def v4(profile: Profile) -> Outcome:
    """What ``a2ad predict`` and ``a2ad simulate`` run, on systems parsed by ``numerics.protocol.config``: K = 3, 4
    agents with matrix preconditioners (non-symmetric transfers), prompts and geometries, 1-3 steps per
    turn. Predicted fixed points vs the simulated last round; predicted rate vs the observed decay."""
    from numerics.protocol import prediction
    from proofs_check.claims.c1_convergence import RATE_EPS

    rng = np.random.default_rng(profile.seed + 17)
    fixed, rates = [], []
    for k in range(max(8, profile.instances // 4)):
        K, d = 3 + k % 2, int(rng.integers(1, 6))
        system = config_system(rng, K, d)
        doc = prediction.predict(system)
        sim = prediction.simulate_doc(system, CONVERGED_TURNS)
        M, c = system.stacked()
        for i, a in enumerate(system.agents):
            u = np.array(doc["agents"][a.name]["fixed_point"])
            last = np.array(sim["agents"][a.name]["messages"][-1])
            fixed.append(np.linalg.norm(u - last) / max(float(np.linalg.norm(last)), 1.0))
            # the round map ending at every agent (closed_forms.round_map, any i), solved for its fixed point
            J, r = closed_forms.round_map(M, c, i)
            fixed.append(np.linalg.norm(np.linalg.solve(np.eye(d) - J, r) - last)
                         / max(float(np.linalg.norm(last)), 1.0))
        if d > 1:  # in d = 1 the transfers commute and the product order cannot show
            aligned = config_system(rng, K, d, aligned=True)
            rates.append(abs(observed_round_rate(aligned) - prediction.predict(aligned)["contraction_rate"]))
    score = max(finite_max(fixed) / FLOAT_REL_TOL, finite_max(rates) / RATE_EPS)
    return Outcome(score, 1.0, len(fixed) + len(rates),
                   f"K = 3, 4 config-parsed systems (matrix preconditioners, steps 1-3): predict's fixed points and "
                   f"the fixed points of round_map ending at each agent vs "
                   f"{CONVERGED_TURNS}-round simulate, worst {finite_max(fixed):.1e} (bar {FLOAT_REL_TOL:g}); "
                   f"predict's contraction rate vs observed decay, worst {finite_max(rates):.1e} (bar {RATE_EPS:g}); "
                   "score = max of the two ratios",
                   power="a transfer product in the wrong order (K >= 3) or GDAgent.M ignoring steps changes the "
                         "rate by > 1e-2 and the fixed points by > 1e-3: scores > 2 and > 1e6")


def probed_round(agents) -> tuple[np.ndarray, np.ndarray]:
    """One round of the real agents as an affine map ``x -> J x + r`` of the message agent 0 hears,
    read off their replies (``r`` = the round applied to 0, column j of ``J`` = round(e_j) - r);
    no closed form enters."""
    def round_(x):
        for a in agents:
            x = a.respond(x)
        return x
    d = agents[0].d
    r = round_(np.zeros(d))
    return np.stack([round_(e) - r for e in np.eye(d)], axis=1), r


@with_python_control
def v8(profile: Profile, control) -> Outcome:
    rng = np.random.default_rng(profile.seed + 171)
    errors = []
    for _ in range(6):
        system = config_system(rng, 3, 3)
        J, r = probed_round(system.agents)
        u_ext = np.asarray(control.dcgain(control.ss(J, r[:, None], np.eye(3), np.zeros((3, 1)), dt=True))).reshape(3)
        M, c = system.stacked()
        u_last = closed_forms.fixed_points(M, c)[-1]  # the round's state is the last agent's message
        errors.append(np.linalg.norm(u_last - u_ext) / np.linalg.norm(u_ext))
    return worst(errors, EXTERNAL_REL_TOL, "K = 3 config-parsed systems: python-control dcgain of the round "
                                           "probed from the real agents vs closed_forms.fixed_points (last agent)",
                 power="a fixed point off by a relative 1e-9 is 10 times the bar")


CLAIMS = [
    Claim(
        id="C17",
        title="K agents round robin",
        hypotheses=(ROUND_INVERTIBLE, PAIR_INVERTIBLE),
        reference=cite("C17"),
        relation="equal",
        methods={"V1": v1, "V2": v2, "V4": v4, "V8": v8,
                 "VS": shipped.joint(shipped.documents_method(13, (3, 4), False), shapes_method(RR_SHAPES, 42, False),
                                     reasons_method(False), exact_method(False))},
        formulas=("C17.fixed_point_3_agents", "C17.residual_3_agents"),
    )
]
