"""``a2ad predict CONFIG.json [--precision DIGITS] [--text]``: closed forms -> JSON (or text) on stdout."""
from __future__ import annotations

import sys

from numerics import api


def register(sub) -> None:
    p = sub.add_parser("predict", help="closed-form fixed points, residuals and rate for a config (JSON)")
    p.add_argument("config", help="CONFIG.json (schema version 1, see README)")
    p.add_argument("--precision", type=int, default=None, metavar="DIGITS",
                   help="compute with mpmath at DIGITS significant digits (numbers printed as strings)")
    p.add_argument("--text", action="store_true",
                   help="print a readable summary (rates, fixed points or stationary means, covariances) "
                        "instead of JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    """Print :func:`numerics.api.predict`'s result: the API and the command are one code path."""
    result = api.predict(args.config, precision=args.precision)
    sys.stdout.write((result.to_text() if args.text else result.to_json()) + "\n")
    return 0
