"""Contracts of theory/core/notation.py (its docstring and docs/latex.rst): how small formulas print.

Every expected string is written by hand from the printing rule it checks (names, the gap ``\\aadDelta``,
the order of terms, scalar factors first, no nested fractions, the plain text's names and its symbols table).
"""
from __future__ import annotations

import pytest
import sympy as sp

from theory.core import notation as N
from theory.core.model import I, agent, d, vector

A, B, C = agent("A"), agent("B"), agent("C")
w, b = vector("w"), vector("b")
H = sp.MatrixSymbol("H", d, d)
p_y, q_y = sp.MatrixSymbol("p_y", 1, 1), sp.MatrixSymbol("q_y", 1, 1)  # 1 x 1 matrices: scalars
a_k, b_k, c_k, D = sp.symbols("a_k b_k c_k D")
x, y, z, n = sp.symbols("x y z N")
omega = sp.Symbol("omega")
DELTA = B.w_star - A.w_star  # the objective gap w_B^* - w_A^*
GAP_K = sp.Symbol("Delta_k")


def nc(name: str) -> sp.Symbol:
    return sp.Symbol(name, commutative=False)


# --- names -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, tex, txt", [
    (A.w_star, r"w_{A}^{*}", "w_A_star"),  # w^*_A -> w_A^*
    (sp.MatrixSymbol("u^*_1", d, 1), r"u_{1}^{*}", "u_1_star"),
    (sp.MatrixSymbol("w^*_{AB}", d, 1), r"w_{AB}^{*}", "w_AB_star"),
    (sp.MatrixSymbol("Hhat", d, d), r"\hat{H}", "H_hat"),
    (sp.MatrixSymbol("what^*", d, 1), r"\hat{w}^{*}", "w_hat_star"),
    (sp.MatrixSymbol("M_A^s", d, d), r"M_{A}^{s}", "M_A**s"),
    (sp.Symbol("ell"), r"\ell", "ell"),
    (I, "I", "Id"),
    (sp.Identity(1), "1", "Id"),
    (sp.MatrixSymbol("w' - w", d, 1), "w' - w", "w_prime - w"),  # a label that stands for a sum, printed alone
    (A.M[0, 1], "{M_{A}}_{0,1}", "M_A[0, 1]"),  # an entry: SymPy's rule with the package's name
    (sp.MatrixSymbol("w^*_A", 3, 1)[1, 0], "{w_{A}^{*}}_{1,0}", "w_A_star[1, 0]"),
])
def test_names_print_as_documented(expr, tex, txt):
    """Names: w^*_A -> w_A^*, Hhat -> \\hat{H}, the identity I (Id in text), the labels of NAMES."""
    assert N.latex(expr) == tex
    assert N.text(expr) == txt


@pytest.mark.parametrize("name, txt", [
    ("w^*_A", "w_A_star"), ("e_{A,k}", "e_A_k"), ("x_{t+1}", "x_t_plus_1"), ("x_{t-1}", "x_t_minus_1"),
    ("z'", "z_prime"), ("z^*", "z_star"), ("a^b", "a_b"), ("(a)", "a"), ("a b", "ab"), ("a__b", "a_b"),
    ("x-", "x_minus"), ("u_{t+1}", "u_t_plus_1"), ("Hhat", "H_hat"),
])
def test_text_name_rules(name, txt):
    """text_name: braces and parentheses dropped, , -> _, + -> _plus_, - -> _minus_, ^* -> _star, ' -> _prime,
    ^ -> _, spaces dropped, runs of _ collapsed, no _ at either end."""
    assert N.text_name(name) == txt


@pytest.mark.parametrize("name", ["1A", "a.b", "a|b"])
def test_a_name_with_no_plain_text_is_refused(name):
    """A name whose rewrite is not a Python identifier is refused by name ("add it to NAMES")."""
    with pytest.raises(ValueError, match="add it to NAMES") as err:
        N.text_name(name)
    assert repr(name) in str(err.value)


@pytest.mark.parametrize("name", ["Id", "{Id}", "Delta", "(Delta)"])
def test_a_symbol_that_would_print_as_the_identity_or_the_gap_is_refused(name):
    """text refuses a symbol whose plain text is Id or Delta: a reader could not tell it from I or the gap."""
    with pytest.raises(ValueError, match="identity or the gap"):
        N.text(sp.MatrixSymbol(name, d, d) + I)


