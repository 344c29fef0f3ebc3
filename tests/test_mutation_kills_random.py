"""Power of R1's V6 over numerics.protocol.random_moments (what ``predict`` prints on a random
protocol): planted wrong variants of the module make the method fail.

Each variant is monkeypatched into the module for one run of the method (quick profile); the
unpatched method passes (first test). The variants are the kinds of mutant that survived the checks
before V6 compared noisy agents and numerics' iterative paths (docs/mutation.rst, the random-protocol moments).
"""
from __future__ import annotations

import numpy as np
import pytest

from numerics.protocol import random_moments as RM
from proofs_check.claims import r_random as R
from proofs_check.verification.registry import Profile

QUICK = Profile.named("quick")


def _fails(outcome) -> bool:
    # written so that NaN fails (nan <= tol is False), as the runner decides
    return not outcome.worst_error <= outcome.tolerance


def test_r1_v6_passes_on_the_module_as_shipped():
    assert not _fails(R.r1_v6(QUICK))


def _noise_without_propagation(M, S, rp):
    """Wrong: the noise of earlier phases is not carried through later phases (N = D_p of the last)."""
    K, d = M.shape[0], M.shape[-1]
    out = np.zeros((rp.n_alt, K * d, K * d))
    for k, alt in enumerate(rp.alternatives):
        W, mask = alt.weights()
        for p in range(W.shape[0]):
            D = np.zeros((K, d, K, d))
            for i in np.flatnonzero(mask[p]):
                D[i, :, i, :] = S[i]
            out[k] = D.reshape(K * d, K * d)
    return out


def _gmres_wrong_sign(T, Phi, C):
    """Wrong: the iterative solve of ``Q = T Q + C`` as ``Q = -T Q + C`` (the dense path untouched)."""
    m, n = C.shape[0], C.shape[-1]
    sign, solver = (-1.0, "dense") if m * n * n <= RM.DENSE_MAX_UNKNOWNS else (1.0, "gmres")
    x = np.linalg.solve(np.eye(m * n * n) + sign * RM._second_moment_matrix(T, Phi), C.ravel())
    return x.reshape(m, n, n), solver


_SOLVE = RM._solve_second


def _fallback_skips_the_solve(T, Phi, C):
    """Wrong: when GMRES does not converge (R1's V6 makes it fail) the fallback returns C unsolved."""
    if RM.ITERATIVE_RTOL == 0.0:
        return C, "dense"
    return _SOLVE(T, Phi, C)


_RADIUS = RM._radius_of_operator


def _radius_one_percent_low(apply, size):
    """Wrong: the iterative (ARPACK) radius 1 % low."""
    return 0.99 * _RADIUS(apply, size)


def _radius_fallback_broken(apply, size):
    """Wrong: when ARPACK fails (the zero operator) the radius is NaN instead of the dense fallback's."""
    from scipy.sparse.linalg import ArpackError

    try:
        from scipy.sparse.linalg import LinearOperator, eigs

        op = LinearOperator((size, size), matvec=apply, dtype=float)
        vals = eigs(op, k=min(6, size - 2), which="LM", v0=np.random.default_rng(0).standard_normal(size),
                    return_eigenvectors=False)
        return float(np.max(np.abs(vals)))
    except ArpackError:
        return float("nan")


def _noise_ignored(M, S, rp):
    """Wrong: the agents' noise never enters (N = 0)."""
    K, d = M.shape[0], M.shape[-1]
    return np.zeros((rp.n_alt, K * d, K * d))


@pytest.mark.parametrize("name, wrong", [
    ("noise_injection", _noise_without_propagation),
    ("noise_injection", _noise_ignored),
    ("_solve_second", _gmres_wrong_sign),
    ("_solve_second", _fallback_skips_the_solve),
    ("_radius_of_operator", _radius_one_percent_low),
    ("_radius_of_operator", _radius_fallback_broken),
])
def test_r1_v6_fails_on_a_planted_wrong_variant(monkeypatch, name, wrong):
    monkeypatch.setattr(RM, name, wrong)
    assert _fails(R.r1_v6(QUICK))


def test_r1_v6_fails_when_gmres_never_converges(monkeypatch):
    """Wrong: GMRES never reaches its tolerance (the numbers still come right through the dense
    fallback, but instances beyond the fallback's size would be refused)."""
    import scipy.sparse.linalg as spla

    monkeypatch.setattr(spla, "gmres", lambda op, b, **kw: (np.zeros_like(b), 1))
    assert _fails(R.r1_v6(QUICK))


def test_r1_v6_fails_when_the_second_moment_operator_is_applied_wrong(monkeypatch):
    """Wrong: the matrix-free second-moment operator (GMRES, ARPACK) applies Phi_k Q Phi_k, not Phi_k^T."""
    def wrong(T, Phi, Q):
        out = np.zeros_like(Q)
        for j in range(T.shape[0]):
            out += np.einsum("lk,kab->lab", T[:, j, :], Phi @ Q[j] @ Phi)
        return out

    monkeypatch.setattr(RM, "_second_apply", wrong)
    assert _fails(R.r1_v6(QUICK))


def test_r1_v6_fails_without_the_convergence_margin(monkeypatch):
    """Wrong: random_moments reports moments up to a rate of 1 (no CONVERGENCE_MARGIN)."""
    monkeypatch.setattr(RM, "CONVERGENCE_MARGIN", 0.0)
    assert _fails(R.r1_v6(QUICK))


def test_r1_v6_fails_on_a_nan_rate(monkeypatch):
    monkeypatch.setattr(RM, "_first_rate", lambda T, Phi: float("nan"))
    assert _fails(R.r1_v6(QUICK))
