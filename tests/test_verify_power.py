"""Issue 11: verification that cannot be fooled. Each test plants one wrong variant of the
code (a NaN, a wrong rate, a too-small e_B, a drifting helper, a trivial or unjustified proof)
and shows that the method that should catch it now fails.
"""
import sys

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from numerics.dynamics import closed_forms
from proofs_check.claims import all_claims
from proofs_check.verification import methods, runner
from proofs_check.verification.registry import PROFILES, Outcome
from theory.core import algebra

QUICK = PROFILES["quick"]
CLAIMS = {c.id: c for c in all_claims()}


def status(cid: str, method: str, profile=QUICK) -> dict:
    return runner.run_method(method, CLAIMS[cid].methods[method], profile)


def assert_fails(cid: str, method: str) -> dict:
    res = status(cid, method)
    assert res["status"] == "failed", (cid, method, res)
    return res


# ---- item 1: NaN or inf in any error fails its method --------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_outcome_with_non_finite_error_fails(bad):
    res = runner.run_method("V4", lambda p: Outcome(bad, 1.0, 1, "x"), QUICK)
    assert res["status"] == "failed" and "NON-FINITE" in res["detail"]


def test_finite_max_does_not_skip_nan():
    assert np.isnan(methods.finite_max([0.0, float("nan"), 1.0]))  # Python's max would return 1.0
    assert np.isnan(methods.finite_max([]))
    assert methods.worst([1e-12, float("nan")], 1e-9, "").worst_error != methods.worst([1e-12], 1e-9, "").worst_error


def _nan_for_d3(true_fn, dims=(3,)):
    def planted(*args, **kwargs):
        out = true_fn(*args, **kwargs)
        if args[0].shape[-1] in dims:
            out = tuple(np.full_like(o, np.nan) for o in out) if isinstance(out, tuple) else np.full_like(out, np.nan)
        return out
    return planted


def test_nan_in_v1_fails(monkeypatch):
    monkeypatch.setattr(algebra.FreeAlgebra, "reduce", lambda self, expr: sp.nan)
    assert_fails("C2", "V1")


def test_nan_in_v2_v3_fails(monkeypatch):
    assert methods.explicit_zero([("planted", sp.Matrix([[0, sp.nan]]))]).worst_error > 0
    from theory.core import model
    true = model.explicit
    monkeypatch.setattr(model, "explicit", lambda *a, **k: true(*a, **k) * sp.nan)
    assert_fails("C2", "V2")
    true_eval = model.evaluate
    monkeypatch.setattr(model, "evaluate", lambda *a, **k: true_eval(*a, **k) * sp.nan)
    assert_fails("C5", "V3")


def test_nan_in_v4_and_v6_fails(monkeypatch):
    """Before: a bias_maps that returns NaN for d = 3 passed C3 V6."""
    monkeypatch.setattr(closed_forms, "bias_maps", _nan_for_d3(closed_forms.bias_maps))
    assert_fails("C3", "V4")
    res = assert_fails("C3", "V6")
    assert res["worst_error"] is None  # NaN, reported as null, never a number under the bar


def test_nan_in_v5_fails(monkeypatch):
    from proofs_check.verification import precise_cases
    true = precise_cases.per_direction
    monkeypatch.setattr(precise_cases, "per_direction", lambda case, g: true(case, g) * mp.nan)
    assert_fails("C2", "V5")


def test_nan_in_v8_fails(monkeypatch):
    pytest.importorskip("control")
    monkeypatch.setattr(closed_forms, "fixed_points", _nan_for_d3(closed_forms.fixed_points))
    assert_fails("C2", "V8")
    monkeypatch.setattr(closed_forms, "contraction_rate", _nan_for_d3(closed_forms.contraction_rate, dims=(2, 3, 4)))
    assert_fails("C1", "V8")


# ---- item 2: C1's rate is checked from both sides, V8 is an independent witness ------------
def _rates():
    norm2 = lambda M: np.linalg.norm(M[..., 0, :, :] @ M[..., 1, :, :], ord=2, axis=(-2, -1))  # noqa: E731
    return {
        "1.3 rho": lambda M: 1.3 * closed_forms.spectral_radius(M[..., 0, :, :] @ M[..., 1, :, :]),
        "||M_A M_B||_2": norm2,
        "max(rho(M_A), rho(M_B))": lambda M: np.maximum(closed_forms.spectral_radius(M[..., 0, :, :]),
                                                         closed_forms.spectral_radius(M[..., 1, :, :])),
    }


