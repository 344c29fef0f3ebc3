"""numerics/fit/fitting.py (C18) against independent recomputations: the normal equations, the textbook
t-interval (scipy.stats), numpy.percentile, the moving-block bootstrap's definition, and the pairs
bootstrap's definition; boundaries of every input check and the content of every message.

Each expected value is recomputed here from its definition, never taken from the code under test.
"""
import dataclasses
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from numerics.dynamics import noisy
from numerics.fit import fitting
from numerics.io import transcripts
from numerics.io.errors import InputError
from numerics.io.transcripts import Record, Transcript
from numerics.protocol import simulate
from proofs_check.verification.instances import random_gd_agent

# lstsq vs the normal equations on designs of condition < 1e2: both within ~1e-13 of the truth.
REF_TOL = 1e-9


def _data(seed: int, n: int, d: int):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n, d))
    M = 0.5 * rng.standard_normal((d, d)) / np.sqrt(d)
    return W, W @ M.T + rng.standard_normal(d) + 0.1 * rng.standard_normal((n, d))


def _normal_equations(W, Y):
    Z = np.column_stack([W, np.ones(len(W))])
    theta = np.linalg.solve(Z.T @ Z, Z.T @ Y)  # (d + 1, d)
    return Z, theta, Y - Z @ theta


class RecordingRng:
    """A Generator stand-in that records every ``integers`` call and can return scripted draws first."""

    def __init__(self, seed: int, script=()):
        self.rng, self.calls, self.drawn, self.script = np.random.default_rng(seed), [], [], list(script)

    def integers(self, low, high=None, size=None):
        self.calls.append((low, high, size))
        self.drawn.append(np.asarray(self.script.pop(0)) if self.script else self.rng.integers(low, high, size=size))
        return self.drawn[-1]


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kw)


# --- fit_map ----------------------------------------------------------------------------------

def test_fit_map_matches_the_normal_equations_and_textbook_statistics():
    n, d = 12, 3
    W, Y = _data(0, n, d)
    fit = _quiet(fitting.fit_map, W, Y, "A")
    Z, theta, R = _normal_equations(W, Y)
    assert np.allclose(fit.M_hat, theta[:-1].T, atol=REF_TOL) and np.allclose(fit.c_hat, theta[-1], atol=REF_TOL)
    assert np.allclose(fit.residual_cov, R.T @ R / (n - d - 1), atol=REF_TOL)
    assert math.isclose(fit.r2, 1 - np.sum(R ** 2) / np.sum((Y - Y.mean(axis=0)) ** 2), rel_tol=REF_TOL)
    sv = np.linalg.svd(Z, compute_uv=False)
    assert math.isclose(fit.condition, sv.max() / sv.min(), rel_tol=REF_TOL)
    assert fit.n == n and fit.warnings == ()
    assert np.allclose(fit.K_hat, np.eye(d) - theta[:-1].T, atol=REF_TOL)
    assert np.allclose(fit.target, np.linalg.solve(np.eye(d) - theta[:-1].T, theta[-1]), atol=REF_TOL)


def test_fit_map_degrees_of_freedom_boundaries():
    d = 3
    W, Y = _data(1, d + 1, d)  # exactly identified: no residual degrees of freedom
    fit = fitting.fit_map(W, Y, "A", warn=False)
    assert np.array_equal(fit.residual_cov, np.zeros((d, d)))
    W, Y = _data(2, d + 2, d)  # one residual degree of freedom
    fit = fitting.fit_map(W, Y, "A", warn=False)
    assert np.allclose(fit.residual_cov, (lambda R: R.T @ R / 1)(_normal_equations(W, Y)[2]), atol=REF_TOL)
    W, Y = _data(3, 2 * d + 2, d)  # dof = d + 1: enough for the covariance, no note
    assert fitting.fit_map(W, Y, "A", warn=False).warnings == ()
    W, Y = _data(4, 2 * d + 1, d)  # dof = d: one message short
    assert fitting.fit_map(W, Y, "A", warn=False).warnings == (
        "A: only 3 residual degrees of freedom; the noise covariance needs about 1 more messages to be estimated",)


