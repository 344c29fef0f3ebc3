"""The gallery: protocols beyond the paper's round robin, each compiled by theory.protocol.compiler.

Each entry gives the phases (weights exact, or the SymPy symbol ``omega`` for the anchoring weight of P4),
a one-line description, and the sentence saying what changes against the paper's protocol.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory.protocol.description import Spec, round_robin, spec

omega = sp.Symbol("omega")  # P4's anchoring weight (alpha is C12's Newton damping)
HALF, THIRD = sp.Rational(1, 2), sp.Rational(1, 3)


def anchored(weight=omega) -> Spec:
    """P4's protocol: A reads ``weight m_A + (1 - weight) m_B``, then B reads ``m_A`` (``weight = 0``: C3's)."""
    return spec(["A", "B"], [{"A": {"A": weight, "B": 1 - weight}}, {"B": {"A": 1}}])


@dataclass(frozen=True)
class Entry:
    key: str
    title: str
    spec: Spec
    changes: str  # reStructuredText (mathematics in :math: roles): the docs page prints it as written


def entries() -> list[Entry]:
    return [
        Entry("round_robin", "The paper's protocol: A then B", round_robin(["A", "B"]),
              "This is the reference: one turn each per round, B hears A's newest message."),
        Entry("simultaneous", "Two agents answering simultaneously",
              spec(["A", "B"], [{"A": {"B": 1}, "B": {"A": 1}}]),
              "The fixed point is the round robin's, but each round is one simultaneous exchange, so the rate "
              "per round is the square root of the round robin's rate."),
        Entry("repeated", "Schedule A, A, B (A speaks twice per round)",
              spec(["A", "B"], [{"A": {"B": 1}}, {"A": {"A": 1}}, {"B": {"A": 1}}]),
              "A's second turn hears its own first message, which is exactly two steps per turn for A: "
              "A's plateau shrinks as in the steps-per-turn claim."),
        Entry("debate", "Three agents averaging (one debate round)",
              spec(["A", "B", "C"], [{"A": {"B": HALF, "C": HALF}, "B": {"A": HALF, "C": HALF},
                                      "C": {"A": HALF, "B": HALF}}]),
              "Every agent hears the mean of the other two at once, so the round map couples all three "
              r"messages and no single :math:`d \times d` product gives the rate."),
        Entry("anchored", "An anchored agent (weight omega on its own last message)",
              anchored(),
              r"A keeps weight :math:`\omega` on its own last message: :math:`\omega = 0` is the paper's protocol. "
              r"A's plateau is :math:`e_A = (1 - \omega) \mathcal{Q}_1 M_A \mathcal{Q}_2 K_B \Delta` (the pivots "
              r"below), which tends "
              r"to 0 as :math:`\omega` approaches 1 when :math:`K_A` is invertible, though not monotonically in "
              r":math:`\omega` in general."),
        Entry("ring", "Four agents in a ring (simultaneous, each hears its predecessor)",
              spec(["A", "B", "C", "D"], [{"A": {"D": 1}, "B": {"A": 1}, "C": {"B": 1}, "D": {"C": 1}}]),
              "A message needs four rounds to come back, so the rate per round is the fourth root of the "
              "rate of the four-transfer product."),
        Entry("star", "Four agents in a star (hub A hears the mean of the leaves, the leaves hear A)",
              spec(["A", "B", "C", "D"], [{"A": {"B": THIRD, "C": THIRD, "D": THIRD},
                                           "B": {"A": 1}, "C": {"A": 1}, "D": {"A": 1}}]),
              "The hub averages three leaves and every leaf hears only the hub: the rate per round is the "
              r"square root of :math:`\rho(M_A (M_B + M_C + M_D) / 3)`."),
    ]


def entry(key: str) -> Entry:
    for e in entries():
        if e.key == key:
            return e
    raise KeyError(key)
