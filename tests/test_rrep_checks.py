"""The V1 checks of a random protocol (theory.protocol.random_checks) on the inputs that only the Python API
builds:

- a chain with symbolic transition probabilities: every check holds (the identities are algebraic in ``P``)
  and no check compares a symbol with 0 by order (a SymPy relation has no truth value);
- the named path's exact matrix identity ``T (I - S) = I``: reported as failed when ``T`` is wrong, and as not
  proved (no exception) when SymPy cannot decide whether the residual is zero: a check holds only when its
  residual is proved 0.

The mutation killer of random_checks.py runs this file (mutation/targets.toml)."""
import sympy as sp

from theory.protocol import random_checks as CK, random_compiler as RC
from theory.protocol.random_description import markov

NAMES = ["A", "B"]
HALF, THIRD = sp.Rational(1, 2), sp.Rational(1, 3)
s, x = sp.Symbol("s"), sp.Symbol("x")
# A hears B, B hears A, both in turn: 4 written messages, which no expanded elimination order settles (the named
# path, derived in a few hundredths of a second).
THREE = [[{"A": {"B": 1}}], [{"B": {"A": 1}}], [{"A": {"B": 1}}, {"B": {"A": 1}}]]
T_LABEL = "T (I - S) = I: the scalar blocks inverted exactly"


def test_symbolic_chain_checks_hold():
    rc = RC.compile_random(markov(NAMES, THREE[:2], [[1 - s, s], [HALF, HALF]]), derive_mean=False)
    checks = CK.verify(rc)
    assert sum(c.label.startswith("Q_") for c in checks) == 2 and all(c.holds for c in checks)


def _named():
    rc = RC.compile_random(markov(NAMES, THREE, [[THIRD] * 3] * 3))
    assert rc.named is not None
    return rc


def _t_check(rc) -> CK.Check:
    return next(c for c in CK.named_mean_checks(rc) if c.label == T_LABEL)


def test_named_path_scalar_inverse_check_can_fail():
    rc = _named()
    assert _t_check(rc).holds
    rc.named.T = 2 * rc.named.T  # a wrong (I - S)^{-1}
    assert not _t_check(rc).holds


def test_named_path_undecided_residual_is_not_proved():
    rc = _named()
    undecided = (x + 1) ** 2 - x ** 2 - 2 * x - 1  # zero, but SymPy's is_zero answers None unexpanded
    assert sp.Matrix([[undecided]]).is_zero_matrix is None
    T = rc.named.T.copy()
    T[0, 0] = T[0, 0] + undecided
    rc.named.T = T
    assert not _t_check(rc).holds
