"""``a2ad predict CONFIG.json [--precision DIGITS]``: closed forms -> JSON on stdout."""
from __future__ import annotations

from numerics.dynamics import prediction
from numerics.io import config, outputs


def register(sub) -> None:
    p = sub.add_parser("predict", help="closed-form fixed points, residuals and rate for a config (JSON)")
    p.add_argument("config", help="CONFIG.json (schema version 1, see README)")
    p.add_argument("--precision", type=int, default=None, metavar="DIGITS",
                   help="compute with mpmath at DIGITS significant digits (numbers printed as strings)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.precision is None:
        doc = prediction.predict(config.load(args.config))
    else:  # every config number exactly as written (decimal text), nothing through float64
        prediction.check_digits(args.precision)
        doc = prediction.predict_precise(config.load_exact(args.config), args.precision)
    outputs.dump_json(doc, "predict", indent=2)
    return 0
