"""VS, R1: a Markov chain's mean at the edges of the written-message reduction (theory.protocol.random_markov).

R1's VS runs (through :func:`shipped.joint`) :func:`mk6_outcome` after its other parts, in every profile:

- ``a2ad derive --protocol --format json`` on two small chains (GD agents, d = 2; in quick the first is only
  compiled, as the command compiles it, its document costing 0.6 s):

  - two agents and 13 alternatives on a cycle (a self-loop makes it aperiodic), both writing in each but the
    last, where A alone writes: 25 written messages, one past the documented limit
    (:data:`DOCUMENTED_MAX_UNKNOWNS`, docs/protocol.rst: "up to 24 of them in closed form ... past that the mean
    is left to its equations, with a note saying so"): no stationary mean is printed, and a note says "25
    written messages to solve for (limit 24)";
  - a chain of one alternative (``next`` to itself): its mean is printed (the reduction reads the number of
    agents off the first round map, the only one such a chain has);

- the compiled three-agent chain :data:`CHAIN3` (8 written messages: the named-elimination path; the full
  profile's ``NAMED`` shape with fixed weights): each printed weight ``G_(a,j)`` evaluated through the named
  letters' definitions at d = 1 (every letter a number) against the stationary mean solved directly from round
  maps obtained by running each alternative's phases on numbers (not from the compiler's maps). With three
  agents the rows ``l K + a`` summed for agent a are not a rotation of one another (with two, ``l K - a``
  wraps onto the same set);
- the algebra the chain was derived in refuses an expression past the documented word bound
  (:data:`DOCUMENTED_MAX_WORDS`, docs/protocol.rst) and accepts one of exactly that many words.

Cost in quick: about 0.3 s CPU (one small derive command, two compiles, numbers).
"""
from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from proofs_check.verification import shipped_cli as cli, shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import Ledger
from theory.core.algebra import to_poly

__all__ = ["mk6_outcome", "CHAIN3", "DOCUMENTED_MAX_UNKNOWNS", "DOCUMENTED_MAX_WORDS", "MEAN3_TOL"]

# docs/protocol.rst ("Random protocols"): a Markov chain's mean in closed form for up to 24 written messages.
DOCUMENTED_MAX_UNKNOWNS = 24
# docs/protocol.rst ("Random protocols"): the closed forms are derived in an algebra that refuses an expression of
# more than 3000 words.
DOCUMENTED_MAX_WORDS = 3000
# G_(a,j) at d = 1 against a direct 12 x 12 solve with exact-decimal inputs: both ~1e-15; a wrong row set moves a
# weight by O(0.1) at random M's in [-0.8, 0.8]. Relative to max(1, |G|).
MEAN3_TOL = 1e-9
SEED_OFFSET = 8866
R = sp.Rational
# Three agents, four alternatives (the full profile's NAMED chain with fixed weights): 8 written messages.
CHAIN3_NAMES = ("A", "B", "C")
CHAIN3_ALTS = [[{"A": {"B": 1}, "B": {"C": 1}}], [{"B": {"C": 1}, "C": {"A": 1}}],
               [{"C": {"A": 1}, "A": {"B": R(1, 2)}}], [{"A": {"C": 1}, "C": {"B": 1}}]]
CHAIN3_P = [[0, R(1, 2), R(1, 2), 0], [0, 0, R(1, 2), R(1, 2)], [R(1, 2), 0, 0, R(1, 2)], [R(1, 2), R(1, 2), 0, 0]]
CHAIN3 = (CHAIN3_NAMES, CHAIN3_ALTS, CHAIN3_P)


def _cycle(writers: int) -> list[dict]:
    """Two agents on a cycle of alternatives (the first with a self-loop: aperiodic), both writing in each
    (A hears B, B hears A) but the last, where A alone writes when ``writers`` is odd: ``writers`` messages."""
    n = (writers + 1) // 2
    alts = []
    for j in range(n):
        nxt = {f"s{(j + 1) % n}": 1.0} if j else {"s0": 0.5, "s1": 0.5}
        rounds = [{"A": {"B": 0.5, "A": 0.5}}] if j == n - 1 and writers % 2 else [{"A": {"B": 1.0},
                                                                                   "B": {"A": 0.5, "B": 0.5}}]
        alts.append({"name": f"s{j}", "rounds": rounds, "next": nxt})
    return alts


