"""Free-algebra prover paths the claims' V1 proofs do not all reach (found by ``make mutation`` on
theory/core/algebra.py): negative powers, transposes of products, inverting a word
with a power, a nonzero scalar factor, and ``FreeProof.holds``."""
import pytest
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


# ---------------------------------------------------------------- the word-polynomial engine
# (one free algebra for the prover and the protocol compiler: words rewritten directly, named letters)
def test_words_collect_terms_and_respect_order():
    A, B = (sp.Symbol(n, commutative=False) for n in "AB")
    alpha = sp.Symbol("alpha")
    p = algebra.to_poly(A * B + (1 - alpha) * A * B - B * A + A**2)
    # independent: the coefficient of each word read off SymPy's own expansion
    expanded = sp.expand(A * B + (1 - alpha) * A * B - B * A + A**2)
    assert sp.simplify(algebra.from_poly(p) - expanded) == 0
    assert set(p) == {(A, B), (B, A), (A, A)}  # A B and B A kept apart; A**2 written out
    assert sp.simplify(p[(A, B)] - (2 - alpha)) == 0
    assert algebra.pmul(algebra.letter(A), algebra.letter(B)) != algebra.pmul(algebra.letter(B), algebra.letter(A))


def test_a_word_has_no_negative_powers():
    A, B = (sp.Symbol(n, commutative=False) for n in "AB")
    with pytest.raises(TypeError, match="power"):  # an inverse is a letter with rules, never A**-1
        algebra.to_poly(A**-1 * B)


def test_psubs_agrees_with_sympy_subs():
    A, B, C = (sp.Symbol(n, commutative=False) for n in "ABC")
    expr = A * B * A + 3 * B * A - A
    got = algebra.from_poly(algebra.psubs(algebra.to_poly(expr), {A: algebra.to_poly(B + 2 * C)}))
    assert sp.expand(got - expr.subs(A, B + 2 * C)) == 0
    wrong = algebra.from_poly(algebra.psubs(algebra.to_poly(expr), {A: algebra.to_poly(B - 2 * C)}))
    assert sp.expand(wrong - expr.subs(A, B + 2 * C)) != 0  # the comparison can fail


def test_inverse_with_a_symbolic_leading_coefficient():
    # F = (1 - omega) M N - I: both rules divide by 1 - omega (the anchored protocol's pivots, P4)
    omega = sp.Symbol("omega")
    F = (1 - omega) * M * N - I
    hyp = {"F invertible": F}
    assert algebra.prove(keep(sp.Inverse(F), F, x), x, (), None, hyp).holds
    assert algebra.prove(keep(F, sp.Inverse(F), x), x, (), None, hyp).holds
    assert not algebra.prove(keep(sp.Inverse(F), F, x), 2 * x, (), None, hyp).holds


def test_relations_rewrite_one_word_and_are_checked():
    U = matrix("U")
    rel = {"U orthonormal": (U.T * U, I)}
    assert algebra.prove(U.T * U * x, x, relations=rel).holds
    assert algebra.prove(M * U.T * U * U.T * U * x, M * x, relations=rel).holds
    assert not algebra.prove(U * U.T * x, x, relations=rel).holds  # only the stated word
    assert not algebra.prove(U.T * U * x, x, relations={"planted": (U.T * U, 2 * I)}).holds
    with pytest.raises(ValueError, match="one word"):
        algebra.prove(x, x, relations={"not a word": (U.T * U + M, I)})


def test_named_letters_stay_opaque_and_keep_their_definitions():
    alg = algebra.FreeAlgebra()
    A, B, L = (sp.Symbol(n, commutative=False) for n in ("A", "B", "L"))
    definition = algebra.to_poly(A * B - B)
    alg.define_letter(L, definition)
    Q = alg.inverse(1 - A)
    assert alg.reduce(L - (A * B - B)) != 0  # a named letter is not substituted
    assert alg.named_letters() == {L: definition}
    assert [kind for kind, *_ in alg.events] == ["def", "inv"] and alg.events[1][2] == Q
    assert alg.inverse_poly(1 - A) == algebra.letter(Q)
    assert alg.inverse_poly(2 * sp.Integer(1)) == {(): sp.Rational(1, 2)}


def test_runaway_rewriting_is_stopped():
    alg = algebra.FreeAlgebra()
    A = sp.Symbol("A", commutative=False)
    alg.relation(A, A * A)  # never shortens a word: stopped by the pass bound
    with pytest.raises(RuntimeError, match="normal form"):
        alg.reduce(A)
    alg = algebra.FreeAlgebra(max_words=50)
    B = sp.Symbol("B", commutative=False)
    alg.relation(A, A * B + B * A)  # doubles the terms each pass: stopped by the word bound
    with pytest.raises(algebra.TooLarge):
        alg.reduce(A)
