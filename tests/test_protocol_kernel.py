"""The compiled batched fixed-point kernel (numerics.protocol.kernel): it returns the fixed point of
exactly the round map of ``protocol_eval.round_map`` (vs the bare solve of that map, vs the real
agents simulated, vs the batch iterated phase by phase), its errors, and planted wrong kernels
(a wrong block, a transposed transfer, a dropped offset, non-listeners overwritten) that the
agreement check must reject."""
import inspect

import numpy as np
import pytest

from numerics.dynamics import closed_forms
from numerics.io.errors import InputError
from numerics.protocol import (
    evaluate as protocol_eval,
    kernel as protocol_kernel,
    random_protocols as protocol_random,
    simulate,
)

# Kernel vs np.linalg.solve of the same round map: both are LU with partial pivoting of a
# well-conditioned (rho <= 0.4) system of size <= 30; differences are rounding, ~1e-15.
SOLVE_REL_TOL = 1e-10
# Kernel vs 400 rounds of the real agents (rate <= 0.9): the simulation's own error ~ 0.9^400.
AGREEMENT_REL_TOL = 1e-8
# Kernel vs 300 rounds of the batch iterated phase by phase, on the systems with rho < 0.5.
ITERATION_REL_TOL = 1e-10


def _rel(a, b):
    err = (np.linalg.norm((a - b).reshape(a.shape[0], -1), axis=1)
           / (1 + np.linalg.norm(b.reshape(b.shape[0], -1), axis=1)))
    return float(np.max(np.where(np.isfinite(err), err, np.inf)))


def _batch(seed, B, K, d, P):
    M, c, W, mask = protocol_random.batch(np.random.default_rng(seed), B, K, d, P)
    rng = np.random.default_rng(seed + 100)
    W = W * rng.uniform(-0.5, 1.5, W.shape)  # any finite reals, not only convex weights
    W[rng.uniform(size=W.shape) < 0.3] = 0.0  # sparse listening: some agents not live
    return M, c, W * mask[..., None], mask


def _iterate(M, c, W, mask, rounds):
    """The protocol's phases applied to the batch directly (no round map, no solve)."""
    z = np.zeros(c.shape)
    for _ in range(rounds):
        for p in range(W.shape[-3]):
            heard = np.einsum("bij,bjd->bid", W[:, p], z)
            z = np.where(mask[:, p, :, None], np.einsum("bide,bie->bid", M, heard) + c, z)
    return z


@pytest.mark.parametrize("B,K,d,P", [(300, 3, 4, 3), (257, 1, 3, 2), (1000, 2, 1, 4), (300, 5, 6, 4), (65, 4, 2, 1)])
def test_kernel_is_the_fixed_point_of_the_round_map(B, K, d, P):
    M, c, W, mask = _batch(B + K + d, B, K, d, P)
    Phi, r = protocol_eval.round_map(M, c, W, mask)
    bare = np.linalg.solve(np.eye(K * d) - Phi, r[..., None])[..., 0].reshape(B, K, d)
    z, (idx, Phi_k), bad = protocol_kernel.solve(M, c, W, mask, want_phi=True)
    assert bad == -1
    assert _rel(z, bare) <= SOLVE_REL_TOL
    # the round matrices the Frobenius norm does not certify, and only those, come back for the rho check
    np.testing.assert_array_equal(idx, np.flatnonzero(~(np.einsum("bij,bij->b", Phi, Phi) < 1)))
    assert np.allclose(Phi_k, Phi[idx], rtol=SOLVE_REL_TOL, atol=1e-14)
    fast = closed_forms.spectral_radius(Phi) < 0.5  # the iteration converges to rounding in 300 rounds
    assert fast.mean() > 0.5
    assert _rel(z[fast], _iterate(M[fast], c[fast], W[fast], mask[fast], 300)) <= ITERATION_REL_TOL


