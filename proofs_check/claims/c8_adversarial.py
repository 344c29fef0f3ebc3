"""C8-C11, C16: the adversarial regime (asymmetric convergence) and the victim's defence.

C8: ``e_A = 0`` iff ``M_A K_B Delta = 0``; then ``e_B = -M_B Delta``. C9: the full-rank
prompt gives ``K_A = I``. C10: the rank-one prompt gives ``K_A g = g``. C11: steering
B's equilibrium to ``p``. Simulations run the real GD agents on the attack prompts.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from numerics.agents import random_systems
from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_geometry
from numerics.dynamics import closed_forms
from numerics.interventions import attacks
from numerics.io.errors import InputError
from numerics.protocol import simulate
from proofs_check.statements.provenance import cite
from proofs_check.verification.instances import config_system, random_gd_agent, round_rate
from proofs_check.verification.methods import (
    FLOAT_REL_TOL,
    PAIR_FACTORS,
    PAIR_INVERTIBLE,
    explicit_zero,
    free_proofs,
    worst,
)
from proofs_check.verification.properties import run_property
from proofs_check.verification.registry import Claim, Outcome, Profile
from proofs_check.verification.shipped_formulas import formulas_method
from theory.core import algebra, model
from theory.interventions import adversarial as adv
from theory.round_robin import two_agents as ta

A, B = ta.A, ta.B
D = ta.DEFINITIONS
TURNS = 300  # victims below have rho(M_B) <= 0.9: 0.9^300 < 1e-13
MAX_TURNS = 200_000  # rank-one attacks can leave rho(M_A M_B) close to 1


def victim(rng, d: int) -> GDAgent:
    return random_gd_agent(rng, d, "B")


def attacker_preconditioner(rng, d: int, cond: float) -> np.ndarray:
    """An SPD ``Gamma_A`` with largest eigenvalue 1."""
    Gamma_A = random_systems.spd(rng, d, cond=cond)
    return Gamma_A / np.max(np.linalg.eigvalsh(Gamma_A))


def plateaus(a: GDAgent, b: GDAgent, w_A: np.ndarray, rho: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Last messages of A and B after enough rounds of the real agents, minus their targets.

    ``w_A`` is the attacker's intended target: a rank-one prompt only pins its
    component along ``x``, so the prompt's min-norm solution is not it. ``rho``
    is the pair's rate, used only to choose the number of turns."""
    turns = TURNS if rho < 0.9 else min(MAX_TURNS, int(np.log(1e-15) / np.log(rho)) + TURNS)
    last = simulate.run([a, b], np.zeros(a.d), turns)[-1]
    return last[0] - w_A, last[1] - b.w_star


CONFIG_CASES = ((0, True), (1, False), (1, True), (0, False))  # (attacker index, default N) for each kind


def config_attack_errors(rng, kind: str, i: int, default_N: bool) -> list[float]:
    """The ``a2ad attack`` path: ``attacks.plan`` on a two-agent config parsed by ``numerics.protocol.config``
    (SPD matrix preconditioners, steps per turn 1..3, attacker ``i``, default or explicit N);
    its entry is put into the config, parsed again and run with the real agents. Errors (relative):
    the attacker's plateau against its own ``w_A*`` (C9, C10), the victim's against ``-M_B^{s_B} Delta``
    (C8 with an exact attacker) and the steering point ``p`` (C11, with the reported residual 0), and
    the reported rate against the rate of the attacked, re-parsed pair."""
    import json

    from numerics.protocol import config

    d = int(rng.integers(2, 5))
    system = config_system(rng, 2, d)
    a, b = system.agents[i], system.agents[1 - i]
    N = None if default_N else int(rng.integers(1, 4)) if kind == "rank-one" else int(d + rng.integers(1, 3))
    p = rng.standard_normal(d)
    # the kind as the CLI gets it: a string decoded from text, not the interned literal
    kind_arg = json.loads(json.dumps(kind))
    plan = attacks.plan(system, kind_arg, p if kind == "steer" else None, N, seed=int(rng.integers(0, 2**31)),
                        attacker=i)
    victim_entry = {"name": b.name, "geometry": b.geometry.H.tolist(), "target": b.w_star.tolist(),
                    "preconditioner": b.Gamma.tolist(), "steps_per_turn": b.steps}
    entries = [plan.entry, victim_entry] if i == 0 else [victim_entry, plan.entry]
    doc = {"schema_version": 1, "agents": entries, "initial_message": system.initial_message.tolist()}
    attacked = config.parse(json.loads(json.dumps(doc)))
    rho = round_rate(attacked.agents)
    turns = TURNS if rho < 0.9 else min(MAX_TURNS, int(np.log(1e-15) / np.log(rho)) + TURNS)
    last = simulate.run(attacked.agents, attacked.initial_message, turns)[-1]
    u, v = last[i], last[1 - i]  # the attacker's and the victim's plateaus
    # the attacker's target: its own w_A*, or for steering w_A* = M_B^{-1}(p - K_B w_B*) (computed
    # here, not by attacks.steering_target), with the victim's per-turn transfer M_B = GDAgent.M
    target = np.linalg.solve(b.M, p - b.K @ b.w_star) if kind == "steer" else a.w_star
    Delta = b.w_star - target
    scale = np.linalg.norm(Delta)
    errors = [float(np.linalg.norm(u - target) / scale),  # e_A = 0
              float(np.linalg.norm(v - b.w_star + b.M @ Delta) / scale)]  # then e_B = -M_B Delta (C8)
    if kind == "steer":  # M_B invertible here: p is reached and the reported residual is 0
        errors += [float(np.linalg.norm(v - p) / np.linalg.norm(p)), plan.prompt.unreachable / float(np.linalg.norm(p))]
    errors.append(abs(plan.prompt.rho - rho))  # the reported rate is the attacked pair's (0 when M_A = 0)
    return [float(e) for e in errors]