def test_fit_map_r2_is_nan_for_constant_outputs():
    W, _ = _data(5, 10, 2)
    assert math.isnan(fitting.fit_map(W, np.ones((10, 2)), "A", warn=False).r2)


def test_fit_map_refusal_messages_count_what_is_missing():
    W, Y = _data(6, 3, 3)  # d = 3 needs 4 messages: n = d is refused, n = d + 1 accepted
    with pytest.raises(InputError) as err:
        fitting.fit_map(W, Y, "A")
    assert str(err.value) == ("A messages = 3: cannot identify a 3-dimensional affine map: it needs d + 1 = 4 "
                              "affinely independent incoming messages; record at least 1 more")
    fitting.fit_map(*_data(6, 4, 3), "A", warn=False)
    with pytest.raises(InputError) as err:
        fitting.fit_map(np.tile([1.0, 2.0, 3.0], (10, 1)), np.zeros((10, 3)), "A")  # one point: affine rank 0
    assert str(err.value) == ("A incoming messages = 'affine rank 0': span only a 0-dimensional affine subspace of "
                              "R^3: the map is not identified in 3 direction(s); at least 3 more messages off that "
                              "subspace are needed (e.g. a longer transient, or noise)")


def test_fit_map_rank_is_relative_to_the_largest_singular_value():
    rng = np.random.default_rng(7)
    d, n = 3, 20
    plane = rng.standard_normal((n, 2)) @ rng.standard_normal((2, d))  # affine rank d - 1 ...
    W = 1e3 * plane + 1e-8 * rng.standard_normal((n, d))  # ... up to 1e-11 relative: numerically rank-deficient
    with pytest.raises(InputError, match="affine rank 2"):
        fitting.fit_map(W, W, "A")
    d = 300  # an affine rank above 256 (Python's small-int cache) is compared by value
    W = rng.standard_normal((d + 20, d))
    assert fitting.fit_map(W, W, "A", warn=False).M_hat.shape == (d, d)


def test_fit_map_rank_threshold_is_strict():
    # Z = [w1, w2, 1] with orthogonal columns of norms 2, 2b, 2: singular values exactly (2, 2, 2b), so
    # b = 1e-9 puts the smallest exactly at RANK_RTOL * s[0] (zero: refused) and b a little above it not
    def design(b):
        return np.array([[1.0, b], [-1.0, b], [1.0, -b], [-1.0, -b]])
    with pytest.raises(InputError, match="affine rank 1"):
        fitting.fit_map(design(1e-9), design(1e-9), "A", warn=False)
    fitting.fit_map(design(1e-9 * (1 + 1e-6)), design(1e-9), "A", warn=False)


@pytest.mark.parametrize("W, Y", [
    (np.zeros((5, 2)), np.zeros((5, 1))),  # fewer outgoing coordinates
    (np.zeros((5, 2)), np.zeros((5, 3))),  # more (Mhat would not be square)
    (np.zeros((5, 2)), np.zeros((4, 2))),  # fewer outgoing messages
    (np.zeros(5), np.zeros(5)),  # not (n, d) arrays
    (np.zeros((5, 2, 1)), np.zeros((5, 2, 1))),
])
def test_fit_map_refuses_mismatched_shapes(W, Y):
    with pytest.raises(InputError, match="A message shapes"):
        fitting.fit_map(W, Y, "A")


def _design_with_condition(a: float):
    # Z = [w, 1] with w = (a, -a, a, -a): orthogonal columns of norms 2a and 2, so cond(Z) = a
    W = np.array([[a], [-a], [a], [-a]])
    return W, 0.5 * W + np.array([[1.0], [2.0], [0.0], [1.0]])


def test_ill_conditioning_note_is_strictly_above_the_threshold():
    assert fitting.fit_map(*_design_with_condition(1e8), "A", warn=False).warnings == ()
    notes = fitting.fit_map(*_design_with_condition(1e8 + 0.5), "A", warn=False).warnings
    assert len(notes) == 1 and "design condition number" in notes[0]


