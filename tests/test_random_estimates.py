"""Monte Carlo estimates of a random protocol's rates, plateau and spread with their bars
(numerics.protocol.random_estimates, issue 26).

The estimates are compared with values they never see: rates computed by hand, or by the package's
derived moments (numerics.protocol.random_moments) and the reference of the numerics tests (round maps
read off ``run_random``, dense Kronecker operators). Every agreement check is paired with a planted wrong
derived value (the mean-square rate without its square root, an alternative's probability dropped, an
agent's residual or spread dropped) that must fall outside the bar.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.protocol import config, evaluate, random_estimates as E, random_moments, random_simulate
from proofs_check.claims.r_random import _raw
from tests.test_random_protocol_numerics import (
    MARKOV,
    _one_round,
    _three,
    random_instance,
    simulated_maps,
)
from theory.protocol import random_gallery as RG

ROOT = Path(__file__).resolve().parent.parent
# round_maps and the agents' own respond: the same float64 GD steps in another order.
MAP_TOL = 1e-12
# Drawn rounds for the rate checks: standard errors ~ 5e-3, well inside a second per protocol.
N_DRAWS = 20_000


def gd(system):
    G = np.stack([a.Gamma for a in system.agents])
    H = np.stack([a.geometry.H for a in system.agents])
    b = np.stack([a.geometry.H @ a.w_star for a in system.agents])
    return G, H, b, [a.steps for a in system.agents]


def derived(system):
    """The package's derived moments (the formulas the estimates never call)."""
    M, c = evaluate.stacked_finite(system)
    return random_moments.moments(M, c, system.random)


def radius(A) -> float:
    return float(np.abs(np.linalg.eigvals(A)).max())


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("markov", [False, True])
def test_round_maps_are_the_agents_rounds(seed, markov):
    """Matrix preconditioners, 1-2 GD steps, empty alternatives: Phi_k x + psi_k is what one round of the
    agents' own respond makes of a random joint state x."""
    system, rp, _ = random_instance(seed, markov, False)
    Phi, psi = random_simulate.round_maps(*gd(system), rp)
    rng = np.random.default_rng(seed)
    for k in range(rp.n_alt):
        x = rng.standard_normal((rp.K, system.d))
        assert np.max(np.abs(Phi[k] @ x.ravel() + psi[k] - _one_round(system, rp, k, x))) <= MAP_TOL


