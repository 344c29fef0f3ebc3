"""Random instances shared by the claims' numeric methods (seeded, batched by dimension)."""
from __future__ import annotations

import numpy as np

from numerics.agents import random_systems
from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_geometry


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


def round_rate(agents) -> float:
    """``rho`` of one full round of the agents' per-turn transfers, multiplied out here in speaking
    order (last agent's transfer leftmost). Used to pick convergent test systems; the code under
    test (``closed_forms.contraction_rate``) is never used to choose its own instances."""
    J = np.eye(agents[0].d)
    for a in agents:
        T = np.eye(a.d) - a.Gamma @ a.geometry.H
        J = np.linalg.matrix_power(T, a.steps) @ J
    return float(np.max(np.abs(np.linalg.eigvals(J))))


def config_system(rng: np.random.Generator, K: int, d: int, max_steps: int = 3, rho_max: float = 0.9,
                  aligned: bool = False):
    """A system as users write it: a CONFIG.json document (round-tripped through JSON text) parsed by
    :func:`numerics.protocol.config.parse`. Agents alternate between ``prompt`` {X, y} and ``geometry`` +
    ``target``; preconditioners are SPD matrices (so ``Gamma H`` and the transfers are not
    symmetric); ``steps_per_turn`` in 1..max_steps. ``aligned``: every target 0 (the homogeneous
    system, for rates). Redrawn until the round rate is at most ``rho_max``."""
    import json

    from numerics.protocol import config

    while True:
        agents = []
        for k in range(K):
            w = np.zeros(d) if aligned else rng.standard_normal(d)
            entry = {"name": f"agent{k}", "steps_per_turn": int(rng.integers(1, max_steps + 1))}
            if k % 2:
                H = random_systems.spd(rng, d, cond=10 ** rng.uniform(0, 1.5))
                entry.update(geometry=H.tolist(), target=w.tolist())
            else:
                X = rng.standard_normal((d + 2, d))
                entry.update(prompt={"X": X.tolist(), "y": (X @ w).tolist()})
                H = X.T @ X / len(X)
            G = random_systems.spd(rng, d, cond=4.0)
            G *= rng.uniform(0.3, 1.6) / np.max(np.real(np.linalg.eigvals(G @ H)))
            entry["preconditioner"] = G.tolist()
            agents.append(entry)
        doc = {"schema_version": 1, "agents": agents, "initial_message": rng.standard_normal(d).tolist()}
        system = config.parse(json.loads(json.dumps(doc)))
        if round_rate(system.agents) <= rho_max:
            return system