def test_implied_target_is_refused_strictly_above_the_threshold():
    def fit_with_K(k):
        K = np.diag([k, 1.0])
        return fitting.AffineFit("A", np.eye(2) - K, np.array([1.0, 1.0]), 10, np.eye(2), 1.0, 1.0)
    assert np.allclose(fit_with_K(1e8).target, [1e-8, 1.0])
    assert fit_with_K(1e8 + 0.5).target is None
    assert fitting.AffineFit("A", np.eye(2), np.ones(2), 10, np.eye(2), 1.0, 1.0).target is None  # K = 0


def test_identifiability_warning_points_at_the_caller():
    W, Y = _data(8, 5, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitting.fit_map(W, Y, "A")
    assert [w.category for w in caught] == [fitting.IdentifiabilityWarning]
    assert caught[0].filename == __file__


def test_result_types_are_immutable():
    fit = fitting.fit_map(*_data(9, 12, 2), "A", warn=False)
    iv = fitting.Interval(np.zeros(1), np.ones(1))
    pred = fitting.predict((fit, fit))
    report = _quiet(fitting.fit_transcript, _noisy_transcript(2, 60), bootstrap=0, seed=0)
    for obj, attr in [(fit, "n"), (iv, "low"), (pred, "rate"), (report, "bootstrap")]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, None)


# --- intervals --------------------------------------------------------------------------------

def test_interval_contains_its_end_points():
    iv = fitting.Interval(np.zeros(5), np.ones(5))
    assert iv.contains([0.0, 0.5, 1.0, -0.1, 1.1]).tolist() == [True, True, True, False, False]


def test_map_interval_is_the_textbook_t_interval():
    n, d, level = 12, 3, 0.9
    W, Y = _data(10, n, d)
    Z, theta, R = _normal_equations(W, Y)
    dof = n - d - 1
    half = stats.t.ppf(0.5 + level / 2, dof) * np.sqrt(np.outer(np.sum(R ** 2, axis=0) / dof,
                                                                np.diag(np.linalg.inv(Z.T @ Z))))
    iv = _quiet(fitting.map_interval, W, Y, level=level)
    assert np.allclose(iv.low, theta.T - half, atol=REF_TOL) and np.allclose(iv.high, theta.T + half, atol=REF_TOL)
    W, Y = _data(11, d + 2, d)  # one residual degree of freedom: finite
    assert np.isfinite(_quiet(fitting.map_interval, W, Y).low).all()
    for n in (d + 1, d - 1):  # none (or fewer than none): NaN, without numerical warnings
        iv = _quiet(fitting.map_interval, *_data(12, n, d))
        assert iv.low.shape == (d, d + 1) and np.isnan(iv.low).all() and np.isnan(iv.high).all()


def test_percentile_interval_matches_numpy_percentile():
    samples = np.random.default_rng(13).standard_normal((200, 2, 3))
    iv = fitting.percentile_interval(samples, 0.9)
    assert np.allclose(iv.low, np.percentile(samples, 5, axis=0))
    assert np.allclose(iv.high, np.percentile(samples, 95, axis=0))


# --- moving-block bootstrap -------------------------------------------------------------------

@pytest.mark.parametrize("n", [3, 30])
def test_block_bootstrap_means_follow_the_definition(n):
    tail = np.random.default_rng(14).standard_normal((n, 2, 4))
    L = max(1, round(n ** (1 / 3)))  # block length ~ n^(1/3)
    B = 7
    rng = RecordingRng(15)
    means = fitting._block_bootstrap_means(tail, B, rng)
    [(low, high, size)] = rng.calls
    # every one of the n - L + 1 blocks equally likely, ceil(n / L) blocks per resample
    assert (low, high, tuple(size)) == (0, n - L + 1, (B, math.ceil(n / L)))
    expected = [np.concatenate([tail[s:s + L] for s in row])[:n].mean(axis=0) for row in rng.drawn[0]]
    assert means.shape == (B, 2, 4) and np.allclose(means, expected)


# --- tail and options -------------------------------------------------------------------------

def test_tail_rounds_takes_the_last_fraction():
    rounds = np.random.default_rng(16).standard_normal((10, 2, 3))
    start, tail = fitting.tail_rounds(rounds, 0.3)
    assert start == 7 and np.array_equal(tail, rounds[7:])
    assert fitting.tail_rounds(rounds[:4], 0.5)[1].shape[0] == 2
    with pytest.raises(InputError) as err:
        fitting.tail_rounds(rounds[:4], 0.25)
    assert str(err.value).startswith("tail rounds = 1: need at least 2 complete rounds")


