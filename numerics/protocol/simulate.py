"""Iterating the real agent maps (never a closed form).

One simulator for every config (:func:`run_protocol`): a round runs the phases of a
:class:`numerics.protocol.spec.Protocol`; without a ``protocol`` key the phases are the round
robin (docs/theory.rst): agents speak in list order, cyclically; the first one hears
``initial_message`` and agent i hears agent i-1 (:func:`run`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from numerics.io import validate
from numerics.io.errors import InputError
from numerics.protocol.spec import Protocol, round_robin

# Bounds checked before any work (README "Limits"): the messages array (turns x K x d
# float64, 16 MB at the cap, and its JSON on stdout) and the GD steps iterated one by one.
MAX_MESSAGE_VALUES = 2 * 10**6
MAX_AGENT_STEPS = 2 * 10**6


def check_size(agents: Sequence, turns: int, speaks: Sequence[int] | None = None) -> int:
    """``turns`` as an int, or an InputError when the run would exceed the documented bounds.

    ``speaks[i]`` is how many times agent i answers per round (default once: the round robin)."""
    turns = validate.positive_int("turns", turns)
    K, d = len(agents), agents[0].d
    if turns * K * d > MAX_MESSAGE_VALUES:
        raise InputError("turns", turns, f"is too many: turns x agents x d = {turns * K * d} message entries "
                                         f"exceed the limit of {MAX_MESSAGE_VALUES}")
    speaks = [1] * K if speaks is None else speaks
    steps = turns * sum(int(getattr(a, "steps", 1)) * n for a, n in zip(agents, speaks))
    if steps > MAX_AGENT_STEPS:
        raise InputError("turns", turns, f"is too many: turns x (sum of steps_per_turn) = {steps} GD steps exceed "
                                         f"the limit of {MAX_AGENT_STEPS} (predict computes M^s in closed form)")
    return turns


def run(agents: Sequence, initial_message, turns: int) -> np.ndarray:
    """Messages of a round-robin conversation: :func:`run_protocol` under
    :func:`numerics.protocol.spec.round_robin`.

    Returns an array of shape ``(turns, K, d)``: ``out[t, i]`` is agent i's
    output at its (t+1)-th turn. Sizes are bounded (:func:`check_size`), and a
    message that overflows float64 is an InputError naming the agent and round.
    """
    w = validate.vector("initial_message", initial_message, agents[0].d)
    return run_protocol(agents, round_robin([a.name for a in agents], w), turns)


def run_protocol(agents: Sequence, protocol: Protocol, turns: int) -> np.ndarray:
    """Run the real agents under ``protocol``: every agent's message at the end of each round.

    Returns (turns, K, d). In a phase every listed agent i hears ``sum_j W_ij m_j`` of the messages
    as they stood at the start of the phase, and all listed agents write at once. Only
    ``agent.respond`` is called: no derived formula.
    """
    turns = check_size(agents, turns, protocol.speaks_per_round())
    m = np.array(protocol.initial, dtype=float)
    out = np.empty((turns,) + m.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(turns):
            for phase in protocol.phases:
                # all listeners read m as it stood at the start of the phase, then write at once
                new = [(i, agents[i].respond(heard(m, row))) for i, row in phase]
                for i, w in new:
                    m[i] = w
            out[t] = m
            require_finite(agents, m, f"turn {t}")  # the unit of --turns: one round
    return out


def heard(m: np.ndarray, row) -> np.ndarray:
    """``sum_j W_ij m_j`` over a listener's weight row, in the row's order. It starts from the first
    term, not from zeros, so a single weight 1 passes the message on bit for bit (``-0.0`` included);
    an empty row hears 0."""
    if not row:
        return np.zeros(m.shape[-1])
    (j, w), *rest = row
    out = w * m[j]
    for j, w in rest:
        out = out + w * m[j]
    return out


def require_finite(agents: Sequence, messages: np.ndarray, when: str) -> None:
    """An InputError naming the first agent whose message (row of ``messages``) overflowed float64."""
    if not np.isfinite(messages).all():  # the method, not np.all: this runs once per turn
        i = int(np.argmin(np.all(np.isfinite(messages), axis=-1)))
        raise InputError(f"message of {agents[i].name} at {when}", messages[i],
                         "overflows float64: the messages diverge (contraction rate > 1?)")


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
