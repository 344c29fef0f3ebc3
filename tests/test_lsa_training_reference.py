"""numerics.lsa.training against independent references (issue 11: its mutation survivors).

Each expected value is recomputed here from a textbook definition, never read from the code:
Adam with bias correction (Kingma & Ba 2015, Algorithm 1, default hyper-parameters) under a
cosine learning-rate decay, L2's Gamma*, the Wishart moments of Bartlett's factor, the
query-averaged risk and its finite differences, and the documented texts and presets.
The optimiser runs on stub gradients (a quadratic pull), so the tests take milliseconds.
"""
import dataclasses
import re
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from numerics.io.errors import InputError
from numerics.lsa import training as lt

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # Kingma & Ba (2015), Algorithm 1: the suggested defaults
INIT_STD = 0.01                       # documented start: trainable entries N(0, 0.01^2), p_y = 1
EXACT = 1e-12                         # same float operations up to reassociation: round-off only
LSA_DOCS = Path(__file__).resolve().parent.parent / "docs" / "lsa.rst"  # the training is documented here


def gamma_star_reference(S, N, tau, sigma):
    d = S.shape[0]
    return np.linalg.inv((N + 1) / N * S + (np.trace(S) + sigma ** 2 / tau ** 2) / N * np.eye(d))


def reference_masks(d, parameterisation):
    if parameterisation == "full":
        return np.ones(d + 1), np.ones((d + 1, d + 1))
    mp, mQ = np.zeros(d + 1), np.zeros((d + 1, d + 1))
    mp[d] = 1.0        # sparse (Ahn et al.): p_y ...
    mQ[:d, :d] = 1.0   # ... and Q_xx
    return mp, mQ


class QuadraticPull:
    """Stub gradient step: loss sum ||x - target||^2 per agent; records the parameters it is called with."""

    def __init__(self, targets, losses=None):
        self.targets, self.calls, self.losses = targets, [], losses

    def __call__(self, p, Q, _batch):
        self.calls.append((p.copy(), Q.copy()))
        tp, tQ = self.targets
        loss = np.sum((p - tp) ** 2, axis=1) + np.sum((Q - tQ) ** 2, axis=(1, 2))
        if self.losses is not None:
            loss = np.asarray(self.losses[len(self.calls) - 1], dtype=float)
        return loss, 2 * (p - tp), 2 * (Q - tQ)


def run_adam(Sigmas, targets, *, steps, lr, parameterisation, check_every=1, N=5, tau=2.0, sigma=0.5, seed=3,
             losses=None):
    stub = QuadraticPull(targets, losses)
    rng = np.random.default_rng(seed)
    out = lt._adam(list(Sigmas), N, tau, sigma, steps, 1, seed, lr, parameterisation, rng, lambda: None, stub,
                   False, check_every, "stub")
    return out, stub


def adam_reference(x0, grad, mask, steps, lr):
    """Kingma & Ba (2015) Algorithm 1 with step size lr_t = lr (1 + cos(pi (t-1)/T)) / 2; frozen entries fixed."""
    x, m, v, path = x0.copy(), np.zeros_like(x0), np.zeros_like(x0), [x0.copy()]
    for t in range(1, steps + 1):
        g = grad(x) * mask
        m = BETA1 * m + (1 - BETA1) * g
        v = BETA2 * v + (1 - BETA2) * g ** 2
        m_hat, v_hat = m / (1 - BETA1 ** t), v / (1 - BETA2 ** t)
        lr_t = lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / steps))
        x = x - lr_t * m_hat / (np.sqrt(v_hat) + EPS)
        path.append(x.copy())
    return path


def reference_start(seed, A, d, parameterisation):
    rng = np.random.default_rng(seed)
    mp, mQ = reference_masks(d, parameterisation)
    p = INIT_STD * rng.standard_normal((A, d + 1)) * mp
    p[:, d] = 1.0
    Q = INIT_STD * rng.standard_normal((A, d + 1, d + 1)) * mQ
    return p, Q, mp, mQ


