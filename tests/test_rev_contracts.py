"""Input contracts of theory.protocol.random_evaluation (the killer's tests for its mutation session).

What only the Python API reaches (``a2ad check`` builds its agents, laws and probabilities from a validated
config; proofs_check/verification/shipped_rev.py checks that path): the agents' matrices as nested lists, the
``scalars`` of a protocol with symbolic weights and probabilities (both plain and positive symbols), the
refusals of ``numeric``, ``stein_residual`` and ``derived_mean``, the radius of the empty operator, the residual
over no equation, and the results frozen.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from theory.protocol.random_compiler import compile_random
from theory.protocol.random_description import independent, markov
from theory.protocol.random_evaluation import derived_mean, moments, numeric, spectral_radius, stein_residual

# The same float64 evaluation done twice in a different order (symbols substituted, or exact rationals): the
# products are the same, so they agree to round-off.
FLOAT_TOL = 1e-12

M_A = np.array([[0.5, 0.1], [0.0, 0.3]])
M_B = np.array([[0.2, 0.0], [0.1, 0.6]])
W_A, W_B = np.array([1.0, 2.0]), np.array([-1.0, 0.5])
AGENTS = {"A": (M_A, W_A), "B": (M_B, W_B)}
HALF = sp.Rational(1, 2)


def _two_speakers(law=None):
    return independent(["A", "B"], [[{"A": {"B": 1}}], [{"B": {"A": 1}}]], law)


def test_spectral_radius_of_the_empty_operator_is_zero():
    # no eigenvalue at all: the empty map is nilpotent (A^1 = 0), its radius 0
    assert spectral_radius(np.zeros((0, 0))) == 0.0
    assert spectral_radius(np.array([[0.5, 2.0], [0.0, -0.75]])) == 0.75


def test_numeric_refuses_no_agents():
    rc = compile_random(_two_speakers([HALF, HALF]), derive_mean=False)
    with pytest.raises(ValueError, match="no agents"):
        numeric(rc, {})


def test_numeric_reads_nested_lists_as_arrays():
    """M_i and w_i* as a JSON reader holds them (lists), w_i* also as a column: the same maps."""
    rc = compile_random(_two_speakers([HALF, HALF]), derive_mean=False)
    ref = numeric(rc, AGENTS)
    for ag in ({"A": (M_A.tolist(), W_A.tolist()), "B": (M_B.tolist(), W_B.tolist())},
               {"A": (M_A, W_A.reshape(-1, 1)), "B": (M_B, tuple(W_B))}):
        nu = numeric(rc, ag)
        assert nu.d == 2
        assert np.array_equal(nu.Phi, ref.Phi) and np.array_equal(nu.psi, ref.psi)


def test_numeric_substitutes_plain_and_positive_symbols():
    """A weight given as a positive symbol and the law's plain ``p_1``: ``scalars`` names both; the maps and the
    law equal those of the protocol written with the numbers."""
    a = sp.Symbol("a", positive=True)
    sym = independent(["A", "B"], [[{"A": {"B": a, "A": 1 - a}}], [{"B": {"A": 1}}]])
    num = independent(["A", "B"], [[{"A": {"B": sp.Rational(3, 10), "A": sp.Rational(7, 10)}}], [{"B": {"A": 1}}]],
                      [sp.Rational(2, 5), sp.Rational(3, 5)])
    got = numeric(compile_random(sym, derive_mean=False), AGENTS, scalars={"a": 0.3, "p_1": 0.4})
    want = numeric(compile_random(num, derive_mean=False), AGENTS)
    assert got.P is None
    assert np.abs(got.law - want.law).max() <= FLOAT_TOL
    assert np.abs(got.Phi - want.Phi).max() <= FLOAT_TOL and np.abs(got.psi - want.psi).max() <= FLOAT_TOL
    assert np.abs(moments(got).mean - moments(want).mean).max() <= FLOAT_TOL


def test_numeric_substitutes_a_symbolic_chain():
    s = sp.Symbol("s")
    alts = [[{"A": {"B": 1}}], [{"B": {"A": 1}}]]
    sym = markov(["A", "B"], alts, [[s, 1 - s], [HALF, HALF]])
    num = markov(["A", "B"], alts, [[sp.Rational(1, 4), sp.Rational(3, 4)], [HALF, HALF]])
    got = numeric(compile_random(sym, derive_mean=False), AGENTS, scalars={"s": 0.25})
    want = numeric(compile_random(num, derive_mean=False), AGENTS)
    assert got.P is not None and want.P is not None
    assert np.abs(got.P - want.P).max() <= FLOAT_TOL and np.abs(got.law - want.law).max() <= FLOAT_TOL
    # the stationary law of [[1/4, 3/4], [1/2, 1/2]] by hand: pi_1 = pi_1 / 4 + pi_2 / 2, so pi = (2/5, 3/5)
    assert np.abs(got.law - [0.4, 0.6]).max() <= FLOAT_TOL


def test_stein_residual_refusals():
    with pytest.raises(ValueError, match="independent draws"):
        stein_residual(compile_random(_two_speakers([HALF, HALF]), derive_mean=False), AGENTS)
    # M_A = 3/2 I, answering itself or B: the mean-square rate is above 1
    big = {"A": (1.5 * np.eye(2), W_A), "B": (M_B, W_B)}
    rc = compile_random(markov(["A", "B"], [[{"A": {"A": HALF, "B": HALF}}], [{"B": {"A": 1}}]],
                               [[HALF, HALF], [HALF, HALF]]), derive_mean=False)
    m = moments(numeric(rc, big))
    assert not m.converges
    with pytest.raises(ValueError, match=f"contraction_rate = {m.contraction_rate:.6g}"):
        stein_residual(rc, big)


def test_derived_mean_refuses_a_mean_not_derived():
    with pytest.raises(ValueError, match="not expanded"):
        derived_mean(compile_random(_two_speakers([HALF, HALF]), derive_mean=False), AGENTS)


def test_numeric_and_moments_are_frozen():
    import dataclasses

    nu = numeric(compile_random(_two_speakers([HALF, HALF]), derive_mean=False), AGENTS)
    m = moments(nu)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(nu, "d", 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(m, "converges", False)


def test_stein_residual_of_no_equation_is_zero():
    """The largest residual over no equation is 0 (nothing printed, nothing violated)."""
    import dataclasses

    rc = compile_random(markov(["A", "B"], [[{"A": {"B": 1}}], [{"B": {"A": 1}}]], [[HALF, HALF], [HALF, HALF]]),
                        derive_mean=False)
    assert stein_residual(rc, AGENTS) <= FLOAT_TOL
    assert stein_residual(dataclasses.replace(rc, second_moment={}), AGENTS) == 0.0


def test_stein_residual_normalised_by_one_when_q_is_small():
    """shipped_rev's noisy chain (R1's VS) has max |Q| = 1.69; here its targets scaled down, so max |Q| < 1 and
    the doubled equation's residual is max |Q_l,ab| itself (divided by max(1, max |Q|) = 1), against Q
    iterated from numerics' maps, as in the VS."""
    import copy

    from proofs_check.check import random_claims as RC
    from proofs_check.check.run import build_instance
    from proofs_check.verification import shipped_rev as R
    from proofs_check.verification.shipped import Ledger

    label, raw, regime = R.CASES[0]
    assert regime == "both"
    small = copy.deepcopy(raw)
    for a in small["agents"]:
        a["target"] = [0.2 * x for x in a["target"]]
    _, _, m = RC._derived(build_instance("R1", small, []))
    assert m.cond_second is not None and float(np.abs(m.cond_second).max()) < 1
    ledger = Ledger()
    R._check_case(ledger, label + ", small targets", small, regime)
    error, bar = ledger.fields["stein_residual of a doubled equation"]
    assert error <= bar, ledger.outcome("small targets").detail
    assert ledger.outcome("small targets").worst_error <= 1
