"""VS for ``a2ad attack --kind steer`` (C11, and C11 generalised under a protocol, P1): the printed attack
prompt is plugged into the config and the attacked conversation is simulated (issue 22, item 4).

The attacker's printed entry (prompt ``X, y``, preconditioner, steps) replaces the attacker; the agents are
then iterated under the config's protocol (:mod:`proofs_check.verification.shipped_reference`, no package
code) until they settle. The victim must settle at the requested point, the printed ``victim_fixed_point``
(and ``predicted`` victim entry) must be where it settles, and the printed rate must be the attacked
round map's (probed). Under a random protocol (a Markov chain) the victim's stationary mean, solved from the
round maps of the alternatives probed from GD rounds, plays the part of where it settles. Package extension.
"""
from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Callable

import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import FLOAT_BAR, Ledger, rel
from proofs_check.verification.shipped_derive import GALLERY, _transfers
from proofs_check.verification.shipped_derive_random import reference as chain_reference

__all__ = ["attacked", "attack_method", "RR_B_FIRST", "fresh"]

# The attacked rate may be ~0 (an exact attacker): compared in absolute terms, at the float bar.
RATE_BAR = FLOAT_BAR
# A point is reachable when the printed unreachable residual is below this (else only the printed
# fixed point is checked against the simulation; the cases below are all reachable).
REACHABLE = 1e-9
# The printed cond(G) against G probed by simulation: each column a difference of settled messages (~1e-15
# absolute), amplified by cond(G) (below ~1e3 on these cases) into cond's relative error; 1e-6 leaves room.
COND_BAR = 1e-6


def attacked(inst: ref.Instance, entry: dict, k: int) -> ref.Instance:
    """``inst`` with agent ``k`` replaced by the printed agent entry (prompt: H = X^T X / N, b = X^T y / N)."""
    X, y = np.asarray(entry["prompt"]["X"], dtype=float), np.asarray(entry["prompt"]["y"], dtype=float)
    H = X.T @ X / len(X)
    # any solution of H w = b gives the same GD step w - Gamma (H w - b) (a rank-one prompt's H is singular)
    target = np.linalg.lstsq(H, X.T @ y / len(X), rcond=None)[0]
    g = entry.get("preconditioner")
    G = float(g) * np.eye(inst.d) if isinstance(g, (int, float)) else np.asarray(g, dtype=float)
    Hs, Ts, Gs = inst.H.copy(), inst.target.copy(), inst.Gamma.copy()
    Hs[k], Ts[k], Gs[k] = H, target, G
    steps = list(inst.steps)
    steps[k] = int(entry.get("steps_per_turn", 1))
    return ref.Instance(inst.names, Hs, Ts, Gs, inst.scalar_gamma, tuple(steps), inst.initial, inst.rounds)


# d = 1 under the debate protocol, the attacker's preconditioner 1/4: its steering prompt X = sqrt(N) * 2 makes
# M_A = 1 - X^T X / (4 N) exactly 0 (no rounding left), an attacked map with exact zeros
EXACT_ATTACKER = ref.Instance(("A", "B", "C"), np.array([[[1.0]], [[0.8]], [[1.2]]]), np.array([[0.5], [-0.3], [0.2]]),
                              np.array([[[0.25]], [[0.5]], [[0.4]]]), (True, True, True), (1, 1, 1), np.array([0.0]),
                              tuple(tuple((lst, tuple(row.items())) for lst, row in ph.items())
                                    for ph in GALLERY["P5"]))


def fresh(text: str) -> str:
    """A copy of ``text`` that is a new object, as every argument of a real command line is: the literals
    of this module are interned strings, and code comparing ``kind is "steer"`` would pass on them."""
    return text.encode().decode()


def _sensitivity_condition(new: ref.Instance, victim: Callable[[ref.Instance], np.ndarray]) -> float:
    """cond(G), ``G = d m_V* / d w_A*``: the victim's (agent 1) message where the attacked conversation ends
    (``victim``: where it settles, or its stationary mean under a random protocol) probed with the attacker's
    (agent 0) target moved by each unit vector (exact by linearity), singular values by LAPACK."""
    base = victim(new)
    cols = []
    for k in range(new.d):
        T = new.target.copy()
        T[0] = T[0] + np.eye(new.d)[k]
        cols.append(victim(replace(new, target=T)) - base)
    s = np.linalg.svd(np.stack(cols, axis=1), compute_uv=False)
    return float(s[0] / s[-1])