def test_text_atoms_of_labels():
    """text_atoms: the exponent of M_A**s commutes, the matrix does not; a sum label lists both names."""
    assert N.text_atoms("M_A^s", False) == {"M_A": False, "s": True}
    assert N.text_atoms("M_B^{s_B}", False) == {"M_B": False, "s_B": True}
    assert N.text_atoms("u_{t+1} - w^*_A", False) == {"u_t_plus_1": False, "w_A_star": False}
    assert N.text_atoms("a_k", True) == {"a_k": True}
    atoms = N.text_atoms("M_A^s", False)
    atoms["s"] = False  # a copy: the table itself is not changed
    assert N.text_atoms("M_A^s", False)["s"] is True


def test_a_sum_label_is_parenthesized_in_a_product_text():
    """A label written as a sum (w_prime - w) reads in parentheses inside a product."""
    assert N.text(A.M * sp.MatrixSymbol("w' - w", d, 1)) == "M_A*(w_prime - w)"


STEP, ERROR = sp.MatrixSymbol("w' - w", d, 1), sp.MatrixSymbol("u_{t+1} - w^*_A", d, 1)  # labels read as sums


@pytest.mark.parametrize("expr, tex", [
    (STEP, "w' - w"),  # alone (a formula's left-hand side): bare
    (ERROR, r"u_{t+1} - w_{A}^{*}"),
    (A.M * STEP, r"M_{A} \left(w' - w\right)"),
    (-ERROR, r"- \left(u_{t+1} - w_{A}^{*}\right)"),
    (2 * ERROR, r"2 \left(u_{t+1} - w_{A}^{*}\right)"),
    (ERROR + w, r"w + \left(u_{t+1} - w_{A}^{*}\right)"),  # a term: M_A w' - w + w would read otherwise
    (STEP.T, r"\left(w' - w\right)^{T}"),  # the transpose of the whole label, not of w
    (ERROR.T * w, r"\left(u_{t+1} - w_{A}^{*}\right)^{T} w"),  # parentheses once
])
def test_a_sum_label_is_parenthesized_inside_a_formula_latex(expr, tex):
    """The LaTeX reads a label written as a sum in parentheses inside any larger formula, as the text does."""
    assert N.latex(expr) == tex


def test_sum_labels_are_the_names_whose_latex_reads_as_a_sum():
    """SUM_LABELS holds exactly the labels of NAMES whose LaTeX has a + or - outside any bracket."""
    def outside_brackets(tex):
        depth, out = 0, ""
        for ch in tex:
            depth += (ch in "({[") - (ch in ")}]")
            out += ch if depth == 0 else ""
        return out
    sums = {name for name, (tex, _) in N.NAMES.items() if " - " in outside_brackets(tex) or
            " + " in outside_brackets(tex)}
    assert N.SUM_LABELS == sums == {"u_{t+1} - w^*_A", "w' - w"}


# --- the gap ---------------------------------------------------------------------------------------------

def test_the_gap_prints_as_delta():
    """w_B^* - w_A^* prints \\aadDelta (plain text Delta), also inside a product, without parentheses."""
    assert N.latex(DELTA) == r"\aadDelta"
    assert N.text(DELTA) == "Delta"
    assert N.latex(A.M * DELTA) == r"M_{A} \aadDelta"
    assert N.text(A.M * DELTA) == "M_A*Delta"
    assert N.latex(A.M * B.K * DELTA) == r"M_{A} K_{B} \aadDelta"


@pytest.mark.parametrize("expr, gap", [
    (DELTA, True), (B.w_star + (-1) * A.w_star, True),
    (A.w_star - B.w_star, False), (2 * B.w_star - 2 * A.w_star, False), (B.w_star + A.w_star, False),
    (B.w_star - A.w_star + w, False), (B.w_star - A.M * A.w_star, False), (C.w_star - A.w_star, False),
    (B.w_star - w, False), (b_k - a_k, False), (B.w_star, False), (-A.w_star - B.w_star, False),
    (B.w_star - 2 * A.w_star, False), (B.w_star - A.w_star.T.T, True), (A.M - B.M.T, False),
    (sp.MatrixSymbol("w^*_B", 1, 1) - sp.MatrixSymbol("w^*_A", 1, 1), True),
    (B.w_star - A.w_star * p_y, False), (B.w_star * p_y - A.w_star, False),  # a product is not the gap
    (sp.MatAdd(B.w_star, B.w_star), False), (sp.MatAdd(-A.w_star, -A.w_star), False),  # unevaluated: one name twice
    (sp.HadamardProduct(B.w_star, -A.w_star), False),  # two arguments, but not a sum
    (sp.MatAdd(B.w_star, B.w_star, -A.w_star), False),  # three terms: w_B + Delta
])
def test_is_delta_only_for_w_B_star_minus_w_A_star(expr, gap):
    """is_delta: exactly two terms, w_B^* with coefficient 1 and w_A^* with coefficient -1."""
    assert N.is_delta(expr) is gap


