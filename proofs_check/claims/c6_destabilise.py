"""C6: coupling can destabilise.

``rho(M_A) < 1`` and ``rho(M_B) < 1`` do not imply ``rho(M_A M_B) < 1`` (a 2x2
witness with SPD ``Gamma_i``, ``H_i`` is searched for and its divergence seen
in simulation), but with one shared SPD ``Gamma`` and symmetric ``H_i``,
``rho(M_A M_B) <= rho(M_A) rho(M_B)``, because each ``M_i`` is self-adjoint in
the ``Gamma^{-1}`` inner product. Methods: V2 (self-adjointness, symbolic 2x2),
V4 (witness + the bound on random shared-preconditioner pairs), V6.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from numerics.agents import random_systems
from numerics.dynamics import closed_forms
from numerics.protocol import simulate
from proofs_check.statements.provenance import cite
from proofs_check.verification.methods import explicit_zero, worst
from proofs_check.verification.properties import run_property
from proofs_check.verification.registry import Claim, Outcome, Profile

# rho(M_A M_B) <= rho(M_A) rho(M_B) is checked in float64 eigenvalues: 1e-12 absolute
# covers eigvals round-off at these magnitudes (all radii <= 1).
BOUND_TOL = 1e-12
WITNESS_TRIES = 20000
# The witness counts only when divergence is unmistakable in simulation.
MIN_WITNESS_GROWTH = 1.05
WITNESS_TURNS = 200


@dataclass(frozen=True)
class Witness:
    Gamma: np.ndarray  # (2, 2, 2) SPD
    H: np.ndarray  # (2, 2, 2) SPD
    rho_A: float
    rho_B: float
    rho_pair: float


def find_witness(rng: np.random.Generator, tries: int = WITNESS_TRIES) -> Witness | None:
    """Random search over SPD 2x2 ``Gamma_i``, ``H_i`` (eigenvalues in [1e-2, 1e2]) for a
    pair with each agent stable and the coupled pair unstable; returns the strongest found."""
    best = None
    for _ in range(tries):
        mats = []
        for _ in range(4):
            Q = random_systems.orthogonal(rng, 2)
            mats.append((Q * 10 ** rng.uniform(-2, 2, 2)) @ Q.T)
        Gamma, H = np.stack(mats[:2]), np.stack(mats[2:])
        M = np.eye(2) - Gamma @ H
        rA, rB = closed_forms.spectral_radius(M)
        if rA < 1 and rB < 1:
            r = float(closed_forms.spectral_radius(M[0] @ M[1]))
            if r > 1 and (best is None or r > best.rho_pair):
                best = Witness(Gamma, H, float(rA), float(rB), r)
                if r > 2:
                    break
    return best


def growth(Gamma, H, single: int | None = None) -> float:
    """Observed per-round growth of ||message|| from simulation (aligned targets at 0)."""
    d = H.shape[-1]
    if single is not None:  # one agent talking to itself: its own iteration
        Gamma, H = np.stack([Gamma[single]] * 2), np.stack([H[single]] * 2)
        steps = [1, 0]
    else:
        steps = [1, 1]
    sim = simulate.run_batch(Gamma[None], H[None], np.zeros((1, 2, d)), steps, np.ones((1, d)), WITNESS_TURNS)
    n = np.linalg.norm(sim[0, :, 0], axis=-1)
    return float((n[-1] / n[WITNESS_TURNS // 2]) ** (1 / (WITNESS_TURNS - 1 - WITNESS_TURNS // 2)))


def bound_excess(Gamma: np.ndarray, H: np.ndarray) -> float:
    M = np.eye(H.shape[-1]) - Gamma @ H
    rA, rB = closed_forms.spectral_radius(M)
    return float(max(closed_forms.spectral_radius(M[0] @ M[1]) - rA * rB, 0.0))


def shared_pair(rng, d: int):
    H = np.stack([random_systems.psd(rng, d, rank=int(rng.integers(1, d + 1)), cond=100) for _ in range(2)])
    G = random_systems.spd(rng, d, cond=10 ** rng.uniform(0, 2))
    G /= max(np.max(np.abs(np.linalg.eigvals(G @ h))) for h in H) / rng.uniform(0.2, 2.5)
    return np.stack([G, G]), H


def v2(profile: Profile) -> Outcome:
    """Gamma^{-1} M_i = Gamma^{-1} - H_i is symmetric, so M_i is Gamma^{-1}-self-adjoint."""
    g11, g12, g22, h11, h12, h22 = sp.symbols("g11 g12 g22 h11 h12 h22")
    G = sp.Matrix([[g11, g12], [g12, g22]])
    H = sp.Matrix([[h11, h12], [h12, h22]])
    M = sp.eye(2) - G * H
    S = G.inv() * M
    return explicit_zero([("Gamma^{-1} M - (Gamma^{-1} M)^T (d=2)", S - S.T),
                          ("Gamma^{-1} M - (Gamma^{-1} - H) (d=2)", S - (G.inv() - H))])


def v4(profile: Profile) -> Outcome:
    rng = np.random.default_rng(profile.seed + 6)
    wit = find_witness(rng)
    if wit is None:
        return Outcome(1.0, 0.0, 0, f"no destabilising 2x2 witness found in {WITNESS_TRIES} tries")
    g_pair, g_A, g_B = growth(wit.Gamma, wit.H), growth(wit.Gamma, wit.H, 0), growth(wit.Gamma, wit.H, 1)
    witness_ok = g_pair >= MIN_WITNESS_GROWTH and g_A < 1 and g_B < 1
    errors = [] if witness_ok else [1.0]
    for _ in range(profile.instances):
        errors.append(bound_excess(*shared_pair(rng, int(rng.integers(1, 9)))))
    return worst(errors, BOUND_TOL,
                 f"witness: rho(M_A)={wit.rho_A:.3f}, rho(M_B)={wit.rho_B:.3f}, rho(M_A M_B)={wit.rho_pair:.2f}; "
                 f"simulated growth per round {g_pair:.2f} (alone: {g_A:.3f}, {g_B:.3f}); "
                 f"shared-Gamma bound rho(M_A M_B) <= rho(M_A) rho(M_B): excess over {profile.instances} pairs")


def v6(profile: Profile) -> Outcome:
    from hypothesis import strategies as st

    def excess(args):
        d, seed = args
        return bound_excess(*shared_pair(np.random.default_rng(seed), d))

    return run_property(excess, st.tuples(st.integers(1, 8), st.integers(0, 2**32 - 1)), profile, BOUND_TOL,
                        "shared SPD Gamma, PSD H_i (any rank), steps up to 2.5/lambda_max: bound holds")


CLAIMS = [
    Claim(
        id="C6",
        title="Coupling can destabilise; a shared preconditioner cannot",
        hypotheses=("SPD Gamma_i and H_i for the witness", "one shared SPD Gamma and symmetric H_i for the bound"),
        reference=cite("C6"),
        relation="upper",
        methods={"V2": v2, "V4": v4, "V6": v6},
    )
]