@pytest.mark.parametrize("level, tail, bootstrap, bad", [
    (0.0, 0.5, 0, "interval level"), (1.0, 0.5, 0, "interval level"), (-0.5, 0.5, 0, "interval level"),
    (1.5, 0.5, 0, "interval level"), (0.9, 0.0, 0, "tail fraction"), (0.9, 1.0, 0, "tail fraction"),
    (0.9, -0.5, 0, "tail fraction"), (0.9, 1.5, 0, "tail fraction"), (0.9, 0.5, -1, "bootstrap"),
    (0.9, 0.5, True, "bootstrap"), (0.9, 0.5, 2.5, "bootstrap")])
def test_fit_options_are_checked_at_their_boundaries(level, tail, bootstrap, bad):
    with pytest.raises(InputError, match=bad):
        fitting.check_fit_options(level, tail, bootstrap)


def test_fit_options_accept_zero_resamples():
    fitting.check_fit_options(0.5, 0.5, 0)


# --- pairs bootstrap --------------------------------------------------------------------------

class _Pred:
    def __init__(self, plateau, spread):
        self.plateau, self.spread = plateau, spread


def _thin_data(K: int, n: int = 4, d: int = 1, seed: int = 17):
    rng = np.random.default_rng(seed)
    return {f"a{k}": (rng.standard_normal((n, d)), rng.standard_normal((n, d))) for k in range(K)}


def test_pairs_bootstrap_follows_the_definition():
    data = _thin_data(2, n=12, d=2)
    rng, notes = RecordingRng(18), []
    spread = np.array([np.diag([0.25, 4.0]), np.diag([-1e-18, 1.0])])  # a rounding-negative variance reads 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refits on thin data must not warn
        plateaus, spreads = fitting.bootstrap_refits(
            data, ["a0", "a1"], lambda fits: _Pred(np.stack([f.c_hat for f in fits]), spread), 5, rng, notes)
    assert notes == [] and len(plateaus) == 5
    for b in range(5):
        for k, a in enumerate(["a0", "a1"]):
            low, high, size = rng.calls[2 * b + k]
            assert (low, high, size) == (0, 12, 12)  # n pairs drawn with replacement, all equally likely
            idx = rng.drawn[2 * b + k]
            U, Y = data[a]
            assert np.allclose(plateaus[b][k], _normal_equations(U[idx], Y[idx])[1][-1], atol=REF_TOL)
        assert np.array_equal(spreads[b], [[0.5, 2.0], [0.0, 1.0]])


def test_pairs_bootstrap_skips_a_degenerate_resample_and_goes_on():
    data = _thin_data(2)
    rng = RecordingRng(19, script=[np.zeros(4, dtype=int)])  # first resample of a0: one pair 4 times
    plateaus, _ = fitting.bootstrap_refits(data, ["a0", "a1"], lambda fits: _Pred(np.zeros(1), np.zeros((2, 1, 1))),
                                           4, rng, [])
    assert len(rng.calls) == 1 + 2 * 3  # the degenerate replicate stops at a0; three full replicates
    assert len(plateaus) == 3


def test_pairs_bootstrap_with_many_agents():
    agents = [f"a{k}" for k in range(300)]  # more agents than Python's small-int cache
    plateaus, _ = fitting.bootstrap_refits(_thin_data(300, n=20), agents,
                                           lambda fits: _Pred(np.zeros(1), np.zeros((300, 1, 1))), 2,
                                           np.random.default_rng(20), [])
    assert len(plateaus) == 2


@pytest.mark.parametrize("converging, noted", [(10, False), (9, False), (8, True), (0, True)])
def test_pairs_bootstrap_notes_when_fewer_than_90_percent_converge(converging, noted):
    outcome = iter([True] * converging + [False] * (10 - converging))
    notes = []
    fitting.bootstrap_refits(_thin_data(2), ["a0", "a1"],
                             lambda fits: _Pred(np.zeros(1) if next(outcome) else None, np.zeros((2, 1, 1))),
                             10, np.random.default_rng(21), notes)
    assert notes == ([f"only {converging} of 10 bootstrap refits converge: intervals are unreliable"]
                     if noted else [])
    assert fitting.bootstrap_refits(_thin_data(2), ["a0", "a1"], None, 0, np.random.default_rng(0), notes) == ([], [])


