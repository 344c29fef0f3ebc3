"""The formulas of numerics.protocol.random_estimates as its module text states them, on inputs small enough to
compute each one here with NumPy's own estimators (the survivors of its first mutation session, tenth round):

- plateau ``||mean - w_star||`` with standard error ``sd(g . z) / sqrt(n)`` (``g`` the unit vector along the
  gap), and ``sqrt(sum_j var_j / n)`` where the gap is exactly 0; spread ``tr C`` (the sample covariance,
  ``np.cov``) with standard error ``sd(||z - mean||^2) / sqrt(n)``; per agent ``(tr C_i)^(1/2)`` with the
  delta-method error ``se(tr C_i) / (2 (tr C_i)^(1/2))``, and ``se^(1/2)`` where ``tr C_i = 0``;
- rates with bootstrap bars: ``se`` the standard deviation (ddof 1) of the replicates' rates, ``bias`` their mean
  minus the estimate, the replicate frequency tables supplied here through a stand-in generator;
- the shapes the estimators accept (two samples, two draws) and refuse (round maps that are not (n_alt, n, n),
  negative counts, samples that are not (n, K, d));
- the rest of the survivors (second round): the bars as properties, the agreement test at its edge, the cost bounds
  at their stated values (``MAX_OPERATOR`` 256 for either law, ``N_BOOT`` 200), the records frozen, and the draws of
  :func:`transition_counts` those of ``draw_schedule`` (two rounds, first round from the law ``1 / n``).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.protocol import config, random_estimates as E
from numerics.protocol.random_simulate import draw_schedule

# Each expected value is the same few float64 sums in another order.
TOL = 1e-12


def _stationary_reference(z: np.ndarray, w: np.ndarray) -> tuple[float, float, float, float]:
    """Plateau, its error, spread, its error of samples ``z`` (n, m) against ``w`` (m,)."""
    n = len(z)
    gap = z.mean(axis=0) - w
    norm = np.linalg.norm(gap)
    se = np.std(z @ (gap / norm), ddof=1) / np.sqrt(n) if norm > 0 else np.sqrt(np.sum(np.var(z, axis=0, ddof=1)) / n)
    sq = np.sum((z - z.mean(axis=0)) ** 2, axis=1)
    spread = np.trace(np.atleast_2d(np.cov(z.T))) if n > 1 else 0.0
    return float(norm), float(se), float(spread), float(np.std(sq, ddof=1) / np.sqrt(n))


def test_stationary_estimates_are_the_stated_formulas():
    # agent 1's messages scaled by 0.1, so tr C_1 < 1 (its root is not the root of a number above 1)
    z = np.random.default_rng(7).standard_normal((6, 2, 2)) * np.array([1.0, 0.1])[None, :, None]
    w = np.array([[0.3, -0.1], [0.2, 0.5]])
    est = E.stationary_estimates(z, w)
    p, p_se, s, s_se = _stationary_reference(z.reshape(6, 4), w.ravel())
    assert est.n == 6
    assert [est.plateau, est.plateau_se, est.spread, est.spread_se] == pytest.approx([p, p_se, s, s_se], abs=TOL)
    for i in range(2):
        p_i, p_i_se, tr, tr_se = _stationary_reference(z[:, i], w[i])
        assert [est.plateau_i[i], est.plateau_i_se[i]] == pytest.approx([p_i, p_i_se], abs=TOL)
        assert [est.spread_i[i], est.spread_i_se[i]] == pytest.approx([np.sqrt(tr), tr_se / (2 * np.sqrt(tr))],
                                                                      abs=TOL)
    assert est.spread_i[1] < 1


def test_a_gap_of_exactly_zero_or_one_and_an_agent_that_never_moves():
    # integer messages with exact means: agent 0's mean is (2, 3), agent 1 always says (1, 1)
    z = np.array([[[1.0, 2.0], [1.0, 1.0]], [[3.0, 4.0], [1.0, 1.0]], [[2.0, 3.0], [1.0, 1.0]],
                  [[2.0, 3.0], [1.0, 1.0]]])
    for gap in (0.0, 1.0):  # w_0 = mean - (gap, 0): the gap's norm is exactly 0, then exactly 1
        w = np.array([[2.0 - gap, 3.0], [1.0, 1.0]])
        est = E.stationary_estimates(z, w)
        p, p_se, _, _ = _stationary_reference(z[:, 0], w[0])
        assert p == gap and est.plateau_i[0] == gap and est.plateau_i_se[0] == pytest.approx(p_se, abs=TOL)
        assert est.plateau_i[1] == 0.0 and est.plateau_i_se[1] == 0.0
        assert est.spread_i[1] == 0.0 and est.spread_i_se[1] == 0.0  # tr C_1 = 0: sqrt(se) = 0, no 0/0
    two = E.stationary_estimates(z[:2], np.zeros((2, 2)))  # two samples are enough for a standard error
    assert two.n == 2 and np.isfinite(two.spread_se)


class _Replicates:
    """A stand-in generator whose multinomial draws are the given replicate tables."""

    def __init__(self, tables):
        self.tables = np.asarray(tables)

    def multinomial(self, n, pvals, size):
        assert tuple(size) == self.tables.shape[:-1]
        return self.tables


def test_rate_bars_are_the_replicates_spread_and_mean_shift():
    # two scalar alternatives Phi = 0.2 and 0.8, drawn 3 and 1 times: frequencies (3/4, 1/4), mean rate
    # 0.35 and mean-square rate sqrt(3/4 0.04 + 1/4 0.64); replicate tables (4, 0), (2, 2), (1, 3)
    Phi = np.array([[[0.2]], [[0.8]]])
    est = E.rates_from_maps(Phi, np.array([3, 1]), _Replicates([[4, 0], [2, 2], [1, 3]]), n_boot=3)
    p = np.array([1.0, 0.5, 0.25])
    mean_reps, ms_reps = 0.2 * p + 0.8 * (1 - p), np.sqrt(0.04 * p + 0.64 * (1 - p))
    mean, ms = 0.35, np.sqrt(0.75 * 0.04 + 0.25 * 0.64)
    assert [est.mean_rate, est.contraction_rate] == pytest.approx([mean, ms], abs=TOL)
    assert [est.mean_rate_se, est.mean_rate_bias] == pytest.approx(
        [np.std(mean_reps, ddof=1), np.mean(mean_reps) - mean], abs=TOL)
    assert [est.contraction_rate_se, est.contraction_rate_bias] == pytest.approx(
        [np.std(ms_reps, ddof=1), np.mean(ms_reps) - ms], abs=TOL)
    assert est.n_draws == 4 and est.frequencies.tolist() == [0.75, 0.25]
    # the bars are properties (floats, not methods): Z_BAR se + |bias| + ROUNDOFF
    assert est.mean_rate_bar == pytest.approx(
        E.Z_BAR * np.std(mean_reps, ddof=1) + abs(np.mean(mean_reps) - mean) + E.ROUNDOFF, abs=TOL)
    assert est.contraction_rate_bar == pytest.approx(
        E.Z_BAR * np.std(ms_reps, ddof=1) + abs(np.mean(ms_reps) - ms) + E.ROUNDOFF, abs=TOL)


def test_shapes_accepted_and_refused():
    rng = np.random.default_rng(0)
    counts = np.array([2, 2])
    # more columns than rows, more rows than columns, one index short, one too many
    for Phi in (np.zeros((2, 2, 3)), np.zeros((2, 3, 2)), np.zeros((2, 2)), np.zeros((2, 2, 2, 2))):
        with pytest.raises(InputError, match="round maps Phi"):
            E.rates_from_maps(Phi, counts, rng)
    with pytest.raises(InputError, match="transition counts"):
        E.rates_from_maps(np.zeros((2, 2, 2)), np.array([3, -1]), rng)
    est = E.rates_from_maps(np.zeros((2, 2, 2)), counts, rng, n_boot=2)
    assert est.n_draws == 4


def test_two_drawn_rounds_are_enough():
    system = config.parse({"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
                                      {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}],
                           "protocol": {"random": [{"probability": 0.5, "rounds": [{"A": {"B": 1.0}}]},
                                                   {"probability": 0.5, "rounds": [{"B": {"A": 1.0}}]}]}})
    counts = E.transition_counts(system.random, 2, np.random.default_rng(0))
    assert counts.sum() == 2


def test_the_bar_and_the_refusals_at_their_edges():
    # the stationary quantities have no bias: bar = Z_BAR se + ROUNDOFF
    assert E.bar(0.1) == pytest.approx(E.Z_BAR * 0.1 + E.ROUNDOFF, abs=1e-15)
    rng = np.random.default_rng(0)
    for bad in (2.5, "10", True):
        with pytest.raises(InputError, match="n_boot"):
            E.rates_from_maps(np.zeros((2, 1, 1)), np.array([1, 1]), rng, n_boot=bad)
    for K in (1, 3):  # samples of 2 agents against targets of K agents, either way round
        with pytest.raises(InputError, match="Monte Carlo samples"):
            E.stationary_estimates(np.zeros((10, 2, 2)), np.zeros((K, 2)))
    # the largest second-moment operator, MAX_OPERATOR = 256 (the module text): a chain of 256 one-dimensional
    # alternatives is accepted and one more refused
    size = 256
    est = E.rates_from_maps(np.zeros((size, 1, 1)), np.ones((size, size), dtype=int), rng, n_boot=2)
    assert est.n_draws == size * size
    with pytest.raises(InputError, match=f"second-moment operator size = {size + 1}: "):
        E.rates_from_maps(np.zeros((size + 1, 1, 1)), np.ones((size + 1, size + 1), dtype=int), rng, n_boot=2)
    # for independent draws the operator has n (n + 1) / 2 unknowns, whatever the number of alternatives:
    # n = 22 gives 253 <= 256, accepted; n = 23 gives 276, refused
    est = E.rates_from_maps(np.zeros((1, 22, 22)), np.array([2]), rng, n_boot=2)
    assert est.n_draws == 2
    with pytest.raises(InputError, match="second-moment operator size = 276: "):
        E.rates_from_maps(np.zeros((1, 23, 23)), np.array([2]), rng, n_boot=2)
    # a square map too large is refused for its size (257 * 258 / 2 unknowns), not for its shape
    with pytest.raises(InputError, match="second-moment operator size = 33153: "):
        E.rates_from_maps(np.zeros((1, 257, 257)), np.array([2]), rng, n_boot=2)
    # samples with one index short or one too many, whose trailing shape matches the targets'
    for z, w in ((np.zeros((4, 2)), np.zeros(2)), (np.zeros((4, 2, 2, 1)), np.zeros((2, 2, 1)))):
        with pytest.raises(InputError, match="Monte Carlo samples"):
            E.stationary_estimates(z, w)


def test_within_bar_at_its_edge():
    # se = bias = 0: the bar is ROUNDOFF itself, and a difference of exactly ROUNDOFF is within it (<=)
    assert E.within_bar(E.ROUNDOFF, 0.0, 0.0)
    assert not E.within_bar(np.nextafter(E.ROUNDOFF, 1.0), 0.0, 0.0)
    assert not E.within_bar(float("nan"), 0.0, 1.0)


class _Recorder:
    """A stand-in generator that records the size of the replicates asked for (drawn with a real one)."""

    def __init__(self):
        self.rng, self.size = np.random.default_rng(0), None

    def multinomial(self, n, pvals, size):
        self.size = tuple(size)
        return self.rng.multinomial(n, pvals, size=size)


def test_the_default_number_of_replicates_is_200():
    rec = _Recorder()
    E.rates_from_maps(np.array([[[0.2]], [[0.8]]]), np.array([3, 1]), rec)
    assert rec.size == (200,)


def test_the_estimates_are_frozen_records():
    rates = E.rates_from_maps(np.array([[[0.2]], [[0.8]]]), np.array([3, 1]), np.random.default_rng(0), n_boot=2)
    stationary = E.stationary_estimates(np.zeros((2, 1, 1)), np.zeros((1, 1)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        rates.mean_rate = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        stationary.plateau = 0.0


# A chain of five alternatives, every row uniform: five makes the cumulative sums of 1/5 round differently from
# k/5 (3 x 1/5 summed is 0.6000000000000001), so a first-round uniform of exactly 0.6 tells the law 1/5 as
# written from another constant (the same law on paper).
_CHAIN = config.parse({
    "agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
               {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}],
    "protocol": {"random": [{"name": f"a{k}", "rounds": [{"A": {"B": 1.0}}] if k % 2 else [{"B": {"A": 1.0}}],
                             "next": {f"a{l}": 0.2 for l in range(5)}} for k in range(5)]}}).random


def _counts(s: np.ndarray) -> np.ndarray:
    """The (5, 5) transition counts of two-round schedules ``s`` (runs, 2), one run at a time."""
    out = np.zeros((5, 5), dtype=int)
    for j, l in s.tolist():
        out[j, l] += 1
    return out


def test_transition_counts_are_two_drawn_rounds_then_the_generator_goes_on():
    uniform = dataclasses.replace(_CHAIN, initial_law=np.full(5, 1 / 5))
    rng, ref = np.random.default_rng(11), np.random.default_rng(11)
    counts = E.transition_counts(_CHAIN, 40, rng)
    assert counts.tolist() == _counts(draw_schedule(uniform, 2, ref, runs=40)).tolist()
    assert rng.random() == ref.random()  # the replicates are drawn from where the two rounds left the generator


class _Uniforms:
    """A stand-in generator whose uniforms are the given ones (in the shape asked for)."""

    def __init__(self, u):
        self.u = np.asarray(u, dtype=float)

    def random(self, shape):
        assert int(np.prod(shape)) == self.u.size
        return self.u.reshape(shape)


def test_the_first_round_is_drawn_from_the_law_one_over_n_as_written():
    # first-round uniforms on and next to every boundary of the inverse CDF, k/5 and the cumulative sums of 1/5
    cum = np.cumsum(np.full(5, 1 / 5))
    edges = np.concatenate([np.arange(1, 5) / 5, cum[:-1]])
    first = np.unique(np.concatenate([edges, np.nextafter(edges, 0.0), np.nextafter(edges, 1.0)]))
    u = np.stack([first, np.full(first.size, 0.5)], axis=1)
    counts = E.transition_counts(_CHAIN, first.size, _Uniforms(u))
    uniform = dataclasses.replace(_CHAIN, initial_law=np.full(5, 1 / 5))
    assert counts.tolist() == _counts(draw_schedule(uniform, 2, _Uniforms(u), runs=first.size)).tolist()
    assert 0.6 in first and cum[2] != 0.6  # the uniform that tells the two roundings apart is among them
