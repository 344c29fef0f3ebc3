"""The symbolic description of a protocol (the compiler's input, P1).

A protocol is a list of agent names and a list of phases; in phase p each listener i in ``S_p``
replaces its message by its turn applied to ``sum_j W_ij m_j`` (the messages as they stand at the
start of the phase). Weights are exact SymPy numbers or SymPy expressions (P4's anchoring weight
``omega``).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping, Sequence

import sympy as sp


@dataclass(frozen=True)
class Spec:
    """A protocol: agent names and phases ``((listener, ((source, weight), ...)), ...)``."""

    names: tuple[str, ...]
    phases: tuple

    @property
    def K(self) -> int:
        return len(self.names)


# A float weight is read as the simplest fraction with a denominator up to this whose double is the
# same float (0.3333333333333333 -> 1/3): the numerics cannot tell the two apart, and the derivation
# stays readable; other floats keep their exact shortest decimal.
WEIGHT_MAX_DENOMINATOR = 10**6


def weight(w) -> sp.Expr:
    """A listening weight as an exact SymPy number, or a SymPy expression (kept as it is).

    A float becomes the simplest fraction ``p/q`` (``q <= WEIGHT_MAX_DENOMINATOR``) with
    ``float(p/q) == w`` when there is one, else its exact shortest decimal (never sympify of text).
    """
    if isinstance(w, sp.Basic):
        return w
    if isinstance(w, bool):
        raise TypeError(f"weight {w!r} is not a number")
    if isinstance(w, int):
        return sp.Integer(w)
    f = Fraction(repr(float(w)))
    simple = f.limit_denominator(WEIGHT_MAX_DENOMINATOR)
    if float(simple) == float(w):
        f = simple
    return sp.Rational(f.numerator, f.denominator)


def spec(names: Sequence[str], rounds: Sequence) -> Spec:
    """Build a Spec from phases given as ``{listener: {source: weight}}`` (or pair lists)."""
    phases = []
    for phase in rounds:
        items = phase.items() if isinstance(phase, Mapping) else phase
        out = []
        for listener, row in items:
            row_items = row.items() if isinstance(row, Mapping) else row
            out.append((listener, tuple((src, weight(w)) for src, w in row_items)))
        phases.append(tuple(out))
    return Spec(tuple(names), tuple(phases))


def round_robin(names: Sequence[str]) -> Spec:
    """Agents speak in list order and agent i hears agent i-1 (C17)."""
    K = len(names)
    return spec(names, [{names[i]: {names[(i - 1) % K]: 1}} for i in range(K)])


def from_numeric(protocol) -> Spec:
    """The Spec of a validated ``numerics.protocol.spec.Protocol`` (duck-typed: names and index phases)."""
    n = protocol.names
    return spec(n, [[(n[i], [(n[j], w) for j, w in row]) for i, row in phase] for phase in protocol.phases])
