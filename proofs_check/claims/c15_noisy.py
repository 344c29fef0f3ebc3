"""C15: noisy agents. With independent zero-mean output noise ``Cov eta_i = S_i``, the mean
follows the noiseless fixed point (C2) and B's messages have stationary covariance
``P_B = J_B P_B J_B^T + M_B S_A M_B^T + S_B`` (``J_B = M_B M_A``); with K agents,
``P_i = J_i P_i J_i^T + sum_j P_{i,j} S_j P_{i,j}^T``.

Methods: V1 (the deviation recursion, and K = 2 of the K-agent equation is the two-agent
one), V4 (Monte Carlo over independent chains of real GD steps, K = 2 and 3),
V8 (the production Schur solve against scipy's Kronecker solve and python-control's ``dlyap``,
on the noisy systems and on rounds with rates near 1 and non-normal transfers).
"""
from __future__ import annotations

import numpy as np

from numerics.agents.gd import GDAgent
from numerics.dynamics import closed_forms, lyapunov, noisy as noisy_sim
from proofs_check.statements.provenance import cite
from proofs_check.verification.instances import random_gd_agent
from proofs_check.verification.methods import (
    PAIR_FACTORS,
    PAIR_INVERTIBLE,
    free_proofs,
    relative_error,
    with_python_control,
    worst,
)
from proofs_check.verification.registry import Claim, Outcome, Profile
from proofs_check.verification.shipped_fit import fit_method
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
# NoisyAgent's stream: replies of two blocks of draws ahead and then some (NOISE_BLOCK = 256), and the float64
# rounding of z L^T and of the subtraction of the agent's own reply (a few ulps, relative)
STREAM_TURNS = 600
STREAM_TOL = 1e-12
# V8 stress rounds: rates near 1 and three shapes of transfer; a round whose Stein condition exceeds
# STRESS_MAX_CONDITION is redrawn (u kappa ~ 1e-4 there: beyond it no float64 solve has digits to compare).
STRESS_RATES = (0.99, 0.9999, 1 - 1e-6)
STRESS_KINDS = ("normal", "non-normal", "eigenvalues near -1")
STRESS_MAX_CONDITION = 1e12
UNIT_ROUNDOFF = float(np.finfo(float).eps)


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


def _psd_root(S: np.ndarray) -> np.ndarray:
    """The PSD square root of an SPD ``S`` by scipy's Schur-based ``sqrtm`` (not the package's eigh)."""
    from scipy.linalg import sqrtm

    return np.real(sqrtm(S))


def chains_stream_error(seed: int) -> float:
    """``run_chains``' seeded stream (its docstring): each agent's turn runs its GD steps on every chain and adds
    ``Z S_i^{1/2}``, ``Z`` the next (chains, d) block of ``default_rng(seed).standard_normal`` (one block per agent
    per turn, in speaking order), ``S_i^{1/2}`` the PSD square root. Two agents, three turns, the GD steps and
    the noise recomputed here; relative error in units of STREAM_TOL."""
    rng = np.random.default_rng(seed + 98)
    d, chains, turns = 3, 5, 3
    agents = [random_gd_agent(rng, d, n) for n in "AB"]
    S = np.stack([(lambda r: r @ r.T / d + 0.01 * np.eye(d))(rng.standard_normal((d, d))) for _ in agents])
    w0 = rng.standard_normal(d)
    got = noisy_sim.run_chains(agents, S, w0, turns, chains, seed)
    draws, w, want = np.random.default_rng(seed), np.tile(w0, (chains, 1)), np.empty((chains, 2, d))
    for _ in range(turns):
        for i, a in enumerate(agents):
            for _ in range(a.steps):
                w = np.stack([x - a.Gamma @ (a.geometry.H @ x - a.geometry.b) for x in w])
            w = w + draws.standard_normal((chains, d)) @ _psd_root(S[i])
            want[:, i] = w
    return float(np.linalg.norm(got - want) / np.linalg.norm(want)) / STREAM_TOL