CASES = {  # label: alternatives as CONFIG.json protocol.random (two agents)
    "25 written messages": _cycle(DOCUMENTED_MAX_UNKNOWNS + 1),
    "one alternative": [{"name": "x", "rounds": [{"A": {"B": 0.5, "A": 0.5}}, {"B": {"A": 1.0}}], "next": {"x": 1.0}}],
}


def _chain_spec(alts: list[dict], names=("A", "B")):
    """The Python description of a CONFIG.json chain (what ``derive --protocol`` compiles)."""
    from theory.protocol.description import weight
    from theory.protocol.random_description import markov

    labels = [a["name"] for a in alts]
    return markov(list(names), [a["rounds"] for a in alts], [[weight(a["next"].get(x, 0)) for x in labels]
                                                              for a in alts], labels=labels)


def _limit_note(notes) -> bool:
    """The note of a chain one past the documented limit: "25 written messages to solve for (limit 24)"."""
    note = f"{DOCUMENTED_MAX_UNKNOWNS + 1} written messages to solve for (limit {DOCUMENTED_MAX_UNKNOWNS})"
    return any(note in x for x in notes or [])


def _derive_cases(ledger: Ledger, rng: np.random.Generator, full: bool) -> None:
    """The chains of :data:`CASES` through ``derive --protocol`` (quick: the one of 25 written messages compiled
    only, as the command compiles it: its printed document costs 0.6 s)."""
    from theory.protocol.random_compiler import compile_random

    cases = CASES if full else {k: v for k, v in CASES.items() if k != "25 written messages"}
    configs = []
    for alts in cases.values():
        base = ref.random_instance(rng, 2, 2, False)
        cfg = base.config()
        cfg["protocol"] = {"random": alts}
        configs.append(cfg)
    with cli.scratch() as tmp:
        paths = cli.write_configs(tmp, configs)
        printed = dict(zip(cases, cli.run_commands([["derive", "--protocol", p, "--format", "json"] for p in paths])))
    docs = {}
    for label, pr in printed.items():
        doc = pr.json_or_none() if pr.status == 0 else None
        ledger.require("derive --protocol", isinstance(doc, dict), f"{label}: exit {pr.status}: {pr.stderr[:160]}")
        docs[label] = doc if isinstance(doc, dict) else {}
    if full:
        big = docs["25 written messages"]
        ledger.require("written-message limit", "fixed_points" not in big and _limit_note(big.get("notes")),
                       f"25 written messages: fixed_points {'fixed_points' in big}, notes {big.get('notes')}")
    else:
        rc = compile_random(_chain_spec(CASES["25 written messages"]))
        ledger.require("written-message limit", rc.mean is None and _limit_note(rc.notes),
                       f"25 written messages: mean {rc.mean is not None}, notes {rc.notes}")
    one = docs["one alternative"]
    ledger.require("chain of one alternative", "fixed_points" in one, f"one alternative: notes {one.get('notes')}")


def _numbers(names, alts, m: dict, t: dict) -> tuple[np.ndarray, np.ndarray]:
    """d = 1: each alternative's round map (Phi_j, psi_j) by running its phases on numbers (agent i's turn
    ``x -> m_i x + (1 - m_i) w_i*``, a GD step at d = 1), probed at unit messages and at 0."""
    K = len(names)

    def run(rounds, z):
        z = np.array(z, dtype=float)
        for phase in rounds:
            new = z.copy()
            for lst, row in phase.items():
                i = names.index(lst)
                avg = sum(float(w) * z[names.index(s)] for s, w in row.items())
                new[i] = m[lst] * avg + (1 - m[lst]) * t[lst]
            z = new
        return z

    Phis, psis = [], []
    for rounds in alts:
        psi = run(rounds, np.zeros(K))
        Phis.append(np.stack([run(rounds, np.eye(K)[c]) - psi for c in range(K)], axis=1))
        psis.append(psi)
    return np.array(Phis), np.array(psis)


