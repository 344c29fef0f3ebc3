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


def test_macros_name_the_method_beside_passed():
    from proofs_check.report.latex import macros_tex

    text = macros_tex({"C7": "passed", "C12": "passed", "C2": "failed"})
    assert "C7.s_steps" in text and "verification: passed (C7 VS reads this formula)" in text
    assert "verification: claim passed; no method reads this formula" in text  # C12's, read by no method
    assert "C2.fixed_point_A" in text and "verification: failed" in text


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
