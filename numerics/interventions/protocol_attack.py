"""Attacks on any config (``a2ad attack``): every config is a protocol (without a ``protocol`` key,
its round robin), and :func:`attack_doc` is the one entry point.

Two agents speaking in turn (the round robin, whether written out or not, either agent first) get
the paper's attacks, C9-C11 (:func:`pair_doc`, :mod:`numerics.interventions.attacks`). Any other
protocol gets :func:`plan_doc`; what carries over from the paper's two-agent round robin, and what
does not:

- ``full`` (C9): the attacker's full-rank prompt gives ``M_A = 0``, so every message it sends
  is its target ``w_A*``, whatever it hears: its end-of-round message is exact under *any*
  protocol. The outcome is predicted with the protocol's round map (P1).
- ``steer`` (C11, generalised): with ``M_A`` fixed, every end-of-round fixed point is affine
  in ``c_A = (I - M_A) w_A*``, so the victim's is ``m_V*(w_A*) = g + G w_A*`` with
  ``G = F (I - M_A)``, where ``g`` and the columns of ``F`` come from the protocol's derived
  fixed point (:func:`numerics.protocol.evaluate.fixed_points`) at ``c_A = 0`` and at the unit
  vectors. The target ``w_A* = G^{-1} (p - g)`` puts the victim at ``p``; when ``G`` is
  singular (e.g. the victim never hears the attacker) no target can, and that is an error
  naming ``G``'s smallest singular value. For the round robin of two agents this is C11's
  ``w_A* = M_B^{-1}(p - K_B w_B*)`` (``tests/test_protocol_cli.py`` checks both agree).
- ``rank-one`` (C10) is derived for two agents speaking in turn; for any other protocol it
  is refused (exit 2) rather than answered with a formula that does not hold there.
"""
from __future__ import annotations

import numpy as np

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import Geometry
from numerics.interventions import attacks
from numerics.io import validate
from numerics.io.errors import InputError
from numerics.protocol import engine, evaluate as protocol_eval
from numerics.protocol.config import System
from numerics.protocol.prediction import predict

MAX_SENSITIVITY_COND = attacks.MAX_SENSITIVITY_COND
_victim = attacks.victim_index


def is_two_agent_round_robin(protocol) -> bool:
    """Two agents, two phases, each agent hearing only the other with weight 1 (either one first)."""
    return protocol.K == 2 and engine.cycle(protocol) is not None