def _case(rng: np.random.Generator, rounds: list[dict] | None, K: int) -> ref.Instance:
    for _ in range(500):
        base = ref.random_instance(rng, K, int(rng.integers(1, 4)), False)
        G = base.Gamma.copy()  # the attacker's preconditioner SPD (attack requires it): a number
        G[0] = np.round(abs(G[0, 0, 0]), ref.DECIMALS) * np.eye(base.d)
        base = ref.Instance(base.names, base.H, base.target, G, (True,) + base.scalar_gamma[1:], base.steps,
                            base.initial)
        if rounds is None:
            inst = base
        else:
            inst = ref.Instance(base.names, base.H, base.target, base.Gamma, base.scalar_gamma, base.steps,
                                base.initial, tuple(tuple((lst, tuple(row.items())) for lst, row in ph.items())
                                                    for ph in rounds))
        if ref.rate(inst) <= 0.9:
            return inst
    raise RuntimeError("no stable instance")


# The round robin written out with B speaking first: still two agents speaking in turn (C10 applies).
RR_B_FIRST = [{"B": {"A": 1.0}}, {"A": {"B": 1.0}}]


def _rank_one_rate(inst: ref.Instance) -> float:
    """C10's attacked rate rho(M_A M_B), without the package: with a number as A's preconditioner the prompt
    row is ``g / |g|`` (``g = (I - M_B)(w_B* - w_A*)``), so ``M_A = I - g g^T / |g|^2``; M_B probed."""
    M_B = _transfers(inst)[1]
    g = (np.eye(inst.d) - M_B) @ (inst.target[1] - inst.target[0])
    M_A = np.eye(inst.d) - np.outer(g, g) / (g @ g)
    return float(np.max(np.abs(np.linalg.eigvals(M_A @ M_B))))


def _other_kinds(rng: np.random.Generator, ledger: Ledger, reps: int) -> None:
    """``attack --kind full`` under the debate and anchored protocols (C9: the attacker's every message is
    its target, whatever it hears) and ``--kind rank-one`` on a pair, with and without the round robin
    written out B first (C10: ``e_A = 0``): the printed entry plugged in and the conversation simulated;
    the attacker at its target, every printed fixed point and the printed rate against the simulation."""
    cases: list[tuple[str, ref.Instance]] = []
    for _ in range(reps):
        cases += [("full", _case(rng, GALLERY["P5"], 3)), ("full", _case(rng, GALLERY["P4"], 2))]
        for rounds in (None, RR_B_FIRST):
            for _ in range(500):
                inst = _case(rng, rounds, 2)
                if _rank_one_rate(inst) <= 0.9:
                    break
            cases.append(("rank-one", inst))
    with cli.scratch() as tmp:
        paths = cli.write_configs(tmp, [inst.config() for _, inst in cases])
        printed = cli.run_commands([["attack", p, "--kind", fresh(kind)] for p, (kind, _) in zip(paths, cases)])
    for (kind, inst), pr in zip(cases, printed):
        label = f"{kind} ({inst.K} agents, {'pair' if inst.rounds is None else 'protocol'})"
        ledger.require("exit status", pr.status == 0, f"attack {label} exit {pr.status}: {pr.stderr.strip()[:120]}")
        doc = pr.json_or_none()
        if not isinstance(doc, dict) or not isinstance(doc.get("agent_entry"), dict):
            ledger.require("json", False, f"attack {label} printed no document")
            continue
        ledger.require(f"{kind} header", doc.get("kind") == kind and doc.get("attacker") == inst.names[0]
                       and doc.get("unreachable_residual_norm") is None and "victim_fixed_point" not in doc,
                       f"attack {label} header: {str(doc)[:160]}")
        new = attacked(inst, doc["agent_entry"], 0)
        rho = ref.rate(new)
        got = doc.get("contraction_rate")
        ledger.add(f"{kind} contraction_rate (attacked)",
                   abs(float(got) - rho) if isinstance(got, (int, float)) else math.inf, RATE_BAR)
        if rho >= 1:
            ledger.require("attacked converges", False, f"{label}: the attacked conversation diverges ({rho:.3f})")
            continue
        z = ref.settled(new, rho)
        ledger.add(f"{kind}: the attacker settles at its target", rel(z[0], inst.target[0]), FLOAT_BAR)
        agents = doc.get("predicted", {}).get("agents", {})
        for k, n in enumerate(inst.names):
            ledger.add(f"{kind} predicted fixed_point", rel(agents.get(n, {}).get("fixed_point"), z[k]), FLOAT_BAR)


