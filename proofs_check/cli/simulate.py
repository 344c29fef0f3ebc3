"""``a2ad simulate CONFIG.json --turns T``: iterate the real agent maps -> JSON on stdout."""
from __future__ import annotations

from numerics.dynamics import prediction, simulate
from numerics.io import config, outputs


def register(sub) -> None:
    p = sub.add_parser("simulate", help="run the agents for T rounds; messages and errors (JSON)")
    p.add_argument("config", help="CONFIG.json (schema version 1, see README)")
    p.add_argument("--turns", type=int, required=True,
                   help=f"number of rounds (each agent speaks once per round); turns x agents x d at most "
                        f"{simulate.MAX_MESSAGE_VALUES:,} and turns x sum(steps_per_turn) at most {simulate.MAX_AGENT_STEPS:,}")
    p.set_defaults(func=run)


def run(args) -> int:
    doc = prediction.simulate_doc(config.load(args.config), args.turns)
    outputs.dump_json(doc, "simulate")
    return 0