@pytest.mark.parametrize("name", list(_rates()))
def test_overestimated_rate_fails_c1(monkeypatch, name):
    """Before: all three wrong rates passed C1 V6 (the excess over rho was clipped at 0)."""
    monkeypatch.setattr(closed_forms, "contraction_rate", _rates()[name])
    for method in ("V4", "V6", "V8") if name == "1.3 rho" else ("V4", "V8"):
        if method == "V8":
            pytest.importorskip("control")
        assert_fails("C1", method)


# ---- item 3: C16 compares e_B with its exact value -----------------------------------------
@pytest.mark.parametrize("factor", [0.2, 0.9])
def test_too_small_e_B_fails_c16(monkeypatch, factor):
    """Before: an e_B up to 5 times too small passed (only the bound was checked)."""
    from proofs_check.claims import c8_adversarial as mod
    true = mod.plateaus
    monkeypatch.setattr(mod, "plateaus", lambda *a, **k: (true(*a, **k)[0], factor * true(*a, **k)[1]))
    assert_fails("C16", "V4")
    assert_fails("C16", "V6")


# ---- item 4: C14 is exact at every round from d+2 on ---------------------------------------
def test_helper_drifting_after_round_d2_fails_c14(monkeypatch):
    """Before: a helper drifting by 0.5 after round d+2 passed (only round d+2 was checked)."""
    from numerics.interventions.helper_policies import IdentificationPolicy
    true = IdentificationPolicy.message

    def drifting(self, u):
        out = true(self, u)
        return out + 0.5 if len(self.replies) > len(self.probes) else out

    monkeypatch.setattr(IdentificationPolicy, "message", drifting)
    assert_fails("C14", "V4")


# ---- items 7, 8: V1 proofs are non-trivial and every factor is justified -------------------
def _recorded_v1_proofs(monkeypatch, cid):
    seen = []
    true = algebra.prove

    def recording(*args, **kwargs):
        proof = true(*args, **kwargs)
        # the steps of a printed derivation (L1, L1b check theirs in V1) include pure rearrangements,
        # e.g. "block multiplication", equal as built: those are derivations.check's, not the claim's proofs
        if sys._getframe(1).f_globals.get("__name__") != "theory.derivations":
            seen.append(proof)
        return proof

    monkeypatch.setattr(algebra, "prove", recording)
    res = status(cid, "V1")
    return res, seen


# (the protocol claims P1-P5 and the random-protocol claims R1-R4 prove with the protocol compiler's own
# checks, not this prover)
@pytest.mark.parametrize("cid", [c.id for c in all_claims() if "V1" in c.methods and not c.id.startswith(("P", "R"))])
def test_v1_proofs_are_not_trivial_and_name_their_hypotheses(monkeypatch, cid):
    """Before: C9's V1 proved I = I, C18's [M | c] = [M | c] and C12's n = n."""
    res, proofs = _recorded_v1_proofs(monkeypatch, cid)
    assert res["status"] == "passed", res
    assert proofs
    for p in proofs:
        assert not p.trivial and p.checked
        for factor, hypothesis in p.justified:
            assert hypothesis in CLAIMS[cid].hypotheses, (cid, factor, hypothesis)


def test_trivial_proof_fails_v1():
    R = sp.MatrixSymbol("R", 3, 3)
    out = methods.free_proofs([("I = I", algebra.prove(sp.Inverse(R * R) * (R * R), sp.Identity(3), invertible={}))])
    assert out.worst_error > out.tolerance and "trivial" in out.detail


def test_c9_proof_needs_orthonormal_columns(monkeypatch):
    """Dropping the hypothesis U^T U = I from C9's proof must make it fail (it is used)."""
    true = algebra.prove

    def without_orthonormality(*args, **kwargs):
        kwargs["relations"] = {k: v for k, v in (kwargs.get("relations") or {}).items() if "orthonormal" not in k}
        return true(*args, **kwargs)

    monkeypatch.setattr(algebra, "prove", without_orthonormality)
    assert_fails("C9", "V1")


def test_report_lists_factors_and_power():
    res = status("C2", "V1")
    assert "1 - M_A*M_B [I - M_A M_B invertible" in res["detail"]
    assert res["power"]


