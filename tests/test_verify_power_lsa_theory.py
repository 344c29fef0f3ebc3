"""Checks of L1, L1b and L2 strengthened after ``make mutation`` found survivors in theory/lsa/agent.py
(docs/mutation.rst). Each test plants one wrong variant and shows the method that should catch it
fails; the unplanted methods pass in tests/test_registry.py."""
import dataclasses as dc

import pytest
import sympy as sp

from proofs_check.claims import all_claims
from proofs_check.verification import runner
from proofs_check.verification.registry import PROFILES
from theory import derivations as dv
from theory.lsa import agent as lsa

QUICK = PROFILES["quick"]
CLAIMS = {c.id: c for c in all_claims()}


def status(cid: str, method: str) -> dict:
    return runner.run_method(method, CLAIMS[cid].methods[method], QUICK)


def plant(monkeypatch, fid: str, **changes) -> None:
    formulas = [dc.replace(f, **changes) if f.id == fid else f for f in lsa.FORMULAS]
    assert any(f.id == fid for f in formulas)
    monkeypatch.setattr(lsa, "FORMULAS", formulas)


def test_unplanted_methods_pass():
    for cid, method in (("L1", "V1"), ("L1b", "V1"), ("L2", "V2")):
        assert status(cid, method)["status"] == "passed", (cid, method)


@pytest.mark.parametrize("wrong", ["sign", "lhs shape"])
def test_wrong_registered_gd_readout_fails_l1_v1(monkeypatch, wrong):
    if wrong == "sign":
        plant(monkeypatch, "L1.gd_readout", rhs=-lsa.gd_step)
    else:
        plant(monkeypatch, "L1.gd_readout", lhs=sp.MatrixSymbol("w' - w", lsa.d, 2))
    res = status("L1", "V1")
    assert res["status"] == "failed", res


def test_registered_general_map_without_q_yx_term_fails_l1b_v1(monkeypatch):
    dropped = lsa.Q_xx.T * (lsa.b - lsa.H * lsa.w) * lsa.p_y + lsa.Q_xx.T * lsa.H * lsa.p_x
    plant(monkeypatch, "L1b.general_map", rhs=dropped)
    assert status("L1b", "V1")["status"] == "failed"


def test_wrong_block_in_printed_l1b_derivation_fails_v1(monkeypatch):
    # the token matrix C of the printed derivation with X^T X in the corner of r^T r
    X, r = lsa.X, lsa.r_sym
    C = sp.BlockMatrix([[X.T * X, X.T * r], [r.T * X, r.T * r + r.T * X * X.T * r]])
    wrong = sp.MatMul(sp.Rational(1) / lsa.N, lsa.GENERAL_Q, C, lsa.GENERAL_P, evaluate=False)
    chains = [dc.replace(c, steps=((wrong, c.steps[0][1]), (sp.block_collapse(wrong), c.steps[1][1])) + c.steps[2:])
              if c.claim == "L1b" else c for c in dv.CHAINS]
    monkeypatch.setattr(dv, "CHAINS", chains)
    res = status("L1b", "V1")
    assert res["status"] == "failed" and "derivation" in res["detail"], res


def test_printed_l1_derivation_with_wrong_scale_fails_v1(monkeypatch):
    chains = [dc.replace(c, steps=((2 * c.steps[0][0], c.steps[0][1]),) + c.steps[1:]) if c.claim == "L1" else c
              for c in dv.CHAINS]
    monkeypatch.setattr(dv, "CHAINS", chains)
    assert status("L1", "V1")["status"] == "failed"


@pytest.mark.parametrize("wrong", ["tau**3", "minus trace", "(N+1)*N", "Sigma**"])
def test_wrong_registered_gamma_star_fails_l2_v2(monkeypatch, wrong):
    N, S, d, s, t = lsa.N, lsa.Sigma, lsa.d, lsa.sigma, lsa.tau
    I = sp.Identity(d)
    inner = {"tau**3": (N + 1) / N * S + (sp.Trace(S) + s**2 / t**3) / N * I,
             "minus trace": (N + 1) / N * S + (-sp.Trace(S) + s**2 / t**2) / N * I,
             "(N+1)*N": (N + 1) * N * S + (sp.Trace(S) + s**2 / t**2) / N * I,
             "Sigma**": (N + 1) / N * S ** 2 + (sp.Trace(S) + s**2 / t**2) / N * I}[wrong]
    plant(monkeypatch, "L2.gamma_star", rhs=sp.Inverse(inner))
    assert status("L2", "V2")["status"] == "failed"


