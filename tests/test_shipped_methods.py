"""The shipped-path methods (VS) pass on the package and FAIL on each planted wrong variant (issue 22, item 4).

Each variant is what a user would otherwise receive with verify still passing: a protocol config's rate
that is not the protocol's, ``--precision`` right to 17 digits only, a flipped residual sign, a wrong
batched fixed point above the kernel threshold, a wrong registered C2 / C3 / C7 / C11 / C18 formula.
Variants are planted with monkeypatch in the code the user's command runs; the method is run at the
quick profile, in this process (the commands run in-process through the a2ad entry point).
"""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from proofs_check.claims import all_claims
from proofs_check.verification import shipped
from proofs_check.verification.registry import PROFILES
from proofs_check.verification.shipped_formulas import formulas_method

QUICK = PROFILES["quick"]


def passes(out) -> bool:
    return (not math.isnan(out.worst_error)) and out.worst_error <= out.tolerance


def protocol_docs():
    return shipped.documents_method(11, (2, 4), True)


def pair_docs():
    return shipped.documents_method(12, (2, 2), False)


# ---------------------------------------------------------------- the package passes
def protocol_methods():
    """The protocol engine's shapes, divergence reasons and exact --precision (P1's and C17's VS parts)."""
    from proofs_check.verification import shipped_exact, shipped_protocol, shipped_reasons

    return {"shapes P1": shipped_protocol.shapes_method(shipped_protocol.NAMED_SHAPES, 41, True),
            "shapes C17": shipped_protocol.shapes_method(shipped_protocol.RR_SHAPES, 42, False),
            "reasons P1": shipped_reasons.reasons_method(True), "reasons C17": shipped_reasons.reasons_method(False),
            "exact P1": shipped_exact.exact_method(True), "exact C17": shipped_exact.exact_method(False)}


@pytest.mark.parametrize("name", list(protocol_methods()))
def test_protocol_methods_pass_on_the_package(name):
    out = protocol_methods()[name](QUICK)
    assert passes(out), out.detail
    assert out.instances >= 3


@pytest.mark.parametrize("method", [protocol_docs(), pair_docs(), shipped.precise_method(14), shipped.kernel_method],
                         ids=["protocol documents", "pair documents", "precision", "kernel"])
def test_methods_pass_on_the_package(method):
    out = method(QUICK)
    assert passes(out), out.detail
    assert out.instances >= 2


def test_every_claim_with_formulas_read_by_a_method_names_a_registered_one():
    from theory.core.formulas import VERIFIED_BY, all_formulas

    claims = {c.id: c for c in all_claims()}
    formulas = all_formulas()
    for fid, named in VERIFIED_BY.items():
        assert fid in formulas, fid
        claim, method = named.split()
        assert claim == formulas[fid].claim and method in claims[claim].methods, (fid, named)


def test_macros_name_the_method_beside_passed(monkeypatch):
    from proofs_check.report.latex import macros_tex
    from theory.core import formulas

    text = macros_tex({"C7": "passed", "C12": "passed", "C2": "failed"})
    assert "C7.s_steps" in text and "verification: passed (C7 VS reads this formula)" in text
    assert "C2.fixed_point_A" in text and "verification: failed" in text
    assert "no method reads" not in text  # every registered formula is read by a method
    monkeypatch.delitem(formulas.VERIFIED_BY, "C12.newton_error")
    assert "verification: claim passed; no method reads this formula" in macros_tex({"C12": "passed"})


# ---------------------------------------------------------------- planted wrong variants
def test_rate_not_the_protocols_fails(monkeypatch):
    from numerics.dynamics import closed_forms
    from numerics.protocol import engine

    orig = engine.evaluate_float

    def round_robin_rate(M, c, protocol):  # the rate of the agents in list order, whatever the protocol
        rho, z = orig(M, c, protocol)
        return float(closed_forms.contraction_rate(M)), z

    monkeypatch.setattr(engine, "evaluate_float", round_robin_rate)
    out = protocol_docs()(QUICK)
    assert not passes(out) and "contraction_rate" in out.detail