def test_the_reverse_gap_is_not_delta():
    """w_A^* - w_B^* is printed as the sum, positive term first."""
    assert N.latex(A.w_star - B.w_star) == r"w_{A}^{*} - w_{B}^{*}"
    assert N.text(A.w_star - B.w_star) == "w_A_star - w_B_star"


def test_symbol_macros():
    """SYMBOL_MACROS defines \\aadDelta as \\Delta, by \\providecommand (a paper may \\renewcommand it)."""
    assert N.SYMBOL_MACROS == {"aadDelta": r"\Delta"}
    assert N.symbol_macros_tex() == r"\providecommand{\aadDelta}{\Delta}"


# --- order of terms ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, tex, txt", [
    (-H * w + b, r"b - H w", "b - H*w"),  # positive terms first
    (-A.M * B.M + I, r"I - M_{A} M_{B}", "Id - M_A*M_B"),
    (A.T(w), r"M_{A} w + K_{A} w_{A}^{*}", "M_A*w + K_A*w_A_star"),  # the message before constants
    (A.K * A.w_star + A.K * B.M * B.w_star, r"K_{A} M_{B} w_{B}^{*} + K_{A} w_{A}^{*}",
     "K_A*M_B*w_B_star + K_A*w_A_star"),  # longer products first
    (w + A.M * B.M * w + A.M * w, r"M_{A} M_{B} w + M_{A} w + w", "M_A*M_B*w + M_A*w + w"),
    (A.K * A.w_star - A.M * w, r"K_{A} w_{A}^{*} - M_{A} w", "K_A*w_A_star - M_A*w"),  # positive beats message
    (-A.M * w - w, r"- M_{A} w - w", "-M_A*w - w"),
    (A.M * w - 2 * A.K * A.w_star, r"M_{A} w - 2 K_{A} w_{A}^{*}", "M_A*w - 2*K_A*w_A_star"),
])
def test_matrix_sums_in_paper_order(expr, tex, txt):
    """A sum: positive terms first, then terms in the message (u_t, w, ...), then longer products."""
    assert N.latex(expr) == tex
    assert N.text(expr) == txt


def test_scalar_sum_positive_terms_first():
    """a_k + b_k - a_k b_k: the negative term last."""
    assert N.latex(-a_k * b_k + a_k + b_k) == r"a_{k} + b_{k} - a_{k} b_{k}"
    assert N.text(-a_k * b_k + a_k + b_k) == "a_k + b_k - a_k*b_k"
    assert N.latex(-a_k - b_k) == r"- a_{k} - b_{k}"
    assert N.latex(x**2 + x + 1) == r"x^{2} + x + 1"  # terms of one rank in SymPy's (lex) order
    assert N.latex(2 * a_k * b_k - c_k) == r"2 a_{k} b_{k} - c_{k}"  # a positive number is no minus sign


def test_a_term_that_sympy_brackets_in_a_sum_stays_bracketed():
    """SymPy's rule kept in a sum in paper order: a term holding a Mod is in parentheses."""
    assert N.latex(x + sp.Mod(y, 3)) == r"x + \left(y \bmod 3\right)"


def test_paper_order_is_stable():
    """paper_order keeps the given order among terms of equal rank."""
    assert N.paper_order([A.M * w, B.M * w]) == [A.M * w, B.M * w]
    assert N.paper_order([B.M * w, A.M * w]) == [B.M * w, A.M * w]
    assert N.paper_order([-a_k, b_k, c_k]) == [b_k, c_k, -a_k]
    assert N.paper_order([w, A.M * w]) == [A.M * w, w]  # more matrix factors first
    assert N.paper_order([I, 2 * A.M]) == [I, 2 * A.M]  # one matrix factor each: as given
    assert N.paper_order([2 * A.M, I]) == [2 * A.M, I]