# ---- C8 -------------------------------------------------------------------
E_A, E_B = model.vector("e_A"), model.vector("e_B")
PLATEAUS = {**D, "e_A": ta.e_A, "e_B": ta.e_B}
def c8_v1(profile: Profile) -> Outcome:
    return free_proofs([
        # e_A, e_B enter as named abbreviations of C3's formulas: multiplying the formula itself by
        # I - M_A M_B lets SymPy cancel the inverse on construction (a trivial "proof").
        ("(I - M_A M_B) e_A = M_A K_B Delta",
         algebra.prove((model.I - ta.J_A) * E_A, adv.attack_condition, (), PLATEAUS, PAIR_FACTORS)),
        ("e_B + M_B Delta = M_B e_A (so e_A = 0 gives e_B = -M_B Delta)",
         algebra.prove(ta.e_B + B.M * ta.Delta, B.M * ta.e_A, [model.I - ta.J_B], D, PAIR_FACTORS)),
        ("(I - M_B M_A) e_B = -M_B K_A Delta",
         algebra.prove((model.I - ta.J_B) * E_B, -B.M * A.K * ta.Delta, (), PLATEAUS, PAIR_FACTORS)),
        # the registered formulas (the docs render them) are the ones proved: C8.attack_condition as
        # written, and C8.victim_residual = e_B - M_B e_A, which is e_B once e_A = 0
        ("registered C8.attack_condition",
         algebra.prove(registered("C8.attack_condition").lhs, registered("C8.attack_condition").rhs, (), PLATEAUS,
                       PAIR_FACTORS)),
        ("registered C8.victim_residual = e_B - M_B e_A",
         algebra.prove(registered("C8.victim_residual").rhs, ta.e_B - B.M * ta.e_A, [model.I - ta.J_B], D,
                       PAIR_FACTORS)),
    ])


def registered(fid: str):
    """The registered formula ``fid`` (theory.core.formulas): the object the docs and LaTeX render."""
    from theory.core.formulas import all_formulas

    return all_formulas()[fid]


