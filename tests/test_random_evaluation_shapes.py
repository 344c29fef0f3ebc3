"""random_evaluation's agents (``numeric``, ``derived_mean``; Python API only: ``a2ad check`` builds them from a
validated config): every ``M_i`` is ``d x d`` and every ``w_i*`` of size ``d``, ``d`` the first agent's, else a
ValueError naming the agent, the shapes and the expected ``d``; ``derived_mean`` reads ``d`` there too."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from theory.protocol.random_compiler import compile_random
from theory.protocol.random_description import independent
from theory.protocol.random_evaluation import derived_mean, numeric

M2 = np.array([[0.5, 0.1], [0.0, 0.3]])
W2 = np.array([1.0, 2.0])


def _rc():
    return compile_random(independent(["A", "B"], [[{"A": {"B": 1}}], [{"B": {"A": 1}}]],
                                      [sp.Rational(1, 2), sp.Rational(1, 2)]))


@pytest.mark.parametrize("agents, bad, d", [
    ({"A": (M2, W2), "B": (M2, np.ones(3))}, "agent B", 2),  # a longer w*
    ({"A": (M2, W2), "B": (M2, np.ones(1))}, "agent B", 2),  # a shorter w*
    ({"A": (M2, np.ones(3)), "B": (M2, W2)}, "agent A", 2),  # the first agent's w* (d is its M's)
    ({"A": (M2, W2), "B": (np.eye(3), np.ones(3))}, "agent B", 2),  # another dimension
    ({"A": (np.ones((2, 3)), W2), "B": (M2, W2)}, "agent A", 2),  # not square: d is its row count
    ({"A": (M2, W2), "B": (np.ones((2, 3)), W2)}, "agent B", 2),
    ({"A": (M2, W2), "B": (np.eye(1), W2)}, "agent B", 2),  # a smaller square M_i, w* of the right size
])
def test_inconsistent_agents_are_refused(agents, bad, d):
    rc = _rc()
    for call in (lambda: numeric(rc, agents), lambda: derived_mean(rc, agents)):
        with pytest.raises(ValueError, match=rf"{bad}: .*must be {d} x {d} and its w_i\* of size {d}"):
            call()


def test_derived_mean_of_consistent_agents_has_k_d_entries():
    rc = _rc()
    out = derived_mean(rc, {"A": (M2, W2), "B": (np.diag([0.2, 0.4]), W2 / 2)})
    assert out.shape == (4,) and np.all(np.isfinite(out))


def test_a_large_dimension_is_accepted():
    # d = 300: the sizes compared are equal ints that are not the same object (CPython caches only up to 256)
    rng = np.random.default_rng(0)
    M = np.eye(300) * 0.5 + rng.standard_normal((300, 300)) * 1e-3
    nu = numeric(_rc(), {"A": (M, np.ones(300)), "B": (M.T, np.zeros(300))})
    assert nu.d == 300 and nu.Phi.shape == (2, 600, 600)