def test_a_weight_minus_one_reads_one_minus_weight():
    """(omega - 1) M_A M_B reads - (1 - omega) M_A M_B: a binomial with its positive constant first."""
    expr = I + (omega - 1) * A.M * B.M
    assert N.latex(expr) == r"I - \left(1 - \omega\right) M_{A} M_{B}"
    assert N.text(expr) == "Id - (1 - omega)*M_A*M_B"


# --- products ------------------------------------------------------------------------------------------

def test_a_scalar_factor_leads_its_product():
    """A 1 x 1 factor (p_y) leads its product, after a number; products of scalars keep their order."""
    assert N.latex(A.M * p_y) == r"p_{y} M_{A}"
    assert N.text(A.M * p_y) == "p_y*M_A"
    assert N.latex(2 * A.M * p_y) == r"2 p_{y} M_{A}"
    assert N.text(2 * A.M * p_y) == "2*p_y*M_A"
    assert N.latex(w * p_y) == r"p_{y} w"
    assert N.latex(p_y * q_y) == r"p_{y} q_{y}"
    assert N.text(p_y * q_y) == "p_y*q_y"
    # with no 1 x 1 factor a product prints its factors as it holds them (an unevaluated one too)
    assert N.latex(sp.MatMul(A.M, x, evaluate=False)) == r"M_{A} x"
    assert N.text(sp.MatMul(A.M, x, evaluate=False)) == "M_A*x"


def test_a_rational_coefficient_is_a_tfrac():
    """A rational coefficient of a matrix product prints \\tfrac{p}{q}, never (1/2) M_A."""
    assert N.latex(sp.Rational(1, 2) * A.M) == r"\tfrac{1}{2} M_{A}"
    assert N.latex(-sp.Rational(3, 2) * A.M * w) == r"- \tfrac{3}{2} M_{A} w"
    assert N.latex(-sp.Rational(1, 2) * A.M) == r"- \tfrac{1}{2} M_{A}"
    for body in (p_y * A.M * p_y, A.M * B.M * w * p_y):  # the coefficient only goes before the product's own print
        assert N.latex(sp.Rational(1, 2) * body) == r"\tfrac{1}{2} " + N.latex(body)
    assert N.latex(p_y * A.M * p_y) == r"p_{y} p_{y} M_{A}"
    assert N.text(p_y * A.M * p_y) == "p_y*p_y*M_A"
    assert N.latex(2 * A.M * w) == r"2 M_{A} w"
    assert N.latex(-2 * A.M * w) == r"- 2 M_{A} w"


def test_the_inverse_example():
    """The docstrings' example: G_A."""
    expr = (I - A.M * B.M).inverse() * A.M * B.K
    assert N.latex(expr) == r"\left(I - M_{A} M_{B}\right)^{-1} M_{A} K_{B}"
    assert N.text(expr) == "(Id - M_A*M_B)**(-1)*M_A*K_B"


def test_a_binomial_with_a_negative_constant_reads_constant_first():
    """b_k - 1 as a factor reads -(1 - b_k): a_k (b_k - 1) prints - a_k (1 - b_k)."""
    assert N.latex(a_k * (b_k - 1)) == r"- a_{k} \left(1 - b_{k}\right)"
    assert N.latex((a_k - 1) / D) == r"- \frac{1 - a_{k}}{D}"
    assert N.latex(b_k * (a_k - 1) / D) == r"- \frac{\left(1 - a_{k}\right) b_{k}}{D}"
    assert N.latex(-a_k * (b_k - 1)) == r"a_{k} \left(1 - b_{k}\right)"
    assert N.latex((a_k - 1) * (b_k - 1) / x) == r"\frac{\left(1 - a_{k}\right) \left(1 - b_{k}\right)}{x}"  # two flips
    assert N.latex(x + a_k * (b_k - 1)) == r"x - a_{k} \left(1 - b_{k}\right)"  # the flip's sign in a sum
    assert N.text(x + a_k * (b_k - 1)) == "x + a_k*(b_k - 1)"  # plain text: SymPy's str, no flip


def test_only_a_binomial_with_a_positive_other_term_is_flipped():
    """Three terms, or a negative other term: the sum prints as it is."""
    assert N.latex(a_k * (b_k + c_k - 1)) == r"a_{k} \left(b_{k} + c_{k} - 1\right)"
    assert N.latex(a_k * (-b_k - 1)) == r"a_{k} \left(- b_{k} - 1\right)"
    assert N.latex(a_k * (2 - b_k)) == r"a_{k} \left(2 - b_{k}\right)"


