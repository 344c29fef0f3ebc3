"""Contracts of theory.derivations that no verify method reads (each was a survivor of derivations.py): the lookups
by claim ID compare by value, so an ID built at run time (read from input, joined from parts) finds the same chains
and formulas as the literal (``==`` to ``is``); a displayed step is kept as written (``evaluate=False`` to
``True``); the V2 chains use the dimensions docs/verify.rst states (C10's ``dims``)."""
from __future__ import annotations

from theory import derivations


def test_chains_for_a_claim_id_built_at_run_time():
    for claim in ("C4", "C10", "P2", "R1"):
        built = "".join(list(claim))  # equal to the literal, not the same object
        assert built == claim and built is not claim
        assert derivations.chains_for(built) == derivations.chains_for(claim) != []


def test_a_displayed_product_is_kept_as_written():
    """``unevaluated`` (its docstring): a step such as C8's ``(I - M_A M_B)(I - M_A M_B)^{-1} M_A K_B Delta`` is
    displayed as written; SymPy's own product would cancel the factor and its inverse before derivations.tex shows
    the step."""
    import sympy as sp

    M, X = sp.MatrixSymbol("M", 2, 2), sp.MatrixSymbol("X", 2, 2)
    shown = derivations.unevaluated(M, sp.Inverse(M), X)
    assert shown.args == (M, sp.Inverse(M), X) and M * sp.Inverse(M) * X == X
    (c8,) = derivations.chains_for("C8")
    step = c8.steps[1][0]
    F = step.args[0]
    assert isinstance(step, sp.MatMul) and sp.Inverse(F) == step.args[1] and len(step.args) == 5


def test_v2_chains_are_checked_at_the_documented_dimensions():
    """docs/verify.rst states the dimensions of the V2 chains' explicit matrices; the chains use those (and the
    label VD prints, ``V2, d = ...``, names them)."""
    from test_documented_formats import documented

    m = documented("verify.rst",
                   r"C9's chain at d = (\d+), C10's \(a rank-one prompt, any d\) at d = (\d+) and d = (\d+)")
    (c9,), (c10,) = derivations.chains_for("C9"), derivations.chains_for("C10")
    assert c9.method == c10.method == "V2"
    assert c9.dims == (int(m.group(1)),) and c10.dims == (int(m.group(2)), int(m.group(3)))
