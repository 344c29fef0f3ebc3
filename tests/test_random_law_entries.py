"""The theory API's random laws: a numeric probability outside [0, 1] is refused by name even when
every row sums to 1 (a chain row (3/2, -1/2) passed before); a symbolic entry stays a hypothesis."""
from __future__ import annotations

import pytest
import sympy as sp

from theory.protocol.random_description import independent, markov

ALTS = [[{"A": {"B": 1}}], [{"B": {"A": 1}}]]
HALF = sp.Rational(1, 2)


@pytest.mark.parametrize("row", [(sp.Rational(3, 2), -HALF), (-1, 2)])
def test_a_chain_row_summing_to_one_with_a_negative_entry_is_refused(row):
    with pytest.raises(ValueError, match=r"P\[0\]\[[01]\] = .*not a probability"):
        markov(["A", "B"], ALTS, [row, (HALF, HALF)])


def test_independent_draws_refuse_a_law_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"probability 1 = 2: not a probability"):
        independent(["A", "B"], ALTS, [2, -1])


def test_valid_numeric_and_symbolic_laws_pass():
    a = sp.Symbol("a")
    assert markov(["A", "B"], ALTS, [(0, 1), (HALF, HALF)]).P == ((0, 1), (HALF, HALF))
    assert markov(["A", "B"], ALTS, [(a, 1 - a), (HALF, HALF)]).P[0] == (a, 1 - a)
    assert independent(["A", "B"], ALTS, [1, 0]).probabilities == (1, 0)
