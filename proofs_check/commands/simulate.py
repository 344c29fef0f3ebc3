"""``a2ad simulate CONFIG.json --turns T``: iterate the real agent maps -> JSON on stdout."""
from __future__ import annotations

import json
import sys

from numerics import config, prediction


def register(sub) -> None:
    p = sub.add_parser("simulate", help="run the agents for T rounds; messages and errors (JSON)")
    p.add_argument("config", help="CONFIG.json (schema version 1, see README)")
    p.add_argument("--turns", type=int, required=True, help="number of rounds (each agent speaks once per round)")
    p.set_defaults(func=run)


def run(args) -> int:
    doc = prediction.simulate_doc(config.load(args.config), args.turns)
    json.dump(doc, sys.stdout)
    sys.stdout.write("\n")
    return 0
