"""The gallery: protocols beyond the paper's round robin, each compiled by theory.protocol.compiler.

Each entry gives the phases (weights exact, or the SymPy symbol ``alpha`` for anchoring),
a one-line description, and the sentence saying what changes against the paper's protocol.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory.protocol.description import Spec, round_robin, spec

alpha = sp.Symbol("alpha")
HALF, THIRD = sp.Rational(1, 2), sp.Rational(1, 3)


@dataclass(frozen=True)
class Entry:
    key: str
    title: str
    spec: Spec
    changes: str
    # Forms of derived objects without the compiler's removable singularities: (LaTeX name, LaTeX
    # expression, why), typeset in place of the compiler's (tests/test_check.py checks them numerically).
    removable: tuple[tuple[str, str, str], ...] = ()


# The compiler's elimination divides by alpha; with Q_1 - I = alpha Q_1 M_A the singularity at
# alpha = 0 cancels: Q_2 = (I - (1 - alpha) M_B Q_1 M_A)^{-1} and e_A = (1 - alpha) M_A Q_1 Q_2 K_B Delta
# (at alpha = 0: Q_1 = I, Q_2 = (I - M_B M_A)^{-1}, and e_A is C3's G_A Delta).
ANCHORED_REMOVABLE = (
    (r"\mathcal{Q}_{2}", r"\Big(1 - (1 - \alpha) M_{B} \mathcal{Q}_{1} M_{A}\Big)^{-1}",
     "the compiler's form divides by alpha; since Q_1 - I = alpha Q_1 M_A this one is defined at alpha = 0"),
    (r"e_{A}", r"(1 - \alpha) M_{A} \mathcal{Q}_{1} \mathcal{Q}_{2} K_{B} (w^*_{B} - w^*_{A})",
     "the compiler's plateau without its removable 1/alpha; alpha = 0 gives C3's G_A Delta"),
)


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
              "messages and no single d x d product gives the rate."),
        Entry("anchored", "An anchored agent (weight alpha on its own last message)",
              spec(["A", "B"], [{"A": {"A": alpha, "B": 1 - alpha}}, {"B": {"A": 1}}]),
              "A keeps weight alpha on its own last message: alpha = 0 is the paper's protocol. A's plateau "
              "is e_A = (1 - alpha) M_A Q_1 Q_2 K_B Delta, which tends to 0 as alpha approaches 1 when K_A is "
              "invertible, though not monotonically in alpha in general.",
              removable=ANCHORED_REMOVABLE),
        Entry("ring", "Four agents in a ring (simultaneous, each hears its predecessor)",
              spec(["A", "B", "C", "D"], [{"A": {"D": 1}, "B": {"A": 1}, "C": {"B": 1}, "D": {"C": 1}}]),
              "A message needs four rounds to come back, so the rate per round is the fourth root of the "
              "rate of the four-transfer product."),
        Entry("star", "Four agents in a star (hub A hears the mean of the leaves, the leaves hear A)",
              spec(["A", "B", "C", "D"], [{"A": {"B": THIRD, "C": THIRD, "D": THIRD},
                                           "B": {"A": 1}, "C": {"A": 1}, "D": {"A": 1}}]),
              "The hub averages three leaves and every leaf hears only the hub: the rate per round is the "
              "square root of rho(M_A (M_B + M_C + M_D) / 3)."),
    ]


def entry(key: str) -> Entry:
    for e in entries():
        if e.key == key:
            return e
    raise KeyError(key)
