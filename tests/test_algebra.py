"""The free-algebra prover (V1) must prove true identities and reject false ones."""
from fractions import Fraction

import pytest
import sympy as sp

from theory.core import algebra, model
from theory.round_robin import two_agents as ta

A, B = ta.A, ta.B


def test_proves_push_through_identity():
    # (I - M_B M_A)^{-1} M_B = M_B (I - M_A M_B)^{-1}
    lhs = sp.Inverse(model.I - B.M * A.M) * B.M
    rhs = B.M * sp.Inverse(model.I - A.M * B.M)
    hyp = {"I - M_B M_A invertible": model.I - B.M * A.M, "I - M_A M_B invertible": model.I - A.M * B.M}
    proof = algebra.prove(lhs, rhs, [model.I - B.M * A.M], invertible=hyp)
    assert proof.holds and proof.checked and not proof.trivial
    assert dict(proof.justified)["1 - M_B*M_A"] == "I - M_B M_A invertible"


@pytest.mark.parametrize("lhs, rhs", [
    (A.M * B.M, B.M * A.M),  # noncommutativity must be respected
    (ta.u_star, B.T(ta.u_star)),  # u* is not B's output
    (ta.e_A, ta.G_B * ta.Delta),  # wrong bias map
    (ta.u_star - A.w_star, -ta.G_A * ta.Delta),  # wrong sign
])
def test_rejects_false_identities(lhs, rhs):
    hyp = {"I - J_A invertible": model.I - ta.J_A, "I - J_B invertible": model.I - ta.J_B}
    proof = algebra.prove(lhs, rhs, [model.I - ta.J_A, model.I - ta.J_B], ta.DEFINITIONS, invertible=hyp)
    assert not proof.holds and proof.terms > 0


def test_a_zero_factor_never_proves_anything():
    """Before: prove(A, B, [ZeroMatrix]) held (0 * (A - B) = 0). Now it is refused."""
    Z = sp.ZeroMatrix(*A.M.shape)
    with pytest.raises(algebra.NotJustified):
        algebra.prove(A.M, B.M, [Z])
    with pytest.raises(algebra.NotJustified):  # even if someone names it as "invertible"
        algebra.prove(A.M, B.M, [Z], invertible={"zero is invertible": Z})


def test_factors_need_a_named_hypothesis():
    with pytest.raises(algebra.NotJustified):  # multiplied by, but no hypothesis named
        algebra.prove(ta.u_star, A.T(ta.v_star), [model.I - ta.J_A], ta.DEFINITIONS)
    with pytest.raises(algebra.NotJustified):  # a singular-in-general factor the hypotheses do not cover
        algebra.prove(ta.u_star, A.T(ta.v_star), [A.M], ta.DEFINITIONS,
                      invertible={"I - J_A invertible": model.I - ta.J_A})
    with pytest.raises(algebra.NotJustified):  # an inverse inside the identity not covered
        algebra.prove(ta.u_star, A.T(ta.v_star), [], ta.DEFINITIONS, invertible={"M_A invertible": A.M})
    # and a correct justification proves it, listing the hypothesis used
    hyp = {"I - J_A invertible": model.I - ta.J_A, "I - J_B invertible": model.I - ta.J_B}
    proof = algebra.prove(ta.u_star, A.T(ta.v_star), [model.I - ta.J_A], ta.DEFINITIONS, invertible=hyp)
    assert proof.holds and set(dict(proof.justified).values()) <= set(hyp)


def test_structurally_equal_sides_are_flagged_trivial():
    R = model.matrix("R")
    # SymPy collapses Inverse(R R) (R R) to I on construction: "I = I" is no proof
    assert algebra.prove(sp.Inverse(R * R) * (R * R), model.I).trivial
    assert not algebra.prove(A.c, A.w_star - A.M * A.w_star, (), ta.DEFINITIONS).trivial


def test_k_substitution_is_used():
    # c_A = K_A w_A* = (I - M_A) w_A* only through the definition K_A = I - M_A
    assert algebra.prove(A.c, A.w_star - A.M * A.w_star, (), ta.DEFINITIONS).holds
    assert not algebra.prove(A.c, A.w_star - A.M * A.w_star).holds


def test_explicit_evaluation_matches_numpy():
    import numpy as np

    rng = np.random.default_rng(0)
    env = {A.M.name: rng.standard_normal((3, 3)) * 0.3, B.M.name: rng.standard_normal((3, 3)) * 0.3}
    env[A.K.name] = np.eye(3) - env[A.M.name]
    env[B.K.name] = np.eye(3) - env[B.M.name]
    G_A = model.evaluate(ta.G_A, env, model.numpy_ops())
    direct = np.linalg.inv(np.eye(3) - env[A.M.name] @ env[B.M.name]) @ env[A.M.name] @ env[B.K.name]
    assert np.allclose(G_A, direct, rtol=1e-12, atol=1e-14)