@pytest.mark.parametrize("parameterisation", ["sparse", "full"])
def test_adam_with_cosine_decay_matches_kingma_ba(parameterisation):
    d, A, steps, lr = 2, 2, 6, 0.05
    Sigmas = [np.diag([0.5, 2.0]), np.eye(2)]
    rng = np.random.default_rng(11)
    targets = (rng.standard_normal((A, d + 1)), rng.standard_normal((A, d + 1, d + 1)))
    (res_a, res_b), stub = run_adam(Sigmas, targets, steps=steps, lr=lr, parameterisation=parameterisation)
    p0, Q0, mp, mQ = reference_start(3, A, d, parameterisation)
    ref_p = adam_reference(p0, lambda x: 2 * (x - targets[0]), mp, steps, lr)
    ref_Q = adam_reference(Q0, lambda x: 2 * (x - targets[1]), mQ, steps, lr)
    assert len(stub.calls) == steps
    for t, (p, Q) in enumerate(stub.calls):  # the parameters before update t+1
        assert np.allclose(p, ref_p[t], rtol=0, atol=EXACT) and np.allclose(Q, ref_Q[t], rtol=0, atol=EXACT)
    for a, res in enumerate((res_a, res_b)):
        final = lt.LSAWeights.from_pQ(ref_p[-1][a], ref_Q[-1][a])
        assert np.allclose(res.weights.W_PV, final.W_PV, rtol=0, atol=EXACT)
        assert np.allclose(res.weights.W_KQ, final.W_KQ, rtol=0, atol=EXACT)
        assert np.allclose(res.Gamma_star, gamma_star_reference(Sigmas[a], 5, 2.0, 0.5), rtol=EXACT, atol=0)
        expected_loss = [np.sum((ref_p[t][a] - targets[0][a]) ** 2) + np.sum((ref_Q[t][a] - targets[1][a]) ** 2)
                         for t in range(steps)]
        assert np.allclose(res.losses, expected_loss, rtol=EXACT, atol=0)


def test_planted_adam_variants_break_the_reference():
    """Power: the reference itself separates the textbook step from the variants that survived mutation."""
    x0, mask = np.array([0.3, -0.2]), np.ones(2)
    good = adam_reference(x0, lambda x: 2 * x, mask, 4, 0.05)[-1]
    BAD = (lambda t: 1 + BETA2 ** t, lambda t: BETA2 / t)  # bias corrections 1 + beta2^t and beta2 / t
    for corr in BAD:
        x, m, v = x0.copy(), 0 * x0, 0 * x0
        for t in range(1, 5):
            g = 2 * x
            m, v = BETA1 * m + (1 - BETA1) * g, BETA2 * v + (1 - BETA2) * g ** 2
            x = x - 0.05 * 0.5 * (1 + np.cos(np.pi * (t - 1) / 4)) * (m / (1 - BETA1 ** t)) / (
                np.sqrt(v / corr(t)) + EPS)
        assert not np.allclose(x, good, rtol=0, atol=EXACT)


@pytest.mark.parametrize("parameterisation", ["sparse", "full"])
def test_steps_to_target_is_first_checked_step_within_one_percent(parameterisation):
    """Reference: Gamma_eff = p_y Q_xx^T compared with Gamma* (recomputed here) at every multiple of check_every."""
    d, A, N, tau, sigma, check_every, steps = 2, 2, 3, 2.0, 3.0, 9, 120
    Sigmas = [np.diag([0.5, 2.0]), np.diag([1.0, 1.5])]
    G = [gamma_star_reference(S, N, tau, sigma) for S in Sigmas]
    tp = np.zeros((A, d + 1))
    tp[:, d] = 2.0  # p_y != 1, so Q_xx^T / p_y or Q_xx^T ** p_y is not Gamma_eff
    tQ = np.zeros((A, d + 1, d + 1))
    for a in range(A):
        tQ[a, :d, :d] = G[a].T / 2.0
    res, stub = run_adam(Sigmas, (tp, tQ), steps=steps, lr=0.3, parameterisation=parameterisation,
                         check_every=check_every, N=N, tau=tau, sigma=sigma)
    for a in range(A):
        errors = [np.linalg.norm(Q[a, :d, :d].T * p[a, d] - G[a]) / np.linalg.norm(G[a])
                  for p, Q in stub.calls[1:]]  # errors[t - 1]: after update t
        first = next(t for t in range(1, steps) if errors[t - 1] <= 0.01)
        assert first % check_every != 0 and first > 1  # so every wrong checking rule gives another step
        expected = next(t for t in range(check_every, steps, check_every) if errors[t - 1] <= 0.01)
        assert res[a].steps_to_target == expected
        assert res[a].rel_error <= 0.01 and not res[a].stalled


def test_divergence_threshold_is_a_million_times_the_first_loss():
    Sigmas, targets = [np.eye(1)], (np.zeros((1, 2)), np.zeros((1, 2, 2)))
    run_adam(Sigmas, targets, steps=2, lr=0.01, parameterisation="full", losses=[[2.0], [2e6]])  # at the bar: ok
    with pytest.raises(InputError) as info:
        run_adam(Sigmas, targets, steps=2, lr=0.01, parameterisation="full", losses=[[2.0], [2e6 * (1 + 1e-7)]])
    assert "training diverged at step 2 (loss 2e+06 from 2); lower the learning rate" in str(info.value)
    with pytest.raises(InputError, match="diverged at step 1"):
        run_adam(Sigmas, targets, steps=2, lr=0.01, parameterisation="full", losses=[[np.nan], [1.0]])


