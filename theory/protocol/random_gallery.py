"""The gallery of random protocols (R1-R4, package extensions): each compiled by
:func:`theory.protocol.random_compiler.compile_random`.

Each entry gives the random protocol (probabilities as SymPy symbols where the derivation stays
readable), the numbers its page and figure use, a one-line description, and the sentence saying
what randomness changes against the deterministic protocol.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory.protocol.random_description import RandomSpec, independent, markov

__all__ = ["RandomEntry", "entries", "entry", "q", "epsilon", "wake_ups", "dropped_links", "group_chat",
           "random_speaker", "gossip_ring"]

HALF = sp.Rational(1, 2)
q = sp.Symbol("q")
epsilon = sp.Symbol("epsilon")


@dataclass(frozen=True)
class RandomEntry:
    key: str
    title: str
    rspec: RandomSpec
    values: dict  # symbol name -> number used on the page, in the figure and in the table
    changes: str
    deterministic: str  # the deterministic protocol it is compared with (a theory.protocol.gallery key or words)
    instance: RandomSpec  # the same protocol at ``values`` (exact numbers: fast to derive)


def random_speaker(probabilities=None) -> RandomSpec:
    """Each round one of A, B, C speaks (probabilities ``p_1, p_2, 1 - p_1 - p_2``) and hears the
    mean of the other two."""
    names = ["A", "B", "C"]
    alts = [[{x: {y: HALF for y in names if y != x}}] for x in names]
    return independent(names, alts, probabilities, labels=[f"{x} speaks" for x in names])


def group_chat(stay=HALF) -> RandomSpec:
    """The group-chat pattern: the speaker hears the last speaker. Alternatives are the ordered pairs
    (i hears j); after (i hears j) the next speaker l != i hears i, with probability ``stay`` for
    l = j (the last speaker answers back) and ``1 - stay`` for the third agent."""
    names = ["A", "B", "C"]
    pairs = [(i, j) for i in names for j in names if i != j]
    alts = [[{i: {j: 1}}] for i, j in pairs]
    P = [[(stay if l == j else 1 - stay) if (lj == i and l != i) else 0 for (l, lj) in pairs] for (i, j) in pairs]
    return markov(names, alts, P, labels=[f"{i} hears {j}" for i, j in pairs])


def gossip_ring(probabilities=None) -> RandomSpec:
    """Random gossip on a ring of four (Boyd, Ghosh, Prabhakar and Shah 2006): each round one edge
    (A,B), (B,C), (C,D), (D,A) wakes and both ends answer the mean of the pair's messages."""
    names = ["A", "B", "C", "D"]
    edges = [("A", "B"), ("B", "C"), ("C", "D"), ("D", "A")]
    alts = [[{x: {x: HALF, y: HALF}, y: {x: HALF, y: HALF}}] for x, y in edges]
    p = probabilities if probabilities is not None else [sp.Rational(1, 4)] * 4
    return independent(names, alts, p, labels=[f"edge {x}{y}" for x, y in edges])


def wake_ups(wake=q) -> RandomSpec:
    """Asynchronous agents: A hears B and B hears A simultaneously, but each agent wakes (answers)
    only with probability ``q``, independently: alternatives nobody, A only, B only, both."""
    alts = [[], [{"A": {"B": 1}}], [{"B": {"A": 1}}], [{"A": {"B": 1}, "B": {"A": 1}}]]
    p = [(1 - wake) ** 2, wake * (1 - wake), wake * (1 - wake), wake ** 2]
    return independent(["A", "B"], alts, p, labels=["nobody wakes", "A wakes", "B wakes", "both wake"])


def dropped_links(eps=epsilon) -> RandomSpec:
    """The paper's round robin (A hears B, then B hears A) over a channel that drops each message
    with probability ``epsilon`` independently; a listener whose message was dropped skips its turn."""
    alts = [[{"A": {"B": 1}}, {"B": {"A": 1}}], [{"B": {"A": 1}}], [{"A": {"B": 1}}], []]
    p = [(1 - eps) ** 2, eps * (1 - eps), eps * (1 - eps), eps ** 2]
    return independent(["A", "B"], alts, p,
                       labels=["both delivered", "B->A dropped", "A->B dropped", "both dropped"])


def entries() -> list[RandomEntry]:
    return [
        RandomEntry("random_speaker", "A random speaker among three agents (each hears the mean of the others)",
                    random_speaker(), {"p_1": 0.5, "p_2": 0.3},
                    "Every alternative leaves the simultaneous debate's fixed point in place, so the mean is that "
                    "fixed point whatever the probabilities and the spread is zero: randomness only changes the rate.",
                    "debate", random_speaker([HALF, sp.Rational(3, 10), sp.Rational(1, 5)])),
        RandomEntry("group_chat", "Group chat: the speaker hears the last speaker (Markov chain over who spoke)",
                    group_chat(), {},
                    "Who hears whom changes with the chain, so no alternative keeps the mean in place: noiseless "
                    "agents keep a nonzero stationary spread, unlike the round robin's single fixed point.",
                    "round robin A, B, C", group_chat()),
        RandomEntry("gossip_ring", "Random gossip pairs on a ring of four", gossip_ring(), {},
                    "Each pair averages and answers, so the plateau moves with the drawn edge: the schedule alone "
                    "creates spread, where the deterministic ring has a single fixed point.", "ring", gossip_ring()),
        RandomEntry("wake_ups", "Asynchronous agents, each waking with probability q", wake_ups(), {"q": 0.6},
                    "Every alternative leaves the simultaneous pair's fixed point in place, so the plateau is the "
                    "round robin's and there is no spread; waking with probability q only slows the rate.",
                    "simultaneous", wake_ups(sp.Rational(3, 5))),
        RandomEntry("dropped_links", "Round robin over a channel dropping each message with probability epsilon",
                    dropped_links(), {"epsilon": 0.2},
                    "A dropped message only skips a turn, and every turn maps the round robin's fixed points to "
                    "themselves, so the plateau is unchanged and noiseless agents keep zero spread; only the rate "
                    "grows with epsilon.", "round_robin", dropped_links(sp.Rational(1, 5))),
    ]


def entry(key: str) -> RandomEntry:
    for e in entries():
        if e.key == key:
            return e
    raise KeyError(key)
