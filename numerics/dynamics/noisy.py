"""Agents with independent zero-mean Gaussian output noise (C15), and batched Monte Carlo.

A noisy agent emits ``respond(w) + eta`` with ``eta ~ N(0, S)`` drawn from its own
generator, seeded explicitly. The Monte Carlo runner iterates the real GD steps
(never a closed form) over many independent chains at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from numerics.agents.gd import Agent
from numerics.io import validate

NOISE_BLOCK = 256  # noises drawn per generator call by NoisyAgent (per-call overhead, not the stream)


def noise_factor(name: str, S) -> np.ndarray:
    """``S^{1/2}``, the PSD square root of a PSD (possibly singular) noise covariance ``S`` (``L L^T = S``).

    The one symmetric PSD factor: unlike ``V sqrt(Lambda)`` it does not depend on the signs (or, for a
    repeated eigenvalue, the basis) of the eigenvectors LAPACK returns, so a seed gives the same noises
    whichever LAPACK computes them.
    """
    S = validate.psd(name, S)
    lam, V = np.linalg.eigh(S)
    return (V * np.sqrt(np.clip(lam, 0.0, None))) @ V.T


@dataclass
class NoisyAgent:
    """Wraps any agent (``name``, ``d``, ``respond``): output ``agent.respond(w) + eta``, ``Cov eta = S``.

    Seeded: the t-th reply's ``eta`` is ``L z_t``, with ``z_t`` the t-th d-vector that
    ``numpy.random.default_rng(seed).standard_normal`` gives (the same as one call per reply) and
    ``L = S^{1/2}``, the PSD square root of ``S`` (:func:`noise_factor`). Its ``repr`` shows ``agent``,
    ``S`` and ``seed`` only: the factor, the generator and the noises drawn ahead are private state (256
    rows of them), never printed.
    """

    agent: Agent
    S: np.ndarray
    seed: int
    _L: np.ndarray = field(init=False, repr=False)
    _rng: np.random.Generator = field(init=False, repr=False)
    _noise: np.ndarray = field(init=False, repr=False)  # drawn ahead, one row per turn
    _next: int = field(init=False, repr=False)

    def __post_init__(self):
        self._L = noise_factor(f"{self.agent.name}.noise_covariance", self.S)
        if self._L.shape[0] != self.agent.d:
            raise validate.InputError(f"{self.agent.name}.noise_covariance", self.S,
                                      f"must be {self.agent.d} x {self.agent.d} (the dimension)")
        self._rng = np.random.default_rng(self.seed)
        self._noise, self._next = np.empty((0, self.agent.d)), 0

    @property
    def name(self) -> str:
        return self.agent.name

    @property
    def d(self) -> int:
        return self.agent.d

    def respond(self, w: np.ndarray) -> np.ndarray:
        if self._next == len(self._noise):  # draw the next NOISE_BLOCK noises at once: the generator's
            z = self._rng.standard_normal((NOISE_BLOCK, self._L.shape[0]))  # stream is the same as one call per turn
            self._noise, self._next = z @ self._L.T, 0
        self._next += 1
        return self.agent.respond(w) + self._noise[self._next - 1]


def run_chains(agents: Sequence, S: np.ndarray, initial_message, turns: int, chains: int,
               seed: int) -> np.ndarray:
    """Final messages of ``chains`` independent noisy conversations of GD agents.

    Each turn runs agent i's GD steps ``w <- w - Gamma_i (H_i w - b_i)`` on every chain
    and adds ``N(0, S_i)`` noise: ``Z S_i^{1/2}`` with ``Z`` the next (chains, d) block of
    ``numpy.random.default_rng(seed).standard_normal`` (one block per agent per turn, in speaking order).
    Returns shape (chains, K, d): every agent's last message. Every agent must have the first agent's
    dimension d (an InputError names the first that has not).
    """
    turns = validate.positive_int("turns", turns)
    chains = validate.positive_int("chains", chains)
    d = agents[0].d
    for a in agents:
        if a.d != d:
            raise validate.InputError(f"{a.name}.d", a.d, f"must be {d}, the dimension of {agents[0].name}")
    L = [noise_factor(f"{a.name}.noise_covariance", s) for a, s in zip(agents, S)]
    rng = np.random.default_rng(seed)
    w = np.tile(validate.vector("initial_message", initial_message, d), (chains, 1))
    out = np.empty((chains, len(agents), d))
    for _ in range(turns):
        for i, a in enumerate(agents):
            for _ in range(a.steps):
                w = w - (w @ a.geometry.H.T - a.geometry.b) @ a.Gamma.T
            w = w + rng.standard_normal((chains, d)) @ L[i].T
            out[:, i] = w
    return out
