"""Input contracts of ``numerics.dynamics.noisy`` (docs/api.rst: ``NoisyAgent``, ``run_chains``), the mutation
killer's tests for that module (mutation/targets.toml): ``a2ad verify`` (C15's and C18's V4) checks the noise's
law and never feeds a wrong-sized or invalid covariance, count or initial message.
"""
from __future__ import annotations

import numpy as np
import pytest

from numerics.dynamics import noisy
from numerics.io.errors import InputError
from proofs_check.verification.instances import random_gd_agent

# run_chains computes (w H^T - b) Gamma^T on row vectors, the test Gamma (H w - b): the same steps associated
# differently, a few ulps apart after 4 turns
GD_ROUNDING = 1e-12


def _pair(d: int = 2):
    rng = np.random.default_rng(3)
    return [random_gd_agent(rng, d, "A"), random_gd_agent(rng, d, "B")]


@pytest.mark.parametrize("size", [1, 3])
def test_noisy_agent_refuses_a_covariance_of_another_dimension(size):
    """A d = 2 agent with a 1 x 1 or 3 x 3 noise covariance: an InputError naming the agent's covariance and
    the dimension (not a broadcasting error at its first reply)."""
    A = _pair()[0]
    with pytest.raises(InputError, match=r"A\.noise_covariance.*2 x 2"):
        noisy.NoisyAgent(A, 0.1 * np.eye(size), 0)


def test_noisy_agent_refuses_a_covariance_that_is_not_psd():
    A = _pair()[0]
    with pytest.raises(InputError, match=r"A\.noise_covariance"):
        noisy.NoisyAgent(A, np.array([[0.1, 0.0], [0.0, -0.1]]), 0)


def test_run_chains_refuses_bad_counts_and_inputs():
    pair, S = _pair(), np.stack([0.01 * np.eye(2)] * 2)
    for turns, chains, name in ((0, 4, "turns"), (3, 0, "chains")):
        with pytest.raises(InputError, match=name):
            noisy.run_chains(pair, S, np.zeros(2), turns, chains, 0)
    with pytest.raises(InputError, match="initial_message"):
        noisy.run_chains(pair, S, np.zeros(3), 3, 4, 0)
    with pytest.raises(InputError, match=r"B\.noise_covariance"):
        noisy.run_chains(pair, np.stack([0.01 * np.eye(2), -0.01 * np.eye(2)]), np.zeros(2), 3, 4, 0)


def test_run_chains_accepts_a_single_agent():
    """The smallest conversation, one agent answering itself, is a valid input (``agents`` of any length >= 1): with
    zero noise every chain is the agent's GD steps iterated from the initial message."""
    A = _pair()[0]
    w0 = np.array([0.3, -0.2])
    out = noisy.run_chains([A], np.zeros((1, 2, 2)), w0, 4, 3, 0)
    w = w0.copy()
    for _ in range(4 * A.steps):
        w = w - A.Gamma @ (A.geometry.H @ w - A.geometry.b)
    assert out.shape == (3, 1, 2) and np.allclose(out, w, rtol=GD_ROUNDING, atol=GD_ROUNDING)


def test_noisy_agent_accepts_its_dimension_beyond_256():
    """d = 257 (beyond CPython's small-int cache, so a dimension compared by identity would differ): a 257 x 257
    covariance is the agent's dimension and is accepted."""
    A = random_gd_agent(np.random.default_rng(5), 257, "A")
    assert noisy.NoisyAgent(A, 0.01 * np.eye(257), 0).respond(np.zeros(257)).shape == (257,)


def test_run_chains_refuses_agents_of_another_dimension():
    """Agents of dimensions 2 and 3: an InputError naming the second (the first agent fixes d), before any
    step (not numpy's broadcasting error at the first mismatched turn)."""
    rng = np.random.default_rng(4)
    A, B = random_gd_agent(rng, 2, "A"), random_gd_agent(rng, 3, "B")
    with pytest.raises(InputError, match=r"B\.d = 3: must be 2, the dimension of A"):
        noisy.run_chains([A, B], [0.01 * np.eye(2), 0.01 * np.eye(3)], np.zeros(2), 3, 4, 0)


def test_noisy_agent_repr_shows_no_private_state():
    """docs: the repr shows the wrapped agent, ``S`` and ``seed``, never the factor, the generator or the 256
    noises drawn ahead (after a reply they exist)."""
    A = _pair()[0]
    wrapped = noisy.NoisyAgent(A, 0.01 * np.eye(2), 7)
    wrapped.respond(np.zeros(2))
    text = repr(wrapped)
    assert text.startswith("NoisyAgent(agent=") and "seed=7" in text and "S=" in text
    for private in ("_L=", "_rng=", "_noise=", "_next="):
        assert private not in text, private
