"""Hypothesis strategies for V6: dimensions 1..8, full-rank, rank-deficient and
ill-conditioned geometries, misalignment scale and angle.

Examples are ``PairExample`` dataclasses holding plain arrays; the random
matrices come from a drawn seed so shrinking stays cheap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.agents import random_systems

KINDS = ("full", "rank_deficient", "ill_conditioned")
# Pairs slower than this need too many turns to converge inside a property check.
RHO_CAP = 0.95


@dataclass(frozen=True)
class PairExample:
    Gamma: np.ndarray  # (2, d, d)
    H: np.ndarray  # (2, d, d)
    w_star: np.ndarray  # (2, d)
    kinds: tuple[str, str]
    scale: float
    angle: float

    @property
    def Delta(self) -> np.ndarray:
        return self.w_star[1] - self.w_star[0]


def geometry(rng: np.random.Generator, d: int, kind: str) -> np.ndarray:
    if kind == "rank_deficient" and d > 1:
        return random_systems.psd(rng, d, rank=int(rng.integers(1, d)), cond=10.0)
    if kind == "ill_conditioned":
        return random_systems.spd(rng, d, cond=10 ** rng.uniform(4, 8))
    return random_systems.spd(rng, d, cond=10 ** rng.uniform(0, 2))


def preconditioner(rng: np.random.Generator, H: np.ndarray, kind: str) -> np.ndarray:
    """Scalar step for well-conditioned prompts; a near-inverse for ill-conditioned ones
    (so the pair still contracts while H itself is ill-conditioned)."""
    eta = rng.uniform(0.2, 1.8)
    if kind == "ill_conditioned":
        return eta * np.linalg.inv(H)
    return eta / np.max(np.linalg.eigvalsh(H)) * np.eye(H.shape[0])


def targets(rng: np.random.Generator, d: int, scale: float, angle: float) -> np.ndarray:
    """``w_A*`` of norm 1 and ``w_B*`` at the given angle from it, of norm ``scale``."""
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    if d == 1:
        return np.stack([u, scale * u * (1 if angle < np.pi / 2 else -1)])
    v = rng.standard_normal(d)
    v -= (v @ u) * u
    v /= np.linalg.norm(v)
    return np.stack([u, scale * (np.cos(angle) * u + np.sin(angle) * v)])


def pair_examples():
    from hypothesis import assume, strategies as st

    @st.composite
    def build(draw):
        d = draw(st.integers(1, 8))
        kinds = (draw(st.sampled_from(KINDS)), draw(st.sampled_from(KINDS)))
        scale = draw(st.floats(0.0, 10.0))
        angle = draw(st.floats(0.0, float(np.pi)))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        H = np.stack([geometry(rng, d, k) for k in kinds])
        Gamma = np.stack([preconditioner(rng, h, k) for h, k in zip(H, kinds)])
        M = np.eye(d) - Gamma @ H
        assume(np.max(np.abs(np.linalg.eigvals(M[0] @ M[1]))) < RHO_CAP)
        return PairExample(Gamma, H, targets(rng, d, scale, angle), kinds, scale, angle)

    return build()
