"""Contracts of numerics/protocol/random_moments.py that the verify methods' instances never reach: the spectral
radius of a moment operator found by ARPACK to round-off, and the dense fallback's limit of 4096 unknowns
(docs/protocol.rst: "with the dense solve as the fallback up to 4096 unknowns")."""
from __future__ import annotations

import numpy as np
import pytest

from numerics.dynamics import closed_forms
from numerics.io.errors import InputError
from numerics.protocol import random_moments

# ARPACK at tolerance 1e-14 finds the largest modulus of a symmetric 400 x 400 operator to a few ulps; a loose
# tolerance stops early (0.9915 instead of 1 for the spectrum below): 1e-12 separates the two.
RADIUS_TOL = 1e-12
DOC_FALLBACK_LIMIT = 4096  # docs/protocol.rst


def test_the_radius_of_a_large_operator_is_its_largest_modulus():
    """Beyond the dense eigenvalue size, ``Q diag(0, ..., 1) Q^T`` (400 eigenvalues evenly from 0 to 1) has radius 1."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((400, 400)))
    A = (Q * np.linspace(0.0, 1.0, 400)) @ Q.T
    assert 400 > random_moments.DENSE_EIG_MAX  # the operator path, not the dense eigenvalues
    assert abs(random_moments._radius_of_operator(lambda v: A @ v, 400) - 1.0) <= RADIUS_TOL


@pytest.mark.parametrize("size, dense", [(DOC_FALLBACK_LIMIT, True), (DOC_FALLBACK_LIMIT + 1, False)])
def test_the_dense_fallback_runs_up_to_4096_unknowns(monkeypatch, size, dense):
    """ARPACK fails on the zero operator (its Krylov space collapses): with exactly 4096 unknowns the operator is
    formed densely (its eigenvalues stubbed here: a 4096 x 4096 eigenproblem takes a minute), with 4097 refused."""
    formed = []
    monkeypatch.setattr(closed_forms, "spectral_radius", lambda A: formed.append(A.shape) or 0.0)
    if dense:
        assert random_moments._radius_of_operator(lambda v: np.zeros_like(v), size) == 0.0
        assert formed == [(size, size)]
    else:
        with pytest.raises(InputError, match=rf"size {size}.*limit {DOC_FALLBACK_LIMIT}"):
            random_moments._radius_of_operator(lambda v: np.zeros_like(v), size)
        assert formed == []
