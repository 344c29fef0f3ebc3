"""Random instances shared by the claims' numeric methods (seeded, batched by dimension)."""
from __future__ import annotations

import numpy as np

from numerics import random_systems
from numerics.agents import GDAgent
from numerics.prompts import from_geometry


def gd_pairs(rng: np.random.Generator, n: int, d_range=(1, 8), rho_max: float = 0.9, shared: bool = False):
    """Yield batches ``(Gamma, H, w_star)`` of shapes (n_d, 2, d, d), (n_d, 2, d, d), (n_d, 2, d)."""
    dims = rng.integers(d_range[0], d_range[1] + 1, size=n)
    for d in np.unique(dims):
        k = int(np.sum(dims == d))
        pairs = [random_systems.stable_gd_pair(rng, int(d), rho_max, shared=shared) for _ in range(k)]
        yield (np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]),
               rng.standard_normal((k, 2, int(d))))


def transfers(Gamma: np.ndarray, H: np.ndarray, w_star: np.ndarray, steps=None):
    """Per-turn ``M_i^{s_i}`` and ``c_i = (I - M_i^{s_i}) w_i*`` for stacked agents (affine view)."""
    d = H.shape[-1]
    M = np.eye(d) - Gamma @ H
    if steps is not None:
        M = np.stack([np.linalg.matrix_power(M[..., i, :, :], int(s)) for i, s in enumerate(steps)], axis=-3)
    c = ((np.eye(d) - M) @ w_star[..., None])[..., 0]
    return M, c


def moments(H: np.ndarray, w_star: np.ndarray) -> np.ndarray:
    """``b = H w*`` (what a GD agent's prompt supplies)."""
    return (H @ w_star[..., None])[..., 0]


def random_gd_agent(rng: np.random.Generator, d: int, name: str) -> GDAgent:
    """A GD agent with SPD ``H`` (cond up to 10^1.5) and ``Gamma = c / lambda_max(H) I``, c in [0.3, 1]:
    ``rho(M) <= 1 - 0.3 / cond``."""
    H = random_systems.spd(rng, d, cond=10 ** rng.uniform(0, 1.5))
    Gamma = rng.uniform(0.3, 1.0) / np.max(np.linalg.eigvalsh(H)) * np.eye(d)
    return GDAgent(name, from_geometry(H, rng.standard_normal(d), name=name), Gamma)
