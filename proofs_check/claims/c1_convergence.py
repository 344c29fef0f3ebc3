"""C1: the round maps and their contraction rate ``rho = rho(M_A M_B) = rho(M_B M_A)``.

If ``rho < 1`` the messages converge to the unique fixed points at rate
``O((rho + eps)^t)``; if ``rho > 1`` they diverge for a generic start.
Methods: V1 (round maps and error recursion), V4 (observed rate vs rho, both
regimes), V6 (Hypothesis geometries), V8 (python-control ``poles``).
"""
from __future__ import annotations

import numpy as np

from numerics.agents import random_systems
from numerics.agents.gd import GDAgent
from numerics.dynamics import closed_forms
from numerics.protocol import simulate
from proofs_check.statements.provenance import cite
from proofs_check.verification.instances import gd_pairs, random_gd_agent
from proofs_check.verification.methods import (
    EXTERNAL_REL_TOL,
    PAIR_FACTORS,
    PAIR_INVERTIBLE,
    free_proofs,
    with_python_control,
    worst,
)
from proofs_check.verification.properties import run_property
from proofs_check.verification.registry import Claim, Outcome, Profile
from proofs_check.verification.shipped import joint
from proofs_check.verification.shipped_formulas import formulas_method
from proofs_check.verification.shipped_sweep import kinds_method, sweep_method
from proofs_check.verification.strategies import pair_examples
from theory.core import algebra, model
from theory.round_robin import two_agents as ta

A, B = ta.A, ta.B
# C1 is O((rho + eps)^t). Over turns [t1, t2] with t1 = t2 / 4 >= 25, subdominant modes and
# Jordan factors t^k shift the observed rate by < 1e-3 (e.g. (400/100)^(1/300) - 1 = 0.5%
# of rho at worst for a 2-block); eps = 5e-3 still separates rho from any other eigenvalue modulus.
# The check is two-sided (|observed - rho| <= eps); measured: worst 9e-4 (quick) and 3.4e-3 (full,
# where near-defective pairs and short windows at small rho appear).
RATE_EPS = 5e-3
MAX_TURNS = 400
# Error magnitudes kept inside float64's range (the homogeneous runs below never lose
# relative precision, so the only limit is under/overflow). 150, not 300: the norm squares the
# entries, and 1e-162 squared underflows to 0 (a zero norm reads as rate 0, which the old
# one-sided check let pass).
LOG10_RANGE = 150
PHASE_WINDOW = 10  # running max over this many turns removes the phase of complex eigenvalues

def v1(profile: Profile) -> Outcome:
    u_star = ta.u_star
    return free_proofs([
        ("u_{t+1} = T_A(T_B(u_t))",
         algebra.prove(ta.round_map_u, ta.round_map_u_expanded, (), ta.DEFINITIONS, PAIR_FACTORS)),
        ("v_t = T_B(T_A(v_{t-1}))",
         algebra.prove(ta.round_map_v, ta.round_map_v_expanded, (), ta.DEFINITIONS, PAIR_FACTORS)),
        ("u_{t+1} - u* = M_A M_B (u_t - u*)",
         algebra.prove(ta.round_map_u_expanded - u_star, ta.J_A * (ta.u - u_star), [model.I - ta.J_A],
                       ta.DEFINITIONS, PAIR_FACTORS)),
    ])


def observed_rate(Gamma, H, rng) -> tuple[np.ndarray, np.ndarray]:
    """Rate of ||u_t - u*|| seen in simulation of the real GD agents, and rho, per pair.

    The agents get the aligned target ``w* = 0`` (so ``u* = 0``, any target is
    an instance of C1): the iterates then carry full relative precision down to
    1e-250 and the window can be long. No closed form enters the witness.
    """
    M = np.eye(H.shape[-1]) - Gamma @ H
    rho = closed_forms.contraction_rate(M)
    out = []
    for k in range(len(rho)):
        r = float(rho[k])
        t2 = int(min(MAX_TURNS, LOG10_RANGE / max(abs(np.log10(r)), 1e-6)))
        t1 = t2 // 4
        d = H.shape[-1]
        v0 = rng.standard_normal((1, d))
        sim = simulate.run_batch(Gamma[k:k + 1], H[k:k + 1], np.zeros((1, 2, d)), [1, 1], v0, t2 + 1)[0, :, 0]
        err = np.linalg.norm(sim, axis=-1)
        peak = lambda t: np.max(err[max(t - PHASE_WINDOW, 0):t + 1])
        out.append((peak(t2) / peak(t1)) ** (1.0 / (t2 - t1)))
    return np.array(out), rho


