"""The typeset check of every claim's VS (proofs_check/verification/shipped_typeset.py) fails on a wrong LaTeX or plain
text: wrong strings planted in what ``derive --format json`` prints, and wrong printing rules planted in
theory/core/notation.py (the method run as ``a2ad verify`` runs it). Its power, seen failing: a check nobody has
seen fail is not a check.

The check compares values, so a printing rule that changes only the form (the gap written out as ``w_B^* - w_A^*``,
positive terms not first) passes it: tests/test_notation_contracts.py checks those."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from proofs_check.verification import runner, shipped_typeset
from proofs_check.verification.registry import PROFILES
from proofs_check.verification.shipped import Ledger
from proofs_check.verification.shipped_cli import run_commands
from theory.core import notation

QUICK = PROFILES["quick"]


def _printed() -> dict[str, dict]:
    (out,) = run_commands([["derive", "--format", "json"]])
    return {f["id"]: f for f in out.json_or_none()["formulas"]}


def _worst(fid: str, printed: dict) -> float:
    ledger = Ledger()
    shipped_typeset.check_formula(ledger, np.random.default_rng(0), fid, printed, 2)
    return ledger.outcome("planted").worst_error


def test_every_formula_as_printed_passes():
    printed = _printed()
    assert len(printed) == 43
    for fid, entry in printed.items():
        assert _worst(fid, entry) <= 1.0, fid


@pytest.mark.parametrize("fid, old, new", [
    ("C3.bias_map_A", "M_{A} K_{B}", "K_{B} M_{A}"),  # swapped factors
    ("C2.fixed_point_A", r"\left(M_{A} K_{B} w_{B}^{*} + K_{A} w_{A}^{*}\right)",
     "M_{A} K_{B} w_{B}^{*} + K_{A} w_{A}^{*}"),  # parentheses dropped
    ("C3.residual_B", "e_{B} = - ", "e_{B} = "),  # sign dropped
    ("C1.round_map_A", "w_{A}^{*}", "w_A_star"),  # a plain-text name
    ("C13.inexact_newton_error", r"\hat{H}", "H_hat"),
    ("C3.residual_A", r" \aadDelta", ""),  # the gap dropped
    ("C5.residual_A_k", r"\left(1 - a_{k}\right) b_{k}", r"\left(1 - b_{k}\right) a_{k}"),
    ("C15.stationary_covariance_A", "M_{A}^{T}", "M_{A}"),  # a transpose dropped
    ("L1.gd_readout", "w' - w =", "w' - w_{x} ="),  # a wrong label
    ("C4.gap_norm", r"\sin^{2}", r"\sin"),
    ("L2.gamma_star", r"\frac{N + 1}{N}", r"\frac{N}{N + 1}"),
    ("P5.debate_row_A", r"\tfrac{1}{2} M_{A} m_{B}", r"\tfrac{1}{3} M_{A} m_{B}"),
    ("C9.full_rank_prompt", r"\Gamma_{A}^{-1/2}", r"\Gamma_{A}^{-1}"),
    ("C16.victim_residual_s_steps", "s_{B}", "2"),
    ("C1.contraction_rate", r"\rho\left(M_{A} M_{B}\right)", r"\rho\left(M_{B}\right)"),
    ("C6.self_adjoint", "= ", "= 2 "),  # the other side scaled
])
def test_a_wrong_latex_string_fails(fid, old, new):
    entry = _printed()[fid]
    assert entry["latex"].count(old) >= 1
    assert not _worst(fid, dict(entry, latex=entry["latex"].replace(old, new, 1))) <= 1.0


@pytest.mark.parametrize("fid, old, new", [
    ("C3.bias_map_A", "M_A*K_B", "K_B*M_A"),
    ("C3.residual_B", "= -(", "= ("),
    ("C1.round_map_A", "K_A*w_A_star", "K_A*w_A"),  # a name the naming rules do not give
    ("L1b.general_map", "transpose(Q_xx)*(b", "Q_xx*(b"),
    ("C11.steering_target", "M_B**(-1)", "M_B"),
    ("C2.fixed_point_A", "(Id - M_A*M_B)", "(Id + M_A*M_B)"),
    ("C5.residual_A_k", "/(a_k + b_k - a_k*b_k)", "/(a_k + b_k)"),
    ("C4.gap_norm", "sin(theta/2)**2", "sin(theta/2)"),
    ("C9.full_rank_prompt", "Gamma_A**(-1/2)", "Gamma_A**(-1)"),
    ("L1.gd_readout", "w_prime - w =", "w_prime =",),  # a wrong label
    ("P5.debate_row_A", "(1/2)*M_A*m_B +", "(1/3)*M_A*m_B +"),
])
def test_a_wrong_text_string_fails(fid, old, new):
    entry = _printed()[fid]
    assert entry["text"].count(old) >= 1
    assert not _worst(fid, dict(entry, text=entry["text"].replace(old, new, 1))) <= 1.0


@pytest.mark.parametrize("change", [
    lambda table: {k: v for k, v in table.items() if k != "w_B_star"},  # a name of Delta's definition unlisted
    lambda table: dict(table, M_A={"commutative": True}),  # a matrix said to commute
])
def test_a_wrong_symbols_table_fails(change):
    entry = _printed()["C3.residual_A"]
    ledger = Ledger()
    shipped_typeset.check_symbols(ledger, "C3.residual_A", entry)
    assert ledger.outcome("as printed").worst_error == 0
    ledger = Ledger()
    shipped_typeset.check_symbols(ledger, "C3.residual_A", dict(entry, symbols=change(entry["symbols"])))
    assert not ledger.outcome("planted").worst_error <= 1.0


def _text_name_in_latex(name):
    return notation.NAMES[name][1] if name in notation.NAMES else None


@pytest.mark.parametrize("attr, wrong, claim", [
    ("_latex_name", _text_name_in_latex, "L1"),  # the plain-text names in the LaTeX (w_prime - w)
    # a binomial's sign flipped but the binomial kept (e_{A,k} printed with a wrong sign)
    ("_flip", lambda factor: (factor, isinstance(factor, sp.Add)), "C5"),
    ("_scalar_first", lambda args: list(args)[::-1], "C3"),  # a product's factors reversed
    ("text_name", lambda name: name.replace("^*_", "_star_"), "C2"),  # the plain text's names: w_star_A
])
def test_a_wrong_printing_rule_fails_verify(monkeypatch, attr, wrong, claim):
    """Planted in theory/core/notation.py; the claim's VS (as ``a2ad verify`` runs it) passes before, fails after."""
    from proofs_check.claims import all_claims

    (vs,) = [c.methods["VS"] for c in all_claims() if c.id == claim]
    assert runner.run_method("VS", vs, QUICK)["status"] == "passed"
    monkeypatch.setattr(notation, attr, wrong)
    assert runner.run_method("VS", vs, QUICK)["status"] == "failed"