def test_symbolic_coefficients_are_cancelled_and_zero_sums_dropped():
    # _clean cancels every symbolic coefficient (memoised: the same input twice, the same answer)
    from theory.core.algebra import padd, pmul

    om = sp.Symbol("omega")
    Mx = sp.Symbol("M_X", commutative=False)
    w = (Mx,)
    assert padd({w: (om**2 - 1) / (om - 1)}, {w: -(om + 1)}) == {}  # zero only once cancelled
    for _ in range(2):
        got = pmul({w: (om**2 - 1) / (om - 1)}, {(): sp.Integer(1)})
        assert got == {w: om + 1} and sp.srepr(got[w]) == sp.srepr(om + 1)
    assert padd({w: Fraction(1, 2)}, {w: Fraction(-1, 2)}) == {}  # numbers: dropped without SymPy


# ---- the algebra's own contracts (FreeAlgebra, word polynomials), each stated in its docstring or comment
def _algebra_letters():
    alg = algebra.FreeAlgebra()
    return alg, alg.symbol("M_A"), alg.symbol("M_B")


def test_the_same_factor_gets_the_same_inverse_and_scalars_their_reciprocal():
    alg, MA, MB = _algebra_letters()
    Q = alg.inverse(1 - MA * MB)
    assert alg.inverse(1 - MA * MB) == Q and alg.inverse(-MA * MB + 1) == Q and len(alg.inverted) == 1
    assert alg.inverse(1 - MB * MA) != Q and len(alg.inverted) == 2
    omega = sp.Symbol("omega")
    assert alg.inverse(sp.Integer(4)) == sp.Rational(1, 4) and alg.inverse(2 * omega) == 1 / (2 * omega)
    with pytest.raises(ValueError, match="cannot invert 0"):
        alg.inverse(sp.Integer(0))


def test_a_relation_needs_one_word_with_coefficient_one():
    alg, MA, MB = _algebra_letters()
    for bad in (MA + MB, 2 * MA, MA / 2, sp.Integer(1), sp.Integer(0)):
        with pytest.raises(ValueError, match="one word"):
            alg.relation(bad, MB)
    alg.relation(MA * MB, MB)
    assert alg.reduce(MB * MA * MB) == MB * MB and alg.reduce(MA * MA * MB) == MB  # M_A M_B -> M_B, twice


def test_reduction_limits_words_and_passes():
    # max_words: a reduced polynomial of exactly max_words words is kept, one more raises TooLarge; the default is
    # MAX_POLY_WORDS = 20000 (docs/protocol.rst: 20,000 words in one expression, the backstop)
    alg, MA, MB = _algebra_letters()
    assert alg.max_words == 20_000
    alg = algebra.FreeAlgebra(max_words=3)
    three = {(MA,): 1, (MB,): 1, (MA, MB): 1}
    assert alg.reduce_poly(three) == three
    with pytest.raises(algebra.TooLarge, match="3 words"):
        alg.reduce_poly({**three, (MB, MA): 1})
    # passes: a chain of n rewrites x_0 -> x_1 -> ... -> x_n needs n + 1 passes (the last finds nothing to do);
    # MAX_REWRITE_PASSES = 200 (the algebra's comment) allows n = 199 and refuses n = 200
    for n, ok in ((199, True), (200, False)):
        alg = algebra.FreeAlgebra()
        x = [alg.symbol(f"x_{k}") for k in range(n + 1)]
        for k in range(n):
            alg.relation(x[k], x[k + 1])
        if ok:
            assert alg.reduce(x[0]) == x[n]
        else:
            with pytest.raises(RuntimeError, match="normal form"):
                alg.reduce(x[0])


def test_from_poly_factors_symbolic_coefficients():
    alg, MA, _ = _algebra_letters()
    omega = sp.Symbol("omega")
    expr = algebra.from_poly({(MA,): omega**2 - 1, (): Fraction(1, 2)})
    assert (omega - 1) * (omega + 1) * MA in sp.Add.make_args(expr) and sp.Rational(1, 2) in sp.Add.make_args(expr)


def test_matrix_powers_and_structural_equality():
    alg, MA, _ = _algebra_letters()
    A_ = sp.MatrixSymbol("M_A", 2, 2)
    assert alg.convert(sp.MatPow(A_, 0)) == 1 and alg.convert(sp.MatPow(A_, 2)) == MA**2
    assert alg.convert(sp.MatPow(A_, -2)) == alg.inverse(MA) ** 2 and alg.convert(sp.MatPow(A_, -1)) == alg.inverse(MA)
    with pytest.raises(TypeError, match="no free-algebra translation"):
        alg.convert(sp.MatPow(A_, sp.Rational(1, 2)))
    x = sp.Symbol("x")
    assert algebra.structurally_equal(A_ + A_, 2 * A_) and algebra.structurally_equal(x * 2, 2 * x)
    assert not algebra.structurally_equal(x + 1, x) and not algebra.structurally_equal(x - 1, x)
    assert not algebra.structurally_equal(A_, 2 * A_)
