"""Pieces shared by the experiments: agent factories, run lengths and the log-scale floor."""
from __future__ import annotations

import numpy as np

from numerics.agents import random_systems
from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_geometry
from numerics.io.errors import InputError
from numerics.protocol import simulate

LOG_FLOOR = 1e-17  # exact zeros are drawn at this height on log axes
AGENT_KINDS = ("gd", "lsa")


def gd_agent(name: str, H: np.ndarray, w_star, step: float = 0.5, steps: int = 1) -> GDAgent:
    """A GD agent with ``Gamma = step / lambda_max(H) I`` on geometry ``H`` and target ``w_star``."""
    Gamma = step / np.max(np.linalg.eigvalsh(H)) * np.eye(H.shape[0])
    return GDAgent(name, from_geometry(H, w_star, name=name), Gamma, steps)


def geometry(kind: str, rng: np.random.Generator, d: int) -> np.ndarray:
    """Named prompt geometries: ``isotropic``, ``anisotropic`` (cond 10, random basis), ``rank-deficient``
    (rank d-1)."""
    if kind == "isotropic":
        return np.eye(d)
    if kind == "anisotropic":
        return random_systems.spd(rng, d, cond=10.0)
    if kind == "rank-deficient":
        return random_systems.psd(rng, d, rank=d - 1, cond=10.0)
    raise InputError("geometry", kind, "must be isotropic, anisotropic or rank-deficient")


def tail(agents, turns: int, initial=None) -> np.ndarray:
    """Each agent's last message after ``turns`` rounds of the real agents (shape (K, d))."""
    d = agents[0].d
    return simulate.run(agents, np.zeros(d) if initial is None else initial, turns)[-1]


def check_agents(agents: str, supported=("gd",)) -> str:
    """Refuse agent kinds an experiment does not run (never silently fall back to GD)."""
    if agents not in AGENT_KINDS:
        raise InputError("--agents", agents, f"must be one of {list(AGENT_KINDS)}")
    if agents not in supported:
        raise InputError("--agents", agents, f"this experiment runs with {list(supported)} agents")
    return agents


def floor(x) -> np.ndarray:
    return np.maximum(np.asarray(x, dtype=float), LOG_FLOOR)


LSA_CONTEXT = 20  # examples per prompt, and the N the LSA agents are trained at


def agent_factory(agents: str, d: int, seed: int):
    """``make(name, H, w_star, step=0.5)``: a GD agent, or an LSA agent trained here (sparse, isotropic Sigma).

    An LSA agent gets the prompt ``X = sqrt(N) U H^{1/2}``, ``y = X w*`` (so ``X^T X / N = H``)
    and its own trained preconditioner ``Gamma_eff`` (``step`` applies to GD agents only).
    """
    check_agents(agents, supported=AGENT_KINDS)
    if agents == "gd":
        return gd_agent
    from numerics.lsa import settings as ts, training as lsa_training
    from numerics.lsa.agent import LSAAgent

    trained = lsa_training.train(d, LSA_CONTEXT, "isotropic", 1.0, 0.0, steps=ts.STEPS, batch=ts.BATCH, seed=seed,
                                 lr=ts.LR, parameterisation="sparse", progress=False, check_every=ts.CHECK_EVERY)
    if trained.stalled:
        raise InputError("LSA training", trained.rel_error, "stalled: Gamma_eff is far from Gamma*")
    rng = np.random.default_rng(seed + 7)

    def make(name: str, H: np.ndarray, w_star, step: float = 0.5) -> LSAAgent:
        U = random_systems.orthogonal(rng, LSA_CONTEXT)[:, :d]
        lam, V = np.linalg.eigh(H)
        X = np.sqrt(LSA_CONTEXT) * U @ (V * np.sqrt(np.clip(lam, 0, None))) @ V.T
        return LSAAgent(name, trained.weights, X, X @ np.asarray(w_star, dtype=float))
    return make
