"""A Markov chain on the named-elimination path (theory.protocol.random_markov) whose listener's weights do not
sum to one (A hears B with weight 1/2): the mean residual keeps its ``(sum_j G_(i,j) - 1) w_i*`` term, and every
check of the chain (among them the displayed residuals against that formula) holds, so the document is printed.
The mutation killer of random_markov.py runs this file (mutation/targets.toml)."""
import sympy as sp

from theory.protocol import random_report as RR
from theory.protocol.random_compiler import compile_random
from theory.protocol.random_description import markov

THIRD = sp.Rational(1, 3)
# A hears B (weight 1/2), B hears A, both in turn: 4 written messages, which no expanded elimination order
# settles: the named path (a few tenths of a second).
ALTS = [[{"A": {"B": sp.Rational(1, 2)}}], [{"B": {"A": 1}}], [{"A": {"B": 1}}, {"B": {"A": 1}}]]


def test_named_chain_with_weights_not_summing_to_one():
    rc = compile_random(markov(["A", "B"], ALTS, [[THIRD] * 3] * 3))
    assert rc.named is not None and all(rc.residual_self)
    doc = RR.derived_random(rc)  # Unverified if a check fails
    assert all(c["holds"] for c in doc["checks"])
    assert [r["weights_sum_to_one"] for r in doc["residuals"].values()] == [False, False]


def test_named_chain_with_a_symbolic_probability():
    """A symbolic transition probability on the named path: the scalar blocks are exact expressions in it (no
    order comparison with 0, which has no truth value for a symbol), and every check holds."""
    s = sp.Symbol("s")
    rc = compile_random(markov(["A", "B"], ALTS, [[1 - s, s, 0], [0, 0, 1], [THIRD] * 3]))
    assert rc.named is not None
    assert all(c["holds"] for c in RR.derived_random(rc)["checks"])
