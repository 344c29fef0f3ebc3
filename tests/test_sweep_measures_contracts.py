"""Contracts of numerics/sweep/measures.py that real sweeps rarely reach: docs/sweeps.rst's columns at their edges."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

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


MARGIN = 1e-12  # docs/sweeps.rst: the train-lsa residual columns are NaN where the trained rate is not below 1 - 1e-12
TINY_TRAINING = {"N": 20, "tau": 1.0, "sigma": 0.0, "steps": 2, "batch": 8, "lr": 0.01, "parameterisation": "sparse",
                 "turns": 3}  # the rate is set by hand below: the training only has to run


@pytest.mark.parametrize("rate, converges", [(1 - MARGIN, False), (1.0, False), (1 - 2 * MARGIN, True)])
def test_train_lsa_residuals_need_a_rate_below_the_margin(monkeypatch, rate, converges):
    """By hand: the trained pair's rate set to ``rate`` (trained weights cannot be steered within 1e-12 of 1)."""
    system = config.parse(json.loads(open("examples/two_agents.json").read()))
    monkeypatch.setattr(measures.closed_forms, "contraction_rate", lambda M: rate)
    row = measures.train_lsa_point(system, 0, TINY_TRAINING)
    assert row["lsa_contraction_rate"] == rate
    for name in system.names:
        assert bool(np.isfinite(row[f"lsa_residual_norm_{name}"])) is converges
        assert bool(np.isfinite(row[f"lsa_sim_residual_norm_{name}"]))  # the forward passes run either way