# A Markov chain over four alternatives (docs/examples' random_attack.json, without noise): A hears B and C, B hears
# C, C hears A or B; the next alternative is drawn from ``next``.
CHAIN = [{"name": "a", "rounds": [{"A": {"B": 0.5, "C": 0.5}}], "next": {"b": 0.5, "c1": 0.5}},
         {"name": "b", "rounds": [{"B": {"C": 1.0}}], "next": {"c2": 0.9, "a": 0.1}},
         {"name": "c1", "rounds": [{"C": {"A": 1.0}}], "next": {"b": 1.0}},
         {"name": "c2", "rounds": [{"C": {"B": 1.0}}], "next": {"a": 0.7, "c1": 0.3}}]


def _chain_victim(inst: ref.Instance) -> np.ndarray:
    """The victim's (agent 1) stationary mean under :data:`CHAIN` (:func:`shipped_derive_random.reference`)."""
    return chain_reference(inst, CHAIN, {}, weights=False)["mu"].reshape(inst.K, inst.d)[1]


def _random_steer(rng: np.random.Generator, ledger: Ledger, reps: int) -> None:
    """``attack --kind steer`` under a random protocol (a Markov chain): the printed attacker plugged into the
    config, each alternative's round map probed from GD rounds and the conditional moments solved directly
    (:func:`shipped_derive_random.reference`, no package code). The victim's stationary mean must be the point, and
    so must the printed ``victim_fixed_point``; every printed stationary mean and both printed rates must be the
    reference's."""
    cases: list[ref.Instance] = []
    while len(cases) < reps:
        inst = _case(rng, None, 3)
        if inst.d < 2:  # cond(G) is 1 at d = 1, where a wrong condition number would pass
            continue
        G = inst.Gamma.copy()
        G[1:] = 0.8 * np.eye(inst.d)  # listeners that contract: the chain converges in mean square
        inst = replace(inst, Gamma=G, scalar_gamma=(True, True, True), steps=(1, 1, 1))
        if chain_reference(inst, CHAIN, {}, weights=False)["rho_ms"] < 0.9:
            cases.append(inst)
    points = [np.round(rng.standard_normal(inst.d), 3) for inst in cases]
    configs = []
    for inst in cases:
        config = inst.config()
        config["protocol"] = {"random": CHAIN}
        configs.append(config)
    with cli.scratch() as tmp:
        paths = cli.write_configs(tmp, configs)
        printed = cli.run_commands([["attack", p, "--kind", fresh("steer"), "--victim", "B", "--point",
                                     json.dumps(pt.tolist())] for p, pt in zip(paths, points)])
    for inst, point, pr in zip(cases, points, printed):
        ledger.require("exit status", pr.status == 0, f"attack (random) exit {pr.status}: {pr.stderr.strip()[:120]}")
        doc = pr.json_or_none()
        if not isinstance(doc, dict) or not isinstance(doc.get("agent_entry"), dict):
            ledger.require("json", False, "attack (random protocol) printed no document")
            continue
        ledger.require("random: kind/attacker/victim", doc.get("kind") == "steer" and doc.get("attacker") == "A"
                       and doc.get("victim") == "B", f"attack (random) header: {str(doc)[:160]}")
        new = attacked(inst, doc["agent_entry"], 0)
        want = chain_reference(new, CHAIN, {}, weights=False)
        mean = want["mu"].reshape(inst.K, inst.d)
        got, cond = doc.get("sensitivity_condition"), _sensitivity_condition(new, _chain_victim)
        ledger.add("random: sensitivity_condition (vs probed G)",
                   abs(float(got) - cond) / cond if isinstance(got, (int, float)) else math.inf, COND_BAR)
        ledger.require("random: reachable", float(doc.get("unreachable_residual_norm", math.inf)) <= REACHABLE,
                       f"point {point} printed as unreachable under the random protocol")
        ledger.add("random: the victim's stationary mean is the point", rel(mean[1], point), FLOAT_BAR)
        ledger.add("random: victim_fixed_point", rel(doc.get("victim_fixed_point"), mean[1]), FLOAT_BAR)
        agents = doc.get("predicted", {}).get("agents", {})
        for k, n in enumerate(inst.names):
            ledger.add("random: predicted stationary mean", rel(agents.get(n, {}).get("fixed_point"), mean[k]),
                       FLOAT_BAR)
        rates = [("contraction_rate", doc.get("contraction_rate"), want["rho_ms"])]
        rates += [(f"predicted {key}", doc.get("predicted", {}).get(key), want[w])
                  for key, w in (("mean_rate", "rho_mean"), ("contraction_rate", "rho_ms"))]
        for key, got, rate in rates:
            err = abs(float(got) - rate) if isinstance(got, (int, float)) else math.inf
            ledger.add(f"random: {key} (attacked)", err, RATE_BAR)