def noise_stream_error(seed: int) -> float:
    """``NoisyAgent``'s seeded stream (its docstring): reply t adds ``L z_t`` with ``z_t`` the t-th d-vector of
    ``default_rng(seed).standard_normal`` and ``L = S^{1/2}``, the PSD square root. ``L`` is read off by least
    squares from STREAM_TURNS replies (past two blocks of draws ahead); the error is the worst of the fit's
    relative residual, ``||L L^T - S|| / ||S||`` and ``||L - S^{1/2}|| / ||S^{1/2}||`` (scipy's sqrtm), in units
    of STREAM_TOL."""
    rng = np.random.default_rng(seed + 99)
    d = 3
    agent = random_gd_agent(rng, d, "A")
    root = rng.standard_normal((d, 2))
    S = root @ root.T / d + 0.01 * np.eye(d)
    wrapped, w = noisy_sim.NoisyAgent(agent, S, seed), rng.standard_normal(d)
    E = np.array([wrapped.respond(w) - agent.respond(w) for _ in range(STREAM_TURNS)])
    Z = np.random.default_rng(seed).standard_normal((STREAM_TURNS, d))
    Lt = np.linalg.lstsq(Z, E, rcond=None)[0]
    root = _psd_root(S)
    return max(float(np.linalg.norm(Z @ Lt - E) / np.linalg.norm(E)),
               float(np.linalg.norm(Lt.T @ Lt - S) / np.linalg.norm(S)),
               float(np.linalg.norm(Lt.T - root) / np.linalg.norm(root))) / STREAM_TOL


def v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 15)
    chains = MC_CHAINS[profile.name]
    # past STREAM_TOL is past the bar
    z = [MC_Z_TOL * noise_stream_error(profile.seed), MC_Z_TOL * chains_stream_error(profile.seed)]
    for K in (2, 3):
        for i, (agents, S) in enumerate(noisy_systems(rng, MC_SYSTEMS[profile.name], K)):
            final = noisy_sim.run_chains(agents, S, np.zeros(agents[0].d), BURN_IN, chains, profile.seed + i)
            P = lyapunov.stationary_covariances(np.stack([a.M for a in agents]), S)
            # the mean follows the noiseless fixed point (C2, C17): each agent's end-of-turn u_k
            u = closed_forms.fixed_points(np.stack([a.M for a in agents]), np.stack([a.c for a in agents]))
            for k in range(K):
                C = np.cov(final[:, k].T, ddof=1).reshape(P[k].shape)
                diag = np.diag(P[k])
                se = np.sqrt((np.outer(diag, diag) + P[k] ** 2) / chains)
                z.append(float(np.max(np.abs(C - P[k]) / se)))
                # the sample mean of n iid vectors: standard error sqrt(P_ii / n) per entry
                z.append(float(np.max(np.abs(final[:, k].mean(axis=0) - u[k]) / np.sqrt(np.maximum(diag, 1e-300)
                                                                                      / chains))))
    return worst(z, MC_Z_TOL, f"K = 2, 3: Monte Carlo mean and covariance ({chains} chains) vs the fixed "
                              "point and Lyapunov, in standard errors; NoisyAgent's noise is its seed's normal "
                              "stream times a factor of S",
                 power=f"a diagonal covariance entry off by a relative x scores z ~ x sqrt(chains / 2) = "
                       f"{np.sqrt(chains / 2):.0f} x: x = 5% reaches the bar, a dropped noise term "
                       "(x = O(1)) is ~20 times it")