def test_a_binomial_leads_a_short_numerator_symbols_lead_a_long_one():
    """(1 - a_k) b_k / D: the binomial first; with three or more factors on top, symbols first."""
    assert N.latex((1 - a_k) * b_k / D) == r"\frac{\left(1 - a_{k}\right) b_{k}}{D}"
    assert N.latex((1 - a_k) * b_k * c_k / D) == r"\frac{b_{k} c_{k} \left(1 - a_{k}\right)}{D}"
    assert N.latex(x * (y + z)) == r"x \left(y + z\right)"


def test_the_gap_stands_last_outside_the_fraction():
    """(1 - a_k) b_k / D * Delta_k: sums first, the gap last, outside the fraction."""
    assert N.latex((1 - a_k) * b_k / D * GAP_K) == r"\frac{\left(1 - a_{k}\right) b_{k}}{D} \aadDelta_{k}"
    assert N.latex(-(1 - a_k) * b_k / D * GAP_K) == r"- \frac{\left(1 - a_{k}\right) b_{k}}{D} \aadDelta_{k}"
    assert N.latex(GAP_K / D) == r"\frac{1}{D} \aadDelta_{k}"
    assert N.latex(2 * GAP_K) == r"2 \aadDelta_{k}"
    assert N.latex(GAP_K / 2) == r"\frac{1}{2} \aadDelta_{k}"  # a number's denominator goes to the bottom
    assert N.latex((1 - a_k) * b_k * GAP_K / 2) == r"\frac{\left(1 - a_{k}\right) b_{k}}{2} \aadDelta_{k}"
    assert N.latex(0.5 * GAP_K) == r"0.5 \aadDelta_{k}"
    assert N.latex((b_k - 1) * GAP_K * 2) == r"- 2 \left(1 - b_{k}\right) \aadDelta_{k}"  # a number, then a flip
    assert N.latex((1 - a_k) * b_k * GAP_K * (-2)) == r"- 2 b_{k} \left(1 - a_{k}\right) \aadDelta_{k}"
    assert N.latex((1 - a_k) * b_k * GAP_K * sp.Rational(3, 2)) == (  # three factors on top: the number leads
        r"\frac{3 b_{k} \left(1 - a_{k}\right)}{2} \aadDelta_{k}")
    assert N.latex(GAP_K) == r"\aadDelta_{k}"
    assert N.latex(GAP_K / D**2) == r"\frac{1}{D^{2}} \aadDelta_{k}"


def test_a_sum_before_the_gap_is_in_parentheses():
    """(x + y) Delta_k: a sum reads without parentheses only as the whole numerator or denominator."""
    assert N.latex((x + y) * GAP_K) == r"\left(x + y\right) \aadDelta_{k}"
    assert N.latex((-b_k - 1) * GAP_K) == r"\left(- b_{k} - 1\right) \aadDelta_{k}"
    assert N.latex((x + y) * GAP_K / D) == r"\frac{x + y}{D} \aadDelta_{k}"
    assert N.latex(x * GAP_K / (y + z)) == r"\frac{x}{y + z} \aadDelta_{k}"


def test_no_fraction_nests_in_a_fraction():
    """(x/y + z)/N prints \\frac{1}{N} (...): the sum holding a fraction stands outside."""
    tex = N.latex((x / y + z) / n)
    assert tex.startswith(r"\frac{1}{N} \left(") and tex.endswith(r"\right)")
    assert sorted(tex[len(r"\frac{1}{N} \left("):-len(r"\right)")].split(" + ")) == [r"\frac{x}{y}", "z"]
    # a sum that holds a fraction goes with the gap, outside the fraction, in parentheses
    assert N.latex(GAP_K * (x + y / z)) == r"\aadDelta_{k} \left(x + \frac{y}{z}\right)"
    assert N.latex(a_k * (x + y / z) / D) == r"\frac{a_{k}}{D} \left(x + \frac{y}{z}\right)"
    assert N.latex((y + z) / D) == r"\frac{y + z}{D}"  # no fraction in the sum: one fraction, no parentheses
    assert N.latex(sp.Mul(2, x / y + z, evaluate=False)) == r"2 \left(\frac{x}{y} + z\right)"  # no \frac{1}{1}


# --- transposed sums and functions --------------------------------------------------------------------------

