"""Free-algebra prover paths the claims' V1 proofs do not all reach (found by ``make mutation`` on
theory/core/algebra.py): negative powers, transposes of products, inverting a word
with a power, a nonzero scalar factor, and ``FreeProof.holds``."""
import sympy as sp

from theory.core import algebra
from theory.core.model import I, matrix, vector

M, N = matrix("M"), matrix("N")
x = vector("x")
INV = {"M invertible": M}


def keep(*factors):
    return sp.MatMul(*factors, evaluate=False)  # SymPy would cancel F^{-1} F on construction


def test_negative_powers_are_inverses():
    assert algebra.prove(keep(sp.MatPow(M, -1), M, x), x, (), None, INV).holds
    assert algebra.prove(keep(sp.MatPow(M, -2), M, M, x), x, (), None, INV).holds
    assert not algebra.prove(keep(sp.MatPow(M, -2), M, x), x, (), None, INV).holds


def test_transpose_of_a_product_reverses_it():
    # sp.Transpose(...) keeps the transpose unevaluated (``.T`` would distribute it on construction)
    assert algebra.prove(sp.Transpose(2 * M * N), 2 * N.T * M.T).holds
    assert algebra.prove(sp.Transpose(M * N + M), N.T * M.T + M.T).holds
    assert not algebra.prove(sp.Transpose(M * N), M.T * N.T).holds
    assert algebra.prove(keep(sp.Transpose(I), x), x).holds  # I^T = I
    assert algebra.prove(sp.Transpose(M + sp.ZeroMatrix(*M.shape)), M.T).holds


def test_inverting_a_word_with_a_power():
    F = I - M * M
    assert algebra.prove(keep(sp.Inverse(F), F, x), x, (), None, {"I - M^2 invertible": F}).holds


def test_a_factor_that_is_a_nonzero_scalar_inverts_to_its_reciprocal():
    # with M defined as 0, I - M N is the scalar 1: its inverse is 1, no hypothesis needed
    F = I - M * N
    zero = {"M": sp.ZeroMatrix(*M.shape)}
    assert algebra.prove(keep(sp.Inverse(F), x), x, (), zero, {}).holds
    assert algebra.prove(keep(sp.Inverse(2 * F), x), x / 2, (), zero, {}).holds
    assert algebra.prove(keep(sp.Inverse(-1 * F), x), -x, (), zero, {}).holds  # a negative scalar too


def test_inverse_of_a_factor_whose_leading_coefficient_is_not_one():
    # F = I - 2 M N: both rewrite rules (m Q and Q m, m = M N) divide by the coefficient -2
    F = I - 2 * M * N
    hyp = {"I - 2 M N invertible": F}
    assert algebra.prove(keep(sp.Inverse(F), F, x), x, (), None, hyp).holds
    assert algebra.prove(keep(F, sp.Inverse(F), x), x, (), None, hyp).holds


def test_holds_is_a_boolean_of_the_residual():
    true, false = algebra.prove(M * (N + I), M * N + M), algebra.prove(M * N, N * M)
    assert true.holds is True and false.holds is False
    assert true.terms == 0 and false.terms == 2


def test_a_residual_of_plus_or_minus_identity_is_one_term():
    from proofs_check.verification.methods import free_proofs
    for lhs, rhs in ((I + M, M), (M, M + I)):  # residual 1 and -1 (the identity matrix)
        proof = algebra.prove(lhs, rhs)
        assert proof.terms == 1 and not proof.holds
        assert free_proofs([("planted", proof)]).worst_error >= 1


def test_trivial_detector_sees_sides_that_cancel_when_subtracted():
    # structurally different as built, but their difference collapses to the zero matrix: such a
    # "proof" proves nothing (issue 11 item 7), whatever the prover would do with it
    assert algebra.structurally_equal(sp.Inverse(sp.Inverse(M)), M)
    assert algebra.prove(sp.MatAdd(M, M, evaluate=False), 2 * M).trivial
    assert not algebra.prove(M * N, N * M).trivial


def test_an_unjustified_inverse_names_the_hypotheses_on_offer():
    import pytest
    with pytest.raises(algebra.NotJustified, match=r"\(N invertible\)"):
        algebra.prove(keep(sp.Inverse(M), M, x), x, (), None, {"N invertible": N})
    with pytest.raises(algebra.NotJustified, match=r"\(none named\)"):
        algebra.prove(keep(sp.Inverse(M), M, x), x, (), None, {})


def test_a_negative_power_needs_a_named_hypothesis():
    import pytest
    with pytest.raises(algebra.NotJustified, match="M"):
        algebra.prove(keep(sp.MatPow(M, -2), M, M, x), x, (), None, {})


def test_distinct_factors_get_distinct_inverses():
    # F and F + I, F and -F are different factors: each inverse must keep its own rewrite rules
    F1, F2 = I - M * N, 2 * I - M * N
    hyp = {"F1 invertible": F1, "F2 invertible": F2, "-F1 invertible": -F1}
    one, two = keep(sp.Inverse(F1), F1, x), keep(sp.Inverse(F2), F2, x)
    for terms in ((one, two), (two, one)):  # both orders: either factor may be inverted first
        proof = algebra.prove(sp.MatAdd(*terms, evaluate=False), 2 * x, (), None, hyp)
        assert proof.holds and len(proof.inverted) == 2
    # (-F1)^{-1} = -F1^{-1}: F1 (F1^{-1} + (-F1)^{-1}) x = 0
    assert algebra.prove(sp.Inverse(F1) * x + sp.Inverse(-F1) * x, sp.ZeroMatrix(*x.shape), [F1], None, hyp).holds