def divergent_pairs(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs with rho in (1, 3): each agent over-steps (eigenvalues of Gamma H up to 2.5)."""
    Gs: list[np.ndarray] = []
    Hs: list[np.ndarray] = []
    d = 3
    while len(Gs) < n:
        H = np.stack([random_systems.spd(rng, d, 10.0) for _ in range(2)])
        Gamma = np.stack([rng.uniform(1.2, 2.5) / np.max(np.linalg.eigvalsh(h)) * np.eye(d) for h in H])
        M = np.eye(d) - Gamma @ H
        if 1.05 < closed_forms.spectral_radius(M[0] @ M[1]) < 3:
            Gs.append(Gamma)
            Hs.append(H)
    return np.stack(Gs), np.stack(Hs)


def v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 1)
    errors = []
    n = max(8, profile.instances // 4)
    for Gamma, H, _ in gd_pairs(rng, n, rho_max=0.95):
        obs, rho = observed_rate(Gamma, H, rng)
        errors.extend(np.abs(obs - rho))  # two-sided: the decay must match rho, not just stay under it
    for obs, rho in [observed_rate(*divergent_pairs(rng, max(4, n // 4)), rng)]:
        errors.extend(np.abs(obs - rho))  # and the growth of a divergent pair too
    return worst(errors, RATE_EPS, "|observed rate of ||u_t - u*|| - rho| for convergent (d in 1..8) and "
                                   "divergent pairs, vs eps",
                 power="a rate off by x is an error x: 1.3 rho, ||M_A M_B||_2 or max(rho(M_A), rho(M_B)) "
                       "in place of rho differ by 0.03-0.3 on these pairs, 6-60 times the bar")


def rate_error(ex) -> float:
    obs, rho = observed_rate(ex.Gamma[None], ex.H[None], np.random.default_rng(0))
    return float(np.abs(obs[0] - rho[0]))


def v6(profile: Profile) -> Outcome:
    return run_property(rate_error, pair_examples(), profile, RATE_EPS,
                        "|observed decay rate - rho| <= eps over d in 1..8, full/rank-deficient/ill-conditioned "
                        "geometries")


def probed_map(agent) -> np.ndarray:
    """An agent's linear part read off its own replies: column j is ``T(e_j) - T(0)``."""
    zero = agent.respond(np.zeros(agent.d))
    return np.stack([agent.respond(e) - zero for e in np.eye(agent.d)], axis=1)


def closed_loop(control, M_A: np.ndarray, M_B: np.ndarray):
    """python-control's interconnection of one round: a unit delay holding B's message, then A's
    and B's linear parts as static gains, fed back (positive feedback, unit gain)."""
    d = M_A.shape[0]
    gain = lambda M: control.ss(np.zeros((0, 0)), np.zeros((0, d)), np.zeros((d, 0)), M, dt=True)  # noqa: E731
    delay = control.ss(np.zeros((d, d)), np.eye(d), np.eye(d), np.zeros((d, d)), dt=True)
    return control.feedback(control.series(delay, gain(M_A), gain(M_B)), np.eye(d), sign=1)


@with_python_control
def v8(profile: Profile, control) -> Outcome:
    """The poles of python-control's own interconnection of the agents' probed maps, against
    ``closed_forms.contraction_rate`` on the transfers ``GDAgent.M`` that ``predict`` uses."""
    rng = np.random.default_rng(profile.seed + 18)
    errors = []
    for k in range(max(8, profile.instances // 8)):
        d = int(rng.integers(1, 9))
        pair = [random_gd_agent(rng, d, "A"), random_gd_agent(rng, d, "B")]
        if k % 4 == 3:  # over-stepping agents: a divergent pair, rho > 1
            pair = [GDAgent(a.name, a.geometry, a.Gamma * rng.uniform(2.2, 3.0)) for a in pair]
        rho_ext = np.max(np.abs(control.poles(closed_loop(control, *[probed_map(a) for a in pair]))))
        rho = float(closed_forms.contraction_rate(np.stack([a.M for a in pair])))
        errors.append(abs(rho_ext - rho) / rho_ext)
    return worst(errors, EXTERNAL_REL_TOL, "poles of python-control's feedback loop (delay, A's and B's probed "
                                           "maps) vs closed_forms.contraction_rate on GDAgent.M, d in 1..8, "
                                           "convergent and divergent pairs",
                 power="any rate formula off by a relative 1e-9 fails; the wrong rates above are off by > 1e-2")


CLAIMS = [
    Claim(
        id="C1",
        title="Convergence at rate rho(M_A M_B)",
        hypotheses=("rho(M_A M_B) < 1 for convergence; rho > 1 and a start with an unstable component for divergence",
                    PAIR_INVERTIBLE),
        reference=cite("C1"),
        relation="upper",
        methods={"V1": v1, "V4": v4, "V6": v6, "V8": v8,
                 "VS": joint(formulas_method(("C1.round_map_A", "C1.round_map_B", "C1.contraction_rate")), sweep_method,
                             kinds_method)},
        formulas=("C1.round_map_A", "C1.round_map_B"),
    )
]