def test_residual_sign_flipped_fails(monkeypatch):
    from numerics.protocol import prediction

    orig = prediction.agent_entries

    def flipped(names, targets, fixed_points, fmt, norm):
        out = orig(names, targets, fixed_points, fmt, norm)
        for e in out.values():
            if e["residual"] is not None:
                e["residual"] = [-x for x in e["residual"]]
        return out

    monkeypatch.setattr(prediction, "agent_entries", flipped)
    out = pair_docs()(QUICK)
    assert not passes(out) and out.worst_error > 1e8


def test_precise_right_to_17_digits_fails(monkeypatch):
    from numerics.protocol import engine

    orig = engine.evaluate_precise

    def float64_weights(Ms, cs, protocol):  # the listening weights taken as float64 (17 digits)
        rho, z = orig(Ms, cs, protocol)
        if z is not None and any(w != 1.0 for ph in protocol.phases for _, row in ph for _, w in row):
            z = [mp.matrix([mp.mpf(float(x)) for x in v]) for v in z]
        return rho, z

    monkeypatch.setattr(engine, "evaluate_precise", float64_weights)
    out = shipped.precise_method(14)(QUICK)
    assert not passes(out) and "fixed_point" in out.detail


def test_kernel_wrong_above_threshold_fails(monkeypatch):
    from numerics.protocol import evaluate

    orig = evaluate._fixed_points_kernel
    monkeypatch.setattr(evaluate, "_fixed_points_kernel", lambda *a, **k: orig(*a, **k) * (1 + 1e-7))
    out = shipped.kernel_method(QUICK)
    assert not passes(out) and "above" in out.detail


def test_kernel_certificate_all_undecided_fails(monkeypatch):
    """``kernel.solve`` sending every system to the exact test (a wrong Frobenius sum): the output stays right,
    the certificate check names it."""
    from numerics.protocol import evaluate, kernel

    orig = kernel.solve

    def all_undecided(M, c, W, mask, want_phi=False):
        z, undecided, bad = orig(M, c, W, mask, want_phi)
        if not want_phi or bad >= 0:
            return z, undecided, bad
        return z, (np.arange(M.shape[0]), evaluate.round_map(M, c, W, mask)[0]), bad

    monkeypatch.setattr(kernel, "solve", all_undecided)
    out = shipped.kernel_method(QUICK)
    assert not passes(out) and "undecided systems" in out.detail


def test_kernel_unchecked_singular_accepted_fails(monkeypatch):
    """``fixed_points(check=False)`` returning a number for a singular ``I - Phi`` instead of refusing it."""
    from numerics.protocol import kernel

    orig = kernel.solve
    monkeypatch.setattr(kernel, "solve", lambda *a, **k: (lambda z, u, bad: (np.nan_to_num(z), u, -1))(*orig(*a, **k)))
    with np.errstate(all="ignore"):
        out = shipped.kernel_method(QUICK)
    assert not passes(out) and "I - Phi singular, check=False" in out.detail


def test_kernel_interpreted_out_of_bounds_fails(monkeypatch):
    """The kernel's loops reading past the batch (a spare lane gathering a system that does not exist)."""
    from numerics.protocol import kernel

    loops = kernel._solve_batch.py_func

    def past_the_end(M, c, W, mask, z, Phi, fro, want_phi, L):
        M[M.shape[0] + L - 1]  # what a spare lane reads when it gathers system s0 + l past the batch
        return loops(M, c, W, mask, z, Phi, fro, want_phi, L)

    monkeypatch.setattr(kernel._solve_batch, "py_func", past_the_end)
    out = shipped.kernel_method(QUICK)
    assert not passes(out) and "IndexError" in out.detail