def test_stalled_means_more_than_five_percent(monkeypatch):
    """docs/lsa.rst: STALLED when a run ends more than 5% from Gamma*; exactly 5% is not stalled."""
    S, N = 0.75 * np.eye(1), 1
    G = gamma_star_reference(S, N, 1.0, 1.0)  # 1/3.25; Gamma_eff below is exactly 5% away in float64
    for value, stalled in ((0.3230769230769231, False), (0.3230769230769233, True)):
        G_eff = np.array([[value]])
        assert (np.linalg.norm(G_eff - G) / np.linalg.norm(G) == 0.05) is not stalled
        fake = types.SimpleNamespace(Gamma_eff=G_eff, p_x_norm=0.0, q_yx_norm=0.0)
        monkeypatch.setattr(lt, "read_weights", lambda w: fake)
        res, _ = run_adam([S], (np.zeros((1, 2)), np.zeros((1, 2, 2))), steps=1, lr=0.01,
                          parameterisation="full", N=N, tau=1.0, sigma=1.0)
        assert res[0].stalled is stalled


def test_train_together_never_shows_a_progress_bar(monkeypatch):
    def no_bar(**_):
        raise AssertionError("train_together started a progress bar")
    monkeypatch.setitem(sys.modules, "rich.progress", types.SimpleNamespace(Progress=no_bar))
    lt.train_together(1, 2, ("isotropic",), 1.0, 0.0, steps=2, batch=1, seed=0, lr=0.01, parameterisation="full",
                      check_every=1)


def test_timings_are_consistent():
    Sigmas = [np.eye(1), 2 * np.eye(1)]
    targets = (np.zeros((2, 2)), np.zeros((2, 2, 2)))
    steps = 40
    start = time.perf_counter()
    res, _ = run_adam(Sigmas, targets, steps=steps, lr=0.01, parameterisation="full")
    wall = time.perf_counter() - start
    for r in res:  # seconds: the run's time shared by its A = 2 agents; per step: that over the steps
        assert 0 < r.seconds * len(Sigmas) <= wall
        assert r.seconds_per_step * steps == pytest.approx(r.seconds, rel=EXACT)


def test_report_text():
    losses = np.array([3.0, 2.0, 0.125])
    meta = {"steps": 3, "parameterisation": "".join(["fu", "ll"])}  # not an interned literal: `is` would differ
    res = lt.TrainingResult(None, None, None, 0.25, 0.5, 0.75, True, 1.5, 0.0125, None, losses, meta)
    text = res.report()
    assert "training: 3 steps in 1.50 s (12.50 ms/step), final loss 0.125" in text  # 1001 x would print 12.51
    assert "try --parameterisation sparse, more steps or another seed" in text
    sparse = dataclasses.replace(res, metadata={"steps": 3, "parameterisation": "sparse"}).report()
    assert "(try more steps or another learning rate)" in sparse and "--parameterisation sparse" not in sparse


def test_progress_bar_starts_only_when_asked_and_stops_once_at_the_last_step(monkeypatch):
    events = []

    class FakeProgress:
        def __init__(self, **kwargs):
            events.append("init")
            assert kwargs.get("transient") is True  # the bar is removed once training ends

        def start(self):
            events.append("start")

        def add_task(self, *_, **__):
            return 0

        def update(self, *_, **__):
            pass

        def stop(self):
            events.append("stop")
    monkeypatch.setitem(sys.modules, "rich.progress", types.SimpleNamespace(Progress=FakeProgress))
    lt._progress(False, 300)(300, 1.0)
    assert events == []
    steps = 300  # above CPython's small-int cache: `t is steps` would never hold
    update = lt._progress(True, steps)
    for t in range(1, steps + 1):
        update(t, 1.0)
        assert events.count("stop") == (t == steps)
    assert events == ["init", "start", "stop"]


@pytest.mark.parametrize("shape, N, k", [((7,), 2, 4), ((3, 5), 2, 4), ((3, 5), 4, 4), ((7,), 6, 3), ((3, 5), 6, 3)])
def test_bartlett_factor_shape_and_structure(shape, N, k):
    F = lt.bartlett_factor(np.random.default_rng(0), shape, N, k)
    if N < k:
        assert F.shape == shape + (k, N)  # G^T of an N x k Gaussian
    else:
        assert F.shape == shape + (k, k)
        assert np.all(np.triu(F, 1) == 0) and np.all(np.diagonal(F, axis1=-2, axis2=-1) > 0)  # Bartlett: lower


