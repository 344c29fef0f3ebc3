"""Contracts of theory/core/model.py: the agent symbols, ``explicit`` (method V2's fully symbolic matrices and
their entry names) and ``evaluate`` at concrete SymPy or numpy matrices (every supported node, and the refusals).
Expected values are written by hand or computed with numpy directly, never with ``evaluate``."""
import dataclasses

import numpy as np
import pytest
import sympy as sp

from theory.core import model
from theory.core.model import I, d, matrix, vector

# numpy's inverse and products of 3x3 matrices with entries of order 1 agree with the hand formula to ~1e-15
NUMPY_TOL = 1e-12

X, Y, Z = matrix("X"), matrix("Y"), matrix("Z")
x = vector("x")
RNG = np.random.default_rng(12)
# well-conditioned 3x3 matrices (identity plus a small perturbation) and a vector
NX, NY, NZ = (np.eye(3) + 0.3 * RNG.standard_normal((3, 3)) for _ in range(3))
NV = RNG.standard_normal((3, 1))
ENV = {"X": NX, "Y": NY, "Z": NZ, "x": NV}


def ev(expr):
    return model.evaluate(expr, ENV, model.numpy_ops())


def test_agent_symbols_names_and_shapes():
    # the documented names and shapes: M, K, Gamma, H are d x d; w_star and b are d x 1
    A = model.agent("A")
    assert A.name == "A"
    names = {s.name: s.shape for s in (A.M, A.K, A.w_star, A.Gamma, A.H, A.b)}
    assert names == {"M_A": (d, d), "K_A": (d, d), "w^*_A": (d, 1), "Gamma_A": (d, d), "H_A": (d, d),
                     "b_A": (d, 1)}
    assert A.c == A.K * A.w_star
    assert A.T(x) == A.M * x + A.K * A.w_star
    assert A.definitions == {"K_A": I - A.M}
    B = model.agent("B")
    assert model.definitions(A, B) == {"K_A": I - A.M, "K_B": I - B.M}
    assert vector("v").shape == (d, 1) and matrix("P").shape == (d, d)


def test_agent_symbols_are_immutable_and_hashable():
    # frozen: no attribute can be rebound; hashable: equal agents are one dict key
    A = model.agent("A")
    with pytest.raises(dataclasses.FrozenInstanceError):
        A.M = matrix("N")
    assert {A: 1, model.agent("A"): 2} == {A: 2}
    assert len({A, model.agent("B")}) == 2


def test_d_is_a_positive_integer_dimension():
    # d is a dimension: an integer, positive, so sqrt(d**2) simplifies to d (not -d or |d|)
    assert d.is_integer and d.is_positive
    assert sp.sqrt(d**2) == d
    assert I == sp.Identity(d)


def test_explicit_agent_entries_and_k_definition():
    # M_A -> entries mA_ij, K_A -> I - M_A, w*_A -> entries wA_i
    A = model.agent("A")
    m = sp.Matrix(2, 2, [sp.Symbol(n) for n in ("mA_00", "mA_01", "mA_10", "mA_11")])
    w = sp.Matrix([sp.Symbol("wA_0"), sp.Symbol("wA_1")])
    assert model.explicit(A.M, 2, (A,)) == m
    assert model.explicit(A.w_star, 2, (A,)) == w
    got = model.explicit(A.K * A.w_star, 2, (A,))
    assert (got - (sp.eye(2) - m) * w).expand() == sp.zeros(2, 1)


def test_explicit_extra_vector_and_matrix():
    # an extra one-column symbol becomes dim x 1 with entries name[i,0]; any other dim x dim with name[i,j]
    P = matrix("P")
    got_x = model.explicit(x, 3, (), extra=(x, P))
    assert got_x.shape == (3, 1)
    assert got_x == sp.Matrix([sp.Symbol(f"x[{i},0]") for i in range(3)])
    got_p = model.explicit(P, 2, (), extra=(x, P))
    assert got_p.shape == (2, 2)
    assert got_p == sp.Matrix(2, 2, [sp.Symbol(n) for n in ("P[0,0]", "P[0,1]", "P[1,0]", "P[1,1]")])
    prod = model.explicit(P * x, 2, (), extra=(x, P))
    assert prod.shape == (2, 1)


def test_evaluate_numpy_sum_product_scalar_transpose():
    # sums, products, scalar factors and transposes against the same numpy formula written by hand
    np.testing.assert_allclose(ev(X * Y + 2 * Z.T), NX @ NY + 2 * NZ.T, atol=NUMPY_TOL)
    np.testing.assert_allclose(ev(X * Y * x - x), NX @ NY @ NV - NV, atol=NUMPY_TOL)
    np.testing.assert_allclose(ev(sp.Transpose(X * Y)), (NX @ NY).T, atol=NUMPY_TOL)
    np.testing.assert_allclose(ev(sp.Rational(1, 2) * X), NX / 2, atol=NUMPY_TOL)
    # an unevaluated product keeps a scalar 0 (as an unsimplified formula may): it is the zero matrix
    zero_times = sp.MatMul(0, X, evaluate=False)
    assert zero_times.args[0] == 0
    np.testing.assert_array_equal(ev(zero_times), np.zeros((3, 3)))