def c8_v4(profile: Profile) -> Outcome:
    """Attacks that zero M_A K_B Delta (C9, C10) give e_A = 0 and e_B = -M_B Delta in simulation."""
    rng = np.random.default_rng(profile.seed + 80)
    errors = []
    for k in range(max(4, profile.instances // 8)):
        d = int(rng.integers(2, 7))
        b = victim(rng, d)
        Gamma_A = attacker_preconditioner(rng, d, 5.0)
        w_A = rng.standard_normal(d)
        if k % 2:
            prompt = attacks.full_rank_prompt(Gamma_A, w_A, N=d + 3, rng=rng)
        else:
            try:
                prompt = attacks.rank_one_prompt(Gamma_A, b.M, w_A, b.w_star, N=3)
            except InputError:  # this draw would diverge (C10 refuses); try the full-rank prompt instead
                prompt = attacks.full_rank_prompt(Gamma_A, w_A, N=d + 3, rng=rng)
        a = prompt.agent(Gamma_A)
        e_A, e_B = plateaus(a, b, w_A, prompt.rho)
        Delta = b.w_star - w_A
        scale = np.linalg.norm(Delta)
        errors += [np.linalg.norm(e_A) / scale, np.linalg.norm(e_B + b.M @ Delta) / scale]
    return worst(errors, FLOAT_REL_TOL, "simulated attacks: ||e_A|| and ||e_B + M_B Delta|| relative to ||Delta||")


# ---- C9 -------------------------------------------------------------------
C9_SPD, C9_ORTHONORMAL = "Gamma_A SPD", "U with orthonormal columns"
C9_ROOT = "R = Gamma_A^{-1/2}: R^T = R, R R = Gamma_A^{-1}"


def c9_v1(profile: Profile) -> Outcome:
    """From the prompt itself: ``X_A = sqrt(N) U R`` with ``R = Gamma_A^{-1/2}`` (``R R = Gamma_A^{-1}``,
    ``R^T = R``: Gamma_A SPD) and ``U^T U = I``: ``H_A = Gamma_A^{-1}``, ``K_A = I``, ``M_A = 0``, and A's
    step lands on ``w_A*`` from any message."""
    R, G = adv.R, A.Gamma
    setting = dict(definitions={f"{R.name}^T": R},
                   invertible={C9_SPD: G},
                   relations={C9_ORTHONORMAL: (adv.U.T * adv.U, model.I),
                              C9_ROOT: (R * R, sp.Inverse(G))})
    H, w = adv.H_from_prompt, ta.u
    # the registered prompt formula (what the docs render, with a plain N and U) gives K_A = I too
    shown = registered("C9.full_rank_prompt").rhs.xreplace({sp.Symbol("N"): adv.N_prompt,
                                                            model.matrix("U"): adv.U})
    return free_proofs([
        ("registered C9.full_rank_prompt: Gamma_A X_A^T X_A / N = I",
         algebra.prove(G * shown.T * shown / adv.N_prompt, model.I, **setting)),
        ("H_A = X_A^T X_A / N = Gamma_A^{-1}", algebra.prove(H, sp.Inverse(G), **setting)),
        ("K_A = Gamma_A H_A = I", algebra.prove(G * H, model.I, **setting)),
        ("M_A = I - Gamma_A H_A = 0", algebra.prove(model.I - G * H, sp.ZeroMatrix(*A.M.shape), **setting)),
        ("y_A = X_A w_A*: w - Gamma_A (H_A w - b_A) = w_A*",
         algebra.prove(w - G * (H * w - adv.b_from_prompt), A.w_star, **setting)),
    ])


def c9_v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 90)
    errors: list[float] = []
    for _ in range(max(8, profile.instances // 4)):
        d = int(rng.integers(1, 9))
        Gamma_A = random_systems.spd(rng, d, cond=10 ** rng.uniform(0, 3))
        w_A = rng.standard_normal(d)
        prompt = attacks.full_rank_prompt(Gamma_A, w_A, N=int(rng.integers(d, 3 * d + 1)), rng=rng)
        a = prompt.agent(Gamma_A)
        b = victim(rng, d)
        # A sits on its target from its first turn (the real agent, one step)
        first = simulate.run([a, b], rng.standard_normal(d), 1)[0, 0]
        errors += [float(np.linalg.norm(a.K - np.eye(d))), float(np.linalg.norm(first - w_A) / np.linalg.norm(w_A))]
    for i, default_N in CONFIG_CASES:
        errors += config_attack_errors(rng, "full", i, default_N)
    return worst(errors, FLOAT_REL_TOL * 10, "K_A = I (cond(Gamma_A) up to 1e3) and A exact after its first turn; "
                                             "a2ad attack's plan on parsed configs: e_A = 0, e_B = -M_B^{s_B} Delta")


# ---- C10 ------------------------------------------------------------------
def c10_v2(profile: Profile) -> Outcome:
    """Explicit d = 2, 3 with a symbolic symmetric Gamma_A and symbolic g.

    Every row is ``x = Gamma^{-1} g / sqrt(q)``, ``q = g^T Gamma^{-1} g``, so
    ``H_A = x x^T = (Gamma^{-1} g)(Gamma^{-1} g)^T / q`` (the square root cancels)."""
    cases = []
    for d in (2, 3):
        G = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"gamma_{min(i, j)}{max(i, j)}"))
        g = sp.Matrix(d, 1, lambda i, j: sp.Symbol(f"g_{i}"))
        Gi_g = G.adjugate() * g / G.det()
        q = (g.T * Gi_g)[0]
        H = Gi_g * Gi_g.T / q
        cases.append((f"K_A g = g (d={d})", G * H * g - g))
    return explicit_zero(cases)


def c10_v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 100)
    errors, refused = [], 0
    for _ in range(max(8, profile.instances // 4)):
        d = int(rng.integers(2, 9))
        b = victim(rng, d)
        Gamma_A = attacker_preconditioner(rng, d, 3.0)
        w_A = rng.standard_normal(d)
        try:
            prompt = attacks.rank_one_prompt(Gamma_A, b.M, w_A, b.w_star, N=int(rng.integers(1, 4)))
        except InputError:
            refused += 1
            continue
        a = prompt.agent(Gamma_A)
        g = b.K @ (b.w_star - w_A)
        e_A, e_B = plateaus(a, b, w_A, prompt.rho)
        # prompt.rho is the attacker's reported rate: it must be the rate of the real pair
        rho_pair = float(closed_forms.spectral_radius(a.M @ b.M))
        errors += [np.linalg.norm(a.K @ g - g) / np.linalg.norm(g), np.linalg.norm(e_A) / np.linalg.norm(g),
                   abs(prompt.rho - rho_pair)]
    for i, default_N in CONFIG_CASES:
        errors += config_attack_errors(rng, "rank-one", i, default_N)
    return worst(errors, FLOAT_REL_TOL, f"rank-one prompt: K_A g = g, simulated e_A = 0, reported rho exact "
                                        f"({refused} draws refused as divergent); a2ad attack's plan on parsed "
                                        "configs: e_A = 0, e_B = -M_B^{s_B} Delta, reported rho = the attacked pair's")


# ---- C11 ------------------------------------------------------------------
C11_INVERTIBLE = "M_B invertible (else least squares)"
C11_FACTORS = {C11_INVERTIBLE: B.M}


def c11_v1(profile: Profile) -> Outcome:
    # M_A = 0 enters as a definition in C2's v* (substituting first lets SymPy pre-simplify the claim)
    exact_attacker = {A.M.name: sp.ZeroMatrix(*A.M.shape), **D}
    return free_proofs([
        ("M_A = 0: v* = M_B w_A* + K_B w_B*",
         algebra.prove(ta.v_star, B.M * A.w_star + B.K * B.w_star, (), exact_attacker, C11_FACTORS)),
        ("w_A* = M_B^{-1}(p - K_B w_B*) gives v* = p",
         algebra.prove(ta.v_star, adv.p, (), {**exact_attacker, A.w_star.name: adv.w_A_steer}, C11_FACTORS)),
    ])


def c11_v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 110)
    errors: list[float] = []
    for k in range(max(8, profile.instances // 4)):
        d = int(rng.integers(1, 7))
        b = victim(rng, d)
        p = rng.standard_normal(d)
        Gamma_A = random_systems.spd(rng, d, cond=3.0)
        prompt = attacks.steering_prompt(Gamma_A, b.M, b.w_star, p, N=d + 2, rng=rng)
        a = prompt.agent(Gamma_A)
        _, e_B = plateaus(a, b, prompt.w_A)
        errors.append(float(np.linalg.norm(e_B + b.w_star - p) / np.linalg.norm(p)))
    for i, default_N in CONFIG_CASES:
        errors += config_attack_errors(rng, "steer", i, default_N)
    # singular M_B (a direction B's step inverts exactly): least squares, residual reported
    H = np.diag([1.0, 0.5])
    b = GDAgent("B", from_geometry(H, [1.0, -1.0], name="B"), np.eye(2))  # M_B = diag(0, 0.5)
    w_A, residual = attacks.steering_target(b.M, b.w_star, [3.0, 2.0])
    expected_residual = abs(3.0 - 1.0)  # first coordinate of v* is pinned at w_B*[0] = 1
    errors.append(abs(residual - expected_residual))
    return worst(errors, FLOAT_REL_TOL, "steered victim's simulated equilibrium = p (also through a2ad attack's "
                                        "plan on parsed configs); singular M_B: "
                                        f"least-squares residual {residual:.3g} (expected {expected_residual})")


# ---- C16 ------------------------------------------------------------------
def c16_error(rng, d: int) -> float:
    """Simulated ``e_B`` against an exact (C9) attacker vs its exact value ``-M_B^{s_B} Delta``
    (C8 with M_A = 0), and ``||e_B||`` above the bound ``||M_B^{s_B}||_2 ||Delta||``; the larger,
    over ``||Delta||``. The exact value makes the check two-sided: the bound alone follows from
    the triangle inequality and an ``e_B`` several times too small would still satisfy it. The exact
    value is also taken from the registered formula C16.victim_residual_s_steps (what the docs
    render), evaluated with B's one-step transfer and ``s_B``."""
    s_B = int(rng.integers(1, 5))
    base = victim(rng, d)
    b = GDAgent("B", base.geometry, base.Gamma, s_B)
    Gamma_A = random_systems.spd(rng, d, cond=3.0)
    w_A = rng.standard_normal(d)
    a = attacks.full_rank_prompt(Gamma_A, w_A, N=d + 1, rng=rng).agent(Gamma_A)
    _, e_B = plateaus(a, b, w_A)
    Delta = b.w_star - w_A
    M_s = b.M  # GDAgent.M with steps per turn: the transfer predict uses
    # the registered formula -M_B^{s_B} Delta itself, evaluated with B's one-step transfer
    formula = registered("C16.victim_residual_s_steps").rhs.xreplace({sp.Symbol("s_B"): s_B})
    one_step = np.eye(d) - b.Gamma @ b.geometry.H
    shown = model.evaluate(formula, {B.M.name: one_step, A.w_star.name: w_A[:, None], B.w_star.name: b.w_star[:, None]})
    exact = np.maximum(np.linalg.norm(e_B + M_s @ Delta), np.linalg.norm(e_B - shown[:, 0]))  # NaN propagates
    excess = np.linalg.norm(e_B) - np.linalg.norm(M_s, 2) * np.linalg.norm(Delta)
    return float(np.maximum(exact, excess) / np.linalg.norm(Delta))


def c16_v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 160)
    errors = [c16_error(rng, int(rng.integers(1, 9))) for _ in range(max(8, profile.instances // 2))]
    return worst(errors, FLOAT_REL_TOL, "simulated e_B (s_B = 1..4, exact attacker) vs -M_B^{s_B} Delta, and "
                                        "||e_B|| - ||M_B^{s_B}||_2 ||Delta||; the larger, relative to ||Delta||",
                 power="an e_B off by a factor (1 + x) gives error x ||M_B^s Delta|| / ||Delta||: "
                       "a 1% error is ~1e5-1e7 times the bar for these victims")


def c16_v6(profile: Profile) -> Outcome:
    from hypothesis import strategies as st

    return run_property(lambda args: c16_error(np.random.default_rng(args[1]), args[0]),
                        st.tuples(st.integers(1, 8), st.integers(0, 2**32 - 1)), profile, FLOAT_REL_TOL,
                        "e_B = -M_B^{s_B} Delta and ||e_B|| <= ||M_B^{s_B}|| ||Delta|| against an exact attacker")


CLAIMS = [
    Claim("C8", "Condition for a one-sided win", (PAIR_INVERTIBLE,),
          cite("C8"), "equal", {"V1": c8_v1, "V4": c8_v4},
          formulas=("C8.attack_condition", "C8.victim_residual")),
    Claim("C9", "Full-rank attack prompt", (C9_SPD, "N >= d", C9_ORTHONORMAL, C9_ROOT),
          cite("C9"), "equal", {"V1": c9_v1, "V4": c9_v4},
          formulas=("C9.full_rank_prompt",)),
    Claim("C10", "Rank-one attack prompt", ("Gamma_A SPD", "g = K_B Delta != 0", "rho(M_A M_B) < 1"),
          cite("C10"), "equal", {"V2": c10_v2, "V4": c10_v4}),
    Claim("C11", "Steering the victim's equilibrium", ("M_A = 0", C11_INVERTIBLE),
          cite("C11"), "equal", {"V1": c11_v1, "V4": c11_v4, "VS": formulas_method(("C11.steering_target",))},
          formulas=("C11.steering_target",)),
    Claim("C16", "The victim's defence bound", ("exact attacker (M_A = 0)", "rho(M_B) < 1"),
          cite("C16"), "upper", {"V4": c16_v4, "V6": c16_v6},
          formulas=("C16.victim_residual_s_steps",)),
]
