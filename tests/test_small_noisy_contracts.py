"""Contracts of ``numerics.dynamics.noisy`` added by the mutation round of issue 22 item 5 (helper "small": the
``--since`` rerun of the lines changed after its session). Apart from tests/test_small_contracts.py so that the
protocol compiler's killers do not pay for a 257-dimensional agent.
"""
from __future__ import annotations


def test_run_chains_accepts_two_agents_beyond_256():
    """``numerics.dynamics.noisy.run_chains`` with two agents of d = 257 (beyond CPython's small-int cache: each
    agent's ``d`` is its own int object, so a dimension compared by identity would refuse the second): accepted,
    one chain of one turn, shape (chains, K, d)."""
    import numpy as np

    from numerics.dynamics import noisy
    from proofs_check.verification.instances import random_gd_agent

    rng = np.random.default_rng(6)
    A, B = random_gd_agent(rng, 257, "A"), random_gd_agent(rng, 257, "B")
    assert A.d is not B.d  # the premise: two int objects of the same value
    S = [0.01 * np.eye(257), 0.01 * np.eye(257)]
    assert noisy.run_chains([A, B], S, np.zeros(257), 1, 1, 0).shape == (1, 2, 257)
