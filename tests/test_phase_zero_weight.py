"""A phase's sentence (``theory.protocol.display.phase_item``) does not write a message heard with weight 0: a config
may give a weight 0 or -0.0 (a random weight rounded), and ``0 m_{C}`` is a trivial number the LaTeX never writes."""
from __future__ import annotations

import sympy as sp

from theory.protocol.display import phase_item


def test_zero_weights_are_not_written():
    half, zero = sp.Rational(11, 20), sp.Integer(0)
    assert phase_item([("B", (("A", half), ("C", zero)))]) == r"$B$ hears $\frac{11}{20} m_{A}$"
    # the first written term carries no '+', also when a zero weight comes first
    assert phase_item([("B", (("C", zero), ("A", half)))]) == r"$B$ hears $\frac{11}{20} m_{A}$"
    assert phase_item([("B", (("C", zero), ("A", -half)))]) == r"$B$ hears $- \frac{11}{20} m_{A}$"


def test_every_weight_zero_hears_zero():
    assert phase_item([("B", (("A", sp.Integer(0)),)), ("A", (("B", sp.Integer(1)),))]) == \
        r"$B$ hears $0$; $A$ hears $m_{B}$"
