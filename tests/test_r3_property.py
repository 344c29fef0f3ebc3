"""R3's V6 (the spread bound on drawn protocols where who hears whom changes) passes on the package and
fails on planted wrong variants: a derived covariance off by 10 %, the bound's weights doubled, and
moments that are not the stationary ones."""
import numpy as np
import pytest

from proofs_check.claims import r_random as R
from proofs_check.verification.registry import Profile

SEEDS = range(12)


def test_r3_property_holds_on_drawn_protocols():
    errors = [R.r3_v6_error(s) for s in SEEDS]
    assert np.all(np.isfinite(errors)) and max(errors) < R.PROPERTY_TOL, errors


def _scaled_covariance(real):
    def wrong(rc, ag, scalars=None):
        out = real(rc, ag, scalars)
        out.covariance[...] = 0.9 * out.covariance
        return out
    return wrong


def test_a_wrong_derived_covariance_fails(monkeypatch):
    monkeypatch.setattr(R, "theory_moments", _scaled_covariance(R.theory_moments))
    assert max(R.r3_v6_error(s) for s in SEEDS) > 1e3 * R.PROPERTY_TOL


@pytest.mark.parametrize("factor", [2.0, 3.0])
def test_an_overstated_bound_fails(monkeypatch, factor):
    """The bound with every probability multiplied by ``factor`` is false on some drawn instance."""
    real = R.spread_bound
    monkeypatch.setattr(R, "spread_bound", lambda law, d: factor * real(law, d))
    assert max(R.r3_v6_error(s) for s in SEEDS) > 1e3 * R.PROPERTY_TOL


def test_a_nan_bound_fails_the_method(monkeypatch):
    """NaN in the bound is never a pass: the method reports a failure (numpy refuses its eigenvalues)."""
    real = R.spread_bound
    monkeypatch.setattr(R, "spread_bound", lambda law, d: np.full_like(real(law, d), np.nan))
    out = R.r3_v6(Profile("quick", 2, 1, 3, 0))
    assert not out.worst_error <= out.tolerance, out
