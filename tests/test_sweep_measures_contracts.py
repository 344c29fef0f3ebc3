"""Contracts of numerics/sweep/measures.py that real sweeps rarely reach: docs/sweeps.rst's columns at their edges."""
from __future__ import annotations

import dataclasses
import json

import numpy as np

from numerics.protocol import config, random_moments
from numerics.sweep import measures

RANDOM = json.loads(open("examples/sweep_random.json").read())["base"]  # three agents, a random protocol
ROUNDING = 1e-18  # a covariance trace this far below 0 is a zero covariance up to rounding


def test_a_covariance_trace_below_zero_by_rounding_gives_spread_zero(monkeypatch):
    """``spread_<agent> = sqrt(tr Cov)``: a stationary covariance whose computed trace is -1e-18 (a zero covariance
    up to rounding) reads 0, not NaN; the other agents' spreads are their own traces' roots."""
    system = config.parse(RANDOM)
    real = random_moments.moments

    def rounded(*args, **kwargs):
        mo = real(*args, **kwargs)
        assert mo.converges and mo.covariance is not None
        cov = mo.covariance.copy()
        cov[0] = np.diag(np.r_[-ROUNDING, np.zeros(cov.shape[-1] - 1)])
        return dataclasses.replace(mo, covariance=cov)

    monkeypatch.setattr(random_moments, "moments", rounded)
    row = measures.random_row(system, None, 0)
    expected = real(*measures_inputs(system)).covariance
    assert row[f"spread_{system.names[0]}"] == 0.0
    for i, name in enumerate(system.names[1:], start=1):
        assert row[f"spread_{name}"] == np.sqrt(np.trace(expected[i]))


def measures_inputs(system):
    M, c = np.stack([a.M for a in system.agents]), np.stack([a.c for a in system.agents])
    return M, c, system.random, system.noise_stack()