# ---- item 5: L2's label-noise term is visible to V4 ----------------------------------------
def test_gamma_star_without_label_noise_term_fails_l2_v4(monkeypatch):
    """Before: removing sigma^2/tau^2 from Gamma* passed V4 (0.28 standard errors)."""
    from numerics.lsa import training as lsa_training
    from theory.lsa import agent as lsa
    true_np, true_sym = lsa_training.gamma_star, lsa.gamma_star
    monkeypatch.setattr(lsa_training, "gamma_star", lambda S, N, tau, sigma: true_np(S, N, tau, 0.0))
    assert_fails("L2", "V4")
    monkeypatch.setattr(lsa_training, "gamma_star", true_np)
    monkeypatch.setattr(lsa, "gamma_star", lambda S, n=lsa.Ns, t=lsa.tau, s=lsa.sigma: true_sym(S, n, t, 0))
    assert_fails("L2", "V4")
    monkeypatch.setattr(lsa, "gamma_star", true_sym)
    assert status("L2", "V4")["status"] == "passed"


# ---- item 9: bars from error analysis; honest interval coverage -----------------------------
def test_c18_bars_catch_small_fit_errors_and_narrow_intervals(monkeypatch):
    """Before: the exact-fit bar was 1e-6 (errors ~1e-12) and 25% misses at nominal 95% passed."""
    from numerics.fit import fitting
    true_ls, true_iv = fitting.least_squares_map, fitting.map_interval
    monkeypatch.setattr(fitting, "least_squares_map",
                        lambda W, Y: tuple(x * (1 + 1e-9) for x in true_ls(W, Y)))  # 1e-9 relative error
    assert_fails("C18", "V4")
    monkeypatch.setattr(fitting, "least_squares_map", true_ls)

    def narrow(W, Y, level=0.95):  # intervals 30% too narrow: coverage ~85% at nominal 95%
        iv = true_iv(W, Y, level)
        mid, half = (iv.low + iv.high) / 2, (iv.high - iv.low) / 2
        return fitting.Interval(mid - 0.7 * half, mid + 0.7 * half)

    monkeypatch.setattr(fitting, "map_interval", narrow)
    assert_fails("C18", "V4")

    def wide(W, Y, level=0.95):  # over-wide intervals (~99.9% coverage) are not honest either
        return true_iv(W, Y, 0.999)

    monkeypatch.setattr(fitting, "map_interval", wide)
    assert_fails("C18", "V4")


# ---- item 6: V4 covers the code predict/simulate use ---------------------------------------
def test_gdagent_M_ignoring_steps_fails_verify(monkeypatch):
    """Before: a GDAgent.M wrong for steps > 1 passed verify (C7's V4 built M^s itself)."""
    from numerics.agents.gd import AffineDescription
    monkeypatch.setattr(AffineDescription, "M", property(
        lambda self: np.eye(self.d) - self.steps * self.Gamma @ self.geometry.H))  # I - s Gamma H
    assert_fails("C7", "V4")
    assert_fails("C17", "V4")
    assert_fails("C2", "V4")


def test_reversed_product_order_in_contraction_rate_fails_verify(monkeypatch):
    """Before: reversing the product order in closed_forms.contraction_rate passed verify."""
    def reversed_order(M):
        K = M.shape[-3]
        J = M[..., 0, :, :]
        for j in range(1, K):
            J = J @ M[..., j, :, :]
        return closed_forms.spectral_radius(J)

    monkeypatch.setattr(closed_forms, "contraction_rate", reversed_order)
    assert_fails("C17", "V4")


def test_config_systems_are_what_users_write():
    from proofs_check.verification.instances import config_system
    system = config_system(np.random.default_rng(0), 3, 3)
    assert len(system.agents) == 3
    assert any(not np.allclose(a.Gamma, a.Gamma[0, 0] * np.eye(3)) for a in system.agents)  # matrix preconditioners


def test_nan_in_v7_second_error_fails(monkeypatch):
    """V7 took Python's ``max`` of [A, B]: a NaN for B behind a finite A passed. Both V7 outcomes now fail."""
    from numerics.lsa import trained_pair
    from proofs_check.verification import v7_trained

    monkeypatch.setattr(trained_pair.TrainedPair, "plateau_errors", lambda self: [1e-4, float("nan")])
    assert runner.run_method("V7", v7_trained.v7_plateau, QUICK)["status"] == "failed"
    monkeypatch.setattr(v7_trained, "gamma_errors", lambda results, with_noise_term=True: [1e-4, float("nan")])
    assert runner.run_method("V7", v7_trained.v7_gamma_star, QUICK)["status"] == "failed"