def attack_method(profile: Profile) -> Outcome:
    """VS: steer attacks on a pair (C11) and under protocols (debate, anchored), attacker A, victim B."""
    rng = np.random.default_rng(profile.seed + 1111)
    cases = [(_case(rng, None, 2), None), (_case(rng, GALLERY["P5"], 3), "B"), (_case(rng, GALLERY["P4"], 2), "B")]
    reps = max(1, min(profile.instances // 64, 4))
    cases = cases * reps + [(EXACT_ATTACKER, "B")]
    points = [np.round(rng.standard_normal(inst.d), 3) for inst, _ in cases]
    ledger = Ledger(instances=len(cases) + 5 * reps)
    with cli.scratch() as tmp:
        paths = cli.write_configs(tmp, [inst.config() for inst, _ in cases])
        argvs = [["attack", p, "--kind", "steer", "--point", json.dumps(pt.tolist())] + (["--victim", v] if v else [])
                 for p, pt, (_, v) in zip(paths, points, cases)]
        printed = cli.run_commands([[fresh(a) for a in argv] for argv in argvs])
    for (inst, _), point, pr in zip(cases, points, printed):
        ledger.require("exit status", pr.status == 0, f"attack exit {pr.status}: {pr.stderr.strip()[:120]}")
        try:
            doc = pr.json()
        except ValueError:
            ledger.require("json", False, "attack printed no JSON")
            continue
        ledger.require("kind/attacker/victim", doc.get("kind") == "steer" and doc.get("attacker") == inst.names[0]
                       and doc.get("victim") == inst.names[1], "attack header")
        new = attacked(inst, doc["agent_entry"], 0)
        rho = ref.rate(new)
        ledger.add("contraction_rate (attacked)", abs(float(doc.get("contraction_rate", math.nan)) - rho), RATE_BAR)
        if rho >= 1:
            ledger.require("attacked converges", False, f"the attacked conversation diverges (rho {rho:.3f})")
            continue
        z = ref.settled(new, rho)
        victim = z[1]
        if float(doc.get("unreachable_residual_norm", math.inf)) <= REACHABLE:
            ledger.add("victim reaches the point", rel(victim, point), FLOAT_BAR)
        else:
            ledger.require("reachable", False, f"point {point} printed as unreachable")
        printed_fp = doc.get("victim_fixed_point", doc["predicted"]["agents"][inst.names[1]]["fixed_point"])
        ledger.add("victim_fixed_point", rel(printed_fp, victim), FLOAT_BAR)
        ledger.add("predicted victim fixed_point", rel(doc["predicted"]["agents"][inst.names[1]]["fixed_point"],
                                                       victim), FLOAT_BAR)
        if inst.rounds is not None:  # under a protocol the document prints cond(G) too
            got = doc.get("sensitivity_condition")
            want = _sensitivity_condition(new, lambda x: ref.settled(x, rho)[1])
            ledger.add("sensitivity_condition (vs probed G)",
                       abs(float(got) - want) / want if isinstance(got, (int, float)) else math.inf, COND_BAR)
    _other_kinds(rng, ledger, reps)
    _random_steer(rng, ledger, reps)
    return ledger.outcome("a2ad attack --kind steer (pair; debate and anchored protocols; a Markov chain), --kind "
                          "full (debate, anchored) and --kind rank-one (pair, round robin written out B first): the "
                          "printed attacker plugged in and the conversation simulated until it settles, or under the "
                          "chain its stationary mean solved from the probed round maps; the victim vs the point, the "
                          "attacker vs its target (C9, C10), the printed fixed points and rates")