def _plant_formula(monkeypatch, fid: str, rhs):
    from theory.core import formulas as F

    orig = F.all_formulas

    def planted():
        out = dict(orig())
        f = out[fid]
        out[fid] = F.Formula(f.claim, f.name, f.lhs, rhs(f.rhs), f.description)
        return out

    monkeypatch.setattr(F, "all_formulas", planted)


def _swap_product(expr):
    """A wrong formula: the first product's factors in the other order (non-commuting matrices)."""
    square = lambda a: isinstance(a, sp.MatrixExpr) and a.shape[0] == a.shape[1]  # noqa: E731
    mul, k = next((m, k) for m in sp.preorder_traversal(expr) if isinstance(m, sp.MatMul)
                  for k in range(len(m.args) - 1) if square(m.args[k]) and square(m.args[k + 1])
                  and m.args[k] != m.args[k + 1])
    args = list(mul.args)
    args[k], args[k + 1] = args[k + 1], args[k]
    return expr.xreplace({mul: sp.MatMul(*args)})


WRONG = [
    ("C7.s_steps", lambda e: e.subs(sp.Symbol("s"), sp.Symbol("s") + 1)),  # one step too many
    ("C7.limit_residual_B", lambda e: -e),
    ("C18.implied_target", lambda e: e.xreplace({sp.MatrixSymbol("Mhat", *e.shape[:1] * 2): -sp.MatrixSymbol(
        "Mhat", *e.shape[:1] * 2)})),
    ("C18.least_squares_map", lambda e: e.xreplace({sp.MatrixSymbol("Y", *e.args[0].shape): 2 * e.args[0]})),
    ("C2.fixed_point_A", _swap_product),
    ("C3.residual_B", lambda e: -e),
    ("C3.bias_map_A", _swap_product),
    ("C11.steering_target", lambda e: e.replace(lambda x: isinstance(x, (sp.Inverse, sp.MatPow)),
                                                lambda x: x.args[0])),  # M_B^{-1} dropped to M_B
    ("C1.round_map_B", _swap_product),
    ("C1.contraction_rate", lambda e: e.func(e.args[0].args[0])),  # rho(M_A): the pair's factor B dropped
    ("C12.newton_error", lambda e: e.subs(sp.Symbol("alpha"), 2 * sp.Symbol("alpha"))),
    ("C12.helper_relabel", lambda e: e.replace(lambda x: isinstance(x, (sp.Inverse, sp.MatPow)),
                                               lambda x: x.args[0])),  # K_B^{-1} dropped to K_B
    ("C13.inexact_newton_error", lambda e: e.replace(lambda x: isinstance(x, (sp.Inverse, sp.MatPow)),
                                                     lambda x: x.args[0])),  # Hhat^{-1} dropped to Hhat
]


@pytest.mark.parametrize("fid, wrong", WRONG, ids=[w[0] for w in WRONG])
def test_wrong_registered_formula_fails_its_named_method(monkeypatch, fid, wrong):
    from theory.core.formulas import VERIFIED_BY, all_formulas

    f = all_formulas()[fid]
    planted = wrong(f.rhs)
    assert planted != f.rhs
    claim, method = VERIFIED_BY[fid].split()
    assert method == "VS"
    ids = tuple(k for k, v in VERIFIED_BY.items() if v == VERIFIED_BY[fid])
    assert passes(formulas_method(ids)(QUICK))
    _plant_formula(monkeypatch, fid, wrong)
    out = formulas_method(ids)(QUICK)
    assert not passes(out) and fid in out.detail


def test_registered_vs_slot_reads_the_formula(monkeypatch):
    """The claim's own VS slot (not only a method built here) fails on a wrong C7 formula."""
    _plant_formula(monkeypatch, "C7.limit_residual_B", lambda e: -e)
    c7 = next(c for c in all_claims() if c.id == "C7")
    assert not passes(c7.methods["VS"](QUICK))


