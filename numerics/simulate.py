"""Iterating the real agent maps (never a closed form).

Protocol (docs/theory.rst): agents speak in list order, cyclically; the
first one hears ``initial_message`` and agent i hears agent i-1.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import validate


def run(agents: Sequence, initial_message, turns: int) -> np.ndarray:
    """Messages of a round-robin conversation.

    Returns an array of shape ``(turns, K, d)``: ``out[t, i]`` is agent i's
    output at its (t+1)-th turn.
    """
    turns = validate.positive_int("turns", turns)
    d = agents[0].d
    w = validate.vector("initial_message", initial_message, d)
    out = np.empty((turns, len(agents), d))
    for t in range(turns):
        for i, agent in enumerate(agents):
            w = agent.respond(w)
            out[t, i] = w
    return out


def run_batch(Gamma: np.ndarray, H: np.ndarray, b: np.ndarray, steps: Sequence[int],
              initial_message: np.ndarray, turns: int) -> np.ndarray:
    """Batched round-robin GD simulation over many systems at once.

    Shapes: ``Gamma, H`` (B, K, d, d); ``b`` (B, K, d); ``steps`` (K,);
    ``initial_message`` (B, d). Returns messages of shape (B, turns, K, d).
    Each step is ``w <- w - Gamma (H w - b)``, iterated, as the agents do.
    """
    B, K, d, _ = H.shape
    w = np.array(initial_message, dtype=float)
    out = np.empty((turns, K, B, d))  # turn-major: each write is contiguous
    # Precompute the per-step affine pieces once: I - Gamma H and Gamma b.
    A = np.eye(d) - Gamma @ H
    g = (Gamma @ b[..., None])[..., 0]
    # Row-vector form w A^T: one batched matmul per step, no per-step reshapes.
    At = [np.ascontiguousarray(np.swapaxes(A[:, i], -1, -2)) for i in range(K)]
    gs = [np.ascontiguousarray(g[:, i, None, :]) for i in range(K)]
    w = w[:, None, :]
    for t in range(turns):
        for i in range(K):
            Ai, gi = At[i], gs[i]
            for _ in range(int(steps[i])):
                w = w @ Ai + gi
            out[t, i] = w[:, 0]
    return np.moveaxis(out, 2, 0)  # (B, turns, K, d) view