def test_a_transposed_sum_reads_as_the_transpose_of_the_sum():
    """b^T - w^T H^T reads (b - H w)^T; I - M_A^T reads (I - M_A)^T in LaTeX but not in text."""
    assert N.latex(b.T - w.T * H.T) == r"\left(b - H w\right)^{T}"
    assert N.text(b.T - w.T * H.T) == "transpose(b - H*w)"
    assert N.latex((b.T - w.T * H.T) * A.M) == r"\left(b - H w\right)^{T} M_{A}"
    assert N.latex(I - A.M.T) == r"\left(I - M_{A}\right)^{T}"
    assert N.text(I - A.M.T) == "Id - transpose(M_A)"
    assert N.transposed_sum(I - A.M.T, identity=False) is None
    assert N.transposed_sum(b.T - w.T * H.T) == b - H * w
    assert N.transposed_sum(A.M.T + B.M) is None
    assert N.transposed_sum(A.M.T) is None
    assert N.transposed_sum(A.M.T * B.M + B.M.T) is None  # its transpose still holds a transpose
    assert N.latex(A.M.T * B.M + B.M.T) == r"M_{A}^{T} M_{B} + M_{B}^{T}"
    assert N.latex(A.M.T + B.M) == r"M_{B} + M_{A}^{T}"


def test_functions_print():
    """spectral_radius prints \\rho(...), trace(X) in text."""
    assert N.latex(N.spectral_radius(A.M * B.M)) == r"\rho\left(M_{A} M_{B}\right)"
    assert N.text(N.spectral_radius(A.M * B.M)) == "spectral_radius(M_A*M_B)"
    assert N.text(sp.Trace(A.M)) == "trace(M_A)"
    with pytest.raises(TypeError):  # the spectral radius of one matrix
        N.spectral_radius(A.M, B.M)
    assert N.text(A.M.T) == "transpose(M_A)"


# --- the symbols table and symbolic ---------------------------------------------------------------------------

def test_text_symbols_table():
    """Matrices do not commute, scalars (1 x 1 included) do; Id and Delta say what they stand for."""
    table = N.text_symbols(A.T(w), p_y * A.M * DELTA, I - A.M * B.M)
    assert table == {
        "Delta": {"commutative": False, "definition": "w_B_star - w_A_star"},
        "Id": {"commutative": False, "meaning": "identity matrix"},
        "K_A": {"commutative": False}, "M_A": {"commutative": False}, "M_B": {"commutative": False},
        "p_y": {"commutative": True}, "w": {"commutative": False},
        "w_A_star": {"commutative": False}, "w_B_star": {"commutative": False},
    }
    assert N.text_symbols(a_k * b_k) == {"a_k": {"commutative": True}, "b_k": {"commutative": True}}
    assert N.text_symbols(D * x, sp.Symbol("A") * C.M) == {  # names other than Id and Delta: commutativity only
        "A": {"commutative": True}, "D": {"commutative": True}, "M_C": {"commutative": False},
        "x": {"commutative": True}}
    assert N.text_symbols(DELTA) == {"Delta": {"commutative": False, "definition": "w_B_star - w_A_star"},
                                     "w_A_star": {"commutative": False}, "w_B_star": {"commutative": False}}


def test_text_symbols_lists_the_functions_the_text_calls():
    """Functions in the text are listed with "function": true and their meaning; others are not."""
    table = N.text_symbols(sp.Trace(A.M.T), N.spectral_radius(A.M))
    assert table["trace"] == {"function": True, "meaning": "trace of a matrix"}
    assert table["transpose"] == {"function": True, "meaning": "matrix transpose"}
    assert table["spectral_radius"] == {"function": True, "meaning": "spectral radius"}
    assert "sqrt" not in table and "sin" not in table
    assert N.text_symbols(sp.sqrt(x))["sqrt"] == {"function": True, "meaning": "square root"}


def test_text_symbols_of_an_exponent_label():
    """M_A**s: the matrix does not commute, the exponent does."""
    table = N.text_symbols(sp.MatrixSymbol("M_A^s", d, d) * w)
    assert table == {"M_A": {"commutative": False}, "s": {"commutative": True}, "w": {"commutative": False}}