# --- predict and fit_transcript ---------------------------------------------------------------

def test_predict_has_no_plateau_at_rate_one_or_more():
    def fit(M):
        return fitting.AffineFit("A", M, np.ones(2), 10, 0.01 * np.eye(2), 1.0, 1.0)
    for scale, converges in [(0.5, True), (1.0, False), (1.5, False)]:
        p = fitting.predict((fit(scale * np.eye(2)), fit(np.eye(2))))
        assert (p.plateau is not None, p.spread is not None) == (converges, converges)


def _noisy_transcript(K: int, turns: int, d: int = 2, seed: int = 22):
    rng = np.random.default_rng(seed)
    agents = [noisy.NoisyAgent(random_gd_agent(rng, d, f"a{k}"), 0.05 ** 2 * np.eye(d), seed + k) for k in range(K)]
    return transcripts.from_run(agents, np.zeros(d), simulate.run(agents, np.zeros(d), turns))


def test_fit_transcript_tail_statistics_are_the_outgoing_messages():
    tr = _noisy_transcript(3, 41)
    report = _quiet(fitting.fit_transcript, tr, 0.25, bootstrap=0, seed=0)
    out = [np.array([r.outgoing for r in tr.records if r.agent == a]) for a in tr.agents]
    n = min(len(o) for o in out)
    start = int(n * 0.75)
    assert report.tail_start == start and len(report.agents) == 3
    for k, o in enumerate(out):
        assert np.allclose(report.observed_mean[k], o[start:n].mean(axis=0))
        assert np.allclose(report.observed_cov[k], np.cov(o[start:n].T))
    # bootstrap = 0 still gives the observed mean one block-bootstrap resample: a zero-width interval
    assert np.array_equal(report.observed_mean_interval.low, report.observed_mean_interval.high)


def test_fit_transcript_needs_two_agents():
    tr = _noisy_transcript(2, 30)
    one = Transcript(tuple(r for r in tr.records if r.agent == "a0"))
    with pytest.raises(InputError, match="at least 2 agents"):
        fitting.fit_transcript(one, bootstrap=0, seed=0)


def test_fit_transcript_notes_thin_data_without_warning():
    report = _quiet(fitting.fit_transcript, _noisy_transcript(2, 5), bootstrap=20, seed=0)
    assert any("residual degrees of freedom" in note for note in report.warnings)


def test_fit_transcript_notes_a_diverging_conversation():
    rng = np.random.default_rng(23)
    records, w = [], np.array([0.1])
    for t in range(40):
        for a in ("A", "B"):
            out = 1.05 * w + 0.01 * rng.standard_normal(1)  # round rate ~1.1: diverges
            records.append(Record(t, a, w, out))
            w = out
    report = _quiet(fitting.fit_transcript, Transcript(tuple(records)), bootstrap=0, seed=0)
    assert report.prediction.plateau is None and any("diverges" in note for note in report.warnings)
    converging = _quiet(fitting.fit_transcript, _noisy_transcript(2, 60), bootstrap=0, seed=0)
    assert not any("diverges" in note for note in converging.warnings)


# --- C18's V4 -------------------------------------------------------------------------------------

def test_c18_v4_fails_when_fit_map_refuses_everything(monkeypatch):
    from proofs_check.claims import all_claims, c18_fitting
    from proofs_check.verification import registry, runner

    def refuse(*args, **kw):
        raise InputError("planted", 0, "refuses every transcript")
    monkeypatch.setattr(c18_fitting.fitting, "fit_map", refuse)  # before: V4 drew transcripts forever
    claim = {c.id: c for c in all_claims()}["C18"]
    result = runner.run_method("V4", claim.methods["V4"], registry.PROFILES["quick"])
    assert result["status"] == "failed" and "refused" in result["detail"]
