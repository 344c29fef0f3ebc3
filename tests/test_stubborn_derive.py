"""derive --protocol on a stubborn agent (it hears only itself with weight 1, so its residual is exactly 0):
every format's check passes on the right output, and a residual compared on |z|'s scale still fails when wrong."""
from __future__ import annotations

import numpy as np

from proofs_check.verification.registry import Profile
from proofs_check.verification.shipped import FLOAT_BAR, RESIDUAL_FLOOR, flat_vector, residual_rel
from proofs_check.verification.shipped_derive import STUBBORN, derive_method


def test_stubborn_agent_passes_every_format():
    out = derive_method({"stubborn": STUBBORN}, every_format=True)(Profile.named("quick"))
    assert out.worst_error <= out.tolerance, out.detail  # NaN fails too


def test_printed_zero_is_the_zero_vector():
    assert np.array_equal(flat_vector(0.0, 3), np.zeros(3))
    assert flat_vector(None, 3) is None
    assert flat_vector(2.0, 3).shape == (1,)  # a nonzero scalar is no d-vector: the comparison fails
    assert residual_rel(flat_vector(2.0, 3), np.ones(3), np.zeros(3)) == np.inf


def test_residual_scale():
    z, target = np.array([3.0, 4.0]), np.array([3.0, 4.0])  # e = 0, |z| = 5
    assert residual_rel(np.zeros(2), z, target) == 0.0
    # an error of 1e-9 |z| is 1e-9 / RESIDUAL_FLOOR relative: above the bar, so a wrong zero residual fails
    assert residual_rel(np.array([5e-9, 0.0]), z, target) == 5e-9 / (RESIDUAL_FLOOR * 5.0) > FLOAT_BAR
    # a residual larger than RESIDUAL_FLOOR |z| keeps its own scale
    assert residual_rel(np.array([-1.0, 0.0]), z, np.array([2.0, 4.0])) == 2.0
