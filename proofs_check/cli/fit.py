"""``a2ad fit TRANSCRIPT.jsonl [--config CONFIG.json]``: fit each agent's affine map and compare the
predicted plateau and spread with the transcript's tail (C18).

A transcript recorded under a protocol (its header line, or ``--config`` with a ``protocol``)
is fitted from the inputs the protocol gives each agent, and predicted with the protocol's
round map (:mod:`numerics.fit.protocol_fit`); without either, the round robin exactly as before."""
from __future__ import annotations

import sys
from pathlib import Path

from numerics import api
from numerics.fit import fitting
from numerics.io import outputs
from numerics.io.errors import InputError

MAX_BOOTSTRAP = api.MAX_BOOTSTRAP
FIGURE_FORMATS = (".png", ".pdf", ".svg")


def register(sub) -> None:
    p = sub.add_parser("fit", help="fit each agent's affine map from a JSONL transcript (C18, any protocol); "
                                   "text, JSON, figure")
    p.add_argument("transcript", help="TRANSCRIPT.jsonl (format in the README and docs)")
    p.add_argument("--tail", type=float, default=0.5, help="fraction of rounds treated as the tail (default 0.5)")
    p.add_argument("--bootstrap", type=int, default=200,
                   help=f"bootstrap resamples for the intervals (default 200; 0 to {MAX_BOOTSTRAP:,})")
    p.add_argument("--level", type=float, default=fitting.CONFIDENCE, help="interval level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (>= 0)")
    p.add_argument("--figure", default=None, help="figure path, .png/.pdf/.svg "
                                                  "(default: TRANSCRIPT-fit.png beside the transcript)")
    p.add_argument("--force", action="store_true", help="overwrite an existing figure")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--config", default=None,
                   help="CONFIG.json whose protocol (or round robin) the transcript was recorded under "
                        "(default: the transcript's protocol header, else the round robin)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Fit through :func:`numerics.api.fit_transcript` and print its result (text, or ``to_json()``)."""
    seed = api.check_fit_options(args.bootstrap, args.seed)  # every option before any work
    src = Path(args.transcript)
    figure = Path(args.figure) if args.figure else src.with_name(src.stem + "-fit.png")
    if figure.suffix.lower() not in FIGURE_FORMATS:
        raise InputError("--figure", str(figure), f"must end in one of {', '.join(FIGURE_FORMATS)}")
    outputs.check_path("--figure", figure, inputs=[src], force=args.force)
    result = api.fit_transcript(src, tail=args.tail, bootstrap=args.bootstrap, level=args.level, seed=seed,
                                config=args.config)
    text = result.to_json() if args.json else result.to_text()  # a non-finite number fails before the figure
    result = result.save_figure(figure)
    if args.json:
        sys.stdout.write(result.to_json() + "\n")
    else:
        print(text)
        print(f"figure: {result.figure}")
    for w in result.warnings:
        print(f"a2ad fit: warning: {w}", file=sys.stderr)
    return 0