def _stationary_mean(Phis: np.ndarray, psis: np.ndarray, P: np.ndarray) -> np.ndarray:
    """``sum_l q_l`` with ``q_l = sum_j P[j,l] (Phi_j q_j + pi_j psi_j)`` (docs/protocol.rst), solved directly."""
    n, K = psis.shape
    vals, vecs = np.linalg.eig(P.T)
    pi = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    pi = pi / pi.sum()
    A = np.zeros((n * K, n * K))
    b = np.zeros(n * K)
    for l in range(n):
        for j in range(n):
            A[l * K:(l + 1) * K, j * K:(j + 1) * K] = P[j, l] * Phis[j]
            b[l * K:(l + 1) * K] += P[j, l] * pi[j] * psis[j]
    q = np.linalg.solve(np.eye(n * K) - A, b).reshape(n, K)
    return q.sum(axis=0)


def _evaluate(alg, env: dict) -> dict:
    """Every named letter and inverse of ``alg`` at d = 1, in order of creation (``alg.events``)."""
    val = dict(env)

    for ev in alg.events:
        if ev[0] == "def":
            val[ev[1]] = _value(ev[2], val)
        elif ev[0] == "inv":
            val[ev[2]] = 1.0 / _value(to_poly(ev[1]), val)
    return val


def _value(p: dict, val: dict) -> float:
    """A word polynomial at d = 1 (every letter a number in ``val``)."""
    return sum(float(c) * float(np.prod([val[x] for x in w])) for w, c in p.items())


def _chain3(ledger: Ledger, rng: np.random.Generator) -> None:
    from theory.core.algebra import TooLarge
    from theory.protocol.random_compiler import compile_random
    from theory.protocol.random_description import markov
    from theory.protocol.symbols import w_star

    names, alts, P = CHAIN3
    rc = compile_random(markov(list(names), alts, P))
    ledger.require("three agents: named path", rc.named is not None and rc.mean is not None,
                   f"three-agent chain: named {rc.named is not None}, notes {rc.notes}")
    if rc.named is None or rc.mean is None:
        return
    Pn = np.array([[float(x) for x in row] for row in P])
    for _ in range(2):
        m = {x: float(rng.uniform(-0.8, 0.8)) for x in names}
        for y in names:  # w*_y = 1, the others 0: agent a's mean is the weight G_(a,y) of w*_y
            t = {x: float(x == y) for x in names}
            env = {sp.Symbol(f"M_{x}", commutative=False): m[x] for x in names}
            env.update({w_star(x): t[x] for x in names})
            try:
                val = _evaluate(rc.alg, env)
                got = [_value(p, val) for p in rc.mean]
            except (KeyError, ZeroDivisionError) as exc:
                ledger.require("named letters evaluated", False, f"three-agent chain: {exc!r}")
                return
            want = _stationary_mean(*_numbers(names, alts, m, t), Pn)
            for a in range(len(names)):
                ledger.add("weights G_(a,j) of the named mean", abs(got[a] - want[a]) / max(1.0, abs(want[a])),
                           MEAN3_TOL)
    # the algebra the mean was derived in: exactly DOCUMENTED_MAX_WORDS words are accepted, one more refused
    xs = [sp.Symbol(f"mk6_{k}", commutative=False) for k in range(DOCUMENTED_MAX_WORDS + 1)]
    for size, ok in ((DOCUMENTED_MAX_WORDS, True), (DOCUMENTED_MAX_WORDS + 1, False)):
        try:
            rc.alg.reduce_poly({(x,): 1 for x in itertools.islice(xs, size)})
            took = True
        except TooLarge:
            took = False
        ledger.require("documented word bound", took == ok,
                       f"an expression of {size} words {'accepted' if took else 'refused'} by the chain's algebra "
                       f"(documented bound {DOCUMENTED_MAX_WORDS})")


def mk6_outcome(profile: Profile) -> Outcome:
    """Chains at the edges of the written-message reduction (module text of shipped_mk6): past the documented
    number of written messages, one alternative; a three-agent chain's named weights
    G_(a,j) vs a direct solve at d = 1; the derivation algebra's documented word bound."""
    rng = np.random.default_rng(profile.seed + SEED_OFFSET)
    ledger = Ledger(instances=1 + len(CASES))
    _derive_cases(ledger, rng, profile.name != "quick")
    _chain3(ledger, rng)
    return ledger.outcome("a2ad derive --protocol (json) on chains at the edges of the written-message reduction "
                          "(25 written messages, one alternative); a three-agent chain's "
                          "named weights G_(a,j) at d = 1 vs a direct solve from phases run on numbers; the "
                          "documented word bound of its algebra")
