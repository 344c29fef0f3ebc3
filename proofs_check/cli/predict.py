"""``a2ad predict CONFIG.json [--precision DIGITS]``: closed forms -> JSON on stdout."""
from __future__ import annotations

import sys

from numerics import api


def register(sub) -> None:
    p = sub.add_parser("predict", help="closed-form fixed points, residuals and rate for a config (JSON)")
    p.add_argument("config", help="CONFIG.json (schema version 1, see README)")
    p.add_argument("--precision", type=int, default=None, metavar="DIGITS",
                   help="compute with mpmath at DIGITS significant digits (numbers printed as strings)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Print :func:`numerics.api.predict`'s result: the API and the command are one code path."""
    sys.stdout.write(api.predict(args.config, precision=args.precision).to_json() + "\n")
    return 0