def test_reference_simulation_is_independent_of_the_package():
    """The references import nothing of numerics or theory (a simulation never calls the closed form)."""
    import ast
    from pathlib import Path

    from proofs_check.verification import shipped_reference

    tree = ast.parse(Path(shipped_reference.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(m.startswith(("numerics", "theory", "proofs_check")) for m in names), names
    assert np.isfinite(1.0)


# ---------------------------------------------------------------- derive --protocol
def p2_derive():
    from proofs_check.verification.shipped_derive import GALLERY, derive_method

    return derive_method({"P2": GALLERY["P2"]}, every_format=True)


def test_derive_passes_on_the_package():
    from proofs_check.verification.shipped_derive import DENSE, derive_method

    assert passes(p2_derive()(QUICK))
    out = derive_method({"dense": DENSE})(QUICK)  # the Schur path: Phi_{i,j}, r_{i,j}, U^(k) definitions
    assert passes(out), out.detail


def test_latex_rate_without_its_root_fails(monkeypatch):
    from theory.protocol import report

    orig = report.as_latex
    monkeypatch.setattr(report, "as_latex", lambda doc, *a, **k: orig(doc, *a, **k).replace("^{1/2}", ""))
    out = p2_derive()(QUICK)
    assert not passes(out) and "latex states the rate" in out.detail


def test_rate_statement_without_root_everywhere_fails(monkeypatch):
    from theory.protocol import report

    orig = report.derived_theory

    def rootless(cp, steps=None):
        doc = orig(cp, steps)
        doc["rate"]["latex"] = doc["rate"]["latex"].replace("^{1/2}", "")
        return doc

    monkeypatch.setattr(report, "derived_theory", rootless)
    out = p2_derive()(QUICK)
    assert not passes(out) and "rate statement" in out.detail


def test_wrong_printed_fixed_point_fails(monkeypatch):
    from theory.protocol import report

    orig = report.derived_theory

    def swapped(cp, steps=None):  # A's fixed point printed with M_B where the derivation has M_A
        doc = orig(cp, steps)
        fp = doc["fixed_points"]["A"]
        fp["text"] = fp["text"].replace("M_A", "M_TMP").replace("M_B", "M_A").replace("M_TMP", "M_B")
        return doc

    monkeypatch.setattr(report, "derived_theory", swapped)
    out = p2_derive()(QUICK)
    assert not passes(out) and "fixed_point" in out.detail


def test_text_format_sign_flip_fails(monkeypatch):
    from theory.protocol import report

    orig = report.as_text

    def flipped(doc):  # B's residual line printed with the opposite sign: e_B = ... = -(...)
        lines = orig(doc).splitlines()
        k = next(i for i, line in enumerate(lines) if line.startswith("e_B = "))
        head, _, expr = lines[k].rpartition(" = ")
        lines[k] = f"{head} = -({expr})"
        return "\n".join(lines)

    monkeypatch.setattr(report, "as_text", flipped)
    out = p2_derive()(QUICK)
    assert not passes(out) and "text format" in out.detail


def test_parser_reads_the_printed_grammar():
    from proofs_check.verification.shipped_derive import Evaluator

    M = np.array([[0.5, 0.1], [0.0, 0.3]])
    ev = Evaluator(2, {"M_A": M, "w^*_A": np.ones((2, 1))}, {"Q1": "1 - M_A/2"}, {"Q1"})
    assert np.allclose(ev.eval("Q1"), np.linalg.inv(np.eye(2) - M / 2))
    assert np.allclose(ev.eval("-M_A**2*w^*_A + 3*(1 - M_A)*w^*_A"), -M @ M @ np.ones((2, 1)) + 3 * (np.eye(2) - M)
                       @ np.ones((2, 1)))
    assert np.allclose(ev.eval("Matrix([[M_A/2, 0], [0, M_A]])"), np.block([[M / 2, np.zeros((2, 2))],
                                                                              [np.zeros((2, 2)), M]]))
    with pytest.raises(ValueError):
        ev.eval("__import__('os')")


# ---------------------------------------------------------------- attack --kind steer
def test_steer_passes_on_the_package():
    from proofs_check.verification.shipped_attack import attack_method

    out = attack_method(QUICK)
    assert passes(out), out.detail


def test_steer_missing_its_point_under_a_protocol_fails(monkeypatch):
    from numerics.interventions import protocol_attack
    from proofs_check.verification.shipped_attack import attack_method

    orig = protocol_attack.steering_target

    def off(*args, **kwargs):  # the attacker's target 1% off: the victim settles beside the point
        target, residual = orig(*args, **kwargs)
        return target * 1.01, residual

    monkeypatch.setattr(protocol_attack, "steering_target", off)
    out = attack_method(QUICK)
    assert not passes(out) and "victim reaches the point" in out.detail


def test_c11_vs_slot_runs_the_attack():
    c11 = next(c for c in all_claims() if c.id == "C11")
    out = c11.methods["VS"](QUICK)
    assert passes(out) and "attack --kind steer" in out.detail and "C11.steering_target" in out.detail


# ---------------------------------------------------------------- fit under a protocol
def test_fit_passes_on_the_package():
    from proofs_check.verification.shipped_fit import fit_method

    out = fit_method(QUICK)
    assert passes(out), out.detail


@pytest.mark.parametrize("factor", [1.5, 0.1])  # spread 50% too wide; 90% too narrow (the variant)
def test_fit_spread_off_fails(monkeypatch, factor):
    from numerics.protocol import engine
    from proofs_check.verification.shipped_fit import fit_method

    orig = engine.stationary_covariance
    monkeypatch.setattr(engine, "stationary_covariance", lambda *a, **k: factor * orig(*a, **k))
    out = fit_method(QUICK)
    assert not passes(out) and "predicted_covariance (fitted)" in out.detail


def test_random_fit_without_the_fitted_noise_fails(monkeypatch):
    """Planted: a random protocol's spread predicted without the residual covariances (the schedule's only)."""
    from numerics.protocol import random_moments
    from proofs_check.verification.shipped_fit import fit_method

    orig = random_moments.moments  # protocol_fit.predict_random imports it when called
    monkeypatch.setattr(random_moments, "moments", lambda M, c, rp, S=None: orig(M, c, rp))
    out = fit_method(QUICK)
    assert not passes(out) and "random predicted_covariance (fitted)" in out.detail


def test_random_moments_reference_on_one_alternative():
    """One alternative of probability 1 is a deterministic round: the reference's moments are the round's
    rate, fixed point and covariance series (shipped_reference.stationary_covariance), no package code."""
    from proofs_check.verification import shipped_fit
    from proofs_check.verification.shipped_reference import stationary_covariance

    rounds = shipped_fit.RANDOM_ALTERNATIVES[0][1]
    Ms, cs = [np.array([[0.5, 0.1], [0.0, 0.4]]), np.array([[0.3, 0.0], [0.2, 0.6]])], [np.ones(2), -np.ones(2)]
    Ss = [0.01 * np.eye(2), 0.02 * np.eye(2)]
    orig = shipped_fit.RANDOM_ALTERNATIVES
    try:
        shipped_fit.RANDOM_ALTERNATIVES = ((1.0, rounds),)
        ms, mean_rate, m, C = shipped_fit.random_moments(Ms, cs, Ss, ("A", "B"))
    finally:
        shipped_fit.RANDOM_ALTERNATIVES = orig
    V, rho, z = stationary_covariance(Ms, cs, Ss, shipped_fit._indexed(rounds, ("A", "B")))
    assert ms == pytest.approx(rho, rel=1e-12) and mean_rate == pytest.approx(rho, rel=1e-12)
    np.testing.assert_allclose(m, z, rtol=1e-12)
    np.testing.assert_allclose(C, V, rtol=1e-10, atol=1e-14)


def test_attack_sensitivity_condition_off_fails(monkeypatch):
    """Planted: the printed cond(G) doubled."""
    from numerics.interventions import protocol_attack
    from proofs_check.verification.shipped_attack import attack_method

    orig = protocol_attack.steering_target
    monkeypatch.setattr(protocol_attack, "steering_target", lambda *a, **k: (orig(*a, **k)[0], 2 * orig(*a, **k)[1]))
    out = attack_method(QUICK)
    assert not passes(out) and "sensitivity_condition (vs probed G)" in out.detail


def test_spread_series_matches_a_scalar_closed_form():
    """The covariance series on one scalar agent hearing itself: V = s^2 / (1 - m^2) (no package code)."""
    from proofs_check.verification.shipped_reference import stationary_covariance

    V, rho, z = stationary_covariance([np.array([[0.6]])], [np.array([1.0])], [np.array([[0.04]])], [[(0, [(0, 1.0)])]])
    assert rho == pytest.approx(0.6) and V[0, 0] == pytest.approx(0.04 / (1 - 0.36), rel=1e-12)
    assert z[0, 0] == pytest.approx(1.0 / 0.4, rel=1e-12)


# ---------------------------------------------------------------- sweep measures
def test_sweep_passes_on_the_package():
    from proofs_check.verification.shipped_sweep import sweep_method

    out = sweep_method(QUICK)
    assert passes(out) and out.instances == 12, out.detail  # sweep_method alone (kinds_method: below)


def test_sweep_rate_wrong_fails(monkeypatch):
    from numerics.sweep import measures
    from proofs_check.verification.shipped_sweep import sweep_method

    orig = measures.predict_columns

    def per_turn(names, M, c, w):  # the rate per turn (rho^(1/K)) where the round's is printed
        out, u = orig(names, M, c, w)
        out["contraction_rate"] = out["contraction_rate"] ** (1 / len(names))
        return out, u

    monkeypatch.setattr(measures, "predict_columns", per_turn)
    out = sweep_method(QUICK)
    assert not passes(out) and "contraction_rate" in out.detail


def test_sweep_distance_to_the_target_instead_of_the_fixed_point_fails(monkeypatch):
    from numerics.sweep import measures
    from proofs_check.verification.shipped_sweep import sweep_method

    orig = measures.simulate_columns
    monkeypatch.setattr(measures, "simulate_columns", lambda names, last, w, u: orig(names, last, w, w))
    out = sweep_method(QUICK)
    assert not passes(out) and "sim_fixed_point_distance" in out.detail


def test_wrong_p_derivation_chain_fails(monkeypatch):
    import dataclasses

    from proofs_check.verification.shipped_derive import GALLERY, derive_method
    from theory import derivations

    orig = derivations.chains_for

    def wrong(claim):  # the last step of each chain negated: a wrong printed derivation
        return [dataclasses.replace(c, steps=c.steps[:-1] + ((-c.steps[-1][0], c.steps[-1][1]),))
                for c in orig(claim)]

    method = derive_method({"P4": GALLERY["P4"]}, chains=("P4",))
    assert passes(method(QUICK))
    monkeypatch.setattr(derivations, "chains_for", wrong)
    out = method(QUICK)
    assert not passes(out) and "P4 derivation chains" in out.detail


def test_precise_steps_per_turn_dropped_fails(monkeypatch):
    """--precision with one GD step too few per turn where steps_per_turn > 1 (the issue's wrong fixed point)."""
    from numerics.dynamics import precise

    orig = precise.agent_transfer
    monkeypatch.setattr(precise, "agent_transfer", lambda G, geometry, steps: orig(G, geometry, max(1, steps - 1)))
    out = shipped.precise_method(14)(QUICK)
    assert not passes(out) and "fixed_point" in out.detail


def test_printed_covariance_equation_without_its_noise_fails(monkeypatch):
    from theory.protocol import report

    orig = report.derived_theory

    def noiseless(cp, steps=None):  # B's printed Lyapunov equation without B's own noise S_B
        doc = orig(cp, steps)
        e = doc["lyapunov"].get("B,B")  # the checks' own extra protocols (one agent, ...) may have no B
        if e is not None:
            e["text"] = e["text"].replace(" + S_B", "")
        return doc

    monkeypatch.setattr(report, "derived_theory", noiseless)
    out = p2_derive()(QUICK)
    assert not passes(out) and "lyapunov equations" in out.detail


def test_latex_fixed_point_with_a_flipped_term_fails(monkeypatch):
    from theory.protocol import compiler as P, report

    orig = report.as_latex
    flip = ("z^*_{A} &= ", "z^*_{A} &= - ")  # the first term of A's fixed point negated
    simultaneous = P.compile_protocol(P.spec(["A", "B"], [{"A": {"B": 1}, "B": {"A": 1}}]))
    assert flip[0] in orig(report.derived_theory(simultaneous))  # the planted change applies
    monkeypatch.setattr(report, "as_latex", lambda doc, *a, **k: orig(doc, *a, **k).replace(*flip))
    out = p2_derive()(QUICK)
    assert not passes(out) and "latex fixed points and residuals" in out.detail


# ---------------------------------------------------------------- sweep kinds (every axis kind, random, train-lsa)
def test_sweep_kinds_pass_on_the_package():
    from proofs_check.verification.shipped_sweep import kinds_method

    out = kinds_method(QUICK)
    assert passes(out) and out.instances == 48 and "MISMATCH" not in out.detail, out.detail


def _planted(monkeypatch, module, name, wrong):
    from proofs_check.verification.shipped_sweep import kinds_method

    monkeypatch.setattr(module, name, wrong)
    return kinds_method(QUICK)


def test_sweep_kinds_steps_ignored_fails(monkeypatch):
    from numerics.sweep import measures

    orig = measures.transfers
    out = _planted(monkeypatch, measures, "transfers", lambda G, H, w, steps: orig(G, H, w, steps * 0 + 1))
    assert not passes(out) and "contraction_rate" in out.detail


def test_sweep_kinds_random_spread_of_the_mean_fails(monkeypatch):
    from numerics.sweep import measures

    orig = measures.random_row

    def wrong(system, opts, seed):
        row = orig(system, opts, seed)
        return {k: (v * 1.01 if k.startswith("spread_") else v) for k, v in row.items()}

    out = _planted(monkeypatch, measures, "random_row", wrong)
    assert not passes(out) and "random spread" in out.detail


def test_sweep_kinds_lsa_seed_of_another_agent_fails(monkeypatch):
    from numerics.sweep import measures

    orig = measures.train_lsa_point
    out = _planted(monkeypatch, measures, "train_lsa_point", lambda system, seed, opts: orig(system, seed + 1, opts))
    assert not passes(out) and "lsa_" in out.detail


def test_sweep_kinds_psd_check_skipped_fails(monkeypatch):
    from numerics.sweep import measures

    out = _planted(monkeypatch, measures, "_require_psd", lambda spec, H, values: None)
    assert not passes(out) and "non-PSD" in out.detail


def test_sweep_kinds_no_rename_hint_fails(monkeypatch):
    from numerics.sweep import measures

    out = _planted(monkeypatch, measures, "renamed", lambda column, cols: None)
    assert not passes(out) and "plot.quantity" in out.detail


def test_sweep_kinds_converges_at_the_margin_fails(monkeypatch):
    from numerics.protocol import prediction
    from proofs_check.verification.shipped_sweep import kinds_method

    monkeypatch.setattr(prediction, "CONVERGENCE_MARGIN", 0.0)  # rho = 1 - 1e-12 would count as converging
    out = kinds_method(QUICK)
    assert not passes(out) and "converges" in out.detail
