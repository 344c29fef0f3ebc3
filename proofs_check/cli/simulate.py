"""``a2ad simulate CONFIG.json --turns T``: iterate the real agent maps -> JSON on stdout."""
from __future__ import annotations

import sys

from numerics import api
from numerics.protocol import simulate


def register(sub) -> None:
    p = sub.add_parser("simulate", help="run the agents for T rounds; messages and errors (JSON)")
    p.add_argument("config", help="CONFIG.json (schema version 1, see README)")
    p.add_argument("--turns", type=int, required=True,
                   help=f"number of rounds (each agent speaks once per round); turns x agents x d at most "
                        f"{simulate.MAX_MESSAGE_VALUES:,} and turns x sum(steps_per_turn) at most "
                        f"{simulate.MAX_AGENT_STEPS:,}")
    p.set_defaults(func=run)


def run(args) -> int:
    """Print :func:`numerics.api.simulate`'s result: the API and the command are one code path."""
    sys.stdout.write(api.simulate(args.config, args.turns).to_json() + "\n")
    return 0