def stein_round(rng, n: int, rho: float, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """A random ``(J, Q)`` with ``rho(J) = rho`` exactly and PSD ``Q`` of random rank.

    ``kind``: "normal" (``O diag O^T``), "non-normal" (``V (D + N) V^{-1}``, N strictly upper
    triangular) or "eigenvalues near -1" (``-I + 0.01 G``), the bilinear transform's weak spot.
    """
    if kind == "normal":
        O, _ = np.linalg.qr(rng.standard_normal((n, n)))
        J = O @ np.diag(rng.uniform(-1, 1, n)) @ O.T
    elif kind == "non-normal":
        V = rng.standard_normal((n, n))
        J = V @ (np.diag(rng.uniform(-1, 1, n)) + np.triu(rng.standard_normal((n, n)), 1)) @ np.linalg.inv(V)
    elif kind == "eigenvalues near -1":
        J = -np.eye(n) + 0.01 * rng.standard_normal((n, n))
    else:
        raise ValueError(kind)
    J *= rho / np.max(np.abs(np.linalg.eigvals(J)))
    root = rng.standard_normal((n, int(rng.integers(1, n + 1))))
    return J, root @ root.T / n


def stress_rounds(rng, per_case: int):
    """``per_case`` rounds (n in 2..10) per rate in STRESS_RATES and kind in STRESS_KINDS, each with
    its Stein condition kappa <= STRESS_MAX_CONDITION: a list of (J, Q, kappa)."""
    out = []
    for rho in STRESS_RATES:
        for kind in STRESS_KINDS:
            drawn = 0
            while drawn < per_case:
                J, Q = stein_round(rng, int(rng.integers(2, 11)), rho, kind)
                kappa = lyapunov.stein_condition(J)
                if kappa <= STRESS_MAX_CONDITION:
                    out.append((J, Q, kappa))
                    drawn += 1
    return out


@with_python_control
def v8(profile: Profile, control) -> Outcome:
    """Production solve vs algorithms it shares no step with, error in units of u kappa (C15)."""
    slycot_check = control.exception.slycot_check  # control is imported (and guarded) by the decorator
    from scipy.linalg import solve_discrete_lyapunov

    def score(P, J, Q, kappa, *witnesses) -> list[float]:  # in units of the bar FORWARD_ERROR_FACTOR u kappa
        bar = lyapunov.FORWARD_ERROR_FACTOR * UNIT_ROUNDOFF * kappa
        return [relative_error(P, W) / bar for W in witnesses]

    rng = np.random.default_rng(profile.seed + 151)
    scores = []
    for K in (2, 3):
        for agents, S in noisy_systems(rng, max(4, profile.instances // 8), K):
            M = np.stack([a.M for a in agents])
            P = lyapunov.stationary_covariances(M, S)
            for i in range(K):
                J, Q = lyapunov.round_noise(M, S, i)
                scores += score(P[i], J, Q, lyapunov.stein_condition(J),
                                solve_discrete_lyapunov(J, Q, method="direct"), np.asarray(control.dlyap(J, Q)))
    # python-control (without slycot) switches to scipy's bilinear transform at n >= 10, which loses
    # up to ~1e3 u kappa near rho = 1: the stress rounds are compared with the Kronecker solve only
    stress = stress_rounds(rng, max(1, profile.instances // 32))
    for J, Q, kappa in stress:
        scores += score(lyapunov.discrete_lyapunov(J, Q), J, Q, kappa, solve_discrete_lyapunov(J, Q, method="direct"))
    control_solver = "SLICOT SB03MD" if slycot_check() else "without slycot, scipy's direct solve again"
    return worst(scores, 1.0,
                 f"relative error / ({lyapunov.FORWARD_ERROR_FACTOR:g} u kappa), kappa = (1 + ||J||^2) / "
                 "sigma_min(I - J (x) J) the Stein condition: the production Schur (Bartels-Stewart) solve on "
                 f"K = 2, 3 noisy systems and on {len(stress)} rounds (n 2-10, rho "
                 f"{', '.join(f'{r:.6g}' for r in STRESS_RATES)}; {', '.join(STRESS_KINDS)}) vs scipy "
                 "solve_discrete_lyapunov(method='direct') (the Kronecker solve, a different algorithm) and, on "
                 f"the noisy systems, python-control dlyap ({control_solver})",
                 power="a solver with J^T for a non-symmetric J, or a dropped Q, is an O(1) relative error: "
                       f"{1 / (UNIT_ROUNDOFF * STRESS_MAX_CONDITION * lyapunov.FORWARD_ERROR_FACTOR):.0f} times "
                       "the bar even at the largest kappa, ~1e13 times at kappa ~ 1 (tests/test_lyapunov.py "
                       "plants both)")


CLAIMS = [
    Claim(
        id="C15",
        title="Noisy agents: stationary spread from a Lyapunov equation",
        hypotheses=("independent zero-mean output noise, Cov eta_i = S_i", "rho(M_A M_B) < 1", PAIR_INVERTIBLE),
        reference=cite("C15"),
        relation="equal",
        methods={"V1": v1, "V4": v4, "V8": v8, "VS": fit_method},
        formulas=("C15.stationary_covariance_B", "C15.stationary_covariance_A"),
    )
]