def test_batched_fixed_points_use_the_kernel_and_agree_with_the_small_batch_path(monkeypatch):
    M, c, W, mask = _batch(5, protocol_eval.KERNEL_MIN_BATCH + 7, 3, 4, 3)
    calls = []
    real = protocol_kernel.solve
    monkeypatch.setattr(protocol_kernel, "solve", lambda *a, **k: calls.append(1) or real(*a, **k))
    z = protocol_eval.fixed_points(M, c, W, mask)
    assert calls
    small = np.concatenate([protocol_eval.fixed_points(M[k:k + 50], c[k:k + 50], W[k:k + 50], mask[k:k + 50])
                            for k in range(0, M.shape[0], 50)])
    assert _rel(z, small) <= SOLVE_REL_TOL
    # one protocol shared by the whole batch (W, mask without batch axes)
    z1 = protocol_eval.fixed_points(M, c, W[0], mask[0], check=False)
    Phi, r = protocol_eval.round_map(M, c, W[0], mask[0])
    assert _rel(z1, np.linalg.solve(np.eye(12) - Phi, r[..., None])[..., 0].reshape(z1.shape)) <= SOLVE_REL_TOL


def test_kernel_agrees_with_the_real_agents_simulated():
    rng = np.random.default_rng(2024)
    worst = 0.0
    for K, d in [(2, 3), (3, 2), (4, 4), (5, 3), (3, 6)]:
        s = protocol_random.system(rng, K, d)
        M, c, W, mask = protocol_eval.system_arrays(s)
        z, _, bad = protocol_kernel.solve(M[None], c[None], W[None], mask[None])
        sim = simulate.run_protocol(s.agents, s.protocol, 400)[-1]
        assert bad == -1
        worst = max(worst, float(np.linalg.norm(z[0] - sim) / np.linalg.norm(sim)))
    assert worst <= AGREEMENT_REL_TOL


def test_kernel_errors_are_input_errors():
    M, c, W, mask = _batch(7, 300, 2, 2, 2)
    with pytest.raises(InputError, match="contraction rate"):
        protocol_eval.fixed_points(M * 40, c, W, mask)
    Mo = M.copy()
    Mo[217] *= 40  # one divergent system among certified ones
    protocol_eval.fixed_points(M, c, W, mask)
    with pytest.raises(InputError, match="contraction rate"):
        protocol_eval.fixed_points(Mo, c, W, mask)
    Mn = M.copy()
    Mn[123, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match="system 123"):
        protocol_eval.fixed_points(Mn, c, W, mask, check=False)
    # M = I and weights summing to 1: Phi has a fixed direction, I - Phi is singular
    Mi = np.broadcast_to(np.eye(2), M.shape).copy()
    Wi = np.zeros_like(W)
    Wi[..., 0, 1] = Wi[..., 1, 0] = 1.0
    mask1 = np.ones_like(mask)
    with pytest.raises(InputError, match="singular"):
        protocol_eval.fixed_points(Mi, c, Wi, mask1, check=False)


PLANTED = {
    "wrong block (weights transposed)": ("Wl[p, i, j, l] * G[", "Wl[p, j, i, l] * G["),
    "transfer transposed": ("Ml[i, a, e, l] * heard", "Ml[i, e, a, l] * heard"),
    "offset dropped after the first phase": ("new[i, a, n, l] += cl[i, a, l]", "new[i, a, n, l] += 0.0 * cl[i, a, l]"),
    "non-listeners overwritten": ("if ml[p, i, l]:", "if True:"),
}


def _run_source(edit):
    """The kernel's own source with one edit, run as Python: the same semantics as the compiled
    kernel, without a JIT compilation (10-20 s) per variant."""
    src = inspect.getsource(protocol_kernel._solve_batch.py_func)
    if edit is not None:
        assert src.count(edit[0]) == 1
        src = src.replace(*edit)
    ns = dict(vars(protocol_kernel))
    exec(compile(src[src.index("def "):], "<kernel source>", "exec"), ns)
    M, c, W, mask = _batch(11, 70, 3, 2, 3)
    z = np.empty((70, 3, 2))
    status = ns["_solve_batch"](M, c, W, mask, z, np.empty((0, 0, 0)), np.empty(0), False, protocol_kernel.LANES)
    Phi, r = protocol_eval.round_map(M, c, W, mask)
    bare = np.linalg.solve(np.eye(6) - Phi, r[..., None])[..., 0].reshape(z.shape)
    return status, _rel(z, bare)


def test_unedited_kernel_source_agrees_when_run_as_python():
    status, rel = _run_source(None)  # so that the planted failures below come from the edits alone
    assert status == -1 and rel <= SOLVE_REL_TOL


@pytest.mark.parametrize("name", list(PLANTED))
def test_agreement_rejects_planted_wrong_kernels(name):
    status, rel = _run_source(PLANTED[name])
    assert status == -1 and not rel <= SOLVE_REL_TOL, name
