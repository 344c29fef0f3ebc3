"""The display form of a gap coefficient (``theory.protocol.report._pretty``): ``G = X (I - M_j)`` is written
``X K_j`` whenever such an ``X`` exists, also when ``X`` itself has words ending in ``M_j`` (the rule used before
took ``X`` as ``G``'s words not ending in ``M_j`` and missed those, so K >= 3 random protocols printed residuals
without their ``K_j``)."""
from __future__ import annotations

import sympy as sp

from theory.core.algebra import P_ONE, letter, padd, pmul, pscale
from theory.protocol.report import _right_quotient

MA = sp.Symbol("M_A", commutative=False)
MB = sp.Symbol("M_B", commutative=False)
Q = sp.Symbol("Q_1", commutative=False)
K_A = padd(P_ONE, letter(MA), signs=(1, -1))


def test_quotient_with_words_ending_in_the_letter():
    # X = I + 2 M_A + Q M_A - 3 M_B M_A^2: three of its four words end in M_A
    X = padd(P_ONE, pscale(letter(MA), 2), pmul(letter(Q), letter(MA)),
             pscale(pmul(letter(MB), letter(MA), letter(MA)), -3))
    G = pmul(X, K_A)
    assert _right_quotient(G, MA) == X
    # the rule used before: G's words not ending in M_A
    old = {w: c for w, c in G.items() if not (w and w[-1] == MA)}
    assert padd(pmul(old, K_A), G, signs=(1, -1))  # does not give back G


def test_no_quotient_when_not_divisible():
    for G in (padd(P_ONE, pscale(letter(MA), 2), signs=(1, -1)),  # I - 2 M_A
              letter(MB),  # a word not ending in M_A at all
              pmul(letter(MB), letter(MA))):  # M_B M_A
        X = _right_quotient(G, MA)
        assert padd(pmul(X, K_A), G, signs=(1, -1)), G  # X (I - M_A) != G: no K_A is written