def victim_map(M: np.ndarray, c: np.ndarray, W: np.ndarray, mask: np.ndarray, attacker: int,
               victim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(F, g)`` with the victim's end-of-round fixed point ``m_V* = g + F c_A`` (``rho < 1`` assumed).

    Exact by linearity: one batched evaluation of the derived fixed point at ``c_A = 0`` and
    at ``c_A = e_k`` for k = 1..d.
    """
    K, d = c.shape
    cb = np.repeat(c[None], d + 1, axis=0)
    cb[:, attacker] = np.vstack([np.zeros(d), np.eye(d)])
    Mb = np.broadcast_to(M, (d + 1,) + M.shape)
    z = protocol_eval.fixed_points(Mb, cb, W, mask, check=False)[:, victim]
    return (z[1:] - z[0]).T, z[0]


def steering_target(M, c, W, mask, attacker: int, victim: int, point, names) -> tuple[np.ndarray, float]:
    """``w_A* = G^{-1}(p - g)`` placing the victim's end-of-round fixed point at ``p``, and cond(G).

    ``M``/``c`` hold the attacked system (the attacker's row: its new ``M_A``; its ``c`` is
    ignored). InputError when the attacked protocol does not converge or ``G`` is singular.
    """
    d = M.shape[-1]
    Phi, _ = protocol_eval.round_map(M, c, W, mask)
    rho = float(protocol_eval.rate(Phi, protocol_eval.live_agents(W, mask), d))
    if not rho < 1 - protocol_eval.CONVERGENCE_MARGIN:
        raise InputError("rho of the attacked protocol's round map", rho,
                         "the attacker's new map makes the protocol diverge: no fixed point to steer (P1)")
    F, g = victim_map(M, c, W, mask, attacker, victim)
    G = F @ (np.eye(d) - M[attacker])
    s = np.linalg.svd(G, compute_uv=False)
    cond = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
    if not cond <= MAX_SENSITIVITY_COND:
        # the directions the target moves reliably: each alone would pass the bar above (s_max / s_i <= the
        # largest condition accepted), so a singular value exactly at s_max / MAX_SENSITIVITY_COND counts
        moved = int(np.sum(s >= s[0] / MAX_SENSITIVITY_COND))
        why = (f"{names[victim]} never hears {names[attacker]}, directly or through others" if s[0] == 0 else
               f"the attacker's target moves {names[victim]}'s fixed point in only {moved} of {d} directions")
        raise InputError(f"G = d m_{names[victim]}* / d w_{names[attacker]}* (smallest singular value)", float(s[-1]),
                         f"is singular (condition {cond:.3g} > {MAX_SENSITIVITY_COND:g}): {why}, so no target of "
                         f"{names[attacker]} places {names[victim]} at --point under this protocol")
    p = validate.vector("--point", point, d)
    with np.errstate(all="ignore"):
        w_A = np.linalg.solve(G, p - g)
        c_A = (np.eye(d) - M[attacker]) @ w_A  # the attacked agent's offset, what predict evaluates next
    if not (np.all(np.isfinite(w_A)) and np.all(np.isfinite(c_A))):
        # blame the point (as the path without a protocol does), not a transfer that predict would meet later
        raise InputError(f"w_{names[attacker]}* (the steering target for --point {p.tolist()})", w_A.tolist(),
                         f"overflows float64: no float64 target of {names[attacker]} places {names[victim]} at "
                         "--point; choose a point of smaller magnitude")
    return w_A, cond


def plan_doc(system, kind: str, point, N: int | None, seed: int, attacker: int, victim: str | None = None) -> dict:
    """The ``attack`` document under any protocol (see the module docstring): the attacker's entry, the
    claim it rests on and the outcome predicted under the protocol."""
    names, proto = system.names, system.protocol
    if kind not in attacks.KINDS:
        raise InputError("--kind", kind, f"must be one of {list(attacks.KINDS)}")
    v = _victim(names, attacker, victim, required=kind == "steer")
    a = system.agents[attacker]
    d, rng = a.d, np.random.default_rng(seed)
    Gamma_A = validate.spd(f"{a.name}.preconditioner (Gamma_A)", a.Gamma)
    residual = None
    extra = {}
    if kind == "rank-one":
        if is_two_agent_round_robin(proto):  # C10's pair (attack_doc sends it to pair_doc directly)
            return pair_doc(system, kind, point, N, seed, attacker, victim)
        raise InputError("--kind", kind,
                         "the rank-one attack (C10) is derived for two agents speaking in turn (round robin); "
                         f"this config's protocol ({len(proto.phases)} phase(s) over {proto.K} agents) is not "
                         "one, so C10 does not apply: use --kind full (C9 holds under any protocol) "
                         "or --kind steer")
    if kind == "full":
        prompt = attacks.full_rank_prompt(Gamma_A, a.w_star, d if N is None else N, rng)
        X, w_A = prompt.X, prompt.w_A
    else:
        if point is None:
            raise InputError("--point", None, "is required for --kind steer (the equilibrium to impose on the victim)")
        X = attacks.full_rank_prompt(Gamma_A, np.zeros(d), d if N is None else N, rng).X  # X does not depend on w_A*
        M, c = protocol_eval.stacked_finite(system)
        M = M.copy()
        M[attacker] = np.eye(d) - Gamma_A @ (X.T @ X / len(X))
        W, mask = proto.weights()
        assert v is not None  # _victim(required=True) for steer
        w_A, cond = steering_target(M, c, W, mask, attacker, v, point, names)
        with np.errstate(all="ignore"):
            if not np.all(np.isfinite(X @ w_A)):  # the prompt's answers y = X w_A*
                raise InputError(f"y = X w_{a.name}* (the attack prompt for --point)", w_A.tolist(),
                                 "overflows float64; choose a point of smaller magnitude")
        extra = {"point": np.asarray(point, dtype=float).tolist(), "sensitivity_condition": cond}
    outcome = predict(_attacked_system(system, attacker, X, w_A, Gamma_A))
    if kind == "steer":
        fixed = outcome["agents"][names[v]]["fixed_point"]
        residual = None if fixed is None else float(np.linalg.norm(np.asarray(fixed) - extra["point"]))
        extra["victim_fixed_point"] = fixed
    entry = {"name": a.name, "prompt": {"X": X.tolist(), "y": (X @ w_A).tolist()},
             "preconditioner": Gamma_A.tolist(), "steps_per_turn": 1}
    claim = {"full": "C9 (any protocol)",
             "steer": "C11 generalised: target derived from the protocol's fixed point (P1)"}[kind]
    return {"kind": kind, "claim": claim, "attacker": a.name, "victim": None if v is None else names[v],
            "agent_entry": entry, "contraction_rate": outcome["contraction_rate"],
            "unreachable_residual_norm": residual, **extra, "predicted": outcome}


def _attacked_system(system, attacker: int, X: np.ndarray, w_A: np.ndarray, Gamma_A: np.ndarray) -> System:
    """``system`` with the attacker's prompt replaced: the map of the prompt entry
    (``c = Gamma X^T y / N = Gamma H w_A*``), with the intended target ``w_A*`` kept."""
    H = X.T @ X / len(X)
    agents = list(system.agents)
    agents[attacker] = GDAgent(system.agents[attacker].name, Geometry(H=H, b=H @ w_A, w_star=w_A), Gamma_A)
    return System(tuple(agents), system.initial_message, system.protocol, noise=system.noise)


def pair_doc(system, kind: str, point, N: int | None, seed: int, attacker: int, victim: str | None = None) -> dict:
    """The ``attack`` document of two agents speaking in turn: C9 ``full``, C10 ``rank-one``, C11 ``steer``
    (:func:`numerics.interventions.attacks.plan`), the outcome predicted under the config's protocol.
    The attacker's errors are measured against its intended target ``w_A*``."""
    names = system.names
    if victim is not None and (victim not in names or names.index(victim) == attacker):
        raise InputError("--victim", victim, "must be the other agent of the two (the attacker is "
                                             f"{names[attacker]}; agents: {names})")
    plan = attacks.plan(system, kind, point, N, seed=seed, attacker=attacker)
    attacked = _attacked_system(system, attacker, plan.prompt.X, plan.prompt.w_A,
                                np.asarray(plan.entry["preconditioner"]))
    outcome = predict(attacked)
    return {"kind": plan.kind, "attacker": plan.attacker, "victim": plan.victim, "agent_entry": plan.entry,
            "contraction_rate": plan.prompt.rho if plan.kind == "rank-one" else outcome["contraction_rate"],
            "unreachable_residual_norm": plan.prompt.unreachable if plan.kind == "steer" else None,
            "predicted": outcome}


def attack_doc(system, kind: str, point, N: int | None, seed: int, attacker: int, victim: str | None = None) -> dict:
    """The ``attack`` document of any config: :func:`pair_doc` for two agents speaking in turn (the round
    robin, written out or not), else :func:`plan_doc` under the config's protocol; a random protocol
    :func:`numerics.interventions.random_attack.random_attack_doc`."""
    if getattr(system, "random", None) is not None:
        from numerics.interventions.random_attack import random_attack_doc
        return random_attack_doc(system, kind, point, N, seed, attacker, victim)
    if is_two_agent_round_robin(engine.of(system)):
        return pair_doc(system, kind, point, N, seed, attacker, victim)
    return plan_doc(System(system.agents, system.initial_message, engine.of(system), noise=system.noise), kind, point,
                    N, seed, attacker, victim)
