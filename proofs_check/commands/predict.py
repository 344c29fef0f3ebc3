"""``a2ad predict CONFIG.json [--precision DIGITS]``: closed forms -> JSON on stdout."""
from __future__ import annotations

import json
import sys

from numerics import config, prediction


def register(sub) -> None:
    p = sub.add_parser("predict", help="closed-form fixed points, residuals and rate for a config (JSON)")
    p.add_argument("config", help="CONFIG.json (schema version 1, see README)")
    p.add_argument("--precision", type=int, default=None, metavar="DIGITS",
                   help="compute with mpmath at DIGITS significant digits (numbers printed as strings)")
    p.set_defaults(func=run)


def run(args) -> int:
    system = config.load(args.config)
    doc = prediction.predict(system) if args.precision is None else prediction.predict_precise(system, args.precision)
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
