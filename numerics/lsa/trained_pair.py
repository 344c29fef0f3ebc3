"""Two trained LSA agents with different input covariances and misaligned targets (V7).

Each agent is trained on its own Sigma (so it has its own prompt-geometry prior),
then given a prompt from that Sigma with its own target. The real forward passes run
alternately; the plateau is compared with C3 built from each agent's ``Gamma_eff``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.dynamics import closed_forms
from numerics.lsa import settings as ts, training as lsa_training
from numerics.lsa.agent import LSAAgent
from numerics.protocol import simulate

D, N_CONTEXT = 5, 20
SIGMA_A = np.geomspace(0.5, 2.0, D)  # issue 3: anisotropic diagonal, eigenvalues in [0.5, 2]
SIGMA_B = SIGMA_A[::-1].copy()
TAU, NOISE = 1.0, 0.1
PLATEAU_TURNS = 400  # the trained pairs contract at rho ~ 0.3: 400 turns is far past the transient


@dataclass
class TrainedPair:
    agents: tuple[LSAAgent, LSAAgent]
    training: tuple[lsa_training.TrainingResult, lsa_training.TrainingResult]
    messages: np.ndarray            # (turns, 2, d) from the real forward passes
    predicted: tuple[np.ndarray, np.ndarray]  # C3: (G_A Delta, -G_B Delta) from Gamma_eff and the prompts
    simulated: tuple[np.ndarray, np.ndarray]  # last messages minus targets

    def plateau_errors(self) -> list[float]:
        return [float(np.linalg.norm(s - p) / np.linalg.norm(p)) for s, p in zip(self.simulated, self.predicted)]


def train_pair(steps: int, seed: int = 0, parameterisation: str = "full", turns: int = PLATEAU_TURNS) -> TrainedPair:
    res_A, res_B = lsa_training.train_together(D, N_CONTEXT, (SIGMA_A, SIGMA_B), TAU, NOISE, steps=steps,
                                               batch=ts.BATCH, seed=seed, lr=ts.LR, parameterisation=parameterisation,
                                               check_every=ts.CHECK_EVERY)
    results = (res_A, res_B)
    rng = np.random.default_rng(seed + 100)
    agents = []
    for name, S, res in zip("AB", (SIGMA_A, SIGMA_B), results):
        X = rng.standard_normal((N_CONTEXT, D)) * np.sqrt(S)
        w = rng.standard_normal(D)
        agents.append(LSAAgent(name, res.weights, X, X @ w + NOISE * rng.standard_normal(N_CONTEXT)))
    a, b = agents
    messages = simulate.run(agents, np.zeros(D), turns)
    G_A, G_B = closed_forms.bias_maps(a.M, b.M)
    Delta = b.w_star - a.w_star
    return TrainedPair((a, b), results, messages, (G_A @ Delta, -G_B @ Delta),
                       (messages[-1, 0] - a.w_star, messages[-1, 1] - b.w_star))