def test_evaluate_numpy_inverse_and_integer_powers():
    # Inverse -> inv; X**n -> X @ ... @ X; X**-n -> inv(X) @ ... @ inv(X); MatPow(X, 0) -> identity
    iX = np.linalg.inv(NX)
    np.testing.assert_allclose(ev(X.I), iX, atol=NUMPY_TOL)
    np.testing.assert_allclose(ev(sp.Inverse(I - X * Y)), np.linalg.inv(np.eye(3) - NX @ NY), atol=NUMPY_TOL)
    assert isinstance(sp.MatPow(X, 1), sp.MatPow)
    np.testing.assert_allclose(ev(sp.MatPow(X, 1)), NX, atol=NUMPY_TOL)
    np.testing.assert_allclose(ev(X**2), NX @ NX, atol=NUMPY_TOL)
    np.testing.assert_allclose(ev(X**3), NX @ NX @ NX, atol=NUMPY_TOL)
    np.testing.assert_allclose(ev(sp.MatPow(X, -1)), iX, atol=NUMPY_TOL)
    np.testing.assert_allclose(ev(X**-2), iX @ iX, atol=NUMPY_TOL)
    np.testing.assert_allclose(ev(X**-3), iX @ iX @ iX, atol=NUMPY_TOL)
    assert isinstance(sp.MatPow(X, 0), sp.MatPow)  # SymPy keeps it unevaluated
    np.testing.assert_allclose(ev(sp.MatPow(X, 0)), np.eye(3), atol=NUMPY_TOL)


def test_evaluate_powers_of_a_large_square_matrix():
    """Square is compared by value: a 300 x 300 power (past CPython's cached small ints) is evaluated, not refused."""
    big = np.diag(np.linspace(0.5, 1.5, 300))
    out = model.evaluate(X**2, {"X": big}, model.numpy_ops())
    np.testing.assert_allclose(out, big @ big, atol=NUMPY_TOL)


def test_evaluate_identity_and_zero_take_the_dimension_of_the_inputs():
    # Identity is d x d; a zero vector d x 1 and a zero matrix d x d, d read off env
    np.testing.assert_array_equal(ev(I), np.eye(3))
    z_vec, z_mat = ev(sp.ZeroMatrix(d, 1)), ev(sp.ZeroMatrix(d, d))
    assert z_vec.shape == (3, 1) and z_mat.shape == (3, 3)
    assert not z_vec.any() and not z_mat.any()
    env = {"X": sp.Matrix([[1, 2], [3, 4]])}
    assert model.evaluate(sp.ZeroMatrix(d, 1), env) == sp.zeros(2, 1)
    assert model.evaluate(sp.ZeroMatrix(d, d), env) == sp.zeros(2, 2)
    assert model.evaluate(I, env) == sp.eye(2)
    # d is the number of rows of the inputs, also when the first input is a vector
    vec_first = {"x": NV, "X": NX}
    np.testing.assert_array_equal(model.evaluate(I, vec_first, model.numpy_ops()), np.eye(3))
    assert model.evaluate(sp.ZeroMatrix(d, d), vec_first, model.numpy_ops()).shape == (3, 3)


def test_evaluate_sympy_is_exact():
    # the SymPy backend keeps scalars and inverses exact: inv([[2,1],[1,1]]) = [[1,-1],[-1,2]] by hand
    env = {"X": sp.Matrix([[2, 1], [1, 1]]), "Y": sp.Matrix([[1, 2], [3, 4]])}
    assert model.evaluate(X / 3, env) == sp.Matrix([[sp.Rational(2, 3), sp.Rational(1, 3)],
                                                    [sp.Rational(1, 3), sp.Rational(1, 3)]])
    assert model.evaluate(X.I, env) == sp.Matrix([[1, -1], [-1, 2]])
    assert model.evaluate(X**-2, env) == sp.Matrix([[2, -3], [-3, 5]])
    assert model.evaluate(sp.MatPow(X, 0), env) == sp.eye(2)
    assert model.evaluate(X * Y + Y.T, env) == sp.Matrix([[6, 11], [6, 10]])
    a = sp.Symbol("a")
    assert model.evaluate(a * X, env) == sp.Matrix([[2 * a, a], [a, a]])


def test_evaluate_refusals():
    # unsupported nodes raise TypeError naming the node; no inputs to read d from or a power of a non-square matrix:
    # ValueError; a missing name: KeyError
    with pytest.raises(TypeError, match="cannot evaluate MatPow"):
        ev(X ** sp.Rational(1, 2))
    with pytest.raises(TypeError, match="cannot evaluate HadamardProduct"):
        ev(sp.HadamardProduct(X, Y))
    with pytest.raises(ValueError, match="no matrices to read the dimension from"):
        model.evaluate(I, {})
    with pytest.raises(ValueError, match="no matrices to read the dimension from"):
        model.evaluate(sp.ZeroMatrix(d, 1), {}, model.numpy_ops())
    for n in (0, 1, 2, -1):  # SymPy builds a power of a vector without complaint
        with pytest.raises(ValueError, match="a power of a non-square 3 x 1 matrix"):
            ev(sp.MatPow(x, n))
    with pytest.raises(ValueError, match="a power of a non-square 1 x 3 matrix"):
        ev(sp.MatPow(x.T, 0))
    with pytest.raises(KeyError):
        ev(matrix("Q"))
    with pytest.raises(TypeError):
        ev(sp.Symbol("a") * X)  # a symbolic scalar has no float value for numpy
