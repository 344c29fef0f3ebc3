"""Property-based tests (V6) at the pytest level: profiles ``ci`` and ``thorough`` (HYPOTHESIS_PROFILE)."""
import numpy as np
from hypothesis import given, strategies as st

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_geometry
from numerics.dynamics import closed_forms
from numerics.protocol import config, simulate
from proofs_check.claims.c3_biased_equilibrium import plateau_error
from proofs_check.claims.c4_monotone import scaling_error
from proofs_check.verification.strategies import pair_examples

# Hypothesis examples reach rho 0.95 and cond(H) 1e8; see proofs_check/claims/c3 (PROPERTY_TOL).
PROPERTY_TOL = 1e-8


@given(pair_examples())
def test_plateau_matches_bias_maps(ex):
    assert plateau_error(ex) <= PROPERTY_TOL


@given(pair_examples())
def test_plateau_is_linear_in_gap(ex):
    assert scaling_error(ex) <= PROPERTY_TOL


@given(pair_examples())
def test_coupling_identities_hold_numerically(ex):
    M = np.eye(ex.H.shape[-1]) - ex.Gamma @ ex.H
    G_A, G_B = closed_forms.bias_maps(M[0], M[1])
    e_A, e_B = G_A @ ex.Delta, -G_B @ ex.Delta
    scale = 1 + np.linalg.norm(ex.Delta) * (1 + np.linalg.norm(G_A) + np.linalg.norm(G_B))
    assert np.linalg.norm(e_A - M[0] @ (e_B + ex.Delta)) <= PROPERTY_TOL * scale
    assert np.linalg.norm(e_B - M[1] @ (e_A - ex.Delta)) <= PROPERTY_TOL * scale


@given(st.integers(2, 5), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_k_agents_simulation_reaches_closed_form(K, d, seed):
    rng = np.random.default_rng(seed)
    agents = []
    for k in range(K):
        Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
        H = (Q * rng.uniform(0.2, 1.0, d)) @ Q.T
        agents.append(GDAgent(chr(65 + k), from_geometry(H, rng.standard_normal(d)), rng.uniform(0.5, 1.5) * np.eye(d)))
    system = config.System(tuple(agents), np.zeros(d))
    M, c = system.stacked()
    u = closed_forms.fixed_points(M, c)
    sim = simulate.run(agents, system.initial_message, 400)[-1]  # rho <= 0.8^K
    assert np.allclose(sim, u, rtol=1e-9, atol=1e-9)
