"""P1's VS: the law of the schedule that ``a2ad simulate --seed`` prints for a random protocol.

``simulate`` draws each round's alternative (docs/protocol.rst, "Random protocols"): the first from the initial
law, each later one from the row of ``P`` of the alternative before it (independent draws: every row is ``p``).
Read off the printed ``schedule`` of :data:`SCHEDULE_ROUNDS` rounds, never from the package's sampler:

* support: the first round's alternative has positive initial probability and no transition of probability 0
  occurs (a zero-probability alternative is never drawn);
* law: Pearson's statistic of the transition counts (independent draws: of the counts of every round) against
  ``P`` (``p``) is below the ``1 - CHI2_P`` quantile of its chi-square law. Given how often alternative j was
  left, the transitions out of j are multinomial with row ``P[j]`` (the Markov property), so the statistic
  summed over rows has ``sum_j (#positive entries of P[j] - 1)`` degrees of freedom.

Package extension (issue 22, item 5): the sampler's inverse CDF and the chain's rows were reached by no verify
method before.
"""
from __future__ import annotations

import numpy as np

from proofs_check.verification import shipped_cli as cli
from proofs_check.verification.shipped import Ledger
from proofs_check.verification.shipped_protocol import instance

__all__ = ["SCHEDULE_ROUNDS", "CHI2_P", "SCHEDULE_CASES", "schedule_law_check", "law_of", "transition_matrix"]

# 2000 rounds: a transition of probability 0.1 out of an alternative left ~600 times is seen ~60 times, so a law
# off by 0.05 in one cell adds ~15 to a statistic whose bar is ~30 (a whole alternative never drawn adds
# hundreds); 0.1 s of CPU per simulate run.
SCHEDULE_ROUNDS = 2000
# With a fixed seed an honest sampler exceeds the 1 - CHI2_P quantile with probability CHI2_P.
CHI2_P = 1e-6
SCHEDULE_SEED = 5

# (name, protocol): a Markov chain with zero transitions (a -> a, c -> c) and an initial law on b only, and
# independent draws with a zero-probability alternative (two agents, d = 2).
SCHEDULE_CASES: list[tuple[str, dict]] = [
    ("markov chain", {"random": [
        {"name": "a", "rounds": [{"A": {"B": 1.0}}], "next": {"b": 0.7, "c": 0.3}},
        {"name": "b", "rounds": [{"B": {"A": 1.0}}], "next": {"a": 0.2, "b": 0.5, "c": 0.3}},
        {"name": "c", "rounds": [], "next": {"a": 0.9, "b": 0.1}}], "initial": {"b": 1.0}}),
    ("independent draws", {"random": [
        {"probability": 0.45, "rounds": [{"A": {"B": 1.0}}, {"B": {"A": 1.0}}]},
        {"probability": 0.0, "rounds": [{"B": {"A": 1.0}}]},
        {"probability": 0.55, "rounds": [{"A": {"B": 0.5, "A": 0.3}, "B": {"A": 0.8}}]}]}),
]


def transition_matrix(alts: list[dict]) -> tuple[np.ndarray, bool]:
    """``(P, markov)`` read from the alternatives of a ``protocol.random`` as written in a config (independent
    draws: every row of ``P`` is ``p``)."""
    if "probability" in alts[0]:
        p = np.array([float(a["probability"]) for a in alts])
        return np.tile(p, (len(p), 1)), False
    names = [a["name"] for a in alts]
    return np.array([[float(a["next"].get(n, 0.0)) for n in names] for a in alts]), True


def law_of(protocol: dict) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(P, initial law, markov)`` read from a ``protocol.random`` with a written ``initial`` law when Markov."""
    P, markov = transition_matrix(protocol["random"])
    if not markov:
        return P, P[0].copy(), False
    return P, np.array([float(protocol["initial"].get(a["name"], 0.0)) for a in protocol["random"]]), True


def _statistic(counts: np.ndarray, law: np.ndarray) -> tuple[float, int]:
    """Pearson's statistic of ``counts`` (n,) against ``law`` over its positive cells, and its degrees of freedom."""
    pos = law > 0
    n = counts.sum()
    if n == 0:
        return 0.0, 0
    expected = n * law[pos]
    return float(np.sum((counts[pos] - expected) ** 2 / expected)), int(pos.sum()) - 1


def schedule_law_check(ledger: Ledger) -> None:
    """``a2ad simulate --turns SCHEDULE_ROUNDS --seed SCHEDULE_SEED`` on each of :data:`SCHEDULE_CASES`: the printed
    schedule's support and its chi-square statistic against the written law (the module docstring)."""
    from scipy.stats import chi2  # here: scipy.stats costs ~0.5 s of import, which verify's start-up would pay

    base = instance([[[1.0, 0.2], [0.2, 0.6]], [[0.8, -0.1], [-0.1, 1.1]]], [0.6, 0.5])
    configs = []
    for _, protocol in SCHEDULE_CASES:
        cfg = base.config()
        cfg["protocol"] = protocol
        configs.append(cfg)
    with cli.scratch() as tmp:
        paths = cli.write_configs(tmp, configs)
        printed = cli.run_commands([["simulate", p, "--turns", str(SCHEDULE_ROUNDS), "--seed", str(SCHEDULE_SEED)]
                                    for p in paths])
    for pr, (name, protocol) in zip(printed, SCHEDULE_CASES):
        P, initial, markov = law_of(protocol)
        doc = pr.json_or_none()
        s = doc.get("schedule") if isinstance(doc, dict) else None
        ok = (pr.status == 0 and isinstance(s, list) and len(s) == SCHEDULE_ROUNDS
              and all(isinstance(k, int) and not isinstance(k, bool) and 0 <= k < len(P) for k in s))
        ledger.require("schedule", ok, f"{name}: exit {pr.status}, schedule "
                       f"{s[:8] if isinstance(s, list) else s} ({pr.stderr.strip()[:120]})")
        if not ok:
            continue
        sched = np.array(s)
        pairs = np.zeros_like(P)
        np.add.at(pairs, (sched[:-1], sched[1:]), 1)
        ledger.require("schedule support", initial[sched[0]] > 0 and not pairs[P == 0].any(),
                       f"{name}: first alternative {sched[0]}, {int(pairs[P == 0].sum())} transitions of probability 0")
        if markov:
            parts = [_statistic(pairs[j], P[j]) for j in range(len(P))]
        else:
            parts = [_statistic(np.bincount(sched, minlength=len(P)).astype(float), P[0])]
        stat, df = sum(x for x, _ in parts), sum(f for _, f in parts)
        ledger.add("schedule law", stat / float(chi2.ppf(1 - CHI2_P, df)), 1.0)