def test_wrong_registered_gamma_star_scalar_fails_l2_v2(monkeypatch):
    # the d = 1 formula without the label-noise term
    s, n = lsa.s_1, lsa.Ns
    plant(monkeypatch, "L2.gamma_star_scalar", rhs=1 / ((n + 1) / n * s + s / n))
    assert status("L2", "V2")["status"] == "failed"


def test_registered_n_without_positivity_fails_l2_v2(monkeypatch):
    # N an integer that may be 0 or negative: the matrix Gamma* inverts is no longer positive definite
    f = {f.id: f for f in lsa.FORMULAS}["L2.gamma_star"]
    plant(monkeypatch, "L2.gamma_star", rhs=f.rhs.xreplace({lsa.N: sp.Symbol("N", integer=True)}))
    res = status("L2", "V2")
    assert res["status"] == "failed", res


@pytest.mark.parametrize("name", ["s_1", "tau", "Ns"])
def test_symbols_without_the_claims_hypotheses_fail_l2_v2(monkeypatch, name):
    # Sigma = s, tau or N without positivity: R is not provably strictly convex in d = 1
    monkeypatch.setattr(lsa, name, sp.Symbol(str(getattr(lsa, name)), real=True))
    res = status("L2", "V2")
    assert res["status"] == "failed", res


def test_wick_odd_moments_vanish():
    # textbook: every odd moment of a zero-mean Gaussian vector is 0; E[x^4] = 3 v^2, E[x^2 y^2] = v_x v_y + 2 c^2
    x, y, z = sp.symbols("x y z")
    v, c = {x: 2, y: 3, z: 5}, sp.Rational(1, 2)

    def cov(u, w):
        return v[u] if u == w else c
    assert lsa.wick_expectation(x**3 + x * y * z + y**5, [x, y, z], cov) == 0
    assert lsa.wick_expectation(x**4, [x, y, z], cov) == 12
    assert lsa.wick_expectation(x**2 * y**2, [x, y, z], cov) == 6 + 2 * c**2


def test_gamma_star_with_a_matrix_power_fails_l2_v2_on_diagonal_sigma(monkeypatch):
    # ((N+1)/N) Sigma^(tr Sigma + sigma^2/tau^2) / N: at a general symmetric 2x2 Sigma the matrix power
    # and its inverse ran past the mutation session's CPU limit; V2 now stops at the diagonal cases.
    def planted(S, n=lsa.Ns, t=lsa.tau, s=lsa.sigma):
        return ((n + 1) / n * S ** (S.trace() + s**2 / t**2) / n * sp.eye(S.rows)).inv()
    monkeypatch.setattr(lsa, "gamma_star", planted)
    res = status("L2", "V2")
    assert res["status"] == "failed" and "d=1, diagonal Sigma" in res["detail"], res
    assert "general symmetric" not in res["detail"], res


def test_risk_not_quadratic_in_gamma_fails_l2_v2(monkeypatch):
    # (sigma^2/N) / tr(S G S G^T) instead of times: solving its stationarity ran past the mutation
    # session's CPU limit; L2 is a quadratic risk, so V2 first checks that stationarity is linear.
    true_risk = lsa.risk

    def planted(G, S, n=lsa.Ns, t=lsa.tau, s=lsa.sigma):  # the noiseless risk plus the wrong noise term
        return true_risk(G, S, n, t, 0) + s**2 / n / (S * G * S * G.T).trace()
    monkeypatch.setattr(lsa, "risk", planted)
    res = status("L2", "V2")
    assert res["status"] == "failed" and "not linear in Gamma for d=1" in res["detail"], res
