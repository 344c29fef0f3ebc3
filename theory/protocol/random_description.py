"""The symbolic description of a random protocol (R1-R4, a package extension of P1).

Each round one alternative k (a deterministic :class:`~theory.protocol.description.Spec` of
phases over the same agents) is drawn, independently with probability ``p_k``, or by a Markov
chain ``P[j][l]`` (the probability that alternative l follows j). Probabilities are exact SymPy
numbers or SymPy symbols; with independent draws and symbolic probabilities the last one is
``1 - (p_1 + ... + p_{n-1})`` so that the law sums to 1 inside every derivation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import sympy as sp

from theory.protocol.description import Spec, spec, weight

__all__ = ["RandomSpec", "independent", "markov", "probability_symbols", "stationary_law", "from_numeric_random"]


@dataclass(frozen=True)
class RandomSpec:
    """Agents, alternatives (one Spec each), their labels, and either ``probabilities`` (independent
    draws) or the transition matrix ``P`` (Markov chain, rows sum to 1); ``noisy``: agents that add
    zero-mean noise of covariance ``S_i`` to every message they write."""

    names: tuple[str, ...]
    alternatives: tuple[Spec, ...]
    labels: tuple[str, ...]
    probabilities: Any = None  # tuple of SymPy numbers or expressions, or None (Markov)
    P: Any = None  # tuple of rows, or None (independent draws)
    noisy: tuple[str, ...] = ()

    @property
    def K(self) -> int:
        return len(self.names)

    @property
    def n(self) -> int:
        return len(self.alternatives)

    @property
    def is_markov(self) -> bool:
        return self.P is not None


def probability_symbols(n: int, prefix: str = "p") -> tuple:
    """``(p_1, ..., p_{n-1}, 1 - p_1 - ... - p_{n-1})``: n symbolic probabilities summing to 1."""
    free = [sp.Symbol(f"{prefix}_{k + 1}") for k in range(n - 1)]
    return tuple(free) + (1 - sp.Add(*free),)


def _alternatives(names: Sequence[str], alternatives: Sequence) -> tuple[Spec, ...]:
    return tuple(a if isinstance(a, Spec) else spec(names, a) for a in alternatives)


def _check_probability(what: str, x: sp.Expr) -> None:
    """A numeric entry of a law must lie in [0, 1] (a symbolic one is the caller's hypothesis): a
    negative entry can still leave every row summing to 1."""
    if not x.free_symbols and not (0 <= x <= 1):
        raise ValueError(f"{what} = {sp.sstr(x)}: not a probability (must lie in [0, 1])")


def independent(names: Sequence[str], alternatives: Sequence, probabilities: Sequence | None = None,
                labels: Sequence[str] | None = None, noisy: Sequence[str] = ()) -> RandomSpec:
    """Independent draws; ``probabilities`` default to symbols (:func:`probability_symbols`).

    Raises ValueError when the law does not sum to 1 (exactly, as SymPy expressions) or a numeric
    probability lies outside [0, 1].
    """
    alts = _alternatives(names, alternatives)
    p = probability_symbols(len(alts)) if probabilities is None else tuple(weight(x) for x in probabilities)
    if len(p) != len(alts):
        raise ValueError(f"{len(p)} probabilities for {len(alts)} alternatives")
    for k, x in enumerate(p):
        _check_probability(f"probability {k + 1}", x)
    if sp.simplify(sp.Add(*p) - 1) != 0:
        raise ValueError(f"the probabilities sum to {sp.sstr(sp.Add(*p))}, not 1")
    lab = tuple(labels) if labels else tuple(f"alternative {k + 1}" for k in range(len(alts)))
    return RandomSpec(tuple(names), alts, lab, probabilities=p, noisy=tuple(noisy))


def markov(names: Sequence[str], alternatives: Sequence, P: Sequence[Sequence], labels: Sequence[str] | None = None,
           noisy: Sequence[str] = ()) -> RandomSpec:
    """A Markov chain over the alternatives: ``P[j][l]`` = probability that l follows j (rows sum to 1;
    a numeric entry outside [0, 1] raises ValueError, a symbolic one is a hypothesis)."""
    alts = _alternatives(names, alternatives)
    rows = tuple(tuple(weight(x) for x in row) for row in P)
    if len(rows) != len(alts) or any(len(r) != len(alts) for r in rows):
        raise ValueError(f"P must be {len(alts)} x {len(alts)}")
    for j, r in enumerate(rows):
        for l, x in enumerate(r):
            _check_probability(f"P[{j}][{l}]", x)
        if sp.simplify(sp.Add(*r) - 1) != 0:
            raise ValueError(f"row {j} of P sums to {sp.sstr(sp.Add(*r))}, not 1")
    lab = tuple(labels) if labels else tuple(f"alternative {k + 1}" for k in range(len(alts)))
    return RandomSpec(tuple(names), alts, lab, P=rows, noisy=tuple(noisy))


def stationary_law(rs: RandomSpec) -> tuple:
    """The law of the alternative drawn in a round, in the stationary regime: ``p`` for independent
    draws; for a Markov chain the solution of ``pi P = pi``, ``sum pi = 1`` (irreducible chain)."""
    if not rs.is_markov:
        return tuple(rs.probabilities or ())
    n = rs.n
    pi = sp.symbols(f"pi_1:{n + 1}")
    eqs = [sp.Add(*[pi[j] * rs.P[j][l] for j in range(n)]) - pi[l] for l in range(n - 1)] + [sp.Add(*pi) - 1]
    sol = sp.solve(eqs, pi, dict=True)
    if len(sol) != 1 or set(sol[0]) != set(pi):  # none, or a family (a free pi_l: several closed classes)
        raise ValueError("the chain has no unique stationary law (not irreducible)")
    return tuple(sp.factor(sol[0][x]) for x in pi)


def from_numeric_random(rp) -> RandomSpec:
    """The RandomSpec of a validated ``numerics.protocol.random_spec.RandomProtocol`` (duck-typed:
    names, alternatives with index phases, labels, ``P``, ``markov``). Float probabilities become
    the simplest fractions with the same double (:func:`theory.protocol.description.weight`); each
    law is renormalised exactly so that it sums to 1 (JSON decimals sum to 1 only within 1e-9)."""
    from theory.protocol.description import from_numeric

    alts = tuple(from_numeric(a) for a in rp.alternatives)

    def law(row) -> tuple:
        w = [weight(float(x)) for x in row]
        total = sp.Add(*w)
        return tuple(x / total for x in w)
    if rp.markov:
        return RandomSpec(tuple(rp.names), alts, tuple(rp.labels), P=tuple(law(r) for r in rp.P))
    return RandomSpec(tuple(rp.names), alts, tuple(rp.labels), probabilities=law(rp.P[0]))
