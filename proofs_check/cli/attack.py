"""``a2ad attack CONFIG.json --kind full|rank-one|steer [--point P]``: the attacker's prompt (C9-C11) as JSON.

Prints the attacker's new agent entry and the predicted outcome of the attacked
pair. The attacker's errors are measured against its intended target ``w_A*``
(a rank-one prompt pins only one direction of it).

Every config is a protocol (without ``protocol``: its round robin), and one function builds the
document (:func:`numerics.protocol.attack.attack_doc`): two agents speaking in turn get C9-C11
whether or not the round robin is written out; under any other protocol ``full`` works,
``steer`` derives the attacker's target from the protocol's fixed point (any number of agents,
``--victim``), and ``rank-one`` is refused (exit 2).
"""
from __future__ import annotations

from numerics.interventions import attacks
from numerics.io import config, jsonio, outputs, validate
from numerics.io.errors import InputError
from numerics.io.schema import versioned
from numerics.protocol import attack as protocol_attack


MAX_PROMPT_ENTRIES = 10**6  # N x d of the printed attack prompt


def register(sub) -> None:
    p = sub.add_parser("attack", help="build an attack prompt (C9 full, C10 rank-one, C11 steer) for two agents, or under a protocol where it applies")
    p.add_argument("config", help="CONFIG.json (two agents speaking in turn get C9-C11; any other protocol, the round robin of more agents included, full and steer)")
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
    doc = protocol_attack.attack_doc(system, args.kind, parse_point(args.point, system.d), args.examples, seed, i,
                                     args.victim)
    outputs.dump_json(versioned(doc), "attack", indent=2)
    return 0
