"""VS for ``a2ad attack --kind steer`` (C11, and C11 generalised under a protocol, P1): the printed attack
prompt is plugged into the config and the attacked conversation is simulated (issue 22, item 4).

The attacker's printed entry (prompt ``X, y``, preconditioner, steps) replaces the attacker; the agents are
then iterated under the config's protocol (:mod:`proofs_check.verification.shipped_reference`, no package
code) until they settle. The victim must settle at the requested point, the printed ``victim_fixed_point``
(and ``predicted`` victim entry) must be where it settles, and the printed rate must be the attacked
round map's (probed). Package extension.
"""
from __future__ import annotations

import json
import math

import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import FLOAT_BAR, Ledger, rel
from proofs_check.verification.shipped_derive import GALLERY

__all__ = ["attacked", "attack_method"]

# The attacked rate may be ~0 (an exact attacker): compared in absolute terms, at the float bar.
RATE_BAR = FLOAT_BAR
# A point is reachable when the printed unreachable residual is below this (else only the printed
# fixed point is checked against the simulation; the cases below are all reachable).
REACHABLE = 1e-9


def attacked(inst: ref.Instance, entry: dict, k: int) -> ref.Instance:
    """``inst`` with agent ``k`` replaced by the printed agent entry (prompt: H = X^T X / N, b = X^T y / N)."""
    X, y = np.asarray(entry["prompt"]["X"], dtype=float), np.asarray(entry["prompt"]["y"], dtype=float)
    H = X.T @ X / len(X)
    target = np.linalg.solve(H, X.T @ y / len(X))
    g = entry.get("preconditioner")
    G = float(g) * np.eye(inst.d) if isinstance(g, (int, float)) else np.asarray(g, dtype=float)
    Hs, Ts, Gs = inst.H.copy(), inst.target.copy(), inst.Gamma.copy()
    Hs[k], Ts[k], Gs[k] = H, target, G
    steps = list(inst.steps)
    steps[k] = int(entry.get("steps_per_turn", 1))
    return ref.Instance(inst.names, Hs, Ts, Gs, inst.scalar_gamma, tuple(steps), inst.initial, inst.rounds)


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


def attack_method(profile: Profile) -> Outcome:
    """VS: steer attacks on a pair (C11) and under protocols (debate, anchored), attacker A, victim B."""
    rng = np.random.default_rng(profile.seed + 1111)
    cases = [(_case(rng, None, 2), None), (_case(rng, GALLERY["P5"], 3), "B"), (_case(rng, GALLERY["P4"], 2), "B")]
    cases = cases * max(1, min(profile.instances // 64, 4))
    points = [np.round(rng.standard_normal(inst.d), 3) for inst, _ in cases]
    ledger = Ledger(instances=len(cases))
    with cli.scratch() as tmp:
        paths = cli.write_configs(tmp, [inst.config() for inst, _ in cases])
        argvs = [["attack", p, "--kind", "steer", "--point", json.dumps(pt.tolist())] + (["--victim", v] if v else [])
                 for p, pt, (_, v) in zip(paths, points, cases)]
        printed = cli.run_commands(argvs)
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
    return ledger.outcome("a2ad attack --kind steer (pair; debate and anchored protocols): the printed attacker "
                          "plugged in and the conversation simulated until it settles; the victim vs the point")
