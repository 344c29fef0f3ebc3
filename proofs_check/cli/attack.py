"""``a2ad attack CONFIG.json --kind full|rank-one|steer [--point P]``: the attacker's prompt (C9-C11) as JSON.

Prints the attacker's new agent entry and the predicted outcome of the attacked
pair. The attacker's errors are measured against its intended target ``w_A*``
(a rank-one prompt pins only one direction of it).

With a ``protocol`` in the config (:mod:`numerics.interventions.protocol_attack`): ``full`` works under any
protocol, ``steer`` derives the attacker's target from the protocol's fixed point (any number
of agents, ``--victim``), and ``rank-one`` only for a two-agent round robin (else exit 2).
"""
from __future__ import annotations

import sys

from numerics import api
from numerics.interventions import attacks
from numerics.io import jsonio, validate
from numerics.io.errors import InputError

MAX_PROMPT_ENTRIES = api.MAX_PROMPT_ENTRIES


def register(sub) -> None:
    p = sub.add_parser("attack", help="build an attack prompt (C9 full, C10 rank-one, C11 steer) for two agents, "
                                      "or under a protocol where it applies")
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
    """Print :func:`numerics.api.attack`'s result (the ``--point`` text is decoded here)."""
    system = api.load_config(args.config)
    result = api.attack(system, args.kind, point=parse_point(args.point, system.d), examples=args.examples,
                        seed=args.seed, attacker=args.attacker, victim=args.victim)
    sys.stdout.write(result.to_json() + "\n")
    return 0
