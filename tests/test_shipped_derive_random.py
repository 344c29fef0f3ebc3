"""``a2ad derive --protocol`` on a random protocol: R1's and R3's VS pass on the package and FAIL on planted
wrong variants of the printed derivation (issue 22, item 4; proofs_check/verification/shipped_derive_random.py).

The variants are planted with monkeypatch in the code the user's command runs (theory/protocol/random_report.py,
random_compiler.py); the method runs at the quick profile, in this process.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from proofs_check.verification import shipped_derive_random as S
from proofs_check.verification.registry import PROFILES

QUICK = PROFILES["quick"]


def passes(out) -> bool:
    return (not math.isnan(out.worst_error)) and out.worst_error <= out.tolerance


def test_random_derive_passes_on_the_package():
    out = S.random_derive_method(S.QUICK_CASES, S.FULL_CASES)(QUICK)
    assert passes(out), out.detail
    for field in ("round map Phi_k", "stationary mean", "fixed_points weights G", "deviation d_k",
                  "second-moment map", "printed rates", "printed Stein equation", "latex means and residuals"):
        assert f"{field} " in out.detail  # every object was read


def test_registered_as_r1_and_r3_vs():
    from proofs_check.claims.r_random import CLAIMS

    vs = {c.id: c.methods.get("VS") for c in CLAIMS}
    assert vs["R1"] is not None and vs["R3"] is not None


def test_flipped_sign_in_the_printed_stein_equation_fails(monkeypatch):
    from theory.protocol import random_report as RR

    monkeypatch.setitem(RR.STEIN_LATEX, False, RR.STEIN_LATEX[False].replace(r"+ \psi_k - \mu", r"- \psi_k - \mu"))
    out = S.random_derive_method([S.INDEPENDENT], [])(QUICK)
    assert not passes(out)
    assert "printed Stein equation" in out.detail


def test_wrong_probability_weight_in_the_mean_fails(monkeypatch):
    from theory.protocol import random_compiler as RC

    real = RC._scaled_sum
    monkeypatch.setattr(RC, "_scaled_sum", lambda mats, coeffs: real(mats, tuple(reversed(coeffs))))
    out = S.random_derive_method([S.INDEPENDENT], [])(QUICK)
    assert not passes(out)


def test_formula_reads_the_block_operator():
    """The statement evaluator: a chain's mean-square rate as printed equals the spectral radius of its blocks."""
    rng = np.random.default_rng(0)
    Phis = [rng.standard_normal((2, 2)) * 0.3 for _ in range(2)]
    P = np.array([[0.3, 0.7], [0.8, 0.2]])
    want = np.block([[P[j, lo] * np.kron(Phis[j], Phis[j]) for j in range(2)] for lo in range(2)])
    env = {"Phi": Phis, "P": P, "rho_ms": float(np.max(np.abs(np.linalg.eigvals(want)))) ** 0.5}
    fm = S.Formula(env, 2)
    lhs, rhs, bound = fm.parse(S._plain_formula(r"\rho_{\mathrm{ms}} = \rho\Big(\big[P_{jl}\, \Phi_j \otimes "
                                                r"\Phi_j\big]_{l,j}\Big)^{1/2} < 1")[0])
    assert bound == 1.0
    assert fm.value(rhs, {}) == pytest.approx(fm.value(lhs, {}), rel=1e-12)