def test_symbolic_is_the_text_read_back():
    """symbolic: noncommutative symbols for matrices, Id for the identity, 0 for a zero matrix."""
    M_A, M_B, K_A, Id = nc("M_A"), nc("M_B"), nc("K_A"), nc("Id")
    assert N.symbolic(I - A.M * B.M) == Id - M_A * M_B
    assert N.symbolic(A.T(w)) == M_A * nc("w") + K_A * nc("w_A_star")
    assert N.symbolic(p_y * A.M) == sp.Symbol("p_y") * M_A
    assert N.symbolic(sp.ZeroMatrix(d, d)) == 0
    assert N.symbolic((I - A.M).inverse()) == (Id - M_A) ** -1
    assert N.symbolic(A.M.T) == sp.transpose(M_A)
    assert N.symbolic(sp.Trace(A.M)) == sp.Function("trace")(M_A)
    assert N.symbolic(sp.sqrt(a_k) + omega) == sp.sqrt(a_k) + omega
    assert N.symbolic(sp.MatrixSymbol("M_A^s", d, d)) == M_A ** sp.Symbol("s")
    assert N.symbolic(sp.MatrixSymbol("u_{t+1} - w^*_A", d, 1)) == nc("u_t_plus_1") - nc("w_A_star")
    assert N.symbolic(sp.MatrixSymbol("Hhat", d, d)) == nc("H_hat")
    assert N.symbolic(sp.sqrt(sp.Symbol("what^*"))) == sp.sqrt(sp.Symbol("w_hat_star"))  # names inside a function


def test_the_sign_of_a_product_of_plain_symbols_is_kept():
    """A product of plain symbols prints by SymPy's rules and keeps its sign (an infinite coefficient too)."""
    assert N.latex(-sp.oo * x) == r"- \infty x"
    # with the gap or a flipped binomial (SymPy's is_negative is False for -oo: the sign is the extended one)
    assert N.latex(-sp.oo * GAP_K) == r"- \infty \aadDelta_{k}"
    assert N.latex(-sp.oo * (x - 1) * GAP_K) == r"\infty \left(1 - x\right) \aadDelta_{k}"
    assert N.latex(sp.oo * (x - 1) * GAP_K) == r"- \infty \left(1 - x\right) \aadDelta_{k}"
    assert N.latex(y - sp.oo * (x - 1)) == r"y + \infty \left(1 - x\right)"
    assert N.latex(-2 * x * y) == r"- 2 x y"
    assert N.latex(sp.sqrt(x) / D) == r"\frac{\sqrt{x}}{D}"  # a root over D is one fraction


@pytest.mark.parametrize("expr, txt", [
    (sp.Rational(1, 2) * A.M, "(1/2)*M_A"), (x * (y - z), "x*(y - z)"), ((x + y) ** 2, "(x + y)**2"),
    (x / (y + z), "x/(y + z)"), ((I - A.M) ** -1, "(Id - M_A)**(-1)"), (A.M * (B.M + I), "M_A*(Id + M_B)"),
    (x**2 + x + 1, "x**2 + x + 1"),  # terms of one rank in SymPy's order
])
def test_plain_text_is_sympys_str_syntax(expr, txt):
    """Plain text: SymPy's str printer (its parentheses) with the package's names (Id for I)."""
    assert N.text(expr) == txt
    assert sp.sstr(expr).replace("I", "Id") == txt  # the reference: SymPy's own str printer


def test_the_gap_symbol_is_recognised_by_its_name_however_built():
    """Delta_k is the gap by its name, also when the name is built at run time (not the same str object)."""
    from sympy.core.cache import clear_cache

    clear_cache()  # SymPy caches symbols by name: a fresh one holds the run-time string
    gap = sp.Symbol("_".join(["Delta", "k"]))
    assert gap.name == "Delta_k"
    assert N.latex(gap / D) == r"\frac{1}{D} \aadDelta_{k}"
    assert N.latex((1 - a_k) * b_k * gap / D) == r"\frac{\left(1 - a_{k}\right) b_{k}}{D} \aadDelta_{k}"


def test_a_sum_in_a_product_text_keeps_its_parentheses():
    """Plain text: a sum inside a product is in parentheses, also Id - transpose(M_A) (no transposed reading)."""
    assert N.text(B.M * (I - A.M.T)) == "M_B*(Id - transpose(M_A))"
    assert N.text((b.T - w.T * H.T) * A.M) == "transpose(b - H*w)*M_A"
    assert N.latex(B.M * (I - A.M.T)) == r"M_{B} \left(I - M_{A}\right)^{T}"