# Phi_0 = diag(1.9, 0.5), Phi_1 = diag(0, 0.5), each w.p. 1/2 (by hand: A hears itself x 3.8 through
# M_A = 1/2, or nothing): mean rate 0.95, mean-square rate sqrt(1.9^2 / 2).
HAND = {"schema_version": 1, "agents": [
    {"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
    {"name": "B", "geometry": [[1.0]], "target": [2.0], "preconditioner": 0.5}],
    "protocol": {"random": [
        {"probability": 0.5, "rounds": [{"A": {"A": 3.8}, "B": {"B": 1.0}}]},
        {"probability": 0.5, "rounds": [{"A": {"B": 0.0}, "B": {"B": 1.0}}]}]}}


def test_rates_computed_by_hand():
    system = config.parse(HAND)
    est = E.estimate_rates(*gd(system), system.random, N_DRAWS, seed=1)
    assert E.within_bar(0.95, est.mean_rate, est.mean_rate_se, est.mean_rate_bias)
    assert E.within_bar(np.sqrt(1.9 ** 2 / 2), est.contraction_rate, est.contraction_rate_se, est.contraction_rate_bias)
    # mean rate 1.9 phat: its standard error is 1.9 sqrt(p (1 - p) / N) (binomial), the bootstrap's to 20 %
    assert abs(est.mean_rate_se / (1.9 * np.sqrt(0.25 / N_DRAWS)) - 1) <= 0.2
    # planted: the mean-square rate without its square root; the mean operator without alternative 1
    assert not E.within_bar(1.9 ** 2 / 2, est.contraction_rate, est.contraction_rate_se, est.contraction_rate_bias)
    assert not E.within_bar(radius(0.5 * np.diag([0.0, 0.5])), est.mean_rate, est.mean_rate_se, est.mean_rate_bias)


def _check_rates(system, est):
    """The estimate agrees with the derived rates; planted wrong rates fail (the reference maps of the
    numerics tests, read off run_random, build the planted operators)."""
    d = derived(system)
    assert E.within_bar(d.mean_rate, est.mean_rate, est.mean_rate_se, est.mean_rate_bias)
    assert E.within_bar(d.contraction_rate, est.contraction_rate, est.contraction_rate_se, est.contraction_rate_bias)
    assert not E.within_bar(d.contraction_rate ** 2, est.contraction_rate, est.contraction_rate_se,
                            est.contraction_rate_bias)
    rp = system.random
    Phi, _, _ = simulated_maps(system, rp)
    dropped = []  # the mean operator with one transition probability (one alternative's) dropped
    for j in range(rp.n_alt):
        P = rp.P.copy()
        P[:, j] = 0.0
        dropped.append(radius(np.block([[P[jj, l] * Phi[jj] for jj in range(rp.n_alt)] for l in range(rp.n_alt)])))
    assert all(not E.within_bar(r, est.mean_rate, est.mean_rate_se, est.mean_rate_bias) for r in dropped), dropped


def test_independent_rates_against_the_derived_ones():
    raw = {"random": [{"probability": p, "rounds": [{n: {m: 0.5 for m in "ABC" if m != n}}]}
                      for p, n in zip((0.5, 0.3, 0.2), "ABC")]}
    system = config.parse(_three(raw))
    _check_rates(system, E.estimate_rates(*gd(system), system.random, N_DRAWS, seed=2))


def test_markov_rates_against_the_derived_ones():
    system = config.parse(_three(MARKOV))
    _check_rates(system, E.estimate_rates(*gd(system), system.random, N_DRAWS, seed=3))


def test_group_chat_rates_with_tied_eigenvalues():
    """The gallery's group chat: the mean-square rate is attained by several eigenvalues (one per 2-cycle
    of the chain, modulus 1/2), where a plug-in estimate is biased upward; the bar still holds."""
    system = config.parse(_three(_raw(RG.group_chat())))  # the gallery entry's instance
    est = E.estimate_rates(*gd(system), system.random, N_DRAWS, seed=4, n_boot=50)
    assert abs(derived(system).contraction_rate - np.sqrt(0.5)) <= 1e-12  # the tie, as described
    _check_rates(system, est)


def test_rate_bars_are_calibrated():
    """Over 100 independent estimates at N = 2000 (three alternatives, independent draws): the spread of
    the estimates matches the stated standard error (ratio within [0.75, 1.3]: the sample standard
    deviation of 100 draws is known to ~7 %), and every derived rate lies within its bar."""
    raw = {"random": [{"probability": p, "rounds": [{n: {m: 0.5 for m in "ABC" if m != n}}]}
                      for p, n in zip((0.5, 0.3, 0.2), "ABC")]}
    system = config.parse(_three(raw))
    d = derived(system)
    Phi, _ = random_simulate.round_maps(*gd(system), system.random)
    out = []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        est = E.rates_from_maps(Phi, E.transition_counts(system.random, 2000, rng), rng, n_boot=100)
        out.append((est.mean_rate, est.mean_rate_se, est.contraction_rate, est.contraction_rate_se,
                    E.within_bar(d.mean_rate, est.mean_rate, est.mean_rate_se, est.mean_rate_bias)
                    and E.within_bar(d.contraction_rate, est.contraction_rate, est.contraction_rate_se,
                                     est.contraction_rate_bias)))
    a = np.array(out, dtype=float)
    for col in (0, 2):
        assert 0.75 <= np.std(a[:, col], ddof=1) / np.mean(a[:, col + 1]) <= 1.3
    assert a[:, 4].all()


def test_symmetric_reduction_keeps_the_spectral_radius():
    """The second moment on symmetric matrices only: the same rate as the full Kronecker operator (built
    here with np.kron), for independent draws and for a chain, on random maps of any sign."""
    rng = np.random.default_rng(5)
    Phi = rng.standard_normal((3, 3, 3)) * 0.6
    counts = rng.integers(1, 50, size=3)
    p = counts / counts.sum()
    est = E.rates_from_maps(Phi, counts, rng, n_boot=2)
    assert abs(est.contraction_rate - radius(sum(p[k] * np.kron(Phi[k], Phi[k]) for k in range(3))) ** 0.5) <= 1e-12
    assert abs(est.mean_rate - radius(sum(p[k] * Phi[k] for k in range(3)))) <= 1e-12
    C = rng.integers(1, 50, size=(3, 3))
    P = C / C.sum(axis=1, keepdims=True)
    est = E.rates_from_maps(Phi, C, rng, n_boot=2)
    full = np.block([[P[j, l] * np.kron(Phi[j], Phi[j]) for j in range(3)] for l in range(3)])
    assert abs(est.contraction_rate - radius(full) ** 0.5) <= 1e-12


def test_transition_counts_follow_the_law():
    """Independent draws: 1-D counts summing to N; a chain: every row j drawn ~N/n times, next from P[j]
    (within 5 binomial standard errors)."""
    system = config.parse(_three(MARKOV))
    rp = system.random
    C = E.transition_counts(rp, 30_000, np.random.default_rng(0))
    rows = C.sum(axis=1)
    assert C.sum() == 30_000 and np.all(np.abs(rows - 10_000) <= 5 * np.sqrt(30_000 * (1 / 3) * (2 / 3)))
    assert np.all(np.abs(C / rows[:, None] - rp.P) <= 5 * np.sqrt(rp.P * (1 - rp.P) / rows[:, None]) + 1e-12)
    indep = dataclasses.replace(rp, markov=False, P=np.tile([0.2, 0.3, 0.5], (3, 1)))
    c = E.transition_counts(indep, 30_000, np.random.default_rng(0))
    assert c.shape == (3,) and c.sum() == 30_000


GOSSIP = {"random": [
    {"probability": 0.5, "rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}]},
    {"probability": 0.3, "rounds": [{"B": {"C": 1.0}, "C": {"B": 1.0}}]},
    {"probability": 0.2, "rounds": [{"C": {"A": 1.0}, "A": {"C": 1.0}}]}]}


def test_stationary_estimates_against_the_derived_moments():
    """Gossip pairs (spread created by the schedule): 4000 runs of 120 rounds (mean-square rate < 0.78,
    transient < 0.78^120 < 1e-12); plateau and spread, joint and per agent, within their bars; planted: agent C's
    residual dropped from the plateau, its block dropped from the spread, fail."""
    system = config.parse(_three(GOSSIP))
    d = derived(system)
    assert d.contraction_rate < 0.78
    G, H, b, steps = gd(system)
    z = random_simulate.monte_carlo(G, H, b, steps, system.random, 120, 4000, seed=6)
    w = np.stack([a.w_star for a in system.agents])
    st = E.stationary_estimates(z, w)
    gap = d.mean - w
    C = d.joint_covariance
    assert E.within_bar(np.linalg.norm(gap), st.plateau, st.plateau_se)
    assert E.within_bar(np.trace(C), st.spread, st.spread_se)
    for i in range(3):
        assert E.within_bar(np.linalg.norm(gap[i]), st.plateau_i[i], st.plateau_i_se[i])
        assert E.within_bar(np.trace(C[2 * i:2 * i + 2, 2 * i:2 * i + 2]) ** 0.5, st.spread_i[i], st.spread_i_se[i])
    assert not E.within_bar(np.linalg.norm(gap[:2]), st.plateau, st.plateau_se)
    assert not E.within_bar(np.trace(C[:4, :4]), st.spread, st.spread_se)
    assert not E.within_bar(np.trace(C) + np.linalg.norm(gap) ** 2, st.spread, st.spread_se)  # uncentred


def test_gallery_table_agrees_within_its_bars():
    """docs/protocols/random_gallery.json (make_random_gallery.py computed both columns independently):
    every derived value within the bar recomputed here from the stored standard error and bias; the
    mean-square rate without its square root is outside every bar."""
    doc = json.loads((ROOT / "docs" / "protocols" / "random_gallery.json").read_text())
    assert doc["schema_version"] == 2 and doc["z_bar"] == E.Z_BAR and doc["roundoff"] == E.ROUNDOFF
    assert set(doc["protocols"]) == {e.key for e in RG.entries()}
    for key, r in doc["protocols"].items():
        for col in ("contraction_rate", "mean_rate", "plateau", "spread"):
            assert E.within_bar(r[col], r[col + "_mc"], r[col + "_se"], r[col + "_bias"]), (key, col)
            assert r[col + "_se"] >= 0 and abs(r[col + "_bar"] - E.bar(r[col + "_se"], r[col + "_bias"])) <= 1e-15
        assert not E.within_bar(r["contraction_rate"] ** 2, r["contraction_rate_mc"], r["contraction_rate_se"],
                                r["contraction_rate_bias"]), key


def test_bad_input_names_the_quantity():
    system = config.parse(_three(MARKOV))
    rp, rng = system.random, np.random.default_rng(0)
    for bad in (1, True, 2.5, "10"):
        with pytest.raises(InputError, match="n_draws"):
            E.transition_counts(rp, bad, rng)
    Phi = np.zeros((3, 6, 6))
    with pytest.raises(InputError, match="n_boot"):
        E.rates_from_maps(Phi, np.ones((3, 3), dtype=int), rng, n_boot=1)
    with pytest.raises(InputError, match="transition counts"):
        E.rates_from_maps(Phi, np.array([[1, 1, 0], [0, 0, 0], [1, 0, 1]]), rng)
    with pytest.raises(InputError, match="second-moment operator size = 272: "):
        E.rates_from_maps(np.zeros((2, 16, 16)), np.ones((2, 2), dtype=int), rng)
    with pytest.raises(InputError, match="round maps Phi"):
        E.rates_from_maps(np.full((3, 6, 6), np.nan), np.ones((3, 3), dtype=int), rng)
    with pytest.raises(InputError, match="transition counts"):
        E.rates_from_maps(Phi, np.ones(4, dtype=int), rng)
    assert not E.within_bar(float("nan"), 0.5, 0.1) and not E.within_bar(0.5, 0.5, float("nan"))
    with pytest.raises(InputError, match="Monte Carlo samples"):
        E.stationary_estimates(np.zeros((10, 3, 2)), np.zeros((2, 2)))
    with pytest.raises(InputError, match="Monte Carlo samples"):
        E.stationary_estimates(np.zeros((1, 2, 2)), np.zeros((2, 2)))


def test_r1_v4_rate_comparison_has_power():
    """R1's V4 rate check on its overshooting agent (M_A = -13/10, waking w.p. 1/2): derived mean rate
    |1 - q + q M_A| = 3/20 and mean-square rate (1 - q + q M_A^2)^(1/2) within MC_Z_BAR; planted: the
    mean-square rate without its square root, and the mean operator without the 'asleep' alternative
    (|q M_A| = 0.65), far outside."""
    from proofs_check.claims import r_random as R
    rs, ag = R.overshoot(R.OVERSHOOT_Q), {"A": R._scalar_agent(R.OVERSHOOT_M)}
    zm, zs, _ = R.mc_rate_zscores(rs, ag, 7, 0.15, (269 / 200) ** 0.5)
    assert max(zm, zs) <= R.MC_Z_BAR
    assert R.mc_rate_zscores(rs, ag, 7, 0.15, 269 / 200)[1] > 10 * R.MC_Z_BAR
    assert R.mc_rate_zscores(rs, ag, 7, 0.65, (269 / 200) ** 0.5)[0] > 10 * R.MC_Z_BAR
