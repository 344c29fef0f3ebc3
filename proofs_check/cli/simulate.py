"""``a2ad simulate CONFIG.json --turns T [--seed S] [--schedule JSON]``: iterate the real agent maps -> JSON."""
from __future__ import annotations

import json
import sys

from numerics import api
from numerics.io.errors import InputError
from numerics.protocol import simulate

# a schedule is one small integer per round: bounded like the rounds themselves
MAX_SCHEDULE_CHARS = 16 * simulate.MAX_MESSAGE_VALUES


def register(sub) -> None:
    p = sub.add_parser("simulate", help="run the agents for T rounds; messages and errors (JSON)")
    p.add_argument("config", help="CONFIG.json (schema version 1, see README)")
    p.add_argument("--turns", type=int, required=True,
                   help=f"number of rounds (each agent speaks once per round); turns x agents x d at most "
                        f"{simulate.MAX_MESSAGE_VALUES:,} and turns x sum(steps_per_turn) at most "
                        f"{simulate.MAX_AGENT_STEPS:,}")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of a random protocol's schedule and of the agents' noise (default 0)")
    p.add_argument("--schedule", default=None, metavar="JSON",
                   help="random protocol: replay this schedule, a JSON list of 0-based alternative indices, one "
                        "per round (as printed in 'schedule')")
    p.set_defaults(func=run)


def parse_schedule(text: str | None):
    """The ``--schedule`` option as a decoded JSON list (InputError naming the option otherwise)."""
    if text is None:
        return None
    if len(text) > MAX_SCHEDULE_CHARS:
        raise InputError("--schedule", f"{len(text)} characters", f"is longer than {MAX_SCHEDULE_CHARS}")
    try:
        value = json.loads(text)
    except ValueError:
        raise InputError("--schedule", text, "is not JSON (a list of alternative indices, e.g. '[0, 1, 1]')") from None
    if not isinstance(value, list):
        raise InputError("--schedule", value, "must be a JSON list of alternative indices")
    return value


def run(args) -> int:
    """Print :func:`numerics.api.simulate`'s result: the API and the command are one code path."""
    doc = api.simulate(args.config, args.turns, seed=args.seed, schedule=parse_schedule(args.schedule))
    sys.stdout.write(doc.to_json() + "\n")
    return 0