WISHART_DRAWS = 40_000
WISHART_Z = 5.0  # sample means within 5 standard errors: a false alarm about once in 3.5 million


@pytest.mark.parametrize("N, k", [(2, 4), (4, 4), (6, 3)])
def test_bartlett_factor_has_wishart_moments(N, k):
    """W = F F^T ~ Wishart_k(N, I): E W = N I, Var W_ii = 2N, Var W_ij = N (i != j)."""
    F = lt.bartlett_factor(np.random.default_rng(1), (WISHART_DRAWS,), N, k)
    W = F @ np.swapaxes(F, -1, -2)
    mean = W.mean(axis=0)
    var = np.where(np.eye(k, dtype=bool), 2.0 * N, float(N))
    assert np.all(np.abs(mean - N * np.eye(k)) <= WISHART_Z * np.sqrt(var / WISHART_DRAWS))
    # E W_ij^2 - (E W_ij)^2 against var: W_ij^2 has variance <= ~ (E W_ij^4) ~ 60 N^2 here, checked loosely
    assert np.allclose(W.var(axis=0), var, rtol=0.1)


def test_expected_query_loss_and_gradient_against_a_loop_and_finite_differences():
    rng = np.random.default_rng(5)
    A, B, d, N = 2, 3, 2, 4
    S = np.stack([np.diag([0.5, 2.0]), np.array([[1.0, 0.3], [0.3, 0.8]])])
    C, w = lt.sample_contexts(rng, B, N, np.linalg.cholesky(S), 1.5, 0.5)
    p, Q = rng.standard_normal((A, d + 1)), rng.standard_normal((A, d + 1, d + 1))

    def risk(p, Q):  # E_{x_q ~ N(0, S)} (p^T C Q (x_q, 0) - <w, x_q>)^2 = r^T S r, averaged over tasks
        out = np.zeros(A)
        for a in range(A):
            for b in range(B):
                r = Q[a, :, :d].T @ C[a, b] @ p[a] - w[a, b]
                out[a] += r @ S[a] @ r / B
        return out
    losses, gp, gQ = lt.expected_query_loss_and_grad(p, Q, (C, w), S)
    assert np.allclose(losses, risk(p, Q), rtol=1e-12, atol=0)
    h = 1e-6  # central differences: O(h^2) truncation, O(eps / h) round-off
    for x, g in ((p, gp), (Q, gQ)):
        fd = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + h
            up = risk(p, Q)[idx[0]]
            x[idx] = old - h
            down = risk(p, Q)[idx[0]]
            x[idx] = old
            fd[idx] = (up - down) / (2 * h)
        assert np.allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_sample_contexts_matches_the_task_law():
    """C = Z^T Z / N with z = (x, <w, x> + sigma e): E[C | w] = [[S, S w], [w^T S, w^T S w + sigma^2]]."""
    rng = np.random.default_rng(2)
    S = np.array([[1.0, 0.3], [0.3, 0.8]])
    B, N, tau, sigma = 40_000, 3, 1.5, 0.7
    C, w = lt.sample_contexts(rng, B, N, np.linalg.cholesky(S)[None], tau, sigma)
    assert C.shape == (1, B, 3, 3) and w.shape == (1, B, 2)
    Sw = w[0] @ S
    expected = np.zeros((B, 3, 3))
    expected[:, :2, :2] = S
    expected[:, :2, 2] = expected[:, 2, :2] = Sw
    expected[:, 2, 2] = np.einsum("bi,bi->b", Sw, w[0]) + sigma ** 2
    dev = (C[0] - expected).mean(axis=0)  # conditional means of the deviations average to 0
    spread = (C[0] - expected).std(axis=0) / np.sqrt(B)
    assert np.all(np.abs(dev) <= WISHART_Z * spread)
    assert abs(w.var() - tau ** 2) <= WISHART_Z * tau ** 2 * np.sqrt(2 / w.size)


