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


def test_run_chains_refuses_a_second_agent_of_smaller_dimension():
    """Agents of dimensions 3 and 2 (the second smaller, the reverse of test_noisy_contracts' 2 and 3): an
    InputError naming the second, before any step."""
    import numpy as np
    import pytest

    from numerics.dynamics import noisy
    from numerics.io.errors import InputError
    from proofs_check.verification.instances import random_gd_agent

    rng = np.random.default_rng(7)
    A, B = random_gd_agent(rng, 3, "A"), random_gd_agent(rng, 2, "B")
    with pytest.raises(InputError, match=r"B\.d = 2: must be 3, the dimension of A"):
        noisy.run_chains([A, B], [0.01 * np.eye(3), 0.01 * np.eye(2)], np.zeros(3), 3, 4, 0)
