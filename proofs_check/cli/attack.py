"""``a2ad attack CONFIG.json --kind full|rank-one|steer [--point P]``: the attacker's prompt (C9-C11) as JSON.

Prints the attacker's new agent entry and the predicted outcome of the attacked
pair. The attacker's errors are measured against its intended target ``w_A*``
(a rank-one prompt pins only one direction of it).

With a ``protocol`` in the config (:mod:`numerics.protocol.attack`): ``full`` works under any
protocol, ``steer`` derives the attacker's target from the protocol's fixed point (any number
of agents, ``--victim``), and ``rank-one`` only for a two-agent round robin (else exit 2).
"""
from __future__ import annotations

import numpy as np

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import Geometry
from numerics.dynamics import prediction
from numerics.interventions import attacks
from numerics.io import config, jsonio, outputs, validate
from numerics.io.errors import InputError

MAX_PROMPT_ENTRIES = 10**6  # N x d of the printed attack prompt


def register(sub) -> None:
    p = sub.add_parser("attack", help="build an attack prompt (C9 full, C10 rank-one, C11 steer) for two agents, or under a protocol where it applies")
    p.add_argument("config", help="CONFIG.json with two agents, or any number with a 'protocol'")
    p.add_argument("--kind", required=True, choices=attacks.KINDS)
    p.add_argument("--point", default=None, help="JSON list: the equilibrium to impose on the victim (--kind steer)")
    p.add_argument("--attacker", default=None, help="name of the attacking agent (default: the first agent)")
    p.add_argument("--examples", type=int, default=None, metavar="N",
                   help=f"rows of the attack prompt (default: d for full/steer, 1 for rank-one; "
                        f"N x d at most {MAX_PROMPT_ENTRIES:,})")
    p.add_argument("--victim", default=None,
                   help="name of the agent to steer (default: the other agent of two; required for a protocol "
                        "config with more agents and --kind steer)")
    p.add_argument("--seed", type=int, default=0, help="seed (>= 0) for the orthonormal U of the full-rank prompt")
    p.set_defaults(func=run)


def parse_point(text: str | None, d: int):
    if text is None:
        return None
    try:
        value = jsonio.decode_strict(text)
    except (ValueError, RecursionError):
        raise InputError("--point", text, "must be a JSON list of numbers, e.g. [1.0, 0.5]") from None
    return validate.vector("--point", value, d)


def run(args) -> int:
    system = config.load(args.config)
    seed = validate.seed("--seed", args.seed)
    if args.examples is not None:
        validate.positive_int("--examples", args.examples, maximum=max(1, MAX_PROMPT_ENTRIES // system.d))
    names = system.names
    if args.attacker is not None and args.attacker not in names:
        raise InputError("--attacker", args.attacker, f"is not an agent of the config; agents: {names}")
    i = 0 if args.attacker is None else names.index(args.attacker)
    if system.protocol is not None:
        from numerics.protocol import attack as protocol_attack
        doc = protocol_attack.plan_doc(system, args.kind, parse_point(args.point, system.d), args.examples, seed, i,
                                       args.victim)
        outputs.dump_json(doc, "attack", indent=2)
        return 0
    if args.victim is not None and (args.victim not in names or names.index(args.victim) == i):
        raise InputError("--victim", args.victim, "must be the other agent of the two (the attacker is "
                                                  f"{names[i]}; agents: {names})")
    plan = attacks.plan(system, args.kind, parse_point(args.point, system.d), args.examples, seed=seed, attacker=i)
    a = system.agents[i]
    H = plan.prompt.X.T @ plan.prompt.X / len(plan.prompt.X)
    # Same map as the prompt entry (c = Gamma X^T y / N = Gamma H w_A*), with the intended target kept.
    w_A = plan.prompt.w_A
    attacked = GDAgent(a.name, Geometry(H=H, b=H @ w_A, w_star=w_A), np.asarray(plan.entry["preconditioner"]))
    agents = list(system.agents)
    agents[i] = attacked
    outcome = prediction.predict(config.System(tuple(agents), system.initial_message))
    doc = {"kind": plan.kind, "attacker": plan.attacker, "victim": plan.victim, "agent_entry": plan.entry,
           "contraction_rate": plan.prompt.rho if plan.kind == "rank-one" else outcome["contraction_rate"],
           "unreachable_residual": plan.prompt.unreachable if plan.kind == "steer" else None,
           "predicted": outcome}
    outputs.dump_json(doc, "attack", indent=2)
    return 0
