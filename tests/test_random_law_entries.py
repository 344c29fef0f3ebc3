"""The theory API's random laws: a numeric probability outside [0, 1] is refused by name even when
every row sums to 1 (a chain row (3/2, -1/2) passed before); a symbolic entry stays a hypothesis."""
from __future__ import annotations

import pytest
import sympy as sp

from theory.protocol.random_description import independent, markov

ALTS = [[{"A": {"B": 1}}], [{"B": {"A": 1}}]]
HALF = sp.Rational(1, 2)


THREE = ALTS + [[{"A": {"A": 1}}]]
QUARTER = sp.Rational(3, 4)


@pytest.mark.parametrize("row,bad", [((sp.Rational(3, 2), -HALF, 0), r"P\[0\]\[0\] = 3/2"),
                                     ((-HALF, QUARTER, QUARTER), r"P\[0\]\[0\] = -1/2")])
def test_a_chain_row_summing_to_one_with_an_entry_outside_the_unit_interval_is_refused(row, bad):
    # (-1/2, 3/4, 3/4): the only bad entry is negative, every other lies in [0, 1]
    with pytest.raises(ValueError, match=bad + ": not a probability"):
        markov(["A", "B"], THREE, [row, (HALF, HALF, 0), (0, 0, 1)])


@pytest.mark.parametrize("law,bad", [((2, -1, 0), "probability 1 = 2"),
                                     ((QUARTER, -HALF, QUARTER), "probability 2 = -1/2")])
def test_independent_draws_refuse_a_law_outside_the_unit_interval(law, bad):
    with pytest.raises(ValueError, match=bad + ": not a probability"):
        independent(["A", "B"], THREE, law)


def test_valid_numeric_and_symbolic_laws_pass():
    a = sp.Symbol("a")
    assert markov(["A", "B"], ALTS, [(0, 1), (HALF, HALF)]).P == ((0, 1), (HALF, HALF))
    assert markov(["A", "B"], ALTS, [(a, 1 - a), (HALF, HALF)]).P[0] == (a, 1 - a)
    assert independent(["A", "B"], ALTS, [1, 0]).probabilities == (1, 0)