def test_covariance_presets_and_diagonal_input():
    for d in (1, 3, 6):  # docs/lsa.rst / CLI help: anisotropic = variances geometrically spaced over [0.5, 2]
        expected = 0.5 * 4.0 ** (np.arange(d) / max(d - 1, 1)) if d > 1 else np.array([0.5])
        assert np.allclose(np.diag(lt.covariance("anisotropic", d)), expected, rtol=EXACT)
        assert np.array_equal(lt.covariance("isotropic", d), np.eye(d))
    big = lt.covariance(np.linspace(1.0, 2.0, 300), 300)  # a size above CPython's small-int cache
    assert np.array_equal(np.diag(big), np.linspace(1.0, 2.0, 300))
    full = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert np.array_equal(lt.covariance(full, 2), full)
    for bad in ([1.0, 2.0, 3.0], [1.0]):  # the message names the count, short or long
        with pytest.raises(InputError, match=f"needs d = 2 diagonal entries, got {len(bad)}"):
            lt.covariance(bad, 2)
    with pytest.raises(InputError, match="Sigma"):
        lt.covariance(2.0, 2)
    with pytest.raises(InputError, match="Sigma"):
        lt.covariance(2.0, 1)


def test_masks_match_the_parameterisations():
    d = 3
    for name in ("sparse", "".join(["fu", "ll"])):  # a string built at run time, as the CLI's is
        mp, mQ = lt.masks(d, name)
        rp, rQ = reference_masks(d, name)
        assert np.array_equal(mp, rp) and np.array_equal(mQ, rQ)


def test_task_batch_is_frozen_and_queries_per_task_is_the_documented_number():
    batch = lt.sample_tasks(np.random.default_rng(0), 2, 3, np.eye(2), 1.0, 0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        batch.X = None
    documented = int(re.search(r"(\d+)\s+queries\s+per\s+task", LSA_DOCS.read_text()).group(1))
    assert batch.xq.shape == (2, documented, 2) and batch.yq.shape == (2, documented)


@pytest.mark.parametrize("tau, sigma, lr, quantity", [(-1.0, 0.1, 0.02, "tau"), (1.0, -0.5, 0.02, "sigma"),
                                                     (1.0, 0.1, -0.02, "lr")])
def test_negative_scales_are_rejected(tau, sigma, lr, quantity):
    with pytest.raises(InputError, match=quantity):
        lt.train_together(2, 5, ("isotropic",), tau, sigma, steps=1, batch=1, seed=0, lr=lr,
                          parameterisation="full", check_every=1)


def wrong_power(sigma_power, tau_power):
    def gamma_star(S, N, tau, sigma):
        d = S.shape[0]
        return np.linalg.inv((N + 1) / N * S + (np.trace(S) + sigma ** sigma_power / tau ** tau_power) / N * np.eye(d))
    return gamma_star


WRONG_POWERS = [wrong_power(1, 2), wrong_power(3, 2), wrong_power(2, 1), wrong_power(2, 0)]


@pytest.mark.parametrize("planted", WRONG_POWERS)
def test_l2_v7_label_noise_agent_sees_a_wrong_power_of_sigma_or_tau(monkeypatch, planted):
    """V7's label-noise agent (sigma = tau = 0.5): right Gamma* within the bar, a wrong power far outside it."""
    from proofs_check.verification import v7_trained
    from proofs_check.verification.registry import PROFILES

    profile = PROFILES["quick"]
    trained = v7_trained.noise_agent(profile.name, profile.seed)
    assert max(v7_trained.gamma_errors(trained)) <= lt.TARGET_REL_ERROR
    monkeypatch.setattr(lt, "gamma_star", planted)
    assert min(v7_trained.gamma_errors(trained)) > 3 * lt.TARGET_REL_ERROR


@pytest.mark.parametrize("planted", WRONG_POWERS)
def test_l2_v4_sees_a_wrong_power_of_sigma_or_tau(monkeypatch, planted):
    from proofs_check.claims import l2_gamma_star
    from proofs_check.verification.registry import PROFILES

    good = l2_gamma_star.l2_v4(PROFILES["quick"])
    assert good.worst_error <= good.tolerance
    monkeypatch.setattr(lt, "gamma_star", planted)
    bad = l2_gamma_star.l2_v4(PROFILES["quick"])
    assert bad.worst_error > bad.tolerance


@pytest.mark.parametrize("fn, geometry", [(lt.train, np.eye(2)), (lt.train_together, [np.eye(2)])])
def test_training_options_are_keyword_only(fn, geometry):
    # the problem (d, N, geometry, tau, sigma) may be named; every option must be named (train's
    # docstring: the caller owns each choice, so neither a default nor a position picks one unseen)
    options = dict(steps=2, batch=4, seed=0, lr=0.01, parameterisation="sparse", check_every=1)
    if fn is lt.train:
        options["progress"] = False
    named = dict(d=2, N=3, tau=1.0, sigma=0.0, **{"Sigma" if fn is lt.train else "Sigmas": geometry})
    fn(**named, **options)
    with pytest.raises(TypeError):
        fn(2, 3, geometry, 1.0, 0.0, *options.values())
